"""Saving an uploaded CSV into the data folder, where training (and the next visit) find it.

Only the presenter may (``core.access.roles.require_presenter``). The file is read with
:func:`core.data.table.csv_file.read_table` BEFORE anything is written, so a PNG renamed ``.csv`` or an
empty file never lands in the data folder; it is written atomically under ``tables/`` and never
over another file (``penguins.csv`` taken: ``penguins_2.csv``).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from core.access.roles import Actor, require_presenter
from core.base.errors import InputError
from core.base.i18n import N_, _
from core.base.storage import synced_temp
from core.data.table import csv_file

TABLES_FOLDER = "tables"  # under the data folder
MAX_NAME_CHARS = 80
MAX_COPIES = 1_000  # name_2 ... name_1000, then refuse


def safe_name(name: str) -> str:
    """A file name for the data folder: letters, digits, ``-`` and ``_``, ending in ``.csv``.

    ``"My data (2024).CSV"`` -> ``"My_data_2024.csv"``; nothing usable -> ``"table.csv"``.
    """
    stem = Path(str(name or "")).name
    stem = stem[: -len(".csv")] if stem.lower().endswith(".csv") else stem
    stem = re.sub(r"[^0-9A-Za-z_-]+", "_", stem).strip("_.-")[:MAX_NAME_CHARS] or "table"
    return f"{stem}.csv"


def save_table_upload(upload, name: str | None = None, *, actor: Actor, root: str | Path | None = None) -> Path:
    """Checks an uploaded CSV and saves it as a new file in ``<data folder>/tables/``.

    Args:
        upload: a Streamlit upload, a binary file-like object, or the file's bytes.
        name: the file name to save under (default: the upload's name); made safe.
        actor: who asks; only the presenter may save.
        root: the data folder (default: ``core.data.folders.data_dir()``).

    Returns:
        The path written; a new name when the name was taken (never overwrites).

    Raises:
        InputError: not the presenter, over the size limit, not a readable CSV (the
            message of ``read_table``), or the folder cannot be written.
    """
    from core.data.folders import data_dir

    require_presenter(actor, N_("save a table in the data folder"))
    label = name or Path(str(getattr(upload, "name", "") or "")).name or _("the table")
    size = getattr(upload, "size", None)
    if isinstance(size, int) and size > csv_file.MAX_FILE_BYTES:
        raise csv_file._too_large(label, size)
    if hasattr(upload, "seek"):
        upload.seek(0)
    data = (
        bytes(upload)
        if isinstance(upload, bytes | bytearray | memoryview)
        else upload.read(csv_file.MAX_FILE_BYTES + 1)
    )
    if isinstance(data, str):
        data = data.encode("utf-8")
    if len(data) > csv_file.MAX_FILE_BYTES:
        raise csv_file._too_large(label, len(data))
    csv_file.read_table(data, label)  # refuses what training would refuse, before anything is written
    folder = Path(root if root is not None else data_dir()) / TABLES_FOLDER
    try:
        folder.mkdir(parents=True, exist_ok=True)
        return _write_new(folder, safe_name(label), data)
    except OSError as exc:
        raise InputError(
            _("Could not save the table in {folder}: {problem}.").format(folder=folder, problem=exc.strerror or exc)
        ) from None


def _write_new(folder: Path, filename: str, data: bytes) -> Path:
    """Writes ``data`` to a temp file, then links it under the first free name (atomic, no overwrite)."""
    stem = filename[: -len(".csv")]
    with synced_temp(folder, data, prefix=".upload.") as tmp:
        for n in range(1, MAX_COPIES + 1):
            target = folder / (filename if n == 1 else f"{stem}_{n}.csv")
            try:
                os.link(tmp, target)  # fails if the name exists: never replaces another file
                return target
            except FileExistsError:
                continue
        raise InputError(
            _("Could not find a free name for {name} in {folder}: {n} copies exist.").format(
                name=filename, folder=folder, n=MAX_COPIES)
        )  # fmt: skip
