"""Out-of-distribution ("I don't know"): scores against plain references, the calibration's
rate on validation data, ood.json round trip and damage, a tiny trained run through
predict_files, the CLI, lazy calibration of older runs, and the Predict page."""

from __future__ import annotations

import io
import itertools
import json
import math
import shutil

import numpy as np
import pytest
from conftest import ROOT, stripes, synthetic_digits
from PIL import Image
from streamlit.testing.v1 import AppTest

from core.base.cli import run_module
from core.runs.store import Run
from core.serving import ood

APP = str(ROOT / "streamlit_app.py")


# ----- scores ------------------------------------------------------------------------------


def test_energy_is_minus_logsumexp_and_survives_huge_logits():
    rng = np.random.default_rng(0)
    z = rng.normal(0, 3, (50, 7))
    expected = [-math.log(sum(math.exp(v) for v in row)) for row in z]
    np.testing.assert_allclose(ood.energy_score(z), expected, rtol=1e-12)
    big = np.array([[1000.0, 999.0, -5.0]])  # exp(1000) overflows a naive implementation
    assert ood.energy_score(big)[0] == pytest.approx(-(1000 + math.log(1 + math.exp(-1) + math.exp(-1005))))
    # one strong output neuron = familiar (low score); all weak = unfamiliar (high score)
    assert ood.energy_score(np.array([[12.0, 0, 0]]))[0] < ood.energy_score(np.array([[0.5, 0.4, 0.3]]))[0]


def test_msp_is_minus_the_top_softmax_probability():
    z = np.array([[2.0, 1.0, 0.0], [0.0, 0.0, 0.0]])
    e = np.exp(z[0])
    np.testing.assert_allclose(ood.msp_score(z), [-e[0] / e.sum(), -1 / 3])


def test_mahalanobis_against_a_plain_loop(monkeypatch):
    rng = np.random.default_rng(1)
    k, d = 3, 4
    centres = rng.normal(0, 5, (k, d))
    labels = np.repeat(np.arange(k), 200)
    feats = centres[labels] + rng.normal(0, 1, (len(labels), d)) * [1, 2, 0.5, 1]
    stats = ood.fit_mahalanobis(feats, labels, k)
    means = np.stack([feats[labels == c].mean(0) for c in range(k)])
    np.testing.assert_allclose(stats["means"], means)
    cov = sum(np.outer(f - means[c], f - means[c]) for f, c in zip(feats, labels)) / len(feats)
    cov += np.eye(d) * ood.SHRINKAGE * np.trace(cov) / d
    inv = np.linalg.inv(cov)
    probe = rng.normal(0, 5, (6, d))
    expected = [min((p - m) @ inv @ (p - m) for m in means) for p in probe]
    np.testing.assert_allclose(ood.mahalanobis_score(probe, stats), expected, rtol=1e-8)
    monkeypatch.setattr(ood, "MAHALANOBIS_CHUNK", 4)  # scored in chunks of 4 + 2: the same scores, in order
    np.testing.assert_allclose(ood.mahalanobis_score(probe, stats), expected, rtol=1e-8)
    assert ood.mahalanobis_score(means, stats).max() < 1e-6  # a class mean is as familiar as can be
    with pytest.raises(ValueError, match="none of \\[2\\]"):
        ood.fit_mahalanobis(feats[:400], labels[:400], k)


def test_auroc_equals_the_pairwise_definition():
    rng = np.random.default_rng(2)
    a, b = rng.integers(0, 8, 40).astype(float), rng.integers(2, 10, 30).astype(float)  # with ties
    pairs = [(1.0 if y > x else 0.5 if y == x else 0.0) for x, y in itertools.product(a, b)]
    assert ood.auroc(a, b) == pytest.approx(sum(pairs) / len(pairs))
    assert ood.auroc(np.zeros(5), np.ones(5)) == 1.0
    assert ood.auroc(np.ones(5), np.zeros(5)) == 0.0


# ----- calibration -------------------------------------------------------------------------


@pytest.mark.parametrize("n", [20, 101, 1000, 4999])
def test_threshold_lets_the_familiar_rate_through(n):
    s = np.random.default_rng(n).normal(size=n)
    t, alarms = ood.threshold_for(s, 0.95)
    assert (s <= t).mean() >= 0.95  # at least 95% of validation counts as familiar
    assert alarms == pytest.approx((s > t).mean())
    assert alarms > 0.05 - 1 / n - 1e-9  # and not many more than asked (one score's worth)


