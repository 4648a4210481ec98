"""A dense network for a table, with its preprocessing inside the Keras model.

The model takes the RAW columns: one ``keras.Input`` per column, named after the column
(sanitised for Keras; :attr:`TableFeatures.inputs` keeps the mapping), ``float32`` for numbers
and ``string`` for categories. Inside it:

- number -> ``Normalization`` (mean and variance of the training rows, empty cells left out)
  -> empty cells (NaN) become 0, i.e. the training mean: missing numbers are imputed INSIDE the
  model, so training, evaluation and a reloaded ``.keras`` file all impute the same way;
- category -> ``StringLookup`` (the training values, one OOV bucket) -> one-hot. A value never
  seen in training would fall into the OOV bucket, whose weights never trained: the predict
  path refuses such rows first (:func:`core.metrics.table.usable_rows`) and reports them. An
  empty category cell is the category ``""`` when the training rows had empty cells, else the
  row is refused the same way;
- all columns concatenated (``features``) -> the spec's layers (Dense, Dropout,
  BatchNormalization, Activation, built by ``core.models``) -> the head: ``Dense 1``
  linear for regression, ``Dense K`` softmax for classification. A regression head is then
  rescaled by the training target's standard deviation and mean (``Rescaling``, no weights):
  the network learns a standardised target while the model outputs, and the loss sees, the
  target in its own unit.

``keras.models.load_model(path)`` needs no custom code. String inputs must reach Keras as
tensors (a numpy array of Python strings is refused by ``predict``): use
:func:`make_dataset` or ``tf.constant``.

Why not ``keras.utils.FeatureSpace``: it bundles the preprocessing into a separate object
applied in ``tf.data`` (the model itself then takes encoded features unless one rebuilds a
second model around it), it has no missing-number imputation, and it cannot tell the caller
which rows hold an unseen category. Plain layers do all three with less machinery.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from core.base.errors import InputError
from core.base.i18n import _, number
from core.data.folders import PREFETCH_BATCHES, without_autotune
from core.models.layers import TABLE_LAYER_KINDS, BuildContext, check_fields, kind_of
from core.models.specs import LayerSpec, ModelSpec
from core.models.summary import layer_name

NUMBER, CATEGORY = "number", "category"
MODEL_KINDS = (NUMBER, CATEGORY)  # text and date columns are dropped before (core.data.table.columns)
REGRESSION, CLASSIFICATION = "regression", "classification"
TASKS = (REGRESSION, CLASSIFICATION)
MISSING_CATEGORY = ""  # the token an empty category cell becomes (known only if training had empty cells)
FEATURES = "features"  # the concatenated, preprocessed row
HEAD = "head"  # the last Dense layer
OUTPUT = "prediction"  # the model's output: the head, rescaled to the target's unit for a regression
RESERVED_PREFIXES = ("normalize_", "impute_", "lookup_")  # names of the per-column preprocessing layers
MIN_CLASSES = 2
MAX_CLASSES = 1_000  # a "classification" with more classes than this is an id column or a regression
DECIMAL_COMMA = re.compile(r"^[-+]?\d+,\d+$")  # "3,5" (a decimal comma left in a text cell)


@dataclass
class TableFeatures:
    """What the model expects and learnt from the training rows, as JSON-friendly data.

    Stored beside the model (the run's config.json) so the predict path can check rows
    (:func:`core.metrics.table.usable_rows`) and turn them into inputs (:func:`to_inputs`).
    """

    columns: dict[str, str]  # column -> kind ("number" | "category"), in input order
    inputs: dict[str, str]  # column -> Keras input name
    task: str  # "regression" | "classification"
    means: dict[str, float] = field(default_factory=dict)  # number column -> training mean (imputed value)
    variances: dict[str, float] = field(default_factory=dict)  # number column -> training variance
    vocabularies: dict[str, list[str]] = field(default_factory=dict)  # category column -> sorted training values
    classes: list[str] = field(default_factory=list)  # classification: class names in output order
    target: str = ""
    missing: dict[str, int] = field(default_factory=dict)  # column -> empty training cells (imputed / "")
    target_mean: float = 0.0  # regression: the head's output is scaled by target_std and shifted by target_mean
    target_std: float = 1.0

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> TableFeatures:
        """Rebuilds the features from :meth:`to_dict` output.

        Raises:
            InputError: not an object, or a kind or task this module does not know.
        """
        if not isinstance(data, dict) or not isinstance(data.get("columns"), dict):
            raise InputError(_("Expected the table features as an object with 'columns'. Received: {value}").format(
                value=repr(data)[:80]))  # fmt: skip
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        features = cls(**known)
        _check_kinds(features.columns)
        _check_task(features.task)
        return features

    @property
    def number_columns(self) -> list[str]:
        return [c for c, k in self.columns.items() if k == NUMBER]

    @property
    def category_columns(self) -> list[str]:
        return [c for c, k in self.columns.items() if k == CATEGORY]


# ----- names -------------------------------------------------------------------------------


def input_names(columns: list[str]) -> dict[str, str]:
    """Keras input names for column names: ``"Body mass (g)"`` -> ``"body_mass_g"``.

    Accents are dropped, anything but letters, digits and ``_`` becomes ``_``, a leading digit
    gets ``c_``; names that would clash with each other or with the model's own layers get
    ``_2``, ``_3``...

    Returns:
        column -> input name, in the order given.
    """
    taken = {FEATURES, HEAD, OUTPUT}
    names: dict[str, str] = {}
    for column in columns:
        plain = unicodedata.normalize("NFKD", str(column)).encode("ascii", "ignore").decode()
        base = re.sub(r"[^0-9a-zA-Z_]+", "_", plain).strip("_").lower() or "column"
        if base[0].isdigit() or base.startswith(RESERVED_PREFIXES) or re.fullmatch(r"[a-z]+_\d+", base):
            base = "c_" + base  # "2024" / "dense_1" (a hidden layer's name) / "lookup_x"
        name, n = base, 2
        while name in taken:
            name, n = f"{base}_{n}", n + 1
        taken.add(name)
        names[column] = name
    return names


# ----- cells -------------------------------------------------------------------------------


def is_empty(value: Any) -> bool:
    """An empty cell: None, NaN, or text of blanks only."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def parse_number(value: Any) -> float:
    """A cell as a number; NaN when empty.

    Accepts floats and ints, and text such as ``" 3.5 "``, ``"1e3"`` or ``"3,5"`` (a decimal
    comma left in a text cell).

    Raises:
        ValueError: text that is not a number (``"abc"``), a yes/no value, or an infinite number.
    """
    if is_empty(value):
        return math.nan
    if isinstance(value, bool | np.bool_):
        raise ValueError(value)
    if isinstance(value, str):
        text = value.strip()
        parsed = float(text.replace(",", ".") if DECIMAL_COMMA.match(text) else text)
    else:
        parsed = float(value)
    if math.isnan(parsed):
        return math.nan  # "nan" written as text is an empty cell too
    if math.isinf(parsed):
        raise ValueError(value)
    return parsed


def category_text(value: Any) -> str | None:
    """A cell as a category value; None when empty.

    Whole numbers are written without ``.0`` so that ``2`` read as a number in one file and as
    text ``"2"`` in another are the same category.
    """
    if is_empty(value):
        return None
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value).strip()


