"""A run's model card (``MODEL_CARD.md``), after Mitchell et al. 2019, "Model Cards for Model Reporting".

Everything in it is read from the run folder (``config.json``, ``metrics.json``, ``ood.json``,
``split.json``, ``status.json``): nothing is trained or evaluated again. It is written in the
current language (``core.base.i18n``): the command line's English, or the page's.
"""

from __future__ import annotations

import re

from core.base.errors import InputError
from core.base.i18n import _, number, percent
from core.base.storage import read_json
from core.models.layers import KINDS
from core.runs.store import Run

# What a demo trained in a classroom must not be used for, by the data it learnt from.
MEDICAL_WORDS = {
    "chest",
    "xray",
    "xrays",
    "radiograph",
    "radiographs",
    "orientation",
    "ct",
    "mri",
    "medical",
    "scan",
    "scans",
    "patient",
    "patients",
}  # the words of its data's and preset's names (orientation-*: X-rays)


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(str(c).replace("|", "\\|").replace("\n", " ") for c in cells) + " |"


def _table(head: list[str], rows: list[list[str]]) -> list[str]:
    return [_row(head), _row(["---"] * len(head)), *(_row(r) for r in rows)]


def _architecture(config: dict) -> list[str]:
    spec = config.get("spec") or {}
    layers = spec.get("layers") or []
    rows = []
    for i, layer in enumerate(layers, start=1):
        if not isinstance(layer, dict):
            continue
        kind = str(layer.get("kind", "?"))
        used = KINDS[kind].fields if kind in KINDS else ()  # the settings this kind reads, not the blanks
        details = [f"{k}={layer[k]}" for k in used if layer.get(k) not in (None, "")]
        rows.append([str(i), kind, ", ".join(details)])
    names = config.get("class_names") or []
    if rows and names and spec.get("output_activation"):  # the classifier the builder adds after the table's layers
        rows.append([str(len(rows) + 1), "Dense", f"units={len(names)}, activation={spec['output_activation']}"])
    lines = _table(["#", _("layer"), _("settings")], rows) if rows else [_("No layers recorded.")]
    facts = []
    if config.get("input_shape"):
        facts.append(_("input {shape}").format(shape="x".join(map(str, config["input_shape"]))))
    if config.get("n_params") is not None:
        facts.append(_("{n} parameters").format(n=number(config["n_params"])))
    if config.get("macs"):
        facts.append(_("{n} M multiply-adds per input").format(n=number(config["macs"] / 1e6, 1)))
    keys = [
        "epochs",
        "batch_size",
        "optimizer",
        "learning_rate",
        "lr_schedule",
        "label_smoothing",
        "patience",
        "validation_fraction",
        "loss",
    ]
    if config.get("task") != "table":  # a table's rows have no image size or colour
        keys[-1:-1] = ["image_size", "color_mode"]
    recipe = [f"{k}={spec[k]}" for k in keys if spec.get(k) not in (None, "")]
    out = [", ".join(facts) + "." if facts else "", "", *lines, ""]
    out.append(_("Recipe: {settings}; seed {seed}.").format(settings=", ".join(recipe), seed=config.get("seed")))
    return out


def _data(run: Run, config: dict) -> list[str]:
    out = [_("- Source: `{source}` (task {task}).").format(source=config.get("data_source") or config.get("data")
                                                           or "?", task=config.get("task", "?"))]  # fmt: skip
    if config.get("class_names"):
        out.append(_("- Classes: {names}.").format(names=", ".join(map(str, config["class_names"]))))
    if config.get("n_train") is not None:
        out.append(_("- Split (seed {seed}): {train} for training, {val} for validation, {test} held out for the "
                     "test.").format(seed=config.get("seed"), train=number(config.get("n_train") or 0),
                                     val=number(config.get("n_val") or 0),
                                     test=number(config.get("n_test") or 0)))  # fmt: skip
    split = read_json(run.path / "split.json")
    if split:
        out.append(_("- The exact files or rows of each part: `split.json` in the run folder."))
    skipped = config.get("skipped_files") or []
    if skipped:
        out.append(_("- {n} files were skipped (unreadable or not images).").format(n=len(skipped)))
    table = config.get("table") or {}
    if table:
        out.append(_("- Target column `{target}` ({task}); rows {rows}.").format(
            target=table.get("target"), task=table.get("task"), rows=number(table.get("rows") or 0)))  # fmt: skip
    return out


