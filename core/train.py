"""``python -m core.train``: train a model from the command line (see DESIGN.md)."""

from __future__ import annotations

import json
import sys

from core.cli import make_parser, run_cli
from core.errors import InputError


def list_presets() -> dict:
    """Every preset with its task, description and parameter count at its default input."""
    from core.architectures import PRESETS, build_model, preset_input_shape

    rows = []
    for name, spec in PRESETS.items():
        shape = (28, 28, 1) if spec.task == "mnist" else preset_input_shape(spec)
        k = 10 if spec.task == "mnist" else 2
        model = build_model(spec, shape, k, pretrained_weights=False)
        rows.append(
            {
                "name": name,
                "task": spec.task,
                "description": spec.description,
                "params": int(model.count_params()),
                "input_shape": list(shape),
            }
        )
    return {"presets": rows}


def _handler(args) -> dict:
    if args.list_presets:
        return list_presets()
    if args.run_dir:
        return _train_queued_run(args)
    return _train(args)


def _train_queued_run(args) -> dict:
    """Trains into a run folder that ``core.jobs`` created (status ``queued``).

    Bad input marks that run ``failed`` (so the app shows why), then the next queued
    job is started: the queue moves on even with no browser open.
    """
    from core.runs import now_iso, open_run

    run = open_run(args.run_dir)
    state = run.status().get("status")
    if state != "queued":  # never train over a finished run's history and checkpoints
        raise InputError(f"Run {run.id} is {state}, not queued: a run folder is trained only once.")
    try:
        return _train(args, run)
    except InputError as exc:
        run.update_status(status="failed", error=str(exc), ended=now_iso())
        run.log(f"failed: {exc}")
        raise
    finally:
        try:
            from core.jobs import JobManager

            JobManager(run.path.parent).pump()
        except Exception as exc:  # never let the queue hide this run's own result
            print(f"warning: could not start the next queued job: {exc}", file=sys.stderr)


def _train(args, run=None) -> dict:
    if not args.task:
        raise InputError("--task is required (mnist or images).")
    if not args.preset and not args.spec:
        raise InputError("--preset NAME (or --spec FILE.json) is required. See --list-presets.")
    if args.task == "images" and not args.data:
        raise InputError("--data FOLDER is required for --task images.")
    spec = None
    if args.spec:
        try:
            with open(args.spec, encoding="utf-8") as fh:
                spec = json.load(fh)
        except (OSError, ValueError) as exc:
            raise InputError(f"Could not read the model spec {args.spec}: {exc}") from exc
        if not isinstance(spec, dict):
            raise InputError(f"{args.spec} must hold a JSON object (a model spec).")
    from core.training import TrainConfig, train

    cfg = TrainConfig(
        task=args.task,
        data=args.data,
        preset=args.preset or "custom",
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        optimizer=args.optimizer,
        patience=args.patience,
        min_delta=args.min_delta,
        validation_fraction=args.validation_fraction,
        test_fraction=args.test_fraction,
        image_size=args.image_size,
        color_mode=args.color_mode,
        augment=not args.no_augment,
        seed=args.seed,
        max_seconds=args.max_seconds,
        name=args.name,
        spec=spec,
    )
    return train(cfg, args.runs_dir, run=run)


def build_parser():
    p = make_parser("python -m core.train", "Train a CNN Lab model; prints one JSON line on stdout.")
    p.add_argument("--task", choices=["mnist", "images"])
    p.add_argument("--data", help="mnist.npz for --task mnist; a class-folder dataset for --task images")
    p.add_argument("--preset", help="preset name (see --list-presets)")
    p.add_argument("--spec", help="a JSON model spec (layer editor output) instead of a preset")
    p.add_argument("--list-presets", action="store_true")
    p.add_argument("--epochs", type=int)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--learning-rate", type=float)
    p.add_argument("--optimizer", choices=["adam", "adamw", "sgd", "rmsprop"])
    p.add_argument("--patience", type=int)
    p.add_argument("--min-delta", type=float)
    p.add_argument("--validation-fraction", type=float)
    p.add_argument("--test-fraction", type=float, default=0.15)
    p.add_argument("--image-size", type=int)
    p.add_argument("--color-mode", choices=["grayscale", "rgb"])
    p.add_argument("--no-augment", action="store_true", help="turn off the preset's augmentation")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--max-seconds", type=float, help="stop training after this many seconds")
    p.add_argument("--runs-dir", default=None)
    p.add_argument("--run-dir", help="train into this existing queued run folder (used by core.jobs)")
    p.add_argument("--name", help="a name for the run id")
    return p


def main(argv: list[str] | None = None) -> int:
    return run_cli(build_parser(), _handler, argv)


if __name__ == "__main__":
    sys.exit(main())
