"""Rate limits and quotas that protect a shared server from one visitor (or one mistake).

A visitor is identified by the web session id the page passes in (``None`` from the command
line: no limit). The limits live in this process, shared by every session, and are checked
where the action happens (``core.jobs``, ``core.zip_import``, the prediction path), so a
crafted widget state cannot skip them.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass

from core.errors import InputError
from core.i18n import N_, _, number


@dataclass(frozen=True)
class Rate:
    """At most ``count`` actions per ``seconds`` for one session (a token bucket)."""

    count: int
    seconds: float
    what: str  # "trainings", "imports"... for the message


def _env_int(name: str, default: int) -> int:
    try:
        return max(1, int(os.environ.get(name, default)))
    except ValueError:
        return default


RATES = {
    "submit": Rate(_env_int("CNNLAB_SUBMITS_PER_10MIN", 6), 600, N_("trainings started")),
    "import": Rate(_env_int("CNNLAB_IMPORTS_PER_HOUR", 5), 3600, N_("zip imports")),
    "predict": Rate(_env_int("CNNLAB_PREDICTIONS_PER_MIN", 120), 60, N_("predictions")),
    "decode": Rate(_env_int("CNNLAB_MEGAPIXELS_PER_MIN", 800), 60, N_("megapixels of images decoded")),
    "room": Rate(_env_int("CNNLAB_ROOM_SUBMITS_PER_MIN", 12), 60, N_("submissions to the room")),
    "key": Rate(5, 60, N_("presenter key attempts")),
}

_LOCK = threading.Lock()
_BUCKETS: dict[tuple[str, str], tuple[float, float]] = {}  # (action, session) -> (tokens, stamp)
MAX_BUCKETS = 10_000  # forget the oldest sessions beyond this (bounded memory)


def take(action: str, session: str | None, amount: float = 1.0) -> None:
    """Spends ``amount`` of a session's allowance for ``action``.

    Raises:
        InputError: the session used up its allowance; says when it may try again.
    """
    if session is None:
        return
    rate = RATES[action]
    now = time.monotonic()
    with _LOCK:
        tokens, stamp = _BUCKETS.get((action, session), (float(rate.count), now))
        tokens = min(float(rate.count), tokens + (now - stamp) * rate.count / rate.seconds)
        if amount > tokens:
            wait = (amount - tokens) * rate.seconds / rate.count
            raise InputError(
                _("Slow down: at most {count} {what} per {span} per visitor. Try again in {wait} s.").format(
                    count=number(rate.count), what=_(rate.what), span=_span(rate.seconds), wait=number(wait, 0))
            )  # fmt: skip
        if len(_BUCKETS) >= MAX_BUCKETS:
            _BUCKETS.pop(next(iter(_BUCKETS)))
        _BUCKETS[(action, session)] = (tokens - amount, now)


def left(action: str, session: str | None) -> float:
    """What a session may still spend on ``action`` now (infinite without a session)."""
    if session is None:
        return float("inf")
    rate = RATES[action]
    now = time.monotonic()
    with _LOCK:
        tokens, stamp = _BUCKETS.get((action, session), (float(rate.count), now))
    return min(float(rate.count), tokens + (now - stamp) * rate.count / rate.seconds)


def reset() -> None:
    """Forgets every allowance (tests)."""
    with _LOCK:
        _BUCKETS.clear()


def _span(seconds: float) -> str:
    return (
        f"{seconds / 3600:g} h" if seconds >= 3600 else f"{seconds / 60:g} min" if seconds >= 60 else f"{seconds:g} s"
    )
