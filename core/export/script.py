"""The model as code: ``reproduce.py``, a standalone Keras script that rebuilds and retrains a run.

``reproduce_script(run)`` fills :mod:`core.export.templates` from the run folder: its settings and
seed (config.json), its data's kind (MNIST, a class folder, a CSV), and the model's layers written
from the trained ``.keras`` file itself (:mod:`core.export.code`), so the script's model has the
run's layers and parameter count. The script imports keras, numpy and pandas (Pillow through Keras for
image folders), never ``core``.
"""

from __future__ import annotations

import datetime
import re
import textwrap
from pathlib import Path
from string import Template

from core.base.errors import InputError
from core.base.i18n import _
from core.export import templates
from core.export.code import layer_code, model_lines, py
from core.runs.store import Run
from core.training.config import TrainConfig

OPTIMIZER_CALLS = {
    "adam": "keras.optimizers.Adam(learning_rate)",
    "rmsprop": "keras.optimizers.RMSprop(learning_rate)",
    "adamw": "keras.optimizers.AdamW(learning_rate, weight_decay={decay})",
    "sgd": "keras.optimizers.SGD(learning_rate, momentum=0.9, nesterov=True, weight_decay={decay})",
}  # as core.models.builder.make_optimizer makes them


def _optimizer(spec) -> str:
    from core.models.builder import ADAMW_DEFAULT_DECAY

    decay = spec.weight_decay
    decay = (ADAMW_DEFAULT_DECAY if decay is None else decay) if spec.optimizer == "adamw" else (decay or None)
    schedule = spec.lr_schedule == "onecycle"
    doc = f"{spec.optimizer.upper() if spec.optimizer == 'sgd' else spec.optimizer.capitalize()}" + (
        ", the learning rate warmed up then decayed (one cycle)." if schedule else ", at a constant learning rate."
    )
    return Template(templates.OPTIMIZER).substitute(
        OPTIMIZER_DOC=doc.replace("Adamw", "AdamW").replace("Rmsprop", "RMSprop"),
        LR_LINES=templates.ONECYCLE if schedule else templates.CONSTANT,
        OPTIMIZER_CALL=OPTIMIZER_CALLS[spec.optimizer].format(decay=decay),
    )


def _loss(spec) -> str:
    cls = "BinaryCrossentropy" if spec.loss == "binary_crossentropy" else "CategoricalCrossentropy"
    return f"keras.losses.{cls}(label_smoothing={spec.label_smoothing})"


def _score(run: Run) -> str:
    """The run's test result in words (the header says what the script should reach)."""
    from core.base.storage import read_json

    metrics = read_json(run.path / "metrics.json") or {}
    if isinstance(metrics.get("accuracy"), int | float):
        return f"test accuracy was {metrics['accuracy']:.2%} on {metrics.get('n', '?')} held-out examples"
    if isinstance(metrics.get("mae"), int | float):
        return f"test MAE was {metrics['mae']:.4g} on {metrics.get('n', '?')} held-out rows"
    return "test was not recorded"


def reproduce_script(run: Run, model=None) -> str:
    """The text of ``reproduce.py`` for ``run``.

    Args:
        model: the run's loaded Keras model (None: loaded from its checkpoint).

    Raises:
        InputError: no usable config or checkpoint, or a model that cannot be written as a chain of layers.
    """
    from core.export import load_model
    from core.models.summary import CLASSIFIER
    from core.tasks import of_run

    config = run.config()
    if not isinstance(config, dict) or not isinstance(config.get("spec"), dict):
        raise InputError(_("Run {run} has no usable config.json: its recipe is unknown.").format(run=run.id))
    cfg = TrainConfig.from_dict(config)
    spec, task = cfg.spec, of_run(run)
    model = model if model is not None else load_model(run)
    table = task.inputs == "rows"
    data = config.get("data_source") or cfg.data or "Keras's MNIST download"
    extra = {"rows": ", and pandas", "images": ", and Pillow (keras.utils.load_img reads the images with it)"}
    values = {
        "RUN_ID": _doc(run.id), "WRITTEN": datetime.date.today().isoformat(), "PRESET": _doc(spec.name),
        "DATA": _doc(str(data)), "PARAMS": f"{int(config.get('n_params') or model.count_params()):,}",
        "SCORE": _score(run), "PANDAS": extra.get(task.inputs if task.name != "mnist" else "", ""),
        "DATA_USAGE": " --data PATH" if task.needs_data else " [--data mnist.npz]",
        "IMPORT_OS": "import os\n" if task.name == "images" else "", "IMPORT_PANDAS": "import pandas as pd\n" if table else "",
        "SEED": cfg.seed, "EPOCHS": spec.epochs, "BATCH_SIZE": spec.batch_size, "LEARNING_RATE": spec.learning_rate,
        "VALIDATION_FRACTION": spec.validation_fraction, "TEST_FRACTION": cfg.test_fraction,
        "PATIENCE": spec.patience, "MIN_DELTA": spec.min_delta, "MODEL_NAME": py(model.name),
        "DESCRIPTION": py(f"Rebuild and retrain CNN Lab's run {run.id}."), "OPTIMIZER": _optimizer(spec),
        "EARLY_STOPPING": templates.EARLY_STOPPING,
    }  # fmt: skip
    text = Template(templates.HEADER).substitute(values)
    if table:
        text += _table_part(config, spec, model, values)
    else:
        text += _image_part(cfg, task, model, values, CLASSIFIER)
    return text.rstrip() + "\n"