# ----- learning the preprocessing ---------------------------------------------------------


def _check_kinds(columns: dict[str, str]) -> None:
    if not columns:
        raise InputError(_("Expected at least one column to learn from. Received: none (all were left out)."))
    for column, kind in columns.items():
        if kind not in MODEL_KINDS:
            raise InputError(
                _("Column {column}: expected kind {kinds}. Received: {kind} (text and date columns are left out "
                  "before the model).").format(column=repr(column), kinds=" / ".join(MODEL_KINDS), kind=repr(kind))
            )  # fmt: skip


def _check_task(task: str) -> None:
    if task not in TASKS:
        raise InputError(_("Expected task {tasks}. Received: {task}").format(tasks=" / ".join(TASKS), task=repr(task)))


def fit_features(frame: pd.DataFrame, columns: dict[str, str], target: pd.Series, task: str) -> TableFeatures:
    """Learns the preprocessing from the TRAINING rows only (never validation or test rows).

    Args:
        frame: the training rows' feature columns (raw: numbers as float or text, categories as text).
        columns: column -> kind ("number" | "category"), the model's inputs in this order.
        target: the training rows' target (numbers for regression, any values for classification).
        task: "regression" | "classification".

    Returns:
        Means and variances (empty cells left out), vocabularies, class names and input names.

    Raises:
        InputError: a column absent from ``frame``, a wrong kind, a number column with text in it
            or no value at all, a target with empty cells or text (regression), fewer than 2 or
            more than 1,000 classes (classification).
    """
    _check_kinds(columns)
    _check_task(task)
    absent = [c for c in columns if c not in frame.columns]
    if absent:
        raise InputError(_("Expected the columns {columns} in the training rows. Received columns: {have}").format(
            columns=absent, have=list(frame.columns)))  # fmt: skip
    features = TableFeatures(columns=dict(columns), inputs=input_names(list(columns)), task=task,
                             target=str(target.name or ""))  # fmt: skip
    for column, kind in columns.items():
        values = frame[column].tolist()
        if kind == NUMBER:
            numbers = np.array(_numbers(values, column), dtype="float64")
            known = numbers[~np.isnan(numbers)]
            if known.size == 0:
                raise InputError(_("Column {column} has no number in the training rows: leave it out.").format(
                    column=repr(column)))  # fmt: skip
            features.means[column] = float(known.mean())
            features.variances[column] = float(known.var())
            features.missing[column] = int(numbers.size - known.size)
        else:
            texts = [category_text(v) for v in values]
            seen = sorted({t for t in texts if t is not None})
            if not seen:
                raise InputError(_("Column {column} has no value in the training rows: leave it out.").format(
                    column=repr(column)))  # fmt: skip
            empty = sum(t is None for t in texts)
            features.vocabularies[column] = ([MISSING_CATEGORY] if empty else []) + seen
            features.missing[column] = empty
    if task == CLASSIFICATION:
        labels = [category_text(v) for v in target.tolist()]
        if any(lab is None for lab in labels):
            raise InputError(_("The target column {target} has empty cells: drop those rows first.").format(
                target=repr(features.target)))  # fmt: skip
        features.classes = sorted(set(labels))
        if not MIN_CLASSES <= len(features.classes) <= MAX_CLASSES:
            raise InputError(_("Expected {lo} to {hi} classes in the target column {target}. Received: {n}").format(
                lo=MIN_CLASSES, hi=number(MAX_CLASSES), target=repr(features.target), n=len(features.classes)))  # fmt: skip
    else:
        y = encode_target(target, features).astype("float64")  # raises on text or empty cells
        features.target_mean = float(y.mean())
        features.target_std = float(y.std()) or 1.0  # a constant target: no scaling
    return features


