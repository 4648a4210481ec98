"""Reading a CSV table as spreadsheets really export it, and the first choices made from it.

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
``Table.row_numbers`` (R,).
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import re
import stat
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pandas as pd

from core.base.errors import InputError
from core.base.i18n import N_, _, ngettext, number

KINDS = ("number", "category", "text", "date")
KIND_LABELS = {"number": N_("number"), "category": N_("category"), "text": N_("text"), "date": N_("date")}
TASKS = ("regression", "classification")

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
MISSING_TOKENS = frozenset({"", "NA", "N/A", "n/a", "NaN", "nan", "NULL", "null", "#N/A"})  # empty cells
MAX_LISTED = 5  # rows or values named in one message
CONTROL_SHARE = 0.01  # more control characters than this in the first bytes: not text

# ----- column kinds ----------------------------------------------------------------------------
CATEGORY_MAX_DISTINCT = 50  # a text column with at most 50 distinct values...
CATEGORY_MAX_SHARE = 0.5  # ...and at most half as many distinct values as filled cells is a category
DATE_MIN_SHARE = 0.9  # a column is a date when 90% of its filled cells parse with one date format
DATE_PROBE = 200  # distinct values a date format is tried on before the whole column
MIXED_NOTE_SHARE = 0.5  # a text column that is at least half numbers gets a note naming the first non-number
EXAMPLES = 3

# ----- tasks and targets -----------------------------------------------------------------------
CLASSIFICATION_MAX_DISTINCT = 10  # a whole-number target with at most 10 values is proposed as classes
MIN_ROWS_PER_CLASS = 2  # a class needs a row to learn from and one to check on
MAX_CLASSES = 100
MAX_CLASSES_LISTED = 10  # small classes named in the message
ID_NAMES = frozenset({"id", "index", "unnamed: 0", "row", "rowid", "row_id", "#"})  # compared lower-case

DATE_FORMATS = (
    "ISO8601",  # 2024-03-01, 2024-03-01 14:30, 2024-03-01T14:30:00Z
    "%d/%m/%Y", "%m/%d/%Y", "%d.%m.%Y", "%d-%m-%Y", "%Y/%m/%d", "%d/%m/%y", "%m/%d/%y",
    "%d/%m/%Y %H:%M", "%d/%m/%Y %H:%M:%S", "%m/%d/%Y %H:%M", "%m/%d/%Y %H:%M:%S", "%d.%m.%Y %H:%M",
)  # fmt: skip

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

_NUMBER_START = frozenset("+-.,0123456789")
_END = "\ue000end of file\ue000"  # private-use characters: no real file holds this line
_NUM_POINT = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")  # 12, 1.5, .5, 1e-3
_NUM_COMMA = re.compile(r"[+-]?(?:\d+(?:,\d*)?|,\d+)(?:[eE][+-]?\d+)?")  # 12, 1,5, ,5
_THOUSANDS_POINT = re.compile(r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d*)?")  # 1,234 or 1,234.5
_THOUSANDS_COMMA = re.compile(r"[+-]?\d{1,3}(?:\.\d{3})+(?:,\d*)?")  # 1.234 or 1.234,5


@dataclass(frozen=True)
class Column:
    """One column as the page shows it: its kind, its empty cells, a few of its values."""

    name: str
    kind: str  # one of KINDS
    missing: int  # empty cells
    distinct: int  # distinct non-empty values
    examples: tuple[str, ...]  # up to 3 values as text, for the page


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
                file=self.source, name=name, columns=_listing([c.name for c in self.columns], 30))
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
                     len(trimmed)).format(count=number(len(trimmed)), width=len(header), rows=_listing(trimmed))
        )  # fmt: skip
    names = _clean_names(header, notes)
    if not rows:
        raise InputError(
            _("{name} has a header row ({columns}) but no data rows.").format(name=name, columns=_listing(names))
        )
    if len(rows) < min_rows:
        raise InputError(
            _("{name} has only one data row (row {row}); at least {min} rows are needed to train and check a "
              "network, and many more to learn anything.").format(name=name, row=numbers[0], min=MIN_DATA_ROWS)
        )  # fmt: skip
    columns, series, decimal = _columns(names, rows, numbers, delimiter, notes)
    frame = pd.DataFrame(dict(zip(names, series)), columns=names)
    empty = [c.name for c in columns if c.missing == len(frame)]
    if empty:
        notes.append(
            ngettext("{count} column is empty in every row: {names}.",
                     "{count} columns are empty in every row: {names}.", len(empty)).format(
                count=number(len(empty)), names=_listing(empty))
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
        notes.append(_("Columns without a name were named {names}.").format(names=_listing(blank)))
    if repeated:
        notes.append(_("Repeated column names were renamed: {names}.").format(names=_listing(repeated)))
    return names


# ----- column kinds ----------------------------------------------------------------------------


@dataclass
class _Cells:
    """One column's cells, stripped, with what its distinct values could be read as."""

    values: list[str | None]  # (R,) stripped; None where empty
    counts: Counter  # distinct non-empty value -> how many cells
    point_ok: bool = False  # every value reads as a number with a decimal point
    comma_ok: bool = False  # every value reads as a number with a decimal comma
    point_evidence: bool = False  # some value reads only with a decimal point (1.5)
    comma_evidence: bool = False  # some value reads only with a decimal comma (1,5)


