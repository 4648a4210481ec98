"""The text of ``reproduce.py`` (:mod:`core.export.script` fills the ``$NAMES``), one constant per part.

What a student reads top to bottom: what the run was, the settings, the data and its split, the
model one line per layer, then compile, fit and test. Only keras, numpy (and pandas for a table).
The splits are CNN Lab's own (the same seed gives the same rows), written out in plain numpy.
"""

HEADER = '''"""Rebuild and retrain CNN Lab's run $RUN_ID, in plain Keras.

Written by CNN Lab ($WRITTEN) from the run's recipe: $PRESET on $DATA.
The run's model had $PARAMS parameters; its $SCORE.

    python reproduce.py$DATA_USAGE [--epochs N]

It needs keras and numpy$PANDAS (CNN Lab itself is not needed). Read it top to bottom:
1. the settings the run trained with;
2. the data: loading, and the split with the run's seed;
3. the model, in Keras's Functional API, one line per layer;
4. compile, fit (with early stopping) and the test.
The last line printed is JSON: {"params": ..., "test_accuracy": ...}.
"""

import argparse
import json
import math
${IMPORT_OS}
import keras
import numpy as np
${IMPORT_PANDAS}from keras import layers

# ----- 1. The run's settings ----------------------------------------------------------------

SEED = $SEED
EPOCHS = $EPOCHS
BATCH_SIZE = $BATCH_SIZE
LEARNING_RATE = $LEARNING_RATE
VALIDATION_FRACTION = $VALIDATION_FRACTION  # of the training data, to watch for overfitting
TEST_FRACTION = $TEST_FRACTION  # held out for the test (when the data has no separate test set)
PATIENCE = $PATIENCE  # early stopping: epochs without a better validation loss
MIN_DELTA = $MIN_DELTA  # the smallest drop of the validation loss that counts
'''

STRATIFIED_SPLIT = '''

def stratified_split(labels, fractions, seed):
    """Indices of the training, validation and test parts: each class shuffled with the seed and cut by fractions."""
    rng = np.random.default_rng(seed)
    parts = ([], [], [])
    for label in np.unique(labels):
        idx = np.flatnonzero(labels == label)
        rng.shuffle(idx)
        n = len(idx)
        n_val, n_test = round(n * fractions[1]), round(n * fractions[2])
        if n >= 3:  # every part asked for gets at least one image of each class
            n_val = max(n_val, 1) if fractions[1] > 0 else 0
            n_test = max(n_test, 1) if fractions[2] > 0 else 0
        n_train = n - n_val - n_test
        parts[0].extend(idx[:n_train])
        parts[1].extend(idx[n_train : n_train + n_val])
        parts[2].extend(idx[n_train + n_val :])
    return [np.sort(np.array(part, dtype=int)) for part in parts]
'''

MNIST = '''
# ----- 2. The data: MNIST -------------------------------------------------------------------
$SPLIT

def load_data(path):
    """MNIST from an .npz (x_train, y_train, x_test, y_test), or Keras's download without a path.

    Returns (x_train, y_train), (x_val, y_val), (x_test, y_test), class_names; images are
    (N, 28, 28, 1) float32 in [0, 1], labels are digits.
    """
    if path:
        with np.load(path) as data:
            x_train, y_train, x_test, y_test = data["x_train"], data["y_train"], data["x_test"], data["y_test"]
    else:
        (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    scale = 255.0 if x_train.max() > 1 else 1.0  # pixels 0..255, or already 0..1
    x_train = (x_train[..., None] / scale).astype("float32")
    x_test = (x_test[..., None] / scale).astype("float32")
    train, val, _ = stratified_split(y_train, (1 - VALIDATION_FRACTION, VALIDATION_FRACTION, 0.0), SEED)
    class_names = [str(digit) for digit in range(10)]
    return (x_train[train], y_train[train]), (x_train[val], y_train[val]), (x_test, y_test), class_names

'''

