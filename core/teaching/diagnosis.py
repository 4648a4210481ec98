"""Learning curves in plain words: what a run's history says, with the evidence and one thing to try.

Pure functions over the rows of ``history.csv`` (and the run's status), so the rules are tested
on constructed histories and the page only shows what :func:`diagnose` returns.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from core.base.i18n import _, ngettext, number, percent

MIN_EPOCHS = 3  # fewer epochs than this: too early to read a trend
RISE_EPOCHS = 2  # val_loss rising this many epochs in a row after its best: overfitting
JUMP = 1.5  # training loss growing by this factor from one epoch to the next: learning rate too high
FLAT = 0.01  # a relative change below this per epoch is flat
STILL_HIGH = 0.5  # a final training loss above this share of the first epoch's has barely been learnt
SLOW_STEP = 0.15  # every epoch's loss fell, none by more than this share: slow and steady
NOISE = 0.01  # a loss moving by less than this (0.0024 -> 0.0054) is noise, whatever the ratio
NEAR_BASELINE = 0.5  # a test score that closes less than half the gap from its baseline to perfect


@dataclass(frozen=True)
class Finding:
    """One thing the curves say: ``kind`` for code, ``title``, ``evidence`` and ``advice`` for people."""

    kind: str  # "too_early" | "one_pass" | "unreadable" | "diverged" | "near_baseline" | "lr_too_high"
    #            | "overfitting" | "underfitting" | "lr_too_low" | "early_stop" | "healthy"
    title: str
    evidence: str
    advice: str


def _series(history: list[dict], key: str) -> list[float | None]:
    out = []
    for row in history:
        try:
            value = float(row.get(key))
        except (TypeError, ValueError):
            value = None
        out.append(value)
    return out


def _n(value: float) -> str:
    return number(value, 4 if abs(value) < 10 else 2)


def diagnose(history: list[dict], status: dict | None = None, metrics: dict | None = None) -> list[Finding]:
    """What the history of one run says, most important first (never empty).

    Args:
        history: rows of ``history.csv`` (epoch, loss, val_loss, ...), oldest first.
        status: the run's ``status.json`` (for early stopping and divergence), if any.
        metrics: the run's ``metrics.json``: a table run's test score beside its baseline.
    """
    status, near = status or {}, _near_baseline(metrics or {})
    findings = _curves(history, status)
    return [near, *findings] if near else findings


def _curves(history: list[dict], status: dict) -> list[Finding]:
    epochs = [int(e) if e is not None and math.isfinite(e) else i + 1 for i, e in enumerate(_series(history, "epoch"))]
    loss, val = _series(history, "loss"), _series(history, "val_loss")
    bad = next((i for i, v in enumerate(loss) if v is not None and not math.isfinite(v)), None)
    if status.get("stop_reason") == "nan" or bad is not None:
        at = epochs[bad] if bad is not None else status.get("epoch", "?")
        return [Finding("diverged", _("The loss diverged"),
                        _("The training loss stopped being a number at epoch {epoch}.").format(epoch=at),
                        _("Lower the learning rate (try a tenth of it), or add BatchNormalization."))]  # fmt: skip
    if len(loss) < MIN_EPOCHS and _finished_as_planned(status, len(loss)):
        acc = _series(history, "val_accuracy")[-1] if history else None
        score = percent(acc) if acc is not None and math.isfinite(acc) else "-"
        return [Finding("one_pass", ngettext("Trained in {n} epoch", "Trained in {n} epochs", len(loss)).format(n=len(loss)),
                        _("Its recipe is {n} epoch(s): validation accuracy {acc}, validation loss {val}. A curve needs "
                          "{min} epochs to show a trend.").format(n=len(loss), acc=score, min=MIN_EPOCHS,
                                                                   val=_n(val[-1]) if val and val[-1] is not None else "-"),
                        _("The Batches view shows how the loss fell inside the epoch; train {min} epochs to read the "
                          "curves.").format(min=MIN_EPOCHS))]  # fmt: skip
    if len(loss) < MIN_EPOCHS:
        return [Finding("too_early", _("Too early to say"),
                        ngettext("Only {n} epoch so far.", "Only {n} epochs so far.", len(loss)).format(n=len(loss)),
                        _("Curves say more after {n} epochs.").format(n=MIN_EPOCHS))]  # fmt: skip
    missing = [epochs[i] for i, (a, b) in enumerate(zip(loss, val)) if a is None or b is None or not math.isfinite(b)]
    if missing:  # a damaged history.csv, or a run stopped before validation
        return [Finding("unreadable", _("Cannot read these curves"),
                        _("Epoch(s) {epochs} have no loss or no validation loss.").format(
                            epochs=", ".join(map(str, missing[:5]))),
                        _("Look at the run's log; train again if its history was damaged."))]  # fmt: skip
    findings = [f for f in (_jumps(epochs, loss), _overfitting(epochs, loss, val)) if f]
    if not findings:
        findings += [f for f in (_underfitting(loss), _too_slow(loss)) if f]
    stop = _early_stop(epochs, val, status)
    if stop:
        findings.append(stop)
    if all(f.kind == "early_stop" for f in findings):
        best = min(range(len(val)), key=lambda i: val[i])
        findings.insert(0, Finding("healthy", _("Healthy"),
                                   _("Training and validation loss fell together; the best validation loss, {best}, "
                                     "came at epoch {epoch}.").format(best=_n(val[best]), epoch=epochs[best]),
                                   _("Nothing to fix. More epochs may still help a little.")))  # fmt: skip
    return findings


def _finished_as_planned(status: dict, epochs: int) -> bool:
    """The run completed every epoch its recipe asked for (a short recipe, not a run still going)."""
    return status.get("status") == "completed" and status.get("epochs_done") == status.get("epochs") == epochs > 0


def _near_baseline(metrics: dict) -> Finding | None:
    """A table model that barely beats always answering the same (the majority class, or the mean)."""
    base = metrics.get("baseline")
    if not isinstance(base, dict):
        return None
    acc, base_acc = metrics.get("accuracy"), base.get("accuracy")
    if isinstance(acc, int | float) and isinstance(base_acc, int | float) and base_acc < 1:
        if (acc - base_acc) / (1 - base_acc) >= NEAR_BASELINE:
            return None
        evidence = _("Test accuracy {acc}, against {base} by always answering {guess}.").format(
            acc=percent(acc), base=percent(base_acc), guess=base.get("prediction")
        )
    elif isinstance(metrics.get("r2"), int | float):
        if metrics["r2"] >= NEAR_BASELINE:
            return None
        evidence = _("Test R² {r2}: always answering the mean scores 0, a perfect model 1.").format(
            r2=number(metrics["r2"], 2)
        )
    else:
        return None
    return Finding("near_baseline", _("Barely better than guessing"), evidence,
                   _("Check the column to predict (is it what you meant?), and whether the other columns can say "
                     "anything about it."))  # fmt: skip


def _jumps(epochs: list[int], loss: list[float]) -> Finding | None:
    for i in range(1, len(loss)):
        if loss[i] > JUMP * loss[i - 1] and loss[i] - loss[i - 1] > NOISE:
            return Finding("lr_too_high", _("Learning rate too high"),
                           _("The training loss jumped from {before} to {after} at epoch {epoch}.").format(
                               before=_n(loss[i - 1]), after=_n(loss[i]), epoch=epochs[i]),
                           _("Lower the learning rate (try a third of it), or use a schedule that lowers it."))  # fmt: skip
    return None


def _overfitting(epochs: list[int], loss: list[float], val: list[float]) -> Finding | None:
    best = min(range(len(val)), key=lambda i: val[i])
    rises = 0
    while best + rises + 1 < len(val) and val[best + rises + 1] > val[best + rises]:
        rises += 1
    if rises < RISE_EPOCHS or loss[-1] >= loss[best] or val[best + rises] - val[best] <= NOISE:
        return None
    evidence = ngettext(
        "val_loss rose {n} epoch in a row after epoch {epoch} ({best} to {last}) while loss kept falling ({l0} to {l1}).",
        "val_loss rose {n} epochs in a row after epoch {epoch} ({best} to {last}) while loss kept falling ({l0} to {l1}).",
        rises,
    ).format(n=rises, epoch=epochs[best], best=_n(val[best]), last=_n(val[best + rises]), l0=_n(loss[best]),
             l1=_n(loss[-1]))  # fmt: skip
    return Finding("overfitting", _("Overfitting from epoch {epoch}").format(epoch=epochs[best] + 1), evidence,
                   _("Add Dropout or augmentation, or keep the checkpoint of epoch {epoch} (early stopping does).").format(
                       epoch=epochs[best]))  # fmt: skip


def _underfitting(loss: list[float]) -> Finding | None:
    last3 = loss[-3:]
    flat = all(abs(b - a) <= FLAT * max(abs(a), 1e-12) for a, b in zip(last3, last3[1:]))
    share = loss[-1] / loss[0] if loss[0] > 0 else 1.0
    if not (flat and share > STILL_HIGH):
        return None
    return Finding("underfitting", _("Underfitting"),
                   _("The training loss is still {loss} ({share} of epoch 1's) and barely moved in the last 3 epochs.").format(
                       loss=_n(loss[-1]), share=percent(share, 0)),
                   _("Give the model more capacity (more filters or layers), or raise the learning rate."))  # fmt: skip


def _too_slow(loss: list[float]) -> Finding | None:
    drops = [(a - b) / a for a, b in zip(loss, loss[1:]) if a > 0]
    if len(drops) < MIN_EPOCHS - 1 or not all(FLAT <= d <= SLOW_STEP for d in drops):
        return None
    return Finding("lr_too_low", _("Learning rate maybe too low"),
                   _("The training loss fell every epoch, but slowly: by {low} to {high} each time.").format(
                       low=percent(min(drops), 0), high=percent(max(drops), 0)),
                   _("Raise the learning rate (try 3 times it), or train for more epochs."))  # fmt: skip


def _early_stop(epochs: list[int], val: list[float], status: dict) -> Finding | None:
    done, planned = status.get("epochs_done"), status.get("epochs")
    fired = (status.get("status") == "completed" and isinstance(done, int) and isinstance(planned, int)
             and done < planned and not status.get("stop_reason"))  # fmt: skip
    if not fired:
        return None
    best = min(range(len(val)), key=lambda i: val[i])
    return Finding("early_stop", _("Early stopping fired"),
                   _("Training stopped at epoch {done} of {planned}: val_loss had not improved since epoch {best} "
                     "({value}), whose checkpoint is kept.").format(done=done, planned=planned, best=epochs[best],
                                                                    value=_n(val[best])),
                   _("Nothing to do: the kept checkpoint is the best one."))  # fmt: skip
