"""Import an uploaded zip of class folders into the data folder, safely.

Refused: not a zip, absolute paths or ``..`` (zip slip), links, too many files, too many
bytes once uncompressed (a zip bomb; counted while extracting, not trusted from the
header), more than the space left for imported data (a quota over all imports), more pixels
to decode or more seconds than an import may take, fewer than 2 classes with images.
Skipped and reported: non-images and images Pillow cannot read. Nothing is left behind on
failure: extraction goes to a hidden temporary folder that is renamed into place only when
the dataset is valid.
"""

from __future__ import annotations

import contextlib
import errno
import io
import json
import lzma
import os
import shutil
import stat
import time
import uuid
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from core.access.limits import take
from core.access.roles import Actor, require_presenter
from core.base.errors import InputError
from core.base.i18n import N_, _, number
from core.base.storage import slugify
from core.data.folders import data_dir
from core.data.images import IMAGE_EXTENSIONS, MAX_FILE_BYTES, PixelBudget, check_image_file

MAX_FILES = 20_000
MAX_TOTAL_BYTES = 2 * 1024**3  # 2 GB uncompressed, per import
MAX_IMPORT_PIXELS = 2_000_000_000  # decoded to check them: ~1 min of one core
MAX_IMPORT_SECONDS = 300.0
DEFAULT_QUOTA_MB = 2048  # all imported datasets together
MARKER = ".cnnlab-import.json"  # in an imported dataset: its size, for the quota
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
        raise InputError(
            _("The zip holds an absolute path ({name}); refusing to import it.").format(name=repr(info.filename))
        )
    parts = PurePosixPath(name).parts
    if any(p == ".." for p in parts):
        raise InputError(
            _("The zip holds a path that climbs out of its folder ({name}); refusing it.").format(
                name=repr(info.filename)
            )
        )
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


@dataclass
class ImportLimits:
    """How much one import may take: files, bytes on disk, pixels decoded and seconds."""

    max_files: int = MAX_FILES
    max_total_bytes: int = MAX_TOTAL_BYTES
    max_file_bytes: int = MAX_FILE_BYTES
    max_pixels: int = MAX_IMPORT_PIXELS
    max_seconds: float = MAX_IMPORT_SECONDS


def import_zip(
    source: str | Path | bytes | BinaryIO,
    name: str,
    root: str | Path | None = None,
    limits: ImportLimits | None = None,
    progress=None,
    *,
    actor: Actor,
) -> ImportReport:
    """Checks and extracts a zip of class folders into ``root/<name>``.

    Layouts: ``class/img`` or ``train/class/img`` + ``test/class/img``, optionally under one
    wrapping folder.

    Args:
        source: the zip (path, bytes or file object, e.g. a Streamlit upload).
        name: the dataset's folder name (slugified; made unique if taken).
        root: the data folder (default ``$CNNLAB_DATA_DIR``).
        limits: files, bytes, decoded pixels and seconds one import may take.
        progress: optional ``callable(done, total)`` called while extracting.
        actor: who imports: only the presenter may (``core.access.roles.LOCAL`` from Python); a web
            session's imports are rate-limited.

    Returns:
        An :class:`ImportReport`.

    Raises:
        InputError: not a zip, unsafe, too large, over the quota or the time limit, or not a
            usable dataset. Nothing is left behind.
    """
    require_presenter(actor, N_("import data"))
    root = Path(root) if root is not None else data_dir()
    limits = limits or ImportLimits()
    room = quota_bytes() - imported_bytes(root)
    if room <= 0:
        raise InputError(
            _("The space for imported datasets is full ({used} GB of {quota} GB). Remove an imported dataset from "
              "{root} first.").format(used=number(imported_bytes(root) / 1e9, 2), quota=number(quota_bytes() / 1e9, 2),
                                      root=root)
        )  # fmt: skip
    take("import", actor.session, address=actor.address)
    try:
        zf = zipfile.ZipFile(io.BytesIO(source) if isinstance(source, bytes) else source)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise InputError(_("This is not a readable zip file ({problem}).").format(problem=exc)) from exc
    with zf:
        members = _members(zf, limits.max_files)
        cap = min(limits.max_total_bytes, room)
        declared = sum(i.file_size for _, i in members)
        if declared > cap:
            raise InputError(_("The zip would expand to {size} GB; at most {cap} GB fit (the limit per import, or what "
                               "is left of the space for imports).").format(size=number(declared / 1e9, 2),
                                                                            cap=number(cap / 1e9, 2)))  # fmt: skip
        members = _strip_common_root(members)
        splits = sorted({p[0].lower() for p, _ in members if len(p) >= 3 and p[0].lower() in ("train", "test")})
        wanted, skipped = _select(members, splits, limits.max_file_bytes)
        tmp = root / f".import-{uuid.uuid4().hex[:8]}"
        try:
            root.mkdir(parents=True, exist_ok=True)
            tmp.mkdir()
        except OSError as exc:
            raise InputError(
                _("Cannot write to the data folder {root}: {problem}.").format(root=root, problem=exc.strerror or exc)
            ) from exc
        try:
            counts, written = _extract(zf, wanted, splits, tmp, limits, cap, skipped, progress)
            final = _publish(tmp, root, name, counts, written)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return ImportReport(final.name, str(final), dict(sorted(counts.items())), splits, skipped)