def _cells(raw: Sequence[str]) -> _Cells:
    values = [None if v.strip() in MISSING_TOKENS else v.strip() for v in raw]
    counts = Counter(v for v in values if v is not None)
    cells = _Cells(values, counts, point_ok=bool(counts), comma_ok=bool(counts))
    for v in counts:
        if v[0] not in _NUMBER_START:  # "abc": no regex needed (most of a text column's values)
            cells.point_ok = cells.comma_ok = False
            continue
        p = _reads_point(v)
        c = _reads_comma(v)
        cells.point_ok &= p
        cells.comma_ok &= c
        cells.point_evidence |= p and not c
        cells.comma_evidence |= c and not p
    return cells


def _reads_point(v: str) -> bool:
    return bool(_NUM_POINT.fullmatch(v) or _THOUSANDS_POINT.fullmatch(v))


def _reads_comma(v: str) -> bool:
    return bool(_NUM_COMMA.fullmatch(v) or _THOUSANDS_COMMA.fullmatch(v))


def _to_float(v: str, decimal: str) -> float:
    if decimal == ",":
        return float(v.replace(".", "").replace(",", "."))
    return float(v.replace(",", ""))


def _columns(
    names: list[str], rows: list[list[str]], numbers: list[int], delimiter: str, notes: list[str]
) -> tuple[list[Column], list[pd.Series], str]:
    """Each column's kind and its values as a Series; and the file's decimal mark."""
    cells = [_cells(col) for col in zip(*rows)]
    # The file's decimal mark: which one more columns need; with no evidence, the delimiter's custom.
    commas = sum(c.comma_ok and c.comma_evidence for c in cells)
    points = sum(c.point_ok and c.point_evidence for c in cells)
    decimal = "," if commas > points or (commas == points and delimiter == ";") else "."
    columns: list[Column] = []
    series: list[pd.Series] = []
    converted: list[str] = []
    thousands: list[str] = []
    for name, c in zip(names, cells):
        present = sum(c.counts.values())
        missing = len(c.values) - present
        examples = tuple(list(c.counts)[:EXAMPLES])  # Counter keeps first-seen order
        mark = decimal if c.point_ok and c.comma_ok else "." if c.point_ok else "," if c.comma_ok else None
        if mark is not None:
            lookup = {v: _to_float(v, mark) for v in c.counts}
            values = np.array([np.nan if v is None else lookup[v] for v in c.values], dtype=np.float64)
            columns.append(Column(name, "number", missing, len(set(lookup.values())), examples))
            series.append(pd.Series(values, dtype=np.float64))
            if mark == "," and any("," in v for v in c.counts):
                converted.append(name)
            separator = "," if mark == "." else "."
            if any(separator in v for v in c.counts):
                thousands.append(name)
            continue
        kind = "text" if not present else _text_kind(c, present)
        if present and kind != "date":
            _note_mixed(name, c, numbers, decimal, present, notes)
        columns.append(Column(name, kind, missing, len(c.counts), examples))
        series.append(pd.Series(c.values, dtype=object))
    if converted:
        notes.append(_("Decimal commas were read as decimal points in {names}.").format(names=_listing(converted)))
    if thousands:
        notes.append(_("Thousands separators were removed in {names}.").format(names=_listing(thousands)))
    return columns, series, decimal


