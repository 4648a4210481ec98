"""Column kinds: number (decimal point or comma), category, text or date, read from a column's cells."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.base.i18n import N_, _
from core.data.table.listing import listing

KINDS = ("number", "category", "text", "date")
KIND_LABELS = {"number": N_("number"), "category": N_("category"), "text": N_("text"), "date": N_("date")}
MISSING_TOKENS = frozenset({"", "NA", "N/A", "n/a", "NaN", "nan", "NULL", "null", "#N/A"})  # empty cells

CATEGORY_MAX_DISTINCT = 50  # a text column with at most 50 distinct values...
CATEGORY_MAX_SHARE = 0.5  # ...and at most half as many distinct values as filled cells is a category
DATE_MIN_SHARE = 0.9  # a column is a date when 90% of its filled cells parse with one date format
DATE_PROBE = 200  # distinct values a date format is tried on before the whole column
MIXED_NOTE_SHARE = 0.5  # a text column that is at least half numbers gets a note naming the first non-number
EXAMPLES = 3

DATE_FORMATS = (
    "ISO8601",  # 2024-03-01, 2024-03-01 14:30, 2024-03-01T14:30:00Z
    "%d/%m/%Y", "%m/%d/%Y", "%d.%m.%Y", "%d-%m-%Y", "%Y/%m/%d", "%d/%m/%y", "%m/%d/%y",
    "%d/%m/%Y %H:%M", "%d/%m/%Y %H:%M:%S", "%m/%d/%Y %H:%M", "%m/%d/%Y %H:%M:%S", "%d.%m.%Y %H:%M",
)  # fmt: skip

_NUMBER_START = frozenset("+-.,0123456789")
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


def parse_columns(
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
        notes.append(_("Decimal commas were read as decimal points in {names}.").format(names=listing(converted)))
    if thousands:
        notes.append(_("Thousands separators were removed in {names}.").format(names=listing(thousands)))
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
