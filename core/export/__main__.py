"""``python -m core.export --run RUN_DIR --format onnx|tflite|keras|script|card [--out FILE]``: one file from a run.

The last line of stdout is one JSON object naming the file written (the command-line contract).
"""

from __future__ import annotations

import sys

from core.base.cli import make_parser, run_cli
from core.export import FORMATS


def _handler(args) -> dict:
    from core.export import export_run
    from core.runs.store import open_run

    run = open_run(args.run)
    print(f"Exporting {run.id} as {args.format} ...", file=sys.stderr)
    path, checked = export_run(run, args.format, args.out)
    return {"run_id": run.id, "format": args.format, "out": str(path), "bytes": path.stat().st_size, **checked}


def main(argv: list[str] | None = None) -> int:
    p = make_parser(
        "python -m core.export",
        "Export a run: its model as ONNX, TensorFlow Lite or .keras, the "
        "model as Keras code that retrains it (reproduce.py), or its model card.",
    )
    p.add_argument("--run", required=True, help="a run folder (runs/<id>)")
    p.add_argument("--format", required=True, choices=FORMATS, help="what to write")
    p.add_argument("--out", help="the file to write (default: MODEL_CARD.md in the run folder; models in its export/)")
    return run_cli(p, _handler, argv)


if __name__ == "__main__":
    sys.exit(main())