def _metrics(metrics: dict | None) -> list[str]:
    if not metrics:
        return [_("No test metrics: the run did not finish its test.")]
    out = []
    if "accuracy" in metrics:
        out.append(_("Test accuracy **{acc}** on {n} held-out inputs (loss {loss}).").format(
            acc=percent(metrics["accuracy"], 2), n=number(metrics.get("n") or 0),
            loss=number(metrics.get("loss") or 0, 4)))  # fmt: skip
    for key, label in (("mae", "MAE"), ("rmse", "RMSE"), ("r2", "R²")):
        if metrics.get(key) is not None:
            base = (metrics.get("baseline") or {}).get(key)
            out.append(
                f"- {label}: {number(round(metrics[key], 4))}"
                + (" " + _("(baseline {value})").format(value=number(round(base, 4))) if base is not None else "")
            )
    base_acc = (metrics.get("baseline") or {}).get("accuracy")
    if base_acc is not None:
        out.append(_("The baseline (always the most frequent class) scores {acc}.").format(acc=percent(base_acc, 2)))
    per_class = metrics.get("per_class") or {}
    if isinstance(per_class, dict) and per_class:
        rows = [[str(name), percent(v.get("precision", 0), 1), percent(v.get("recall", 0), 1),
                 percent(v.get("f1", 0), 1), number(v.get("support", 0))]
                for name, v in per_class.items() if isinstance(v, dict)]  # fmt: skip
        out += ["", *_table([_("class"), _("precision"), _("recall"), "F1", _("support")], rows)]
    matrix, names = metrics.get("confusion_matrix"), metrics.get("class_names")
    if matrix and names and len(matrix) == len(names):
        out += ["", _("Confusion matrix (rows: true class, columns: predicted):"), ""]
        out += _table(["", *map(str, names)], [[str(n), *map(str, r)] for n, r in zip(names, matrix)])
    return out


def _ood(ood: dict | None, task: str) -> list[str]:
    if task == "table":
        return [_("None: a table's model answers every row; CNN Lab's \"I don't know\" check is for images.")]
    if not ood or ood.get("threshold") is None:
        return [_("Not calibrated yet: the app calibrates it when the model is first served.")]
    return [_("Method `{method}`, threshold {threshold}, set on {n} validation inputs so that {familiar} of them "
              "count as familiar: about {alarm} of ordinary inputs get \"I don't know\". A confident answer is "
              "not a familiar input.").format(method=ood.get("method"), threshold=number(ood["threshold"], 3),
                                               n=number(ood.get("n_validation") or 0),
                                               familiar=percent(ood.get("familiar_rate") or 0, 0),
                                               alarm=percent(ood.get("false_alarm_rate") or 0, 1))]  # fmt: skip


def _not_for(config: dict) -> list[str]:
    text = " ".join(str(config.get(k) or "") for k in ("data_source", "data", "preset", "name")).lower()
    words = set(re.split(r"[^a-z]+", text.replace("x-ray", "xray")))
    out = [_("- Any decision about a person: it learnt from a small teaching dataset and was tested only on its "
             "own held-out part."), _("- Inputs unlike its training data: the \"I don't know\" check catches many, "
                                      "not all.")]  # fmt: skip
    if words & MEDICAL_WORDS:
        out.insert(0, _("- **Medicine.** This is a teaching demo, not a medical device: it must not be used to "
                        "diagnose, triage or file real patients' images."))  # fmt: skip
    return out


def model_card(run: Run) -> str:
    """The run's model card as Markdown.

    Raises:
        InputError: the run's config is missing or damaged.
    """
    config = run.config()
    if not config or run.damage():
        raise InputError(_("Run {run} has no usable config.json: there is nothing to describe.").format(run=run.id))
    status = run.status()
    versions = config.get("versions") or {}
    lines = [
        _("# Model card: {run}").format(run=run.id), "",
        _("Made by CNN Lab from the run folder. Preset `{preset}`, task {task}, status {status}, trained "
          "{created}.").format(preset=config.get("preset", "custom"), task=config.get("task", "?"),
                               status=status.get("status", "?"), created=config.get("created", "?")), "",
        _("## Model"), "", *_architecture(config), "",
        _("## Training data"), "", *_data(run, config), "",
        _("## Evaluation"), "", *_metrics(run.metrics()), "",
        _("## \"I don't know\""), "", *_ood(read_json(run.path / "ood.json"), config.get("task", "")), "",
        _("## Intended use"), "",
        _("Learning how neural networks work: trying, probing and comparing models in a class or a talk."),
        "", _("## Not for"), "", *_not_for(config), "",
        _("## Versions"), "",
        ", ".join(f"{k} {v}" for k, v in versions.items()) or _("Not recorded."), "",
    ]  # fmt: skip
    return "\n".join(lines).replace("\n\n\n", "\n\n")