def test_threshold_with_ties_keeps_them_familiar_and_refuses_too_little():
    t, alarms = ood.threshold_for(np.r_[np.zeros(90), np.ones(10)], 0.95)
    assert t == 1.0 and alarms == 0.0
    with pytest.raises(ValueError, match="at least 20"):
        ood.threshold_for(np.arange(19.0))
    with pytest.raises(ValueError, match="familiar rate"):
        ood.threshold_for(np.arange(100.0), 1.0)
    _t, alarms = ood.threshold_for(np.r_[np.arange(100.0), np.nan, np.inf])  # non-finite scores are ignored
    assert alarms == pytest.approx(0.04)


def fake_run(tmp_path, ckpt_bytes=b"weights"):
    path = tmp_path / "runs" / "r1"
    path.mkdir(parents=True)
    (path / "best.keras").write_bytes(ckpt_bytes)
    return Run(path)


def test_ood_json_round_trip_and_stale_checkpoint(tmp_path):
    run = fake_run(tmp_path)
    stats = {"means": np.arange(6.0).reshape(2, 3), "precision": np.eye(3)}
    cal = ood.Calibration("mahalanobis", 4.25, 0.95, 0.049, 500, "best.keras", 7, stats)
    assert ood.save(run.path, cal)
    back, reason = ood.load(run)
    assert reason is None and back == cal
    np.testing.assert_allclose(back.stats["means"], stats["means"])
    v = ood.judge(back, np.array([[0.0, 1, 2], [30, 30, 30]]), np.zeros((2, 2)))
    assert [x.unfamiliar for x in v] == [False, True] and v[1].threshold == 4.25 and v[0].method == "mahalanobis"
    (run.path / "best.keras").write_bytes(b"retrained weights")  # another checkpoint: the threshold no longer holds
    cal2, reason = ood.load(run)
    assert cal2 is None and "another checkpoint" in reason


@pytest.mark.parametrize(
    "content",
    [b"", b"{not json", b"[1, 2]", b'{"version": 1, "method": "energy", "threshold": "high"}',
     b'{"version": 9, "method": "energy", "threshold": 1}',
     b'{"version": 1, "method": "magic", "threshold": 1, "familiar_rate": 0.95, "false_alarm_rate": 0.05}',
     json.dumps({"version": 1, "method": "mahalanobis", "threshold": 1, "familiar_rate": 0.95, "false_alarm_rate": 0.05,
                 "n_validation": 9, "checkpoint": "best.keras", "checkpoint_bytes": 7,
                 "stats": {"means": [[1, 2]], "precision": "x"}}).encode(),
     b"\xff\xfe\x00garbage"],
)  # fmt: skip
def test_damaged_ood_json_gives_a_reason_not_a_crash(tmp_path, content):
    run = fake_run(tmp_path)
    (run.path / ood.OOD_FILE).write_bytes(content)
    cal, reason = ood.load(run)
    assert cal is None and "ood.json" in reason
    v = ood.judge(cal, np.zeros((2, 3)), np.zeros((2, 3)), reason)
    assert v[0].unfamiliar is None and v[0].to_dict()["ood_reason"] == reason


def test_stats_that_do_not_fit_the_model_give_no_verdict():
    cal = ood.Calibration("mahalanobis", 1.0, 0.95, 0.05, 100, "best.keras", 1,
                          {"means": np.zeros((2, 3)), "precision": np.eye(3)})  # fmt: skip
    v = ood.judge(cal, np.zeros((1, 5)), np.zeros((1, 2)))  # 5 features, stats for 3
    assert v[0].unfamiliar is None and "does not fit" in v[0].reason