FOLDER = '''IMAGE_SIZE = $IMAGE_SIZE  # every image is resized to this square
COLOR_MODE = "$COLOR_MODE"  # "grayscale": one channel; "rgb": three

# ----- 2. The data: a folder of class folders -----------------------------------------------
$SPLIT

def class_folders(root):
    """The class folders of root, sorted by name (hidden ones, and ones such as __MACOSX, are not classes)."""
    names = [name for name in os.listdir(root) if os.path.isdir(os.path.join(root, name))]
    return sorted(name for name in names if not os.path.islink(os.path.join(root, name)) and not name.startswith((".", "__")))


def read_folder(root, class_names):
    """Every image under root/<class>/ (sub-folders too), resized, as (N, S, S, C) float32 in [0, 1], and labels.

    The files are taken in sorted order, as CNN Lab takes them; one that is not an image, or is damaged, is skipped.
    """
    images, labels, skipped = [], [], 0
    for label, name in enumerate(class_names):
        for base, folders, files in os.walk(os.path.join(root, name)):
            folders[:] = sorted(folder for folder in folders if not folder.startswith("."))
            for file in sorted(f for f in files if not f.startswith(".")):
                try:
                    image = keras.utils.load_img(os.path.join(base, file), color_mode=COLOR_MODE,
                                                 target_size=(IMAGE_SIZE, IMAGE_SIZE), interpolation="bilinear")
                except Exception:  # not an image, or a damaged one
                    skipped += 1
                    continue
                images.append(keras.utils.img_to_array(image) / 255.0)
                labels.append(label)
    if skipped:
        print(f"Skipped {skipped} file(s) under {root} that are not readable images.")
    if not images:
        raise SystemExit(f"No readable image in the class folders {class_names} under {root}.")
    return np.stack(images).astype("float32"), np.array(labels)


def load_data(path):
    """The images split into training, validation and test (a train/ and test/ pair: test/ is the test).

    Returns (x_train, y_train), (x_val, y_val), (x_test, y_test), class_names.
    """
    v = VALIDATION_FRACTION
    train_root = os.path.join(path, "train") if os.path.isdir(os.path.join(path, "train")) else path
    test_root = os.path.join(path, "test") if train_root != path and os.path.isdir(os.path.join(path, "test")) else None
    class_names = class_folders(train_root)
    if test_root is None:  # a test/ or validation/ folder beside the classes is not a class
        class_names = [name for name in class_names if name not in ("test", "validation")]
    x, y = read_folder(train_root, class_names)
    if test_root is not None:
        x_test, y_test = read_folder(test_root, class_names)
        train, val, _ = stratified_split(y, (1 - v, v, 0.0), SEED)
    else:
        train, val, test = stratified_split(y, (1 - v - TEST_FRACTION, v, TEST_FRACTION), SEED)
        x_test, y_test = x[test], y[test]
    return (x[train], y[train]), (x[val], y[val]), (x_test, y_test), class_names

'''

IMAGE_MODEL = '''
# ----- 3. The model -------------------------------------------------------------------------
$BACKBONE

def build_model(num_classes):
    """The run's network, one line per layer.$AUGMENT_NOTE"""
$MODEL_LINES
    return keras.Model(inputs, outputs, name=$MODEL_NAME)
$OPTIMIZER

# ----- 4. Compile, fit, test ----------------------------------------------------------------


def main():
    parser = argparse.ArgumentParser(description=$DESCRIPTION)
    parser.add_argument("--data", $DATA_ARG)
    parser.add_argument("--epochs", type=int, default=EPOCHS, help="passes over the training data (default: the run's)")
    args = parser.parse_args()
    keras.utils.set_random_seed(SEED)
    (x_train, y_train), (x_val, y_val), (x_test, y_test), class_names = load_data(args.data)
    num_classes = len(class_names)
    model = build_model(num_classes)
    model.summary()
    steps_per_epoch = math.ceil(len(x_train) / BATCH_SIZE)
    model.compile(
        optimizer=make_optimizer(steps_per_epoch, args.epochs),
        loss=$LOSS,
        metrics=[keras.metrics.CategoricalAccuracy(name="accuracy")],
    )
    history = model.fit(
        x_train,
        keras.utils.to_categorical(y_train, num_classes),
        validation_data=(x_val, keras.utils.to_categorical(y_val, num_classes)),
        epochs=args.epochs,
        batch_size=BATCH_SIZE,
$EARLY_STOPPING        verbose=2,
    )
    test_loss, test_accuracy = model.evaluate(x_test, keras.utils.to_categorical(y_test, num_classes), verbose=0)
    result = {
        "params": model.count_params(),
        "test_accuracy": round(float(test_accuracy), 4),
        "test_loss": round(float(test_loss), 4),
        "epochs": len(history.history["loss"]),
        "n_train": len(x_train),
        "n_val": len(x_val),
        "n_test": len(x_test),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
'''

