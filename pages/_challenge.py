"""The challenge on the pages: what Join (the phones) and the Wall (the projector) share.

Words for a challenge's layers, states and settings; an entry's cost as the page shows it (a network
that cannot be built is a message, not an exception); the leaderboard as a table and a chart; the
winner's architecture; and the referee, ``Challenge.tick`` at most every few seconds for the whole
server (every Wall viewer's fragment asks for it). The rules and the rights are in
``core.challenge``; this module only shows them.
"""

from __future__ import annotations

import html
import threading
import time

from core.base.errors import InputError
from core.base.i18n import N_, _, number, percent
from core.challenge.board import Row
from core.challenge.contest import Challenge, Entry
from core.challenge.rules import PICKER, PICKER_WORDS, ChallengeSettings, Cost, check_budget, cost, layers_from_dicts
from core.models import KINDS
from core.plots.results import probability_bars
from core.runs.store import Run

TICK_EVERY_SECONDS = 1.5  # the Wall refreshes this often; more viewers must not mean more pruning passes
NOTE_SECONDS = 120.0  # a "stopped early" note stays this long for every Wall to show once
CHART_ENTRIES = 8  # bars on the projector: the leaders (the table lists everyone)

DATA_WORDS = {"mnist": N_("MNIST digits"), "room": N_("The room's own digits"), "folder": N_("A dataset folder")}
BUDGET_WORDS = {"compute": N_("Parameters and multiply-adds"), "seconds": N_("Seconds of training")}
METRIC_WORDS = {"val_accuracy": N_("best validation accuracy"), "test_accuracy": N_("test accuracy")}
STATUS_WORDS = {
    "queued": N_("waiting"),
    "running": N_("training"),
    "completed": N_("done"),
    "stopped": N_("stopped"),
    "failed": N_("failed"),
    "interrupted": N_("interrupted"),
}
CHOICE_WORDS = {  # the picker's choices (core.challenge.rules.PICKER), as a thumb reads them
    "filters": N_("Filters"),
    "kernel_size": N_("Kernel"),
    "pool_size": N_("Window"),
    "units": N_("Units"),
    "rate": N_("Rate"),
}
ENGINE_WORDS = {
    "local": N_("Networks train on this machine, one after another."),
    "ray": N_("Networks train on the Ray cluster, several at once."),
}


# ----- words ----------------------------------------------------------------------------------------


def choice_text(name: str, value) -> str:
    """One choice's value: ``3`` for a kernel reads "3×3", a rate reads "25%"."""
    if name in ("kernel_size", "pool_size"):
        return f"{value}×{value}"
    if name == "rate":
        return percent(float(value), 0)
    return number(value)


def layer_text(item: dict) -> str:
    """A picked layer in words: "Convolution · 8 filters · 3×3"."""
    kind = item.get("kind", "")
    words = [_(PICKER_WORDS[kind]) if kind in PICKER_WORDS else str(kind)]
    for name in PICKER.get(kind, {}):
        if name not in item:
            continue
        if name == "filters":
            words.append(_("{n} filters").format(n=number(item[name])))
        elif name == "units":
            words.append(_("{n} units").format(n=number(item[name])))
        else:
            words.append(choice_text(name, item[name]))
    return " · ".join(words)


def status_text(row: Row) -> str:
    """A leaderboard row's state in a word or two (why an entry was stopped early is its ``pruned`` sentence)."""
    if row.pruned:
        return _("stopped early")
    return _(STATUS_WORDS[row.status]) if row.status in STATUS_WORDS else row.status


