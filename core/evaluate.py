"""``python -m core.evaluate --run RUN_DIR [--data PATH]``: test metrics of a run.

The run's task (:mod:`core.tasks`) says what its test is: an image run's test split or another
dataset (an MNIST .npz, a folder of class folders); a table run's test rows or another CSV.
"""

from __future__ import annotations

import sys

from core.base.cli import make_parser, run_cli


def _handler(args) -> dict:
    from core.runs.store import open_run
    from core.tasks import evaluate

    run = open_run(args.run)
    print(f"Evaluating {run.id} ...", file=sys.stderr)
    return evaluate(run, args.data)


def main(argv: list[str] | None = None) -> int:
    p = make_parser("python -m core.evaluate", "Evaluate a run on its test split or on another dataset.")
    p.add_argument("--run", required=True, help="a run folder (runs/<id>)")
    p.add_argument("--data", help="mnist .npz or class-folder dataset (a CSV for a table run); default: the run's "
                                  "test split")  # fmt: skip
    return run_cli(p, _handler, argv)


if __name__ == "__main__":
    sys.exit(main())
