"""Benchmark: how well "I don't know" separates MNIST digits from non-digits (AUROC).

Run from the project root (nothing else should load the CPU meanwhile)::

    python -m bench.ood [--run RUN_DIR] [--data ../shared/data/mnist/mnist.npz] [--chest]

Model: the shipped MNIST model (``core/assets/mnist-default``, the project's ``mnist-fast``
recipe), unless ``--run`` names another MNIST run. Its calibration is recomputed here from
the run's validation split of ``--data``. Every input goes through the same preprocessing as
an upload on the Predict page (``core.serving.inference.preprocess``), digits included.

Familiar: MNIST test digits. Unfamiliar, each set scored separately:
- ``letters``: A-Z and a-z rendered in the DejaVu / Liberation fonts (PIL's default font if
  none), dark on white, at several sizes and positions. Some letters look like digits (O, l,
  S, Z, B, q...): they are kept, so this set is the hardest.
- ``textures``: synthetic smooth "photo-like" images (gradients, blurred blobs, sine
  patterns, in colour). No real photos are available offline; these stand in for them.
- ``uniform_noise`` and ``gaussian_noise``: per-pixel noise images.
- ``xrays``: the chest X-rays of ``../shared/data/chest-orientation`` (256x256 PNGs).
Inputs the preprocessing refuses (e.g. "no digit found" for a flat image) are counted, not
scored: the page would show that error instead of a prediction.

AUROC is given for each score (``combined``, ``energy``, ``mahalanobis``, ``msp`` baseline) per set and for
all sets pooled, with a bootstrap 95% interval (resampling both sides), and the share of
each set that the calibrated threshold flags as unfamiliar. ``--chest`` also trains an
``orientation-fast`` model (64x64, 3 epochs) on the X-rays and measures the reverse: X-rays
familiar, MNIST digits and noise unfamiliar. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from core.base.errors import InputError
from core.serving import ood

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
XRAYS = SHARED / "chest-orientation"
FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/truetype/liberation"))
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
PER_SET = 300  # images per synthetic set (letters: as many as fonts x letters, capped)
N_DIGITS = 3000  # MNIST test digits used as the familiar side
BOOTSTRAP = 200
UPLOAD_SIZE = 140  # synthetic images are made at the size of a small upload


def letters(rng: np.random.Generator, n: int) -> list[Image.Image]:
    """Letters in every available font, dark on a light background, size and place varied."""
    fonts = sorted(p for d in FONT_DIRS if d.is_dir() for p in d.glob("*.ttf"))
    out = []
    for i in range(n):
        ch = LETTERS[i % len(LETTERS)]
        size = int(rng.integers(60, 110))
        font = ImageFont.truetype(str(fonts[i % len(fonts)]), size) if fonts else ImageFont.load_default()
        img = Image.new("L", (UPLOAD_SIZE, UPLOAD_SIZE), int(rng.integers(200, 256)))
        ImageDraw.Draw(img).text((int(rng.integers(5, 40)), int(rng.integers(0, 25))), ch, fill=int(rng.integers(0, 60)),
                                 font=font)  # fmt: skip
        out.append(img)
    return out


def textures(rng: np.random.Generator, n: int) -> list[Image.Image]:
    """Smooth colour images standing in for photos: gradients, blurred blobs and sine patterns."""
    yy, xx = np.mgrid[0:UPLOAD_SIZE, 0:UPLOAD_SIZE] / UPLOAD_SIZE
    out = []
    for i in range(n):
        kind = i % 3
        if kind == 0:  # a linear gradient per channel
            a = rng.uniform(-1, 1, (3, 2))
            arr = np.stack([a[c, 0] * xx + a[c, 1] * yy for c in range(3)], -1)
        elif kind == 1:  # coarse noise blurred into blobs
            small = rng.uniform(0, 1, (8, 8, 3))
            arr = np.asarray(Image.fromarray((small * 255).astype(np.uint8)).resize((UPLOAD_SIZE,) * 2, Image.BICUBIC),
                             np.float32) / 255  # fmt: skip
        else:  # sine waves at a random frequency and angle
            f, t = rng.uniform(2, 12), rng.uniform(0, np.pi)
            wave = np.sin(2 * np.pi * f * (np.cos(t) * xx + np.sin(t) * yy))
            arr = np.stack([wave * rng.uniform(0.2, 1) for _c in range(3)], -1)
        arr = (arr - arr.min()) / max(float(np.ptp(arr)), 1e-6)
        out.append(Image.fromarray((arr * 255).astype(np.uint8), "RGB").filter(ImageFilter.GaussianBlur(1)))
    return out


def noise(rng: np.random.Generator, n: int, kind: str) -> list[Image.Image]:
    shape = (UPLOAD_SIZE, UPLOAD_SIZE)
    arrs = [rng.uniform(0, 255, shape) if kind == "uniform" else rng.normal(128, 50, shape) for _i in range(n)]
    return [Image.fromarray(np.clip(a, 0, 255).astype(np.uint8), "L") for a in arrs]


def xrays(rng: np.random.Generator, n: int) -> list[Image.Image]:
    files = sorted(XRAYS.glob("*/*.png"))
    if not files:
        return []
    return [
        Image.open(files[i]).convert("L") for i in np.sort(rng.choice(len(files), min(n, len(files)), replace=False))
    ]


def prepare(images: list[Image.Image], spec) -> tuple[np.ndarray, int]:
    """Preprocesses as an upload would be; returns ``(batch, number refused)``."""
    from core.serving.inference import preprocess

    out, refused = [], 0
    for img in images:
        try:
            out.append(preprocess(img, spec))
        except InputError:
            refused += 1
    return np.stack(out) if out else np.zeros((0, spec.image_size, spec.image_size, 1), np.float32), refused


def bootstrap_auroc(a: np.ndarray, b: np.ndarray, rng: np.random.Generator) -> list[float]:
    """2.5 and 97.5 percentiles of AUROC over resamples of both sides."""
    vals = [ood.auroc(rng.choice(a, len(a)), rng.choice(b, len(b))) for _i in range(BOOTSTRAP)]
    return [round(float(np.percentile(vals, 2.5)), 4), round(float(np.percentile(vals, 97.5)), 4)]


def all_scores(model, head, x: np.ndarray, cals: dict[str, ood.Calibration]) -> dict[str, np.ndarray]:
    feats, logits, _p = ood.head_outputs(head, model, x)
    return {m: ood.scores(cal.method, feats, logits, cal.stats) for m, cal in cals.items()}


def measure(model, checkpoint: Path, x_val, x_fit, y_fit, familiar_x, sets: dict, seed: int) -> dict:
    """AUROC per method and set, and the calibrated threshold's flag rates."""
    rng = np.random.default_rng(seed)
    head = ood.head_model(model)
    t0 = time.perf_counter()
    cals = {m: ood.calibrate(model, checkpoint, x_val, x_fit, y_fit, method=m, seed=seed) for m in ood.METHODS}
    calib_s = round(time.perf_counter() - t0, 2)
    fam = all_scores(model, head, familiar_x, cals)
    unf = {name: all_scores(model, head, x, cals) for name, x in sets.items() if len(x)}
    out = {"calibration_seconds_all_methods": calib_s, "methods": {}}
    for m in ood.METHODS:
        cal = cals[m]
        per = {}
        for name, s in unf.items():
            per[name] = {"auroc": round(ood.auroc(fam[m], s[m]), 4), "ci95": bootstrap_auroc(fam[m], s[m], rng),
                         "flagged": round(float((s[m] > cal.threshold).mean()), 4)}  # fmt: skip
        pooled = np.concatenate([s[m] for s in unf.values()])
        out["methods"][m] = {
            "threshold": round(cal.threshold, 4),
            "validation_false_alarm_rate": round(cal.false_alarm_rate, 4),
            "familiar_test_flagged": round(float((fam[m] > cal.threshold).mean()), 4),
            "pooled_auroc": round(ood.auroc(fam[m], pooled), 4),
            "pooled_ci95": bootstrap_auroc(fam[m], pooled, rng),
            "sets": per,
        }
    return out


