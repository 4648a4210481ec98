"""``python -m core.predict --run RUN_DIR IMAGE [IMAGE ...]``: classify image files.

Each prediction also says whether the image is unlike the run's training data (core.ood):
``"unfamiliar"`` (true/false, or null with ``"ood_reason"`` when the run has no calibration),
``"ood_score"``, ``"ood_threshold"`` and ``"ood_method"``.
"""

from __future__ import annotations

import sys

from core.cli import make_parser, run_cli


def _handler(args) -> dict:
    from core.inference import predict_files
    from core.runs import open_run

    run = open_run(args.run)
    return {"predictions": predict_files(run, args.images)}


def main(argv: list[str] | None = None) -> int:
    p = make_parser("python -m core.predict", "Predict the class of image files with a trained run.")
    p.add_argument("--run", required=True, help="a run folder (runs/<id>)")
    p.add_argument("images", nargs="+", help="PNG, JPEG, BMP, GIF, WebP or TIFF files")
    return run_cli(p, _handler, argv)


if __name__ == "__main__":
    sys.exit(main())