def _numbers(values: list, column: str) -> list[float]:
    out = []
    for row, value in enumerate(values):
        try:
            out.append(parse_number(value))
        except (TypeError, ValueError):
            raise InputError(
                _("Column {column} should hold numbers. Received: {value} in row {row} of these rows.").format(
                    column=repr(column), value=repr(value), row=row + 1)
            ) from None  # fmt: skip
    return out


def encode_target(target: pd.Series, features: TableFeatures) -> np.ndarray:
    """The target as the model trains on it.

    Returns:
        Regression: float32 values, shape (n,). Classification: int32 class indices into
        ``features.classes``, shape (n,).

    Raises:
        InputError: empty cells, text in a regression target, or a class the training rows did not have.
    """
    name = repr(features.target or target.name)
    if features.task == REGRESSION:
        try:
            y = np.array([parse_number(v) for v in target.tolist()], dtype="float64")
        except (TypeError, ValueError):
            raise InputError(_("The target column {target} should hold numbers for a regression. Choose "
                               "classification or another column.").format(target=name)) from None  # fmt: skip
        if np.isnan(y).any():
            raise InputError(_("The target column {target} has {n} empty cells: drop those rows first.").format(
                target=name, n=int(np.isnan(y).sum())))  # fmt: skip
        return y.astype("float32")
    index = {c: i for i, c in enumerate(features.classes)}
    labels = [category_text(v) for v in target.tolist()]
    unknown = sorted({str(lab) for lab in labels if lab not in index})
    if unknown:
        raise InputError(_("The target column {target} has values the model has no class for: {values}").format(
            target=name, values=unknown[:5]))  # fmt: skip
    return np.array([index[lab] for lab in labels], dtype="int32")


def to_inputs(frame: pd.DataFrame, features: TableFeatures) -> dict[str, np.ndarray]:
    """Raw rows as the model's inputs (check them first with :func:`core.metrics.table.usable_rows`).

    Returns:
        input name -> array of shape (n, 1): float32 with NaN for an empty number cell (the
        model imputes it), Python ``str`` objects for categories (``""`` for an empty cell).

    Raises:
        InputError: a needed column is absent or a number cell holds text.
    """
    absent = [c for c in features.columns if c not in frame.columns]
    if absent:
        raise InputError(_("Expected the columns {columns}. Received columns: {have}").format(
            columns=absent, have=list(frame.columns)))  # fmt: skip
    out: dict[str, np.ndarray] = {}
    for column, kind in features.columns.items():
        values = frame[column].tolist()
        if kind == NUMBER:
            out[features.inputs[column]] = np.array(_numbers(values, column), dtype="float32").reshape(-1, 1)
        else:
            texts = [category_text(v) for v in values]
            out[features.inputs[column]] = np.array(
                [MISSING_CATEGORY if t is None else t for t in texts], dtype=object
            ).reshape(-1, 1)
    return out


def make_dataset(inputs: dict[str, np.ndarray], y: np.ndarray | None = None, batch_size: int = 256,
                 shuffle_seed: int | None = None):  # fmt: skip
    """A batched ``tf.data.Dataset`` of ``inputs`` (and ``y``), the form ``fit``/``predict`` accept strings in.

    Args:
        shuffle_seed: shuffle the rows again each epoch with this seed (None: keep the order).
    """
    import tensorflow as tf

    n = len(next(iter(inputs.values())))
    tensors = {k: tf.constant(v.tolist() if v.dtype == object else v) for k, v in inputs.items()}
    ds = tf.data.Dataset.from_tensor_slices(tensors if y is None else (tensors, y))
    if shuffle_seed is not None:
        ds = ds.shuffle(n, seed=shuffle_seed, reshuffle_each_iteration=True)
    return without_autotune(ds.batch(batch_size).prefetch(PREFETCH_BATCHES))


