"""Rate limits and quotas that protect a shared server from one visitor (or one mistake).

A visitor is identified twice: by the web session id the page passes in, and by the client
address the connection came from (``None`` from the command line: no limit). A reload is a new
session, so every allowance is charged to both: reconnecting gets a fresh session allowance
but the same address allowance (``ADDRESS_RATES``, larger, since a classroom behind one NAT
shares an address). The limits live in this process, shared by every session, and are checked
where the action happens (``core.runs.jobs``, ``core.data.zip_import``, ``core.room``, the prediction
path), so a crafted widget state cannot skip them.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass

from core.base.errors import InputError
from core.base.i18n import N_, _, number


@dataclass(frozen=True)
class Rate:
    """At most ``count`` actions in any ``seconds`` (a sliding window, see :func:`take`)."""

    count: int
    seconds: float
    what: str  # "trainings", "imports"... for the message


def env_int(name: str, default: int) -> int:
    try:
        return max(1, int(os.environ.get(name, default)))
    except ValueError:
        return default


RATES = {
    "submit": Rate(env_int("CNNLAB_SUBMITS_PER_10MIN", 6), 600, N_("trainings started")),
    "import": Rate(env_int("CNNLAB_IMPORTS_PER_HOUR", 5), 3600, N_("zip imports")),
    "predict": Rate(env_int("CNNLAB_PREDICTIONS_PER_MIN", 120), 60, N_("predictions")),
    "decode": Rate(env_int("CNNLAB_MEGAPIXELS_PER_MIN", 800), 60, N_("megapixels of images decoded")),
    "room": Rate(env_int("CNNLAB_ROOM_SUBMITS_PER_MIN", 12), 60, N_("submissions to the room")),
    "key": Rate(5, 60, N_("presenter key attempts")),
    "challenge": Rate(env_int("CNNLAB_CHALLENGE_CHANGES_PER_MIN", 10), 60, N_("challenge entries and edits")),
}

# One address, however many sessions (reloads) it opens. Larger than a session's: phones behind
# one NAT (a tunnel, a venue's network) share it; each is an environment setting.
ADDRESS_RATES = {
    "submit": Rate(env_int("CNNLAB_ADDRESS_SUBMITS_PER_10MIN", 12), 600, N_("trainings started")),
    "import": Rate(env_int("CNNLAB_ADDRESS_IMPORTS_PER_HOUR", 10), 3600, N_("zip imports")),
    "predict": Rate(env_int("CNNLAB_ADDRESS_PREDICTIONS_PER_MIN", 300), 60, N_("predictions")),
    "decode": Rate(env_int("CNNLAB_ADDRESS_MEGAPIXELS_PER_MIN", 2000), 60, N_("megapixels of images decoded")),
    "room": Rate(env_int("CNNLAB_ADDRESS_ROOM_SUBMITS_PER_MIN", 30), 60, N_("submissions to the room")),
    "key": Rate(10, 60, N_("presenter key attempts")),
    "challenge": Rate(env_int("CNNLAB_ADDRESS_CHALLENGE_CHANGES_PER_MIN", 60), 60, N_("challenge entries and edits")),
    "heavy": Rate(env_int("CNNLAB_ADDRESS_HEAVY_PER_MIN", 60), 60, N_("evaluations and explanations")),
}
# Evaluate (a model over a folder, a TFLite conversion) and Predict's Grad-CAM and feature maps: seconds of
# CPU each, shared by the whole room; charged only when computed, not when a page shows a cached one.
RATES["heavy"] = Rate(env_int("CNNLAB_HEAVY_PER_MIN", 30), 60, N_("evaluations and explanations"))

_LOCK = threading.Lock()
# (action, "s:"+session or "a:"+address) -> {slot: amount spent in it}; a slot is 1/SLOTS of the rate's window.
_SPENT: dict[tuple[str, str], dict[int, float]] = {}
SLOTS = 12
MAX_KEYS = 20_000  # forget the least recently used beyond this (bounded memory)


def take(action: str, session: str | None, amount: float = 1.0, address: str | None = None) -> None:
    """Spends ``amount`` of a session's and of its address's allowance for ``action``.

    An allowance is a sliding window: what was spent in the last ``rate.seconds`` never passes
    ``rate.count`` (a token bucket would let a fresh visitor spend twice that in its first window,
    and the room's "30 a minute per address" would be 60 for whoever reconnects). The window is
    kept as :data:`SLOTS` slots, counted whole while any part of them is in the window: at most
    13 numbers per visitor and action, and never more than the rate lets through.
    Both are checked before either is spent: a refused action costs nothing.

    Raises:
        InputError: the session or its address used up its allowance; says when to try again.
    """
    if session is None and address is None:
        return
    now = time.monotonic()
    with _LOCK:
        windows = [(key, rate, who, _window(key, rate, now)) for key, rate, who in _keys(action, session, address)]
        for _key, rate, who, spent in windows:
            if sum(spent.values()) + amount > rate.count:
                raise InputError(
                    _("Slow down: at most {count} {what} per {span} {who}. Try again in {wait} s.").format(
                        count=number(rate.count), what=_(rate.what), span=_span(rate.seconds), who=who,
                        wait=number(_wait(spent, rate, amount, now), 0))
                )  # fmt: skip
        for key, rate, _who, spent in windows:
            _SPENT.pop(key, None)  # re-inserted last: the dict's order is least recently used first
            slot = int(now // (rate.seconds / SLOTS))
            spent[slot] = spent.get(slot, 0.0) + amount
            while len(_SPENT) >= MAX_KEYS:
                _SPENT.pop(next(iter(_SPENT)))
            _SPENT[key] = spent


def _keys(action: str, session: str | None, address: str | None) -> list[tuple[tuple[str, str], Rate, str]]:
    """The allowances an action is charged to: ``(key, rate, who for the message)``, session first."""
    keys = []
    if session is not None:
        keys.append(((action, "s:" + session), RATES[action], _("per visitor")))
    if address is not None:
        keys.append(((action, "a:" + address), ADDRESS_RATES[action], _("per network address")))
    return keys


def _window(key: tuple[str, str], rate: Rate, now: float) -> dict[int, float]:
    """The slots of ``key`` that still overlap the last ``rate.seconds`` (older ones are dropped)."""
    width = rate.seconds / SLOTS
    first = int((now - rate.seconds) // width)  # the slot holding the window's start: counted whole
    spent = {slot: amount for slot, amount in _SPENT.get(key, {}).items() if slot >= first}
    if key in _SPENT:
        _SPENT[key] = spent
    return spent


def _wait(spent: dict[int, float], rate: Rate, amount: float, now: float) -> float:
    """Seconds until enough of the oldest slots leave the window for ``amount`` to fit."""
    width = rate.seconds / SLOTS
    total = sum(spent.values())
    for slot in sorted(spent):
        total -= spent[slot]
        if total + amount <= rate.count:
            return max(0.0, (slot + 1) * width + rate.seconds - now)
    return rate.seconds


def take_for(action: str, actor: object, amount: float = 1.0) -> None:
    """:func:`take` for a ``core.access.roles.Actor`` (or None: the command line, no limit)."""
    take(action, getattr(actor, "session", None), amount, address=getattr(actor, "address", None))


def left(action: str, session: str | None, address: str | None = None) -> float:
    """What a session (and its address) may still spend on ``action`` now (infinite without either)."""
    now = time.monotonic()
    with _LOCK:
        found = [
            rate.count - sum(_window(key, rate, now).values()) for key, rate, _who in _keys(action, session, address)
        ]
    return max(0.0, min(found, default=float("inf")))


def reset() -> None:
    """Forgets every allowance (tests)."""
    with _LOCK:
        _SPENT.clear()


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

    per_session: int = env_int("CNNLAB_UPLOAD_MB_PER_SESSION", 100) * 1024**2
    per_address: int = env_int("CNNLAB_UPLOAD_MB_PER_ADDRESS", 200) * 1024**2
    total: int = env_int("CNNLAB_UPLOAD_MB_TOTAL", 2048) * 1024**2

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
