"""Benchmark: both table presets against their baseline on two CSV files, over several seeds.

Run from the project root (nothing else should load the CPU meanwhile)::

    python -m bench.tables [--seeds 0 1 2] [--regression core/assets/tables/diabetes.csv:progression]
                           [--classification core/assets/tables/penguins.csv:species]

Each seed splits the rows 70/15/15 (train / validation / test), learns the preprocessing on
the training rows, trains each preset (validation rows for early stopping; ``table-fast``
keeps its best epoch, ``table-tutorial`` its last, as the lesson does) and scores the test
rows. Text and date columns are left out; rows with an empty target are dropped.

Prints one JSON object: per file the baseline and each preset's test MAE / RMSE / R² (or
accuracy) and fit seconds, as mean, min and max over the seeds, plus every single run.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from core.tables.metrics import classification_metrics, majority_baseline, mean_baseline, regression_metrics
from core.tables.model import (
    CLASSIFICATION,
    MODEL_KINDS,
    REGRESSION,
    TABLE_FAST,
    TABLE_TUTORIAL,
    build_table_model,
    compile_table_model,
    encode_target,
    fit_features,
    make_dataset,
    table_presets,
    to_inputs,
    trainable_count,
)

ROOT = Path(__file__).resolve().parents[1]
TABLES = ROOT / "core" / "assets" / "tables"
VALIDATION, TEST = 0.15, 0.15
PREDICT_BATCH = 1024


def load(path: Path, target: str) -> tuple[pd.DataFrame, dict[str, str], pd.Series, list[str]]:
    """Reads a CSV with core.tables.read (pandas if it is not there); returns features, kinds, target, notes."""
    try:
        from core.tables.read import read_table

        table = read_table(path)
        frame, kinds, notes = table.frame, {c.name: c.kind for c in table.columns}, list(table.notes)
    except ImportError:
        frame = pd.read_csv(path)
        kinds = {c: "number" if pd.api.types.is_numeric_dtype(frame[c]) else "category" for c in frame}
        notes = ["read with pandas"]
    frame = frame[frame[target].notna()].reset_index(drop=True)
    columns = {c: k for c, k in kinds.items() if c != target and k in MODEL_KINDS}
    left_out = [c for c, k in kinds.items() if c != target and k not in MODEL_KINDS]
    if left_out:
        notes.append(f"left out (text/date): {left_out}")
    return frame[list(columns)], columns, frame[target], notes


def run_one(frame, columns, target, task: str, preset: str, seed: int) -> dict:
    import keras
    import tensorflow as tf

    from core.tables.read import split_rows

    parts = split_rows(len(frame), seed, VALIDATION, TEST)
    rows = {k: frame.iloc[v] for k, v in parts.items()}
    ys = {k: target.iloc[v] for k, v in parts.items()}
    features = fit_features(rows["train"], columns, ys["train"], task)
    y = {k: encode_target(v, features) for k, v in ys.items()}
    spec = table_presets()[preset]
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()
    model = build_table_model(spec.layers, features, preset)
    steps = -(-len(y["train"]) // spec.batch_size)
    compile_table_model(model, spec, task, steps)
    train = make_dataset(to_inputs(rows["train"], features), y["train"], spec.batch_size, shuffle_seed=seed)
    val = make_dataset(to_inputs(rows["validation"], features), y["validation"], PREDICT_BATCH)
    stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=spec.patience, min_delta=spec.min_delta,
                                         restore_best_weights=preset == TABLE_FAST)  # fmt: skip
    t0 = time.perf_counter()
    history = model.fit(train, validation_data=val, epochs=spec.epochs, callbacks=[stop], verbose=0, shuffle=False)
    seconds = time.perf_counter() - t0
    out = model.predict(make_dataset(to_inputs(rows["test"], features), batch_size=PREDICT_BATCH), verbose=0)
    if task == REGRESSION:
        scores, base = regression_metrics(y["test"], out.ravel()), mean_baseline(y["train"], y["test"])
    else:
        scores = classification_metrics(y["test"], out.argmax(axis=1))
        base = majority_baseline(y["train"], y["test"])
    result = {"preset": preset, "seed": seed, "train_seconds": round(seconds, 2),
              "epochs": len(history.history["loss"]), "params": trainable_count(model),
              "n": {k: len(v) for k, v in y.items()}, "test": scores, "baseline": base}  # fmt: skip
    print(f"{preset} seed {seed}: {json.dumps(scores)} vs baseline {json.dumps(base)} in {seconds:.1f} s",
          file=sys.stderr)  # fmt: skip
    return result


def spread(values: list[float | None]) -> dict | None:
    values = [v for v in values if v is not None]
    if not values:
        return None
    return {"mean": round(statistics.fmean(values), 4), "min": round(min(values), 4), "max": round(max(values), 4)}


def bench_file(spec: str, task: str, seeds: list[int]) -> dict:
    path, _sep, target = spec.rpartition(":")
    frame, columns, y, notes = load(Path(path), target)
    runs = [run_one(frame, columns, y, task, p, s) for p in (TABLE_TUTORIAL, TABLE_FAST) for s in seeds]
    metrics = ("mae", "rmse", "r2") if task == REGRESSION else ("accuracy",)
    summary: dict = {"baseline": {m: spread([r["baseline"][m] for r in runs if r["preset"] == TABLE_FAST])
                                  for m in metrics}}  # fmt: skip
    for p in (TABLE_TUTORIAL, TABLE_FAST):
        mine = [r for r in runs if r["preset"] == p]
        summary[p] = {m: spread([r["test"][m] for r in mine]) for m in metrics}
        summary[p].update(train_seconds=spread([r["train_seconds"] for r in mine]),
                          epochs=spread([r["epochs"] for r in mine]), params=mine[0]["params"])  # fmt: skip
    return {"file": Path(path).name, "target": target, "task": task, "rows": len(frame), "columns": columns,
            "notes": notes, "summary": summary, "runs": runs}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--regression", default=f"{TABLES / 'diabetes.csv'}:progression", help="FILE.csv:TARGET")
    parser.add_argument("--classification", default=f"{TABLES / 'penguins.csv'}:species", help="FILE.csv:TARGET")
    args = parser.parse_args()
    np.set_printoptions(precision=4)
    results = [bench_file(args.regression, REGRESSION, args.seeds),
               bench_file(args.classification, CLASSIFICATION, args.seeds)]  # fmt: skip
    print(json.dumps({"seeds": args.seeds, "split": [1 - VALIDATION - TEST, VALIDATION, TEST], "results": results}))


if __name__ == "__main__":
    main()