def _text_kind(c: _Cells, present: int) -> str:
    """'date', 'category' or 'text' for a column that is not all numbers."""
    distinct = pd.Series(list(c.counts), dtype=object)
    weights = np.array(list(c.counts.values()))  # (D,) cells per distinct value
    probe = slice(0, DATE_PROBE)
    for fmt in DATE_FORMATS:
        # Try the format on the first distinct values first: free text fails fast.
        if pd.to_datetime(distinct[probe], format=fmt, errors="coerce").notna().mean() < DATE_MIN_SHARE / 2:
            continue
        parsed = pd.to_datetime(distinct, format=fmt, errors="coerce").notna().to_numpy()
        if weights[parsed].sum() >= DATE_MIN_SHARE * present:
            return "date"
    if len(c.counts) <= CATEGORY_MAX_DISTINCT and len(c.counts) <= CATEGORY_MAX_SHARE * present:
        return "category"
    return "text"


def _note_mixed(name: str, c: _Cells, numbers: list[int], decimal: str, present: int, notes: list[str]) -> None:
    """A note naming the first non-number of a column that is mostly numbers."""

    def reads(v: str) -> bool:
        return v[0] in _NUMBER_START and (_reads_comma(v) if decimal == "," else _reads_point(v))

    numeric = sum(n for v, n in c.counts.items() if reads(v))
    if numeric < MIXED_NOTE_SHARE * present:
        return
    for v, row in zip(c.values, numbers):
        if v is not None and not reads(v):
            notes.append(
                _("Column {name!r} mixes numbers with text (row {row} holds {value!r}): it is read as text "
                  "values, not numbers.").format(name=name, row=row, value=v[:40])
            )  # fmt: skip
            return


def _listing(items: Sequence[object], limit: int = MAX_LISTED) -> str:
    """``a, b, c`` or ``a, b, c (and 4 more)``."""
    shown = ", ".join(str(i) for i in items[:limit])
    if len(items) > limit:
        shown += " " + _("(and {n} more)").format(n=number(len(items) - limit))
    return shown


# ----- proposals and checks --------------------------------------------------------------------


def propose_task(table: Table, target: str) -> str:
    """Proposes "regression" or "classification" for predicting ``target``.

    A number column is regression unless it has at most ``CLASSIFICATION_MAX_DISTINCT`` (10)
    distinct values, all whole numbers (a 1..5 rating, a 0/1 flag): then classification.
    Category, text and date columns are classification.

    Raises:
        InputError: ``target`` is not a column.
    """
    col = table.column(target)
    if col.kind != "number":
        return "classification"
    values = table.frame[target].dropna().to_numpy()
    whole = bool(np.all(np.mod(values, 1) == 0))
    return "classification" if whole and col.distinct <= CLASSIFICATION_MAX_DISTINCT else "regression"


def propose_drop(table: Table) -> list[str]:
    """Columns proposed for leaving out: ids and columns empty in every row.

    An id is a column named like one (``ID_NAMES``: id, index, Unnamed: 0...), whole numbers that
    go up by one in every row, or a text column with a different value in every row. The caller
    leaves the target out of the proposal.
    """
    drop: list[str] = []
    n = len(table.frame)
    for col in table.columns:
        values = table.frame[col.name]
        if col.missing == n:
            drop.append(col.name)
        elif col.name.strip().lower() in ID_NAMES:
            drop.append(col.name)
        elif col.missing == 0 and n > 2 and col.kind == "number":
            steps = np.diff(values.to_numpy())
            if np.all(np.mod(values.to_numpy(), 1) == 0) and np.all(steps == 1):
                drop.append(col.name)
        elif col.missing == 0 and n > 2 and col.kind in ("text", "category") and col.distinct == n:
            drop.append(col.name)
    return drop


