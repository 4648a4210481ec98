"""Reading a CSV file as spreadsheets really export it into a :class:`Table`.

What a "Save as CSV" gives, and what is done with it:

- a delimiter that is a comma, a semicolon (the European / Brazilian Excel export, usually with
  decimal commas), a tab or a pipe: sniffed from the first rows (the one that splits the header
  and the rows below it into the same number of fields);
- UTF-8 with or without a byte-order mark, UTF-16 with one (Excel's "Unicode text"), else
  Windows-1252 / Latin-1;
- quoted fields with delimiters, quotes and line breaks inside; blank lines (skipped);
- a header row: blank names become ``column_3``, repeated names ``price_2``, and a note says so;
- decimal commas, read as numbers when every non-empty value of a column parses that way;
  thousands separators when the column's decimal mark leaves no doubt (``1,234.5``, ``1.234,5``).

Row numbers in messages are the spreadsheet's: the header is row 1, the first data row row 2
(a cell with a line break inside stays one row, as a spreadsheet shows it).

Shapes: a file of R data rows and C columns gives ``Table.frame`` (R, C) and
``Table.row_numbers`` (R,). Each column's kind is :mod:`core.data.table.columns`'s.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pandas as pd

from core.base.errors import InputError
from core.base.i18n import N_, _, ngettext, number
from core.data.table.columns import Column, parse_columns
from core.data.table.listing import MAX_LISTED, listing

# ----- limits ----------------------------------------------------------------------------------
MB = 1024 * 1024  # Streamlit's maxUploadSize counts megabytes of 2**20 bytes
MAX_FILE_BYTES = 50 * MB  # as .streamlit/config.toml maxUploadSize and core.data.images
MAX_ROWS = 1_000_000  # data rows; a dense network on a 2-core server needs no more
MAX_COLUMNS = 1_000
MIN_DATA_ROWS = 2  # one data row cannot be split into training and validation rows

# ----- reading ---------------------------------------------------------------------------------
SNIFF_CHARS = 64 * 1024  # the delimiter is chosen on the first 64 k characters...
SNIFF_ROWS = 200  # ...and at most this many rows of them
DELIMITERS = ("\t", ";", ",", "|")  # ties go to the first: a comma is the likeliest inside data
CONTROL_SHARE = 0.01  # more control characters than this in the first bytes: not text

# File signatures of things people rename to .csv (checked before decoding).
SIGNATURES = (
    (b"\x89PNG", N_("a PNG image")),
    (b"\xff\xd8\xff", N_("a JPEG image")),
    (b"GIF8", N_("a GIF image")),
    (b"PK\x03\x04", N_("a zip archive (an Excel .xlsx file is one too)")),
    (b"%PDF", N_("a PDF document")),
    (b"\x1f\x8b", N_("a gzip archive")),
    (b"\xd0\xcf\x11\xe0", N_("an old Office file (.xls)")),
    (b"7z\xbc\xaf", N_("a 7z archive")),
)

_END = "\ue000end of file\ue000"  # private-use characters: no real file holds this line


@dataclass
class Table:
    """A CSV file read into a frame, with what was detected and done on the way."""

    frame: pd.DataFrame  # (R, C): numbers float64, everything else str (object dtype), empty = NaN / None
    columns: list[Column]
    source: str  # file name
    encoding: str
    delimiter: str
    decimal: str
    notes: list[str]  # what was done, for the run log
    row_numbers: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # (R,) spreadsheet rows

    def column(self, name: str) -> Column:
        """The :class:`Column` called ``name``.

        Raises:
            InputError: no such column; the message lists the columns there are.
        """
        for col in self.columns:
            if col.name == name:
                return col
        raise InputError(
            _("{file} has no column {name!r}. Its columns: {columns}.").format(
                file=self.source, name=name, columns=listing([c.name for c in self.columns], 30))
        )  # fmt: skip


# ----- reading ---------------------------------------------------------------------------------


def read_table(source: str | Path | bytes | BinaryIO, name: str | None = None, min_rows: int = MIN_DATA_ROWS) -> Table:
    """Reads a CSV file, bytes or an upload into a :class:`Table`.

    Args:
        source: a path, the file's bytes, or a binary file-like object (a Streamlit upload).
        name: the file name for messages and ``Table.source`` (defaults to the path's or upload's).
        min_rows: the fewest data rows accepted: ``MIN_DATA_ROWS`` to train, 1 to predict.

    Returns:
        The table: a frame of the data rows, each column's kind, and notes of what was done.

    Raises:
        InputError: not a text file, empty, a header only, one data row, over ``MAX_FILE_BYTES``
            or ``MAX_ROWS``, rows with more or fewer fields than the header, an unreadable quote.
    """
    data, name = _read_bytes(source, name)
    _refuse_binary(data, name)
    text, encoding = _decode(data)
    notes: list[str] = []
    if encoding in ("cp1252", "latin-1"):
        notes.append(_("The file is not UTF-8: read as {encoding}.").format(encoding=encoding))
    if not text.strip():
        raise InputError(_("{name} has no header and no data: it holds only blank lines.").format(name=name))
    delimiter = _sniff(text)
    header, rows, numbers, trimmed = _records(text, delimiter, name)
    if trimmed:
        notes.append(
            ngettext("{count} row had empty fields beyond the header's {width} (rows {rows}): they were ignored.",
                     "{count} rows had empty fields beyond the header's {width} (rows {rows}): they were ignored.",
                     len(trimmed)).format(count=number(len(trimmed)), width=len(header), rows=listing(trimmed))
        )  # fmt: skip
    names = _clean_names(header, notes)
    if not rows:
        raise InputError(
            _("{name} has a header row ({columns}) but no data rows.").format(name=name, columns=listing(names))
        )
    if len(rows) < min_rows:
        raise InputError(
            _("{name} has only one data row (row {row}); at least {min} rows are needed to train and check a "
              "network, and many more to learn anything.").format(name=name, row=numbers[0], min=MIN_DATA_ROWS)
        )  # fmt: skip
    columns, series, decimal = parse_columns(names, rows, numbers, delimiter, notes)
    frame = pd.DataFrame(dict(zip(names, series)), columns=names)
    empty = [c.name for c in columns if c.missing == len(frame)]
    if empty:
        notes.append(
            ngettext("{count} column is empty in every row: {names}.",
                     "{count} columns are empty in every row: {names}.", len(empty)).format(
                count=number(len(empty)), names=listing(empty))
        )  # fmt: skip
    return Table(
        frame=frame,
        columns=columns,
        source=name,
        encoding=encoding,
        delimiter=delimiter,
        decimal=decimal,
        notes=notes,
        row_numbers=np.asarray(numbers, dtype=np.int64),
    )


def _read_bytes(source: str | Path | bytes | BinaryIO, name: str | None) -> tuple[bytes, str]:
    """The file's bytes (at most ``MAX_FILE_BYTES``) and its name for messages."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        data, name = bytes(source), name or _("the table")
    elif isinstance(source, (str, Path)):
        path = Path(source)
        name = name or path.name
        try:
            info = os.stat(path)
        except FileNotFoundError:
            raise InputError(_("Table file not found: {path}").format(path=path)) from None
        except OSError as exc:
            raise InputError(
                _("Could not read {path}: {problem}.").format(path=path, problem=exc.strerror or exc)
            ) from None
        if not stat.S_ISREG(info.st_mode):
            raise InputError(_("Expected a CSV file. Received a folder, device or pipe: {path}").format(path=path))
        if info.st_size > MAX_FILE_BYTES:
            raise _too_large(name, info.st_size)
        with open(path, "rb") as fh:
            data = fh.read(MAX_FILE_BYTES + 1)
    elif hasattr(source, "read"):
        name = name or Path(str(getattr(source, "name", "") or "")).name or _("the table")
        size = getattr(source, "size", None)  # a Streamlit upload knows its size before reading
        if isinstance(size, int) and size > MAX_FILE_BYTES:
            raise _too_large(name, size)
        data = source.read(MAX_FILE_BYTES + 1)
        if isinstance(data, str):
            data = data.encode("utf-8")
    else:
        raise InputError(
            _("Expected a CSV path, bytes or an uploaded file. Received: {kind}").format(kind=type(source).__name__)
        )
    if len(data) > MAX_FILE_BYTES:
        raise _too_large(name, len(data))
    if not data:
        raise InputError(_("{name} is empty (0 bytes).").format(name=name))
    return data, str(name)