def clock(seconds: float) -> str:
    """Seconds left as a countdown reads: "4:05", "1:02:09" (never negative)."""
    s = max(0, int(seconds))
    hours, rest = divmod(s, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def time_left(settings: ChallengeSettings, now: float | None = None) -> float:
    return max(0.0, settings.deadline - (time.time() if now is None else now))


def metric_words(settings: ChallengeSettings) -> str:
    return _(METRIC_WORDS.get(settings.metric, settings.metric))


def score_text(row: Row, settings: ChallengeSettings) -> str:
    score = row.score(settings.metric)
    return percent(score, 1) if score is not None else "-"


# ----- the challenge of a room ------------------------------------------------------------------------


def signature(ch: Challenge) -> tuple | None:
    """What a page drew the challenge as: a new challenge, or one that closed or ended, differs."""
    settings = ch.settings()
    return None if settings is None else (settings.opened, ch.state())


def run_error(ch: Challenge, entry: Entry) -> str | None:
    """Why an entry's training failed, as its run recorded it."""
    path = ch.manager.store.root / entry.run_id
    return Run(path).status().get("error") if path.is_dir() else None


def entry_cost(settings: ChallengeSettings, items: list[dict], epochs: int) -> tuple[Cost | None, str | None]:
    """An entry's cost and, when it cannot be sent, why (an invalid network, or over the budget).

    Returns:
        ``(cost, problem)``: ``cost`` is None when the layers make no network; ``problem`` is None when
        the network can be sent.
    """
    try:
        c = cost(settings, layers_from_dicts(items), epochs, len(settings.class_names))
    except InputError as exc:
        return None, str(exc)
    try:
        check_budget(settings, c)
    except InputError as exc:
        return c, str(exc)
    return c, None


def layer_shapes(c: Cost | None, n: int) -> list[tuple | None]:
    """The output shape of each of the ``n`` picked layers (the automatic Flatten and the classifier left out)."""
    if c is None:
        return [None] * n
    picked = [tuple(r.output_shape) for r in c.summary.layers if r.kind != "Flatten"]
    return (picked + [None] * n)[:n]


def diagram(settings: ChallengeSettings, entry: Entry) -> list[tuple] | None:
    """The rows of ``core.plots.architecture.architecture_figure`` for an entry, input first (None: not drawable)."""
    c, _problem = entry_cost(settings, entry.layers, entry.epochs)
    if c is None:
        return None
    summary = c.summary
    rows = [("Input", _("Input"), tuple(summary.input_shape), 0)]
    return rows + [(r.kind, KINDS[r.kind].short or r.kind, tuple(r.output_shape), r.params) for r in summary.layers]


def board_frame(rows: list[Row]):
    """The leaderboard as a table: rank, name, status, accuracies, size, time, epochs and why it was stopped
    early (numbers, for ``pages._i18n.localized_numbers``).

    Returns:
        ``(frame, percent columns, {column: decimals}, {column: width in px})``.
    """
    import pandas as pd

    rank, name, status, note = "#", _("Network"), _("Status"), _("Note")
    val, test, params, macs, seconds, epochs = (_("Val. acc."), _("Test acc."), _("Params"), _("Mult-adds"),
                                                _("Seconds"), _("Epochs"))  # fmt: skip
    columns = [rank, name, status, val, test, params, macs, seconds, epochs, note]  # the long note last
    records = [
        (str(r.rank) if r.rank else "", r.name, status_text(r), r.val_accuracy, r.test_accuracy, r.params, r.macs,
         r.seconds, f"{r.epoch}/{r.epochs}", r.pruned or "")
        for r in rows
    ]  # fmt: skip
    frame = pd.DataFrame(records, columns=columns)
    # Narrow number columns: the ten fit a 1024-px projector, the long note last.
    widths = {rank: 28, name: 125, status: 105, val: 72, test: 72, params: 70, macs: 80, seconds: 62, epochs: 58}
    return frame, [val, test], {params: 0, macs: 0, seconds: 0}, widths


def board_figure(rows: list[Row]):
    """Horizontal bars of the leaders' best validation accuracy, best on top and highlighted (None: no score yet)."""
    scored = sorted((r for r in rows if r.val_accuracy is not None), key=lambda r: -(r.val_accuracy or 0.0))
    if not scored:
        return None
    # Plotly looks for pandas in sys.modules without importing it: while the warm-up thread (pages/_router.py)
    # is importing it, Plotly finds it half made and fails. Importing it here waits for the import to finish.
    import pandas  # noqa: F401

    # Names are the audience's: escaped, since Plotly reads a little HTML in its texts; a name sent twice is
    # numbered (the bars are keyed by name).
    bars: dict[str, float] = {}
    for r in scored[:CHART_ENTRIES]:
        label, n = html.escape(r.name), 1
        while label in bars:
            n += 1
            label = f"{html.escape(r.name)} ({n})"
        bars[label] = float(r.val_accuracy or 0.0)
    return probability_bars(bars)


# ----- the referee ---------------------------------------------------------------------------------------

_TICKS: dict[str, float] = {}
_NOTES: dict[str, list[tuple[float, str]]] = {}
_TICK_LOCK = threading.Lock()


def referee(ch: Challenge) -> None:
    """``Challenge.tick`` (stop the entries that cannot win, crown the winner after the deadline) at most every
    :data:`TICK_EVERY_SECONDS` for the whole server; what it stopped is kept for :func:`notes_since`."""
    key = str(ch.path)
    with _TICK_LOCK:
        if time.monotonic() - _TICKS.get(key, float("-inf")) < TICK_EVERY_SECONDS:
            return
        _TICKS[key] = time.monotonic()
    said = ch.tick()
    now = time.time()
    with _TICK_LOCK:
        kept = [(t, s) for t, s in _NOTES.get(key, []) if now - t < NOTE_SECONDS]
        _NOTES[key] = kept + [(now, s) for s in said]


def notes_since(ch: Challenge, since: float) -> list[tuple[float, str]]:
    """The "stopped early" sentences the referee said after ``since`` (seconds since the epoch)."""
    with _TICK_LOCK:
        return [(t, s) for t, s in _NOTES.get(str(ch.path), []) if t > since]