BACKBONE = '''

def pretrained_backbone(application, input_shape):
    """A keras.applications network without its top: ImageNet's weights, or random ones when offline."""
    try:
        return application(include_top=False, weights="imagenet", input_shape=input_shape)
    except Exception as error:  # no internet, or no weights for this size
        print(f"ImageNet weights unavailable ({error}); the backbone starts from random weights.")
        return application(include_top=False, weights=None, input_shape=input_shape)
'''

OPTIMIZER = '''

def make_optimizer(steps_per_epoch, epochs):
    """$OPTIMIZER_DOC"""
$LR_LINES
    return $OPTIMIZER_CALL
'''

ONECYCLE = """    total = max(1, steps_per_epoch * epochs)  # warm up over the first 20% of the steps, then cosine decay
    learning_rate = keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=LEARNING_RATE / 25,
        decay_steps=total - total // 5,
        warmup_target=LEARNING_RATE,
        warmup_steps=total // 5,
        alpha=0.01,
    )"""

CONSTANT = "    learning_rate = LEARNING_RATE  # the same step size throughout"

TABLE = '''TARGET = $TARGET  # the column to predict
TASK = "$TASK"
# How CNN Lab read the file: its separator, encoding and decimal mark, and its header's names
SEPARATOR = $SEPARATOR
ENCODING = $ENCODING
DECIMAL = $DECIMAL
HEADER = $HEADER
# The input columns and their kinds, in the model's order
COLUMNS = $COLUMNS
# Each column's name as a Keras input
INPUT_NAMES = $INPUT_NAMES

# ----- 2. The data: a CSV table -------------------------------------------------------------


def category(value):
    """A cell as a category: text, "" when empty, and 2.0 written 2 (a number read as a float)."""
    if pd.isna(value):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def number(cell):
    """A cell as a number: NaN when empty, a decimal comma ("3,5") read as a point."""
    if pd.isna(cell):
        return float("nan")
    try:
        return float(str(cell).replace(",", ".") if DECIMAL == "," else cell)
    except ValueError:  # text in a number column (CNN Lab refuses to train on it)
        return float("nan")


def load_data(path):
    """The rows with a target value, split into training, validation and test rows with the seed.

    Returns the three parts as pandas DataFrames of text cells (NaN when empty).
    """
    frame = pd.read_csv(path, sep=SEPARATOR, encoding=ENCODING, dtype=str, keep_default_na=False,
                        engine="python" if SEPARATOR is None else "c")  # None: the separator is guessed
    if HEADER and len(frame.columns) == len(HEADER):
        frame.columns = HEADER  # the names as CNN Lab cleaned them: blank -> column_3, repeated -> price_2
    frame = frame.apply(lambda column: column.str.strip()).replace("", np.nan)
    frame = frame[frame[TARGET].notna()].reset_index(drop=True)
    n = len(frame)
    n_val = max(1, round(n * VALIDATION_FRACTION)) if VALIDATION_FRACTION > 0 else 0
    n_test = max(1, round(n * TEST_FRACTION))
    order = np.random.default_rng(SEED).permutation(n)
    parts = order[n_val + n_test :], order[:n_val], order[n_val : n_val + n_test]
    return [frame.iloc[np.sort(part)] for part in parts]


def to_inputs(frame):
    """The model's inputs: one (n, 1) array per column (numbers with NaN when empty, categories as text)."""
    inputs = {}
    for column, kind in COLUMNS.items():
        if kind == "number":
            values = frame[column].map(number).to_numpy("float32")
        else:
            values = keras.ops.convert_to_tensor(np.array([category(v) for v in frame[column]]))
        inputs[INPUT_NAMES[column]] = keras.ops.reshape(values, (-1, 1))
    return inputs


def to_target(frame, classes):
    """The target as the model learns it: numbers, or class indices."""
    if TASK == "regression":
        return frame[TARGET].map(number).to_numpy("float32")
    return np.array([classes.index(category(v)) for v in frame[TARGET]])


# ----- 3. The model -------------------------------------------------------------------------


def build_model(train, classes):
    """Raw columns in; each column's preprocessing learnt from the training rows; the run's layers; the head."""
    inputs, encoded = {}, []
    for column, kind in COLUMNS.items():
        name = INPUT_NAMES[column]
        if kind == "number":
            values = train[column].map(number)  # empty cells (NaN) are left out of the mean and variance
            inputs[name] = keras.Input(shape=(1,), name=name)
            x = layers.Normalization(mean=values.mean(), variance=values.var(ddof=0), name="normalize_" + name)(
                inputs[name]
            )
            encoded.append(keras.ops.nan_to_num(x, nan=0.0))  # an empty cell becomes 0: the training mean
        else:
            vocabulary = sorted({category(v) for v in train[column]})
            inputs[name] = keras.Input(shape=(1,), dtype="string", name=name)
            # one-hot over the training values, plus one slot for a value never seen
            lookup = layers.StringLookup(vocabulary=vocabulary, output_mode="one_hot", name="lookup_" + name)
            encoded.append(lookup(inputs[name]))
    x = layers.Concatenate(name="features")(encoded) if len(encoded) > 1 else encoded[0]
$HIDDEN_LINES
    if TASK == "regression":
        x = layers.Dense(1, name="head")(x)
        y = to_target(train, classes)  # the network learns a standardised target, rescaled to its unit here
        outputs = layers.Rescaling(scale=float(y.std()) or 1.0, offset=float(y.mean()), name="prediction")(x)
    else:
        outputs = layers.Dense(len(classes), activation="softmax", name="prediction")(x)
    return keras.Model(inputs, outputs, name=$MODEL_NAME)
$OPTIMIZER

# ----- 4. Compile, fit, test ----------------------------------------------------------------


def main():
    parser = argparse.ArgumentParser(description=$DESCRIPTION)
    parser.add_argument("--data", required=True, help=$DATA_HELP)
    parser.add_argument("--epochs", type=int, default=EPOCHS, help="passes over the training data (default: the run's)")
    args = parser.parse_args()
    keras.utils.set_random_seed(SEED)
    train, val, test = load_data(args.data)
    classes = sorted({category(v) for v in train[TARGET]}) if TASK == "classification" else []
    model = build_model(train, classes)
    model.summary()
    steps_per_epoch = math.ceil(len(train) / BATCH_SIZE)
    if TASK == "regression":
        loss, metric = "mean_squared_error", keras.metrics.MeanAbsoluteError(name="mae")
    else:
        loss, metric = "sparse_categorical_crossentropy", keras.metrics.SparseCategoricalAccuracy(name="accuracy")
    model.compile(optimizer=make_optimizer(steps_per_epoch, args.epochs), loss=loss, metrics=[metric])
    history = model.fit(
        to_inputs(train),
        to_target(train, classes),
        validation_data=(to_inputs(val), to_target(val, classes)),
        epochs=args.epochs,
        batch_size=BATCH_SIZE,
$EARLY_STOPPING        verbose=2,
    )
    test_loss, test_metric = model.evaluate(to_inputs(test), to_target(test, classes), verbose=0)
    result = {
        "params": model.count_params(),
        "test_loss": round(float(test_loss), 4),
        "epochs": len(history.history["loss"]),
        "n_train": len(train),
        "n_val": len(val),
        "n_test": len(test),
    }
    if TASK == "regression":
        y = to_target(test, classes)
        predicted = keras.ops.convert_to_numpy(model.predict(to_inputs(test), verbose=0)).reshape(-1)
        r2 = 1 - float(np.sum((y - predicted) ** 2) / np.sum((y - y.mean()) ** 2))
        result.update(test_accuracy=None, test_mae=round(float(test_metric), 4), test_r2=round(r2, 4))
    else:
        result["test_accuracy"] = round(float(test_metric), 4)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
'''

EARLY_STOPPING = """        callbacks=[
            keras.callbacks.EarlyStopping(
                monitor="val_loss", min_delta=MIN_DELTA, patience=PATIENCE, restore_best_weights=True
            )
        ],
"""  # fit's early stopping, as the app's (core.training.callbacks): the best epoch's weights are kept
