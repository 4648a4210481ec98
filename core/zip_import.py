"""Import an uploaded zip of class folders into the data folder, safely.

Refused: not a zip, absolute paths or ``..`` (zip slip), links, too many files, too many
bytes once uncompressed (a zip bomb; counted while extracting, not trusted from the
header), fewer than 2 classes with images. Skipped and reported: non-images and images
Pillow cannot read. Nothing is left behind on failure: extraction goes to a hidden
temporary folder that is renamed into place only when the dataset is valid.
"""

from __future__ import annotations

import errno
import io
import lzma
import shutil
import stat
import uuid
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from core.datasets import data_dir
from core.errors import InputError
from core.images import IMAGE_EXTENSIONS, MAX_FILE_BYTES, check_image_file
from core.runs import slugify

MAX_FILES = 20_000
MAX_TOTAL_BYTES = 2 * 1024**3  # 2 GB uncompressed
MIN_IMAGES_PER_CLASS = 2
JUNK = ("__MACOSX", ".DS_Store", "Thumbs.db", "desktop.ini")
CHUNK = 1 << 20


@dataclass
class ImportReport:
    """What an import did: where the dataset went, its classes and what was skipped."""

    name: str
    path: str
    class_counts: dict[str, int]
    splits: list[str]  # [] or ["train", "test"]
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (member, reason)


def _member_parts(info: zipfile.ZipInfo) -> tuple[str, ...]:
    """The member's path parts, or InputError for an unsafe name."""
    name = info.filename
    if "\\" in name:
        name = name.replace("\\", "/")
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        raise InputError(f"The zip holds an absolute path ({info.filename!r}); refusing to import it.")
    parts = PurePosixPath(name).parts
    if any(p == ".." for p in parts):
        raise InputError(f"The zip holds a path that climbs out of its folder ({info.filename!r}); refusing it.")
    return tuple(p for p in parts if p not in ("", "."))


def _is_link(info: zipfile.ZipInfo) -> bool:
    mode = info.external_attr >> 16
    return stat.S_ISLNK(mode)


def _strip_common_root(
    members: list[tuple[tuple[str, ...], zipfile.ZipInfo]],
) -> list[tuple[tuple[str, ...], zipfile.ZipInfo]]:
    """Drops a single top folder that wraps everything (``dataset/cats/1.png`` -> ``cats/1.png``)."""
    while members:
        tops = {parts[0] for parts, _ in members}
        if len(tops) != 1 or not any(len(parts) >= 3 for parts, _ in members):
            break
        top = tops.pop()
        if top.lower() in ("train", "test"):
            break
        members = [
            (parts[1:], info) for parts, info in members if len(parts) > 1
        ]  # a lone file named like the folder goes
    return members