# ----- a tiny trained run ------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A small CNN (mnist-fast) trained 1 epoch on synthetic digits (a block whose place is the class).

    Not mnist-mlp: after 1 epoch on 600 images its logits are so weak (energy near -log 10 for
    everything) that bright noise scores as *more* familiar than the digits; the measured
    separation on real MNIST is in bench/ood.py."""
    from core.tasks import train
    from core.training.config import TrainConfig

    root = tmp_path_factory.mktemp("ood")
    x, y = synthetic_digits(600, seed=1)
    xt, yt = synthetic_digits(100, seed=2)
    np.savez_compressed(root / "mnist.npz", x_train=x, y_train=y, x_test=xt, y_test=yt)
    cfg = TrainConfig.from_preset("mnist", str(root / "mnist.npz"), "mnist-fast", settings={"epochs": 1})
    result = train(cfg, root / "runs")
    assert result["status"] == "completed", result
    return {"root": root, "run": Run(result["run_dir"]), "x_test": xt}


def copy_run(tiny, tmp_path) -> Run:
    dest = tmp_path / "runs" / tiny["run"].id
    shutil.copytree(tiny["run"].path, dest)
    return Run(dest)


def noise_images(n: int, seed: int = 0) -> np.ndarray:
    """(n, 28, 28, 1) uniform noise in [0, 1]: nothing like a bright block on a dark background."""
    return np.random.default_rng(seed).uniform(0, 1, (n, 28, 28, 1)).astype(np.float32)


def test_training_writes_a_calibration_at_the_validation_rate(tiny):
    from core.tasks import prepare_data
    from core.training.config import TrainConfig

    run = tiny["run"]
    cal, reason = ood.load(run)
    assert reason is None and cal.method == ood.METHOD and cal.familiar_rate == ood.FAMILIAR_RATE
    assert cal.n_validation == run.config()["n_val"]
    # Rescoring the validation split gives back the saved rate.
    from core.tasks import serve

    served = serve(run)
    data = prepare_data(TrainConfig.from_dict(run.config()))
    _p, verdicts = served.examine(data.x_val)
    flagged = np.mean([v.unfamiliar for v in verdicts])
    # Within the one image on the threshold: scored again in other batches, its float32 score can
    # move by rounding, which the scaling (divided by a small validation spread) amplifies.
    one = 1 / len(verdicts)
    assert flagged == pytest.approx(cal.false_alarm_rate, abs=one + 1e-9)
    assert cal.false_alarm_rate <= 1 - ood.FAMILIAR_RATE
    assert f"ood: {ood.METHOD} threshold" in run.log_path.read_text()


def test_combined_keeps_the_stranger_of_two_standardised_scores(tiny, monkeypatch):
    import keras

    from core.tasks import prepare_data
    from core.training.config import TrainConfig

    run = tiny["run"]
    model = keras.models.load_model(run.checkpoint(), compile=False)
    data = prepare_data(TrainConfig.from_dict(run.config()))
    cal = ood.calibrate(model, run.checkpoint(), data.x_val, data.x_train, data.y_train.argmax(1), method="combined")
    assert cal.method == "combined" and set(cal.stats) == {"means", "precision", "energy_ref", "mahalanobis_ref"}
    feats, logits, _p = ood.head_outputs(ood.head_model(model), model, noise_images(8))
    e, m = ood.energy_score(logits), ood.mahalanobis_score(feats, cal.stats)
    (e50, e95), (m50, m95) = cal.stats["energy_ref"], cal.stats["mahalanobis_ref"]
    expected = np.maximum((e - e50) / (e95 - e50), (m - m50) / (m95 - m50))
    np.testing.assert_allclose(ood.scores("combined", feats, logits, cal.stats), expected)
    back = ood.Calibration.from_json(json.loads(json.dumps(cal.to_json())))  # 7 significant digits survive
    np.testing.assert_allclose(ood.scores("combined", feats, logits, back.stats), expected, rtol=1e-4)
    # A penultimate layer too wide to store its covariance falls back to energy alone.
    monkeypatch.setattr(ood, "MAX_FEATURES", 4)
    assert ood.calibrate(model, run.checkpoint(), data.x_val, data.x_train, data.y_train.argmax(1)).method == "energy"


def test_noise_scores_as_less_familiar_than_digits(tiny):
    from core.tasks import serve

    served = serve(tiny["run"])
    _p, digits = served.examine(tiny["x_test"][..., None].astype(np.float32) / 255)
    _p, noise = served.examine(noise_images(50))
    d, n = np.array([v.score for v in digits]), np.array([v.score for v in noise])
    assert ood.auroc(d, n) > 0.9, (d.mean(), n.mean())
    assert np.mean([v.unfamiliar for v in digits]) <= 0.15


def test_predict_files_and_cli_carry_the_verdict(tmp_path):
    """The shipped MNIST model (real digits, calibrated): a printed 3 is read and familiar, noise is "I don't know".

    Not the tiny run: an upload is centred like MNIST, and a centred block is like none of its
    synthetic digits (whose class is the block's place), so it would call both unfamiliar."""
    from core.serving.default_model import default_run
    from core.serving.inference import predict_files
    from core.tasks import serve

    run = default_run()
    three, noisy = tmp_path / "three.png", tmp_path / "noise.png"
    font_digit("3").save(three)
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (120, 120)).astype(np.uint8)).save(noisy)
    digit, noise = predict_files(serve(run), [three, noisy])
    cal, _reason = ood.load(run)
    for p in (digit, noise):
        assert set(p) >= {"image", "label", "probabilities", "unfamiliar", "ood_score", "ood_threshold", "ood_method"}
        assert p["ood_threshold"] == round(cal.threshold, 4) and p["ood_method"] == cal.method
    assert digit["label"] == "3" and digit["unfamiliar"] is False and noise["unfamiliar"] is True, (digit, noise)
    assert digit["ood_score"] <= digit["ood_threshold"] < noise["ood_score"], (digit, noise)
    done = run_module("predict", ["--run", str(run.path), str(three), str(noisy)])
    assert done.code == 0, done.stderr[-2000:]
    cli = done.output["predictions"]
    assert [(c["label"], c["unfamiliar"], c["ood_score"]) for c in cli] == [("3", False, digit["ood_score"]),
                                                                             (noise["label"], True, noise["ood_score"])]  # fmt: skip