# ----- the model ---------------------------------------------------------------------------


def check_table_layers(layers: list[LayerSpec]) -> None:
    """The hidden layers suit a table: only Dense, Dropout, BatchNormalization, Activation.

    Raises:
        InputError: another kind (a convolution, Flatten...) or a bad field.
    """
    for i, layer in enumerate(layers, start=1):
        if layer.kind not in TABLE_LAYER_KINDS:
            raise InputError(
                _("Layer {index}: a table model takes {kinds}. Received: {kind}").format(
                    index=i, kinds=", ".join(TABLE_LAYER_KINDS), kind=repr(layer.kind))
            )  # fmt: skip
        check_fields(layer, kind_of(layer, i), i)


def build_table_model(layers: list[LayerSpec], features: TableFeatures, name: str = "table"):
    """Builds the uncompiled model: raw inputs -> preprocessing -> ``layers`` -> head.

    Args:
        layers: the hidden layers (a ``ModelSpec``'s ``layers``); may be empty (a linear model).
        features: from :func:`fit_features`.
        name: the Keras model's name.

    Returns:
        A ``keras.Model`` whose inputs are a dict {input name: (None, 1) tensor} and whose
        output is (None, 1) for regression or (None, K) class probabilities.

    Raises:
        InputError: see :func:`check_table_layers`.
    """
    import keras
    from keras import layers as kl
    from keras import ops

    check_table_layers(layers)
    inputs, encoded = {}, []
    for column, kind in features.columns.items():
        key = features.inputs[column]
        if kind == NUMBER:
            x = inputs[key] = keras.Input(shape=(1,), dtype="float32", name=key)
            x = kl.Normalization(mean=[features.means[column]], variance=[features.variances[column]],
                                 name=f"normalize_{key}")(x)  # fmt: skip
            encoded.append(ops.nan_to_num(x, nan=0.0))  # (None, 1); an empty cell -> 0 = the training mean
        else:
            x = inputs[key] = keras.Input(shape=(1,), dtype="string", name=key)
            # (None, V + 1): index 0 is the OOV bucket, refused before predicting (usable_rows)
            encoded.append(kl.StringLookup(vocabulary=features.vocabularies[column], num_oov_indices=1,
                                           output_mode="one_hot", name=f"lookup_{key}")(x))  # fmt: skip
    x = kl.Concatenate(name=FEATURES)(encoded) if len(encoded) > 1 else kl.Identity(name=FEATURES)(encoded[0])
    ctx = BuildContext(pretrained_weights=False)
    for i, layer in enumerate(layers, start=1):
        x = kind_of(layer, i).build(layer, layer_name(layer.kind, i), x, ctx)
    if features.task == REGRESSION:
        x = kl.Dense(1, activation="linear", name=HEAD)(x)  # (None, 1), about N(0, 1) at the start
        # A fixed rescaling (no weights) to the target's unit: the network starts near the training
        # mean instead of near 0, so a target of ~150 (diabetes) needs no thousands of steps to be reached.
        outputs = kl.Rescaling(scale=features.target_std, offset=features.target_mean, name=OUTPUT)(x)
    else:
        outputs = kl.Dense(len(features.classes), activation="softmax", name=OUTPUT)(x)  # (None, K)
    return keras.Model(inputs, outputs, name=re.sub(r"[^0-9a-zA-Z_-]+", "_", name) or "table")


def compile_table_model(model, spec: ModelSpec, task: str, steps_per_epoch: int = 1) -> None:
    """Compiles with the spec's optimizer and the task's loss and metric.

    Regression: mean squared error, metric MAE (named ``mae``: ``accuracy`` means nothing for a
    number). Classification: sparse categorical cross-entropy on class indices, metric
    ``accuracy``.
    """
    import keras

    from core.models.builder import make_optimizer

    _check_task(task)
    optimizer = make_optimizer(spec, steps_per_epoch, spec.epochs)
    if task == REGRESSION:
        model.compile(optimizer=optimizer, loss="mean_squared_error",
                      metrics=[keras.metrics.MeanAbsoluteError(name="mae")])  # fmt: skip
    else:
        model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy",
                      metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")])  # fmt: skip


def trainable_count(model) -> int:
    """Trainable parameters (Normalization's mean/variance and the lookups' vocabularies are not)."""
    return int(sum(math.prod(w.shape) for w in model.trainable_weights))
