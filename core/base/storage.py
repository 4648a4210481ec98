"""Files a run folder is made of, written atomically and read defensively.

JSON objects are written whole (a temp file, then a rename) and read with a size limit;
CSVs are appended a row at a time and read from their end when large. A reader never
blocks on a special file and never trusts what it reads (see ``core.runs.schema``).
"""

from __future__ import annotations

import contextlib
import csv
import fcntl
import io
import json
import math
import os
import re
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

from core.base.errors import InputError
from core.base.i18n import _, number

MAX_JSON_BYTES = 4 * 1024**2  # config.json, metrics.json; readers refuse larger files
MAX_CSV_BYTES = 32 * 1024**2  # a longer history or batches.csv is read from its end


def slugify(text: str) -> str:
    """A safe file or folder name from any text: letters, digits, '.', '_' and '-', at most 40 of them."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", text)
    slug = re.sub(r"\.{2,}", ".", slug).strip("-.")
    return slug[:40] or "run"


def write_json_atomic(path: str | Path, data: dict, max_bytes: int = MAX_JSON_BYTES) -> None:
    """Writes JSON to a temp file in the same folder, then renames it over ``path``.

    Raises:
        InputError: the JSON would be larger than ``max_bytes`` (readers would refuse it).
    """
    path = Path(path)
    text = json.dumps(data, indent=2, default=str)
    if len(text) > max_bytes:
        raise InputError(
            _("Refusing to write {file}: {size} bytes, more than the {limit} allowed.").format(
                file=path.name, size=number(len(text)), limit=number(max_bytes))
        )  # fmt: skip
    write_bytes_atomic(path, text.encode("utf-8"))


def write_bytes_atomic(path: str | Path, data: bytes) -> None:
    """Writes ``data`` to a temp file in the same folder, then renames it over ``path``.

    A reader sees the old file or the new one, never half of it; the temp file is removed
    if anything fails (a full disk, an interrupt).
    """
    path = Path(path)
    with synced_temp(path.parent, data, prefix=f".{path.name}.") as tmp:
        os.replace(tmp, path)


@contextlib.contextmanager
def synced_temp(folder: str | Path, data: bytes, prefix: str = ".tmp.", suffix: str = ".tmp") -> Iterator[Path]:
    """A new temp file in ``folder`` holding ``data``, flushed to disk, removed on leaving.

    The way to write a file whole: put it under its final name inside the ``with`` (``os.replace``
    to replace a file, ``os.link`` to never replace one). Whatever happens (a full disk, an
    interrupt), the temp file does not outlive the block.

    Yields:
        The temp file's path (in ``folder``, so a rename or a link is atomic).
    """
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=prefix, suffix=suffix)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        yield Path(tmp)
    finally:
        Path(tmp).unlink(missing_ok=True)


@contextlib.contextmanager
def locked(path: str | Path) -> Iterator[None]:
    """Holds an exclusive ``flock`` on the file ``path`` (created, with its folder, if missing).

    For read-change-write sequences shared between processes and threads: every holder of the
    same path waits for the one before it. The lock goes with the block (or the process).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


class Damaged(dict):
    """What a reader returns for a file that exists but cannot be trusted; says why."""

    def __init__(self, why: str):
        super().__init__()
        self.why = why


def read_json(path: str | Path, max_bytes: int = MAX_JSON_BYTES) -> dict | None:
    """Reads a JSON object from a file of at most ``max_bytes``.

    Returns:
        The object; None when the file is missing; a :class:`Damaged` (empty, with the
        reason) when it is too large, not JSON, nested too deeply or not an object.
    """
    path = Path(path)
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):  # a FIFO would block the reader forever
            return Damaged(_("{file} is not a regular file").format(file=path.name))
        with path.open("rb") as fh:
            raw = fh.read(max_bytes + 1)
    except FileNotFoundError:
        return None
    except OSError as exc:
        return Damaged(_("{file} cannot be read ({problem})").format(file=path.name, problem=exc.strerror or exc))
    if len(raw) > max_bytes:
        return Damaged(_("{file} is larger than {limit} bytes").format(file=path.name, limit=number(max_bytes)))
    try:
        data = json.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError):
        return Damaged(_("{file} is not valid JSON").format(file=path.name))
    return data if isinstance(data, dict) else Damaged(_("{file} does not hold a JSON object").format(file=path.name))


def append_csv(path: str | Path, row: dict, fieldnames: list[str]) -> None:
    """Appends one row, writing the header first when the file is new."""
    path = Path(path)
    new = not path.exists() or path.stat().st_size == 0
    with path.open("a", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=fieldnames, extrasaction="ignore")
        if new:
            writer.writeheader()
        writer.writerow(row)
        fh.flush()


def read_csv(path: str | Path, max_bytes: int = MAX_CSV_BYTES) -> list[dict]:
    """Reads CSV rows as dicts of floats where possible; skips torn or malformed lines.

    A file larger than ``max_bytes`` is read from its header and its last ``max_bytes``.
    """
    rows: list[dict] = []
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return rows
        with Path(path).open("rb") as fb:
            header = fb.readline(64 * 1024)
            size = os.fstat(fb.fileno()).st_size
            if size > max_bytes:
                fb.seek(size - max_bytes)
                fb.readline()  # drop the partial line
            body = fb.read(max_bytes)
        text = (header + body).decode("utf-8", errors="replace")
        with io.StringIO(text, newline="") as fh:
            reader = csv.DictReader(fh)
            for raw in reader:
                if None in raw or any(v is None for v in raw.values()):
                    continue  # a row still being written
                row = {}
                for k, v in raw.items():
                    try:
                        row[k] = float(v) if v != "" else None
                    except ValueError:
                        row[k] = v
                    if isinstance(row[k], float) and not math.isfinite(row[k]):
                        row[k] = None
                rows.append(row)
    except (OSError, csv.Error):
        return rows
    return rows


def read_text_tail(path: str | Path, max_chars: int = 4000) -> str:
    """The end of a text file (a log), read without loading the whole file; "" when unreadable."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return ""
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            fh.seek(max(0, size - 4 * max_chars))
            return fh.read().decode("utf-8", errors="replace")[-max_chars:]
    except OSError:
        return ""