def check_target(table: Table, target: str, task: str) -> None:
    """Checks that ``target`` can be predicted as ``task``.

    Rows without a target value are not an error (training leaves them out; :func:`target_note`
    says how many) unless too few rows are left.

    Raises:
        InputError: no such column (the message lists them), an unknown task, a date column,
            fewer than 2 rows with a value, one value only, regression on a non-number column,
            more than ``MAX_CLASSES`` classes, or classes with fewer than ``MIN_ROWS_PER_CLASS`` rows.
    """
    col = table.column(target)
    if task not in TASKS:
        raise InputError(_("Expected the task 'regression' or 'classification'. Received: {task!r}").format(task=task))
    if col.kind == "date":
        raise InputError(_("{name!r} holds dates; pick a number or category column to predict.").format(name=target))
    values = table.frame[target].dropna()
    if len(values) < MIN_DATA_ROWS:
        raise InputError(
            _("{name!r} has a value in {count} of {rows} rows; at least {min} are needed to train on it.").format(
                name=target, count=number(len(values)), rows=number(len(table.frame)), min=MIN_DATA_ROWS)
        )  # fmt: skip
    if col.distinct < 2:
        raise InputError(
            _("{name!r} has one value only ({value}): there is nothing to predict. Pick another column.").format(
                name=target, value=values.iloc[0])
        )  # fmt: skip
    if task == "regression":
        if col.kind != "number":
            raise InputError(
                _("Regression predicts a number, but {name!r} holds {kind} values (for example {example!r}). "
                  "Choose classification, or another column.").format(
                    name=target, kind=_(KIND_LABELS[col.kind]), example=col.examples[0] if col.examples else "")
            )  # fmt: skip
        return
    counts = values.astype(str).value_counts() if col.kind != "number" else values.value_counts()
    if len(counts) > MAX_CLASSES:
        raise InputError(
            _("{name!r} has {count} different values: too many classes (at most {limit}). "
              "If it is a measurement, choose regression.").format(
                name=target, count=number(len(counts)), limit=number(MAX_CLASSES))
        )  # fmt: skip
    small = counts[counts < MIN_ROWS_PER_CLASS]
    if len(small):
        rows = [
            ngettext("{cls} ({n} row)", "{cls} ({n} rows)", n).format(cls=_class_text(k), n=n) for k, n in small.items()
        ]
        shown = _listing(rows, MAX_CLASSES_LISTED)
        raise InputError(
            ngettext("{count} class of {name!r} has fewer than {min} rows: {shown}. Each class needs rows to learn "
                     "from and to check on; remove the rare rows or choose regression.",
                     "{count} classes of {name!r} have fewer than {min} rows: {shown}. Each class needs rows to "
                     "learn from and to check on; remove the rare rows or choose regression.", len(small)).format(
                count=number(len(small)), name=target, min=MIN_ROWS_PER_CLASS, shown=shown)
        )  # fmt: skip


def _class_text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def target_note(table: Table, target: str) -> str | None:
    """A note for the run log when some rows have no ``target`` value (training leaves them out).

    Raises:
        InputError: ``target`` is not a column.
    """
    missing = table.column(target).missing
    if not missing:
        return None
    rows = table.row_numbers[table.frame[target].isna().to_numpy()].tolist() if len(table.row_numbers) else []
    return ngettext(
        "{count} row has no value in {name!r} and is left out of training (row {rows}).",
        "{count} rows have no value in {name!r} and are left out of training (rows {rows}).",
        missing,
    ).format(count=number(missing), name=target, rows=_listing(rows))


def split_rows(n: int, seed: int, validation: float, test: float) -> dict[str, np.ndarray]:
    """Deterministic train / validation / test row indices for ``n`` rows.

    The same (n, seed, fractions) always give the same split; the three parts are disjoint,
    sorted and cover ``range(n)``. A part asked for (fraction > 0) gets at least one row.

    Args:
        n: number of rows.
        seed: the run's seed.
        validation: fraction of rows for validation, in [0, 1).
        test: fraction of rows for the test, in [0, 1); validation + test < 1.

    Returns:
        ``{"train": (n_train,), "validation": (n_val,), "test": (n_test,)}`` int64 indices.

    Raises:
        InputError: fractions out of range, or too few rows to give each part a row.
    """
    if not (0 <= validation < 1 and 0 <= test < 1 and validation + test < 1):
        raise InputError(
            _("Expected validation and test fractions in [0, 1) adding up to less than 1. "
              "Received: validation={validation}, test={test}").format(validation=validation, test=test)
        )  # fmt: skip
    n_val = max(1, round(n * validation)) if validation > 0 else 0
    n_test = max(1, round(n * test)) if test > 0 else 0
    if n - n_val - n_test < 1:
        raise InputError(
            _("{n} rows are too few to split into training, validation and test rows.").format(n=number(n))
        )
    order = np.random.default_rng(seed).permutation(n)  # (n,)
    return {
        "train": np.sort(order[n_val + n_test :]).astype(np.int64),
        "validation": np.sort(order[:n_val]).astype(np.int64),
        "test": np.sort(order[n_val : n_val + n_test]).astype(np.int64),
    }