def _members(zf: zipfile.ZipFile, max_files: int) -> list[tuple[tuple[str, ...], zipfile.ZipInfo]]:
    """The zip's files as path parts, refusing unsafe names and links, dropping OS junk."""
    infos = [i for i in zf.infolist() if not i.is_dir()]
    if len(infos) > max_files:
        raise InputError(
            _("The zip holds {n} files; the limit is {limit}.").format(n=number(len(infos)), limit=number(max_files))
        )
    members = []
    for info in infos:
        parts = _member_parts(info)
        if _is_link(info):
            raise InputError(
                _("The zip holds a link ({name}); links are not allowed.").format(name=repr(info.filename))
            )
        if parts and not any(p in JUNK or p.startswith("._") for p in parts):
            members.append((parts, info))
    return members


def _select(members, splits: list[str], max_file_bytes: int):
    """The members to extract (images inside class folders) and the skipped ones with why."""
    skipped: list[tuple[str, str]] = []
    wanted = []
    depth = 3 if splits else 2
    for parts, info in members:
        if len(parts) != depth or (splits and parts[0].lower() not in ("train", "test")):
            skipped.append((info.filename, _("not inside a class folder")))
        elif parts[-2].startswith((".", "__")):
            skipped.append((info.filename, _("in a hidden folder (ignored by training)")))
        elif PurePosixPath(parts[-1]).suffix.lower() not in IMAGE_EXTENSIONS:
            skipped.append((info.filename, _("not an image file")))
        elif info.file_size > max_file_bytes:
            skipped.append((info.filename, _("larger than {limit} MB").format(limit=number(max_file_bytes / 1e6, 0))))
        else:
            wanted.append((parts, info))
    return wanted, skipped


def _extract(zf, wanted, splits, tmp: Path, limits: ImportLimits, cap: int, skipped: list, progress):
    """Extracts and checks every wanted member into ``tmp``; returns (images per class, bytes written)."""
    deadline = time.monotonic() + limits.max_seconds
    budget = PixelBudget(limits.max_pixels, N_("this import"))
    written = 0
    counts: dict[str, int] = {}
    for n, (parts, info) in enumerate(wanted):
        if progress is not None:
            progress(n, len(wanted))
        if time.monotonic() > deadline:
            raise InputError(_("The import took longer than {seconds} s and was stopped after {done} of {total} files; "
                               "import fewer or smaller images.").format(seconds=f"{limits.max_seconds:g}", done=number(n),
                                                                         total=number(len(wanted))))  # fmt: skip
        dest = tmp.joinpath(*(p.lower() if splits and i == 0 else p for i, p in enumerate(parts)))
        size, problem = _extract_one(zf, info, dest, limits.max_file_bytes, cap - written)
        written += size
        if problem is None:
            problem = check_image_file(dest, limits.max_file_bytes, budget)
        if problem is not None:
            if problem != SAME_NAME:
                with contextlib.suppress(OSError):  # a name the disk refused was never created
                    dest.unlink(missing_ok=True)
            skipped.append((info.filename, _(SAME_NAME) if problem == SAME_NAME else problem))
            continue
        counts[parts[-2]] = counts.get(parts[-2], 0) + 1
    if progress is not None:
        progress(len(wanted), len(wanted))
    return counts, written