def test_an_older_run_is_calibrated_lazily_and_cached(tiny, tmp_path):
    from core.tasks import serve

    run = copy_run(tiny, tmp_path)
    saved = json.loads((run.path / ood.OOD_FILE).read_text())
    (run.path / ood.OOD_FILE).unlink()  # as trained before this feature
    served = serve(run)
    assert served.calibration is not None and served.ood_reason is None
    cached = json.loads((run.path / ood.OOD_FILE).read_text())
    assert cached["threshold"] == pytest.approx(saved["threshold"], rel=1e-5)  # same data, same split, same model


def test_without_data_or_calibration_predictions_still_work(tiny, tmp_path):
    from core.base.storage import write_json_atomic
    from core.serving.inference import predict_files
    from core.tasks import serve

    run = copy_run(tiny, tmp_path)
    (run.path / ood.OOD_FILE).write_text("{damaged")
    cfg = json.loads(run.config_path.read_text())
    write_json_atomic(run.config_path, {**cfg, "data": str(tmp_path / "gone.npz")})
    digit = tmp_path / "d.png"
    Image.fromarray(255 - tiny["x_test"][0]).save(digit)
    (p,) = predict_files(serve(run), [digit])
    assert p["label"] in [str(i) for i in range(10)]
    assert p["unfamiliar"] is None and p["ood_score"] is None
    assert "damaged" in p["ood_reason"] and "cannot be reloaded" in p["ood_reason"]


def test_an_image_folder_run_is_calibrated_from_split_json(tmp_path):
    from core.tasks import serve, train
    from core.training.config import TrainConfig

    folder = tmp_path / "stripes"
    for cls, o in (("horizontal", "h"), ("vertical", "v")):
        (folder / cls).mkdir(parents=True)
        for i in range(80):  # enough for >= 20 validation images
            stripes(o, 16, seed=i).save(folder / cls / f"{i:03d}.png")
    cfg = TrainConfig.from_preset("images", str(folder), "orientation-fast",
                                  settings={"epochs": 1, "image_size": 16})  # fmt: skip
    result = train(cfg, tmp_path / "runs")
    assert result["status"] == "completed", result
    run = Run(result["run_dir"])
    assert ood.load(run)[0] is not None
    (run.path / ood.OOD_FILE).unlink()
    served = serve(run)  # recomputed from the validation files listed in split.json
    assert served.calibration is not None and (run.path / ood.OOD_FILE).is_file()


# ----- the Predict page --------------------------------------------------------------------


def png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def test_predict_page_says_i_dont_know_for_noise_and_shows_the_threshold(tmp_path):
    from core.serving.default_model import default_run

    cal, _reason = ood.load(default_run())
    assert cal is not None  # the shipped model carries its calibration: it works on a fresh machine
    at = AppTest.from_file(APP, default_timeout=180).run()
    at.switch_page("pages/predict.py").run()
    at.selectbox(key="predict_model").set_value("__default__").run()
    at.pills(key="predict_source_mnist").set_value("Upload").run()
    noise = Image.fromarray(np.random.default_rng(0).integers(0, 256, (120, 120)).astype(np.uint8))
    at.file_uploader(key="predict_upload").upload("noise.png", png(noise), "image/png").run()
    assert not at.exception, at.exception
    assert "### I don't know" in [m.value for m in at.markdown]
    warning = at.warning[0].value
    assert "unlike the images the model was trained on" in warning and "would have guessed" in warning
    caption = next(c.value for c in at.caption if "Unfamiliarity score" in c.value)
    assert f"threshold **{cal.threshold:.2f}**" in caption and "above: I don't know" in caption

    at.file_uploader(key="predict_upload").upload("three.png", png(font_digit("3")), "image/png").run()
    assert not at.exception, at.exception
    assert any(m.value.startswith("### 3  \nconfidence") for m in at.markdown)  # a digit: the answer
    assert not at.warning and any("at or below: familiar" in c.value for c in at.caption)


def font_digit(digit: str) -> Image.Image:
    """A printed digit, black on white (as in test_app_use)."""
    from PIL import ImageDraw, ImageFont

    img = Image.new("L", (140, 140), 255)
    ImageDraw.Draw(img).text((35, 0), digit, fill=0, font=ImageFont.load_default(size=120))
    return img