def mnist_bench(run_dir: Path, data: Path, seed: int) -> dict:
    import keras

    from core.data.mnist import load_mnist
    from core.runs.store import Run
    from core.tasks import model_input as model_input_for
    from core.tasks import prepare_data
    from core.training.config import TrainConfig

    run = Run(run_dir)
    spec = model_input_for(run)
    cfg = TrainConfig.from_dict({**run.config(), "data": str(data)})
    d = prepare_data(cfg, lambda _m: None)
    model = keras.models.load_model(run.checkpoint(), compile=False)
    rng = np.random.default_rng(seed)
    test = load_mnist(str(data))
    pick = rng.choice(len(test.x_test), N_DIGITS, replace=False)
    digits, refused_digits = prepare([Image.fromarray(test.x_test[i]) for i in pick], spec)
    raw = {"letters": letters(rng, PER_SET), "textures": textures(rng, PER_SET),
           "uniform_noise": noise(rng, PER_SET, "uniform"), "gaussian_noise": noise(rng, PER_SET, "gaussian"),
           "xrays": xrays(rng, PER_SET)}  # fmt: skip
    sets, counts = {}, {"mnist_test": {"scored": len(digits), "refused": refused_digits}}
    for name, imgs in raw.items():
        sets[name], refused = prepare(imgs, spec)
        counts[name] = {"scored": len(sets[name]), "refused": refused}
    res = measure(model, run.checkpoint(), d.x_val, d.x_train, d.y_train.argmax(1), digits, sets, seed)
    return {"model": str(run_dir.relative_to(ROOT) if run_dir.is_relative_to(ROOT) else run_dir), "inputs": counts,
            **res}  # fmt: skip


