"""How the lists of names, rows and values in the tables' messages are written: ``a, b, c (and 4 more)``."""

from __future__ import annotations

from collections.abc import Sequence

from core.base.i18n import _, number

MAX_LISTED = 5  # rows or values named in one message


def listing(items: Sequence[object], limit: int = MAX_LISTED) -> str:
    """``a, b, c`` or ``a, b, c (and 4 more)``."""
    shown = ", ".join(str(i) for i in items[:limit])
    if len(items) > limit:
        shown += " " + _("(and {n} more)").format(n=number(len(items) - limit))
    return shown