def import_zip(
    source: str | Path | bytes | BinaryIO,
    name: str,
    root: str | Path | None = None,
    max_files: int = MAX_FILES,
    max_total_bytes: int = MAX_TOTAL_BYTES,
    max_file_bytes: int = MAX_FILE_BYTES,
    progress=None,
) -> ImportReport:
    """Checks and extracts a zip of class folders into ``root/<name>``.

    Layouts: ``class/img`` or ``train/class/img`` + ``test/class/img``, optionally under one
    wrapping folder.

    Args:
        source: the zip (path, bytes or file object, e.g. a Streamlit upload).
        name: the dataset's folder name (slugified; made unique if taken).
        root: the data folder (default ``$CNNLAB_DATA_DIR``).
        progress: optional ``callable(done, total)`` called while extracting.

    Returns:
        An :class:`ImportReport`.

    Raises:
        InputError: not a zip, unsafe, too large, or not a usable dataset. Nothing is written.
    """
    root = Path(root) if root is not None else data_dir()
    if isinstance(source, bytes):
        source = io.BytesIO(source)
    try:
        zf = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise InputError(f"This is not a readable zip file ({exc}).") from exc
    with zf:
        infos = [i for i in zf.infolist() if not i.is_dir()]
        if len(infos) > max_files:
            raise InputError(f"The zip holds {len(infos):,} files; the limit is {max_files:,}.")
        members = []
        for info in infos:
            parts = _member_parts(info)
            if _is_link(info):
                raise InputError(f"The zip holds a link ({info.filename!r}); links are not allowed.")
            if not parts or any(p in JUNK or p.startswith("._") for p in parts):
                continue
            members.append((parts, info))
        declared = sum(i.file_size for _, i in members)
        if declared > max_total_bytes:
            raise InputError(
                f"The zip would expand to {declared / 1e9:.1f} GB; the limit is {max_total_bytes / 1e9:.1f} GB."
            )
        members = _strip_common_root(members)
        splits = sorted({p[0].lower() for p, _ in members if len(p) >= 3 and p[0].lower() in ("train", "test")})
        skipped: list[tuple[str, str]] = []
        wanted = []
        for parts, info in members:
            depth = 3 if splits else 2
            if len(parts) != depth or (splits and parts[0].lower() not in ("train", "test")):
                skipped.append((info.filename, "not inside a class folder"))
            elif parts[-2].startswith((".", "__")):
                skipped.append((info.filename, "in a hidden folder (ignored by training)"))
            elif PurePosixPath(parts[-1]).suffix.lower() not in IMAGE_EXTENSIONS:
                skipped.append((info.filename, "not an image file"))
            elif info.file_size > max_file_bytes:
                skipped.append((info.filename, f"larger than {max_file_bytes / 1e6:.0f} MB"))
            else:
                wanted.append((parts, info))

        tmp = root / f".import-{uuid.uuid4().hex[:8]}"
        try:
            root.mkdir(parents=True, exist_ok=True)
            tmp.mkdir()
        except OSError as exc:
            raise InputError(f"Cannot write to the data folder {root}: {exc.strerror or exc}.") from exc
        try:
            written = 0
            counts: dict[str, int] = {}
            for n, (parts, info) in enumerate(wanted):
                if progress is not None:
                    progress(n, len(wanted))
                dest = tmp.joinpath(*(p.lower() if splits and i == 0 else p for i, p in enumerate(parts)))
                try:
                    if dest.exists():
                        skipped.append((info.filename, "a second file with the same name"))
                        continue
                    dest.parent.mkdir(parents=True, exist_ok=True)
                except OSError as exc:  # e.g. a name longer than the disk allows
                    skipped.append((info.filename, f"could not be written here ({exc.strerror or exc})"))
                    continue
                size = 0
                try:
                    with zf.open(info) as src, dest.open("wb") as out:
                        while chunk := src.read(CHUNK):
                            size += len(chunk)
                            written += len(chunk)
                            if written > max_total_bytes:  # headers can lie: count real bytes
                                raise InputError(
                                    f"The zip expands beyond {max_total_bytes / 1e9:.1f} GB (a zip bomb?); refusing it."
                                )
                            if size > max_file_bytes:
                                break
                            out.write(chunk)
                except (
                    zipfile.BadZipFile,
                    zlib.error,
                    lzma.LZMAError,
                    EOFError,
                    NotImplementedError,
                    RuntimeError,
                ) as exc:
                    dest.unlink(missing_ok=True)
                    skipped.append((info.filename, f"corrupt inside the zip ({exc})"))
                    continue
                except OSError as exc:  # a corrupt bzip2 stream, a name too long for the disk...
                    dest.unlink(missing_ok=True)
                    if exc.errno == errno.ENOSPC:
                        raise InputError("The disk is full: the zip could not be extracted.") from exc
                    skipped.append((info.filename, f"could not be extracted ({exc})"))
                    continue
                if size > max_file_bytes:
                    dest.unlink()
                    skipped.append((info.filename, f"larger than {max_file_bytes / 1e6:.0f} MB"))
                    continue
                problem = check_image_file(dest, max_file_bytes)
                if problem:
                    dest.unlink()
                    skipped.append((info.filename, problem))
                    continue
                cls = parts[-2]
                counts[cls] = counts.get(cls, 0) + 1
            if progress is not None:
                progress(len(wanted), len(wanted))
            usable = {c: k for c, k in counts.items() if k >= MIN_IMAGES_PER_CLASS}
            if len(usable) < 2:
                found = ", ".join(f"{c} ({k})" for c, k in sorted(counts.items())) or "none"
                raise InputError(
                    "A dataset needs at least 2 class folders with "
                    f"{MIN_IMAGES_PER_CLASS}+ readable images each. Found: {found}. "
                    "Expected a zip like cats/*.png, dogs/*.png (one folder per class)."
                )
            for _attempt in range(5):  # another import may take the same name meanwhile
                final = _unique(root, slugify(name) or "dataset")
                try:
                    tmp.rename(final)
                    break
                except OSError:
                    continue
            else:
                raise InputError(f"Could not move the imported dataset into {root}.")
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return ImportReport(final.name, str(final), dict(sorted(counts.items())), splits, skipped)


def _unique(root: Path, base: str) -> Path:
    for n in range(1000):
        candidate = root / (base if n == 0 else f"{base}-{n + 1}")
        if not candidate.exists():
            return candidate
    raise InputError(f"Could not find a free folder name for {base!r} in {root}.")
