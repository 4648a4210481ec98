"""How far a run is, read from its status.json: for progress bars, ETAs and final messages.

Pure functions over the status dict, so the pages only render what these return.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.base.i18n import N_, _, number
from core.runs.schema import STOP_REASONS
from core.runs.store import iso_seconds

MIN_FRACTION_FOR_ETA = 0.02  # before 2% of the work, an ETA is noise


# What each phase of a run is doing, in words (core.runs.schema.PHASES); "training" is the epoch and batch.
PHASE_WORDS = {
    "queued": N_("Starting Python and TensorFlow..."),  # the process is starting: nothing written yet
    "cluster": N_("Waiting for a machine of the Ray cluster..."),
    "starting": N_("Starting: loading TensorFlow..."),
    "loading": N_("Loading and checking the data..."),
    "building": N_("Building the model..."),
    "tracing": N_("Compiling the training step: the first batch takes longer..."),
    "validating": N_("Epoch {epoch}/{epochs}: checking the validation images..."),
    "testing": N_("Testing the best checkpoint on the test set..."),
    "calibrating": N_('Calibrating "I don\'t know" on the validation images...'),
}


@dataclass
class Progress:
    fraction: float  # 0..1 of all planned batches
    epoch: int
    epochs: int
    batch: int
    steps: int
    elapsed: float  # seconds since fit began
    eta: float | None  # seconds left, None when too early to say
    phase: str = "training"  # core.runs.schema.PHASES

    def text(self) -> str:
        if self.phase in PHASE_WORDS:  # after the batches: validation, test, calibration say what they do
            return _(PHASE_WORDS[self.phase]).format(epoch=self.epoch, epochs=self.epochs)
        text = _("Epoch {epoch}/{epochs}, batch {batch}/{steps}: {elapsed} s").format(
            epoch=self.epoch, epochs=self.epochs, batch=self.batch, steps=self.steps, elapsed=number(self.elapsed, 0)
        )
        if self.eta is not None:
            text += _(", about {seconds} s left").format(seconds=number(self.eta, 0))
        return text  # fmt: skip


def phase_text(status: dict, now: float | None = None) -> str | None:
    """What a run is doing before its batches start, in words, with the seconds it has spent so far.

    A queued run whose process was launched is starting it (the words of "queued"); None for a
    run waiting its turn, or with no phase recorded. ``now``: seconds since the epoch (default: the clock).
    """
    import time

    if status.get("status") == "queued":  # launched: its process is starting; else it waits its turn
        phase, since = ("queued", iso_seconds(status["launched"])) if status.get("launched") else (None, None)
    else:
        phase, since = status.get("phase"), iso_seconds(status.get("started") or status.get("created"))
    if phase not in PHASE_WORDS:
        return None
    text = _(PHASE_WORDS[phase]).format(epoch="-", epochs="-")
    if since is None:
        return text
    waited = max((time.time() if now is None else now) - since, 0.0)
    return text + " " + _("({seconds} s)").format(seconds=number(waited, 0))


def progress(status: dict) -> Progress | None:
    """Progress of a running run from its status (None before its first epoch starts)."""
    epoch = int(status.get("epoch") or 0)
    if not epoch:
        return None
    epochs, steps = max(int(status.get("epochs") or 1), 1), max(int(status.get("steps_per_epoch") or 1), 1)
    epoch = min(max(epoch, 1), epochs)
    batch = min(max(int(status.get("batch") or 0), 0), steps)
    fraction = min(((epoch - 1) + batch / steps) / epochs, 1.0)
    elapsed = max(float(status.get("elapsed") or 0.0), 0.0)
    eta = elapsed / fraction * (1 - fraction) if fraction > MIN_FRACTION_FOR_ETA else None
    phase = status.get("phase") if isinstance(status.get("phase"), str) else "training"
    return Progress(fraction, epoch, epochs, batch, steps, elapsed, eta, phase)


def early_stop_epoch(status: dict) -> int | None:
    """The epoch where early stopping fired: the run completed before its last epoch."""
    done, total = status.get("epochs_done"), status.get("epochs")
    if status.get("status") == "completed" and done and total and done < total and not status.get("stop_reason"):
        return int(done)
    return None


def stop_words(status: dict) -> str | None:
    """Why a run stopped, in words ("stopped on request at epoch 2, batch 141 of 422")."""
    reason = status.get("stop_reason")
    if not reason:
        return None
    words = _(STOP_REASONS[reason]) if reason in STOP_REASONS else str(reason)
    if status.get("epoch") and status.get("batch") is not None:
        words = _("{reason} at epoch {epoch}, batch {batch} of {steps}").format(
            reason=words, epoch=status["epoch"], batch=status["batch"], steps=status.get("steps_per_epoch", "?")
        )
    return words  # fmt: skip
