"""``python -m core.predict --run RUN_DIR IMAGE [IMAGE ...]``: classify image files.

A table run takes ONE CSV of rows instead: ``python -m core.predict --run RUN rows.csv
[--out predictions.csv]``. Its JSON: ``{"predictions": [{"row", "prediction", "probabilities"?}],
"unusable": [{"row", "reason"}], "out": path (with --out)}``: rows that cannot be used (a missing column, an
unseen category, text for a number) are listed, not an error; a file that cannot be read is.

Each image prediction also says whether the image is unlike the run's training data (core.serving.ood):
``"unfamiliar"`` (true/false, or null with ``"ood_reason"`` when the run has no calibration),
``"ood_score"``, ``"ood_threshold"`` and ``"ood_method"``.
"""

from __future__ import annotations

import sys

from core.base.cli import make_parser, run_cli


def _handler(args) -> dict:
    from core.runs.store import open_run
    from core.tasks import predict

    return predict(open_run(args.run), args.images, args.out)


def main(argv: list[str] | None = None) -> int:
    p = make_parser("python -m core.predict", "Predict the class of image files with a trained run.")
    p.add_argument("--run", required=True, help="a run folder (runs/<id>)")
    p.add_argument("images", nargs="+", help="PNG, JPEG, BMP, GIF, WebP or TIFF files; for a table run, one CSV")
    p.add_argument("--out", help="table runs: also write the rows with their predictions to this CSV file")
    return run_cli(p, _handler, argv)


if __name__ == "__main__":
    sys.exit(main())