def chest_bench(data: Path, seed: int) -> dict:
    """Trains orientation-fast on the X-rays; X-rays (validation/test) familiar, digits and noise not."""
    import keras

    from core.base.cli import run_module
    from core.data.mnist import load_mnist
    from core.runs.store import Run
    from core.tasks import model_input as model_input_for
    from core.tasks import prepare_data
    from core.training.config import TrainConfig

    rng = np.random.default_rng(seed)
    with tempfile.TemporaryDirectory() as tmp:
        done = run_module("train", ["--task", "images", "--data", str(XRAYS), "--preset", "orientation-fast",
                                    "--image-size", "64", "--epochs", "3", "--seed", str(seed), "--runs-dir", tmp])  # fmt: skip
        if done.code != 0:
            return {"error": str(done.output)[:500]}
        run = Run(done.output["run_dir"])
        spec = model_input_for(run)
        d = prepare_data(TrainConfig.from_dict(run.config()), lambda _m: None)
        model = keras.models.load_model(run.checkpoint(), compile=False)
        test = load_mnist(str(data))
        digit_imgs = [Image.fromarray(255 - test.x_test[i]).resize((256, 256)) for i in rng.choice(10_000, PER_SET)]
        sets = {"mnist_digits": prepare(digit_imgs, spec)[0], "uniform_noise": prepare(noise(rng, PER_SET, "uniform"), spec)[0],
                "textures": prepare(textures(rng, PER_SET), spec)[0], "letters": prepare(letters(rng, PER_SET), spec)[0]}  # fmt: skip
        res = measure(model, run.checkpoint(), d.x_val, d.x_train, d.y_train.argmax(1), d.x_test, sets, seed)
        return {"model": "orientation-fast 64x64, 3 epochs", "test_accuracy": done.output.get("test_accuracy"),
                "familiar": f"{len(d.x_test)} held-out X-rays", **res}  # fmt: skip


def main() -> None:
    from core.serving.default_model import DEFAULT_RUN_DIR

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--run", default=str(DEFAULT_RUN_DIR), help="an MNIST run folder (default: the shipped model)")
    p.add_argument("--data", default=str(SHARED / "mnist" / "mnist.npz"))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--chest", action="store_true", help="also the chest X-ray model (trains one, about a minute)")
    args = p.parse_args()
    out = {"familiar_rate": ood.FAMILIAR_RATE, "chosen_method": ood.METHOD,
           "textures_note": "synthetic smooth images (gradients, blobs, sine waves): no real photos offline",
           "mnist": mnist_bench(Path(args.run), Path(args.data), args.seed)}  # fmt: skip
    if args.chest:
        out["chest"] = chest_bench(Path(args.data), args.seed)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
