"""Benchmark: both table presets through the real CLI (``python -m core.train --task table``), several seeds.

Run from the project root (nothing else should load the CPU meanwhile)::

    python -m bench.tables_cli [--seeds 0 1 2]

It goes through the whole product path:
config validation, the run store, the run callbacks, the best checkpoint and metrics.json.
Each run uses the preset's own settings (split 15% test, the preset's validation fraction and
epochs). Prints one JSON object: per file and preset the test metrics and the fit seconds as
mean, min and max over the seeds, the baseline, and every single run.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

from core.base.cli import run_module
from core.data.folders import SHIPPED_TABLES

FILES = {"diabetes": (SHIPPED_TABLES / "diabetes.csv", "progression"),
         "penguins": (SHIPPED_TABLES / "penguins.csv", "species")}  # fmt: skip
PRESETS = ("table-tutorial", "table-fast")
REGRESSION_KEYS = ("mae", "rmse", "r2")


def _spread(values: list[float]) -> dict:
    return {"mean": round(statistics.fmean(values), 4), "min": round(min(values), 4), "max": round(max(values), 4)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = p.parse_args(argv)
    out: dict = {"seeds": args.seeds, "files": {}}
    with tempfile.TemporaryDirectory() as runs:
        for label, (path, target) in FILES.items():
            per_file: dict = {}
            for preset in PRESETS:
                runs_list = []
                for seed in args.seeds:
                    done = run_module("train", ["--task", "table", "--data", str(path), "--target", target, "--preset",
                                                preset, "--seed", str(seed), "--runs-dir", runs], timeout=900)  # fmt: skip
                    if done.code != 0:
                        print(done.stderr[-2000:], file=sys.stderr)
                        raise SystemExit(f"{label} {preset} seed {seed} failed: {done.output}")
                    metrics = json.loads((Path(done.output["run_dir"]) / "metrics.json").read_text())
                    runs_list.append({"seed": seed, "epochs": done.output["epochs"],
                                      "fit_seconds": done.output["train_seconds"],
                                      **{k: metrics.get(k) for k in (*REGRESSION_KEYS, "accuracy") if k in metrics},
                                      "baseline": metrics["baseline"]})  # fmt: skip
                keys = REGRESSION_KEYS if "mae" in runs_list[0] else ("accuracy",)
                per_file[preset] = {
                    **{k: _spread([r[k] for r in runs_list]) for k in (*keys, "fit_seconds", "epochs")},
                    "baseline": {k: _spread([r["baseline"][k] for r in runs_list]) for k in keys},
                    "runs": runs_list,
                }
            out["files"][label] = per_file
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