SAME_NAME = N_("a second file with the same name")


def _extract_one(zf, info, dest: Path, max_file_bytes: int, room: int) -> tuple[int, str | None]:
    """Copies one member to ``dest``; returns (bytes written, why it was skipped or None)."""
    try:
        if dest.exists():
            return 0, SAME_NAME
        dest.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # e.g. a name longer than the disk allows
        return 0, _("could not be written here ({problem})").format(problem=exc.strerror or exc)
    size = 0
    try:
        with zf.open(info) as src, dest.open("wb") as out:
            while chunk := src.read(CHUNK):
                size += len(chunk)
                if size > room:  # headers can lie: count real bytes
                    raise InputError(_("The zip expands beyond what was declared (a zip bomb?); refusing it."))
                if size > max_file_bytes:
                    return size, _("larger than {limit} MB").format(limit=number(max_file_bytes / 1e6, 0))
                out.write(chunk)
    except (zipfile.BadZipFile, zlib.error, lzma.LZMAError, EOFError, NotImplementedError, RuntimeError) as exc:
        return size, _("corrupt inside the zip ({problem})").format(problem=exc)
    except OSError as exc:  # a corrupt bzip2 stream, a name too long for the disk...
        if exc.errno == errno.ENOSPC:
            raise InputError(_("The disk is full: the zip could not be extracted.")) from exc
        return size, _("could not be extracted ({problem})").format(problem=exc)
    return size, None


def _publish(tmp: Path, root: Path, name: str, counts: dict[str, int], written: int) -> Path:
    """Renames the checked folder into place (with its quota marker) once it is a usable dataset."""
    usable = {c: k for c, k in counts.items() if k >= MIN_IMAGES_PER_CLASS}
    if len(usable) < 2:
        found = ", ".join(f"{c} ({k})" for c, k in sorted(counts.items())) or _("none")
        raise InputError(
            _("A dataset needs at least 2 class folders with {n}+ readable images each. Found: {found}. Expected a "
              "zip like cats/*.png, dogs/*.png (one folder per class).").format(n=MIN_IMAGES_PER_CLASS, found=found)
        )  # fmt: skip
    (tmp / MARKER).write_text(json.dumps({"bytes": _folder_bytes(tmp), "imported": time.time()}))
    for _attempt in range(5):  # another import may take the same name meanwhile
        final = _unique(root, slugify(name) or "dataset")
        try:
            tmp.rename(final)
            return final
        except OSError:
            continue
    raise InputError(_("Could not move the imported dataset into {root}.").format(root=root))


# ----- the quota for imported data --------------------------------------------------------


def quota_bytes() -> int:
    """``$CNNLAB_IMPORT_QUOTA_MB`` (default 2048): disk all imported datasets may use together."""
    try:
        return int(float(os.environ.get("CNNLAB_IMPORT_QUOTA_MB", DEFAULT_QUOTA_MB)) * 1024**2)
    except ValueError:
        return DEFAULT_QUOTA_MB * 1024**2


def imported_bytes(root: str | Path | None = None) -> int:
    """Disk used by the datasets this app imported (their marker files say how much)."""
    root = Path(root) if root is not None else data_dir()
    total = 0
    for marker in root.glob(f"*/{MARKER}") if root.is_dir() else []:
        try:
            total += int(json.loads(marker.read_text(encoding="utf-8")[:1000]).get("bytes", 0))
        except (OSError, ValueError, AttributeError, TypeError):
            total += _folder_bytes(marker.parent)  # a damaged marker: count the folder itself
    for partial in root.glob(".import-*") if root.is_dir() else []:  # an import in progress
        total += _folder_bytes(partial)
    return total


def _folder_bytes(folder: Path) -> int:
    total = 0
    for base, _dirs, names in os.walk(folder, followlinks=False):
        for name in names:
            try:
                total += os.lstat(os.path.join(base, name)).st_size
            except OSError:
                continue
    return total


def _unique(root: Path, base: str) -> Path:
    for n in range(1000):
        candidate = root / (base if n == 0 else f"{base}-{n + 1}")
        if not candidate.exists():
            return candidate
    raise InputError(_("Could not find a free folder name for {name} in {root}.").format(name=repr(base), root=root))
