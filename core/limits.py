"""Rate limits and quotas that protect a shared server from one visitor (or one mistake).

A visitor is identified twice: by the web session id the page passes in, and by the client
address the connection came from (``None`` from the command line: no limit). A reload is a new
session, so every allowance is charged to both: reconnecting gets a fresh session allowance
but the same address allowance (``ADDRESS_RATES``, larger, since a classroom behind one NAT
shares an address). The limits live in this process, shared by every session, and are checked
where the action happens (``core.jobs``, ``core.zip_import``, ``core.room``, the prediction
path), so a crafted widget state cannot skip them.
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

# One address, however many sessions (reloads) it opens. Larger than a session's: phones behind
# one NAT (a tunnel, a venue's network) share it; each is an environment setting.
ADDRESS_RATES = {
    "submit": Rate(_env_int("CNNLAB_ADDRESS_SUBMITS_PER_10MIN", 12), 600, N_("trainings started")),
    "import": Rate(_env_int("CNNLAB_ADDRESS_IMPORTS_PER_HOUR", 10), 3600, N_("zip imports")),
    "predict": Rate(_env_int("CNNLAB_ADDRESS_PREDICTIONS_PER_MIN", 300), 60, N_("predictions")),
    "decode": Rate(_env_int("CNNLAB_ADDRESS_MEGAPIXELS_PER_MIN", 2000), 60, N_("megapixels of images decoded")),
    "room": Rate(_env_int("CNNLAB_ADDRESS_ROOM_SUBMITS_PER_MIN", 30), 60, N_("submissions to the room")),
    "key": Rate(10, 60, N_("presenter key attempts")),
    "heavy": Rate(_env_int("CNNLAB_ADDRESS_HEAVY_PER_MIN", 60), 60, N_("evaluations and explanations")),
}
# Evaluate (a model over a folder, a TFLite conversion) and Predict's Grad-CAM and feature maps: seconds of
# CPU each, shared by the whole room; charged only when computed, not when a page shows a cached one.
RATES["heavy"] = Rate(_env_int("CNNLAB_HEAVY_PER_MIN", 30), 60, N_("evaluations and explanations"))

_LOCK = threading.Lock()
_BUCKETS: dict[tuple[str, str], tuple[float, float]] = {}  # (action, "s:"+session or "a:"+address) -> (tokens, stamp)
MAX_BUCKETS = 20_000  # forget the oldest beyond this (bounded memory)


def take(action: str, session: str | None, amount: float = 1.0, address: str | None = None) -> None:
    """Spends ``amount`` of a session's and of its address's allowance for ``action``.

    Both are checked before either is spent: a refused action costs nothing.

    Raises:
        InputError: the session or its address used up its allowance; says when to try again.
    """
    if session is None and address is None:
        return
    now = time.monotonic()
    buckets = []
    if session is not None:
        buckets.append(((action, "s:" + session), RATES[action], _("per visitor")))
    if address is not None:
        buckets.append(((action, "a:" + address), ADDRESS_RATES[action], _("per network address")))
    with _LOCK:
        spent = []
        for key, rate, who in buckets:
            tokens = _tokens(key, rate, now)
            if amount > tokens:
                wait = (amount - tokens) * rate.seconds / rate.count
                raise InputError(
                    _("Slow down: at most {count} {what} per {span} {who}. Try again in {wait} s.").format(
                        count=number(rate.count), what=_(rate.what), span=_span(rate.seconds), who=who,
                        wait=number(wait, 0))
                )  # fmt: skip
            spent.append((key, tokens - amount))
        for key, tokens in spent:
            _BUCKETS.pop(key, None)  # re-inserted last: the dict's order is least recently used first
            if len(_BUCKETS) >= MAX_BUCKETS:
                _BUCKETS.pop(next(iter(_BUCKETS)))
            _BUCKETS[key] = (tokens, now)


def take_for(action: str, actor: object, amount: float = 1.0) -> None:
    """:func:`take` for a ``core.roles.Actor`` (or None: the command line, no limit)."""
    take(action, getattr(actor, "session", None), amount, address=getattr(actor, "address", None))


def _tokens(key: tuple[str, str], rate: Rate, now: float) -> float:
    tokens, stamp = _BUCKETS.get(key, (float(rate.count), now))
    return min(float(rate.count), tokens + (now - stamp) * rate.count / rate.seconds)


def left(action: str, session: str | None, address: str | None = None) -> float:
    """What a session (and its address) may still spend on ``action`` now (infinite without either)."""
    now = time.monotonic()
    found = [float("inf")]
    with _LOCK:
        if session is not None:
            found.append(_tokens((action, "s:" + session), RATES[action], now))
        if address is not None:
            found.append(_tokens((action, "a:" + address), ADDRESS_RATES[action], now))
    return min(found)


def reset() -> None:
    """Forgets every allowance (tests)."""
    with _LOCK:
        _BUCKETS.clear()


def _span(seconds: float) -> str:
    return (
        f"{seconds / 3600:g} h" if seconds >= 3600 else f"{seconds / 60:g} min" if seconds >= 60 else f"{seconds:g} s"
    )


@dataclass(frozen=True)
class UploadQuota:
    """How many bytes of uploads the server holds in memory, per session, per address and in all.

    A web server keeps every uploaded file in memory until its page lets go of it; without a cap
    one visitor could upload 50 MB files until the machine runs out (``PUT`` is open to any
    session). Each is an environment setting in MB.
    """

    per_session: int = _env_int("CNNLAB_UPLOAD_MB_PER_SESSION", 100) * 1024**2
    per_address: int = _env_int("CNNLAB_UPLOAD_MB_PER_ADDRESS", 200) * 1024**2
    total: int = _env_int("CNNLAB_UPLOAD_MB_TOTAL", 2048) * 1024**2

    def check(self, size: int, session_held: int, address_held: int, total_held: int) -> None:
        """Refuses a new upload of ``size`` bytes beside what is held already.

        Raises:
            InputError: one of the three caps would be passed; says which and by how much.
        """
        for held, cap, who in (
            (session_held, self.per_session, _("this visitor")),
            (address_held, self.per_address, _("this network address")),
            (total_held, self.total, _("this server")),
        ):
            if held + size > cap:
                raise InputError(
                    _("Upload refused: {who} already holds {held} MB of uploads and may hold at most {cap} MB. "
                      "Remove a file first.").format(who=who, held=number(held / 1024**2, 1),
                                                     cap=number(cap / 1024**2, 0))
                )  # fmt: skip
