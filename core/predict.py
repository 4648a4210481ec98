"""``python -m core.predict --run RUN_DIR IMAGE [IMAGE ...]``: classify image files.

A table run takes ONE CSV of rows instead: ``python -m core.predict --run RUN rows.csv
[--out predictions.csv]``. Its JSON: ``{"predictions": [{"row", "prediction", "probabilities"?}],
"unusable": [{"row", "reason"}], "out": path (with --out)}``: rows that cannot be used (a missing column, an
unseen category, text for a number) are listed, not an error; a file that cannot be read is.

Each prediction also says whether the image is unlike the run's training data (core.serving.ood):
``"unfamiliar"`` (true/false, or null with ``"ood_reason"`` when the run has no calibration),
``"ood_score"``, ``"ood_threshold"`` and ``"ood_method"``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from core.base.cli import make_parser, run_cli
from core.base.errors import InputError
from core.base.i18n import _


def _handler(args) -> dict:
    from core.runs.store import open_run
    from core.serving.inference import predict_files
    from core.tasks.table.predict import is_table_run

    run = open_run(args.run)
    if is_table_run(run):
        return _predict_table(run, args)
    if args.out:
        raise InputError(_("--out applies to a table run only. Received: run {run} of images.").format(run=run.id))
    return {"predictions": predict_files(run, args.images)}


def _predict_table(run, args) -> dict:
    """Predicts the rows of one CSV with a table run and writes them, with a prediction column, to --out."""
    from core.base.storage import write_bytes_atomic
    from core.tasks.table.predict import predict_table

    if len(args.images) != 1:
        raise InputError(
            _("Expected ONE CSV file of rows for a table run. Received: {n} files.").format(n=len(args.images))
        )
    rows_file = args.images[0]
    result = predict_table(run, rows_file)
    print(f"{len(result.frame) - len(result.problems)} row(s) predicted, {len(result.problems)} unusable",
          file=sys.stderr)  # fmt: skip
    if not args.out:  # the JSON holds every prediction; a file is written only when asked for
        return result.to_json()
    out = Path(args.out)
    try:
        write_bytes_atomic(out, result.to_csv_bytes())
    except OSError as exc:
        raise InputError(
            _("Could not write {path}: {problem}.").format(path=out, problem=exc.strerror or exc)
        ) from None
    print(f"written to {out}", file=sys.stderr)
    return {**result.to_json(), "out": str(out)}


def main(argv: list[str] | None = None) -> int:
    p = make_parser("python -m core.predict", "Predict the class of image files with a trained run.")
    p.add_argument("--run", required=True, help="a run folder (runs/<id>)")
    p.add_argument("images", nargs="+", help="PNG, JPEG, BMP, GIF, WebP or TIFF files; for a table run, one CSV")
    p.add_argument("--out", help="table runs: also write the rows with their predictions to this CSV file")
    return run_cli(p, _handler, argv)


if __name__ == "__main__":
    sys.exit(main())