def _image_part(cfg: TrainConfig, task, model, values: dict, classifier: str) -> str:
    from core.training.augment import make_augmenter

    spec = cfg.spec
    data = Template(templates.MNIST if task.digits else templates.FOLDER).substitute(
        SPLIT=templates.STRATIFIED_SPLIT, IMAGE_SIZE=spec.image_size, COLOR_MODE=spec.color_mode)  # fmt: skip
    augmenter = make_augmenter(spec.augment, cfg.seed)
    start = [f"x = {layer_code(layer, named=False)}(x)" for layer in augmenter.layers] if augmenter else []
    lines = model_lines(model, classifier, start)
    note = "\n\n    Its first layers change the training images at random (augmentation): Keras applies them\n" \
           "    while fitting only, never to validation, test or new images.\n    " if start else ""  # fmt: skip
    backbone = any(line.startswith("backbone =") for line in lines)
    return data + Template(templates.IMAGE_MODEL).substitute(
        values, MODEL_LINES=textwrap.indent("\n".join(lines), "    "), AUGMENT_NOTE=note,
        BACKBONE=templates.BACKBONE if backbone else "", LOSS=_loss(spec),
        DATA_ARG='help="mnist.npz (default: Keras\'s MNIST download)"' if task.digits
        else 'required=True, help="a folder of class folders (or of train/ and test/)"',
    )  # fmt: skip


def _table_part(config: dict, spec, model, values: dict) -> str:
    from core.models.summary import layer_name
    from core.models.table_net import TableFeatures

    features = TableFeatures.from_dict(config.get("features"))
    try:
        hidden = [model.get_layer(layer_name(layer.kind, i)) for i, layer in enumerate(spec.layers, start=1)]
    except ValueError as exc:
        raise InputError(_("Run {run}'s model does not match its recipe: {problem}").format(
            run=values["RUN_ID"], problem=exc)) from None  # fmt: skip
    lines = [f"    x = {layer_code(layer)}(x)" for layer in hidden]
    return Template(templates.TABLE).substitute(
        values, TARGET=py(features.target), TASK=features.task, COLUMNS=_lines(features.columns),
        INPUT_NAMES=_lines(features.inputs), HIDDEN_LINES="\n".join(lines) or "    # no hidden layer: a linear model",
        DATA_HELP=py(f"the CSV file ({Path(str(config.get('data') or 'data.csv')).name})"), **_csv(config),
    )  # fmt: skip


def _lines(items: dict | list) -> str:
    """A dict or a list as Python source, one entry per line."""
    if isinstance(items, list):
        return "[\n" + "".join(f"    {py(v)},\n" for v in items) + "]"
    return "{\n" + "".join(f"    {py(k)}: {py(v)},\n" for k, v in items.items()) + "}"


def _doc(text: str) -> str:
    """Free text (a path, a recipe's name) made safe inside the script's docstring: one line, no escapes."""
    text = re.sub(r"[\s\x00-\x1f\x7f]+", " ", str(text)).replace("\\", "/").replace('"""', "'''")
    return text[:200] + ("..." if len(text) > 200 else "")


def _csv(config: dict) -> dict:
    """How the app read the run's CSV (recorded since issue 26; older runs: the separator guessed, UTF-8)."""
    csv = (config.get("table") or {}).get("csv") or {}
    header = csv.get("header")
    return {"SEPARATOR": py(csv.get("delimiter")), "ENCODING": py(csv.get("encoding") or "utf-8"),
            "DECIMAL": py(csv.get("decimal") or "."), "HEADER": _lines(header) if header else "None"}  # fmt: skip
