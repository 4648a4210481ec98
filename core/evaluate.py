"""``python -m core.evaluate --run RUN_DIR [--data PATH]``: test metrics of a run."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from core.cli import make_parser, run_cli
from core.errors import InputError


def evaluation_data(run, data: str | None) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """x (N, S, S, C), one-hot y, class names: the run's test split or another dataset.

    For an image-folder run, ``data`` is a class-folder dataset (its ``test/`` part if it
    has one, else every image) whose class names must match the run's.
    """
    from core import datasets
    from core.inference import model_input_for
    from core.runs import read_json
    from core.training import mnist_to_model_input, one_hot

    spec = model_input_for(run)
    names = list(spec.class_names)
    cfg = run.config()
    if spec.task == "mnist":
        mnist = datasets.load_mnist(data or cfg.get("data"))
        return mnist_to_model_input(mnist.x_test), one_hot(mnist.y_test, 10), names
    if data is None:
        split = read_json(run.path / "split.json")
        if not split or not split.get("test"):
            raise InputError(f"Run {run.id} has no test split recorded; pass --data FOLDER.")
        files = [f for f, _ in split["test"]]
        labels = [int(label) for _, label in split["test"]]
        missing = [f for f in files if not Path(f).is_file()]
        if missing:
            raise InputError(
                f"{len(missing)} test image(s) of run {run.id} are gone, e.g. {missing[0]}; pass --data FOLDER."
            )
    else:
        scan = datasets.scan_image_folder(data, min_per_class=1)
        if sorted(scan.class_names) != sorted(names):
            raise InputError(
                f"The classes of {data} ({', '.join(scan.class_names)}) do not match the model's ({', '.join(names)})."
            )
        remap = [names.index(n) for n in scan.class_names]
        files = scan.test_files or scan.train_files
        labels = [remap[label] for label in (scan.test_labels or scan.train_labels)]
    x = datasets.load_image_arrays(files, spec.image_size, spec.color_mode)
    return x, one_hot(np.array(labels), len(names)), names


def _handler(args) -> dict:
    from core.evaluation import evaluate_model
    from core.inference import load_run_model
    from core.runs import open_run

    run = open_run(args.run)
    x, y, names = evaluation_data(run, args.data)
    model = load_run_model(run)
    loss = (run.config().get("spec") or {}).get("loss", "categorical_crossentropy")
    print(f"Evaluating {run.id} on {len(y)} images ...", file=sys.stderr)
    return evaluate_model(model, x, y, names, loss)


def main(argv: list[str] | None = None) -> int:
    p = make_parser("python -m core.evaluate", "Evaluate a run on its test split or on another dataset.")
    p.add_argument("--run", required=True, help="a run folder (runs/<id>)")
    p.add_argument("--data", help="mnist .npz or class-folder dataset; default: the run's test split")
    return run_cli(p, _handler, argv)


if __name__ == "__main__":
    sys.exit(main())