def _too_large(name: str, size: int) -> InputError:
    return InputError(
        _("{name} is too large: {size} MB. Tables are limited to {limit} MB and {rows} rows.").format(
            name=name, size=number(size / MB, 1), limit=number(MAX_FILE_BYTES / MB, 0), rows=number(MAX_ROWS))
    )  # fmt: skip


def _refuse_binary(data: bytes, name: str) -> None:
    """Refuses images, archives, PDFs and other binary files renamed ``.csv``."""
    for magic, what in SIGNATURES:
        if data.startswith(magic):
            raise InputError(_("{name} is not a CSV file: it looks like {what}.").format(name=name, what=_(what)))
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return  # UTF-16 text is full of NUL bytes
    head = data[:4096]
    controls = sum(1 for b in head if b < 32 and b not in (9, 10, 12, 13))  # tab, newlines, form feed are text
    if b"\x00" in head or controls > CONTROL_SHARE * len(head):
        raise InputError(
            _("{name} is not a CSV file: it holds binary data, not text. Save the sheet as CSV "
              "(comma, semicolon or tab separated) and try again.").format(name=name)
        )  # fmt: skip


def _decode(data: bytes) -> tuple[str, str]:
    """Text and the encoding that gave it: UTF-8 (BOM or not), UTF-16 with a BOM, else cp1252 / Latin-1."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            pass
    if data.startswith(codecs.BOM_UTF8):
        try:
            return data.decode("utf-8-sig"), "utf-8-sig"
        except UnicodeDecodeError:
            data = data[len(codecs.BOM_UTF8) :]
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:  # five bytes cp1252 leaves undefined: Latin-1 reads anything
        return data.decode("latin-1"), "latin-1"


def _sniff(text: str) -> str:
    """The delimiter that splits the header and the rows below it into the same number of fields.

    Scored on the first ``SNIFF_ROWS`` non-blank rows, among delimiters that give the header 2+
    fields: (share of rows with the header's width, header width); ties go to the first of
    ``DELIMITERS``. No delimiter gives 2 fields (one column): a comma.
    """
    sample = text[:SNIFF_CHARS]
    if len(text) > SNIFF_CHARS and "\n" in sample:
        sample = sample[: sample.rindex("\n")]  # no half row at the end
    best, best_score = ",", (-1.0, 0)
    for delimiter in DELIMITERS:
        rows: list[list[str]] = []
        try:
            for row in csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter, strict=False):
                if any(f.strip() for f in row):
                    rows.append(row)
                if len(rows) > SNIFF_ROWS:
                    break
        except csv.Error:
            continue
        if not rows:
            continue
        width = len(rows[0])
        body = rows[1:]
        share = sum(len(r) == width for r in body) / len(body) if body else 1.0
        score = (share, width)
        if width > 1 and score > best_score:
            best, best_score = delimiter, score
    return best


def _records(text: str, delimiter: str, name: str) -> tuple[list[str], list[list[str]], list[int], list[int]]:
    """Splits the text into the header, the data rows and their spreadsheet row numbers.

    Returns:
        (header, rows of exactly the header's width, their spreadsheet row numbers,
        rows whose extra trailing fields were empty and dropped).

    Raises:
        InputError: rows with fewer fields than the header, or more non-empty ones; too many rows.
    """
    header: list[str] | None = None
    rows: list[list[str]] = []
    numbers: list[int] = []
    trimmed: list[int] = []
    ragged: list[tuple[int, int]] = []  # (row, fields)
    # A last line of its own shows a quote left open: it ends up inside the last cell.
    reader = csv.reader(io.StringIO(text + "\n" + _END + "\n", newline=""), delimiter=delimiter, strict=False)
    row_number = 0
    try:
        for row_number, row in enumerate(reader, start=1):
            if row == [_END]:
                break
            if row and row[-1].rstrip("\r\n").endswith(_END):
                raise InputError(
                    _("{name}: a quote opens in row {row} and is never closed, so the rest of the file would be "
                      "one cell. Check the quotes in that row.").format(name=name, row=row_number)
                )  # fmt: skip
            if not "".join(row).strip():
                continue  # a blank line, or a row of empty cells (";;;")
            if header is None:
                header = row
                if len(header) > MAX_COLUMNS:
                    raise InputError(
                        _("{name} has {count} columns; at most {limit} are supported.").format(
                            name=name, count=number(len(header)), limit=number(MAX_COLUMNS))
                    )  # fmt: skip
                continue
            width = len(header)
            if len(row) > width and not "".join(row[width:]).strip():
                trimmed.append(row_number)
                row = row[:width]
            if len(row) != width:
                ragged.append((row_number, len(row)))
                continue
            rows.append(row)
            numbers.append(row_number)
            if len(rows) > MAX_ROWS:
                raise InputError(
                    _("{name} has more than {rows} data rows. Tables are limited to {limit} MB and {rows} rows.").format(
                        name=name, rows=number(MAX_ROWS), limit=number(MAX_FILE_BYTES / MB, 0))
                )  # fmt: skip
    except csv.Error as exc:
        raise InputError(
            _("{name} could not be read as CSV near row {row}: {problem}. Check its quotes.").format(
                name=name, row=row_number + 1, problem=exc)
        ) from None  # fmt: skip
    if ragged:
        shown = "; ".join(
            _("row {row}: {fields}").format(row=r, fields=ngettext("{n} field", "{n} fields", n).format(n=n))
            for r, n in ragged[:MAX_LISTED]
        )
        more = len(ragged) - MAX_LISTED
        raise InputError(
            ngettext("{name}: {count} row does not have the header's {width} fields ({shown}{more}). "
                     "Check the delimiter ({delimiter}) and the quotes around values that contain it.",
                     "{name}: {count} rows do not have the header's {width} fields ({shown}{more}). "
                     "Check the delimiter ({delimiter}) and the quotes around values that contain it.",
                     len(ragged)).format(
                name=name, count=number(len(ragged)), width=len(header or ()), shown=shown,
                more=_("; and {n} more").format(n=number(more)) if more > 0 else "",
                delimiter=_delimiter_name(delimiter))
        )  # fmt: skip
    return header or [], rows, numbers, trimmed


def _delimiter_name(delimiter: str) -> str:
    return {",": _("comma"), ";": _("semicolon"), "\t": _("tab"), "|": _("pipe")}.get(delimiter, repr(delimiter))


def _clean_names(header: list[str], notes: list[str]) -> list[str]:
    """Stripped header names; blank ones become ``column_N``, repeated ones ``name_2`` (with notes)."""
    names: list[str] = []
    blank: list[str] = []
    repeated: list[str] = []
    taken: set[str] = set()
    for i, raw in enumerate(header, start=1):
        name = raw.strip()
        if not name:
            name = f"column_{i}"
            blank.append(name)
        if name in taken:
            base, k = name, 2
            while f"{base}_{k}" in taken or f"{base}_{k}" in (h.strip() for h in header):
                k += 1
            name = f"{base}_{k}"
            repeated.append(_("{old} -> {new}").format(old=base, new=name))
        taken.add(name)
        names.append(name)
    if blank:
        notes.append(_("Columns without a name were named {names}.").format(names=listing(blank)))
    if repeated:
        notes.append(_("Repeated column names were renamed: {names}.").format(names=listing(repeated)))
    return names
