"""The replay record: written by a real (tiny) training, read defensively, replayed on Learning curves."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, seed_run, synthetic_digits, train_tiny_run
from streamlit.testing.v1 import AppTest

from core.runs import replay_record as record
from core.runs.replay_record import read_replay

APP = str(ROOT / "streamlit_app.py")


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    """One mnist-fast run of 2 epochs on 600 synthetic digits, trained once for this module."""
    root = tmp_path_factory.mktemp("replay")
    x, y = synthetic_digits(600, seed=1)
    xt, yt = synthetic_digits(100, seed=2)
    np.savez_compressed(root / "mnist.npz", x_train=x, y_train=y, x_test=xt, y_test=yt)
    return train_tiny_run(root / "runs", root / "mnist.npz")


@pytest.fixture
def run_copy(trained, tmp_path) -> Path:
    """A copy of the trained run inside this test's runs folder (tests may damage it)."""
    return Path(shutil.copytree(trained, tmp_path / "runs" / trained.name))


def sample_size(run: Path) -> int:
    import json

    return min(record.SAMPLE_SIZE, json.loads((run / "config.json").read_text())["n_val"])


# ----- writing -------------------------------------------------------------------------


def test_training_records_epoch_zero_and_every_epoch(trained):
    from core.models import get_preset

    conv = get_preset("mnist-fast").layers[0]  # the recipe's first layer: its kernels are recorded
    rep = read_replay(trained)
    assert rep is not None and rep.problems == []
    assert rep.epochs == [0, 1, 2]
    assert rep.layer.startswith("conv2d") and rep.filters_total == conv.filters
    assert rep.class_names == [str(d) for d in range(10)]
    n = sample_size(trained)
    assert rep.sample_size == n and rep.labels.shape == (n,)
    assert rep.images.shape == (record.GALLERY_SIZE, 28, 28, 1) and rep.images.dtype == np.uint8
    assert len(set(rep.labels[: record.GALLERY_SIZE].tolist())) == record.GALLERY_SIZE  # 8 different digits
    for frame in rep.frames.values():
        assert frame.kernels.shape == (conv.kernel_size, conv.kernel_size, 1, conv.filters)
        assert frame.confusion.shape == (10, 10) and frame.confusion.sum() == n
        # The confusion matrix's rows are the sample's true classes
        assert frame.confusion.sum(axis=1).tolist() == np.bincount(rep.labels, minlength=10).tolist()
        assert frame.probs.shape == (record.GALLERY_SIZE, 10)
        assert np.allclose(frame.probs.sum(axis=1), 1, atol=1e-4)
        assert frame.seconds is not None and frame.seconds >= 0
    first, last = rep.frames[0], rep.frames[2]
    assert not np.allclose(first.kernels, last.kernels)  # the filters moved
    assert np.trace(last.confusion) > np.trace(first.confusion)  # random start -> learnt
    # Epoch 0 is the model before training: its kernels are not those of the checkpoint
    import keras

    model = keras.models.load_model(trained / "final.keras")
    kernel = next(w for w in model.weights if len(w.shape) == 4)
    assert np.allclose(np.asarray(kernel), last.kernels) and not np.allclose(np.asarray(kernel), first.kernels)


def test_the_record_is_small_and_leaves_no_temp_files(trained):
    files = {p.name: p.stat().st_size for p in (trained / record.REPLAY_DIR).iterdir()}
    assert set(files) == {"meta.json", "samples.npz", "epoch-0000.npz", "epoch-0001.npz", "epoch-0002.npz"}
    # kernels 5x5x1x16 floats (1.6 KB) + a 10x10 matrix + 8x10 probabilities + npz headers
    assert all(size < 4_000 for name, size in files.items() if name.startswith("epoch-"))
    assert files["samples.npz"] < 10_000


def test_kernels_are_capped_and_must_be_4d():
    kept = record.kept_kernels(np.ones((7, 7, 3, 256), np.float64))
    assert kept.shape == (7, 7, 3, record.MAX_FILTERS) and kept.dtype == np.float32
    with pytest.raises(ValueError, match="4-D kernel"):
        record.kept_kernels(np.ones((3, 3, 8)))


def test_sample_is_seeded_and_the_gallery_spreads_over_classes():
    labels = np.repeat(np.arange(3), 200)  # sorted by class: a naive "first 8" would be all 0
    a = record.sample_order(labels, 300, 8, seed=5)
    assert len(a) == 300 and len(set(a.tolist())) == 300
    assert a.tolist() == record.sample_order(labels, 300, 8, seed=5).tolist()
    assert a.tolist() != record.sample_order(labels, 300, 8, seed=6).tolist()
    assert sorted(labels[a[:8]].tolist()) == [0, 0, 0, 1, 1, 1, 2, 2]
    assert len(record.sample_order(labels[:5], 300, 8, seed=1)) == 5  # fewer images than the sample


def test_thumbnails_are_bounded():
    big = np.random.default_rng(0).random((2, 256, 200, 1), dtype=np.float32)
    small = record.thumbnails(big)
    assert small.dtype == np.uint8 and small.shape == (2, record.MAX_THUMB, 75, 1)
    rgb = record.thumbnails(np.zeros((1, 28, 28, 3), np.float32))
    assert rgb.shape == (1, 28, 28, 3)


def test_first_kernel_layer_finds_conv_depthwise_and_nested_and_none_in_a_dense_model():
    import keras

    from core.training.replay_recorder import first_kernel_layer, layer_kernel

    dense = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    assert first_kernel_layer(dense) is None
    sep = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.SeparableConv2D(4, 3), keras.layers.Conv2D(2, 3)])
    assert layer_kernel(first_kernel_layer(sep)).shape == (3, 3, 3, 1)  # the depthwise part comes first
    inner = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(5, 2)])
    outer = keras.Sequential([keras.Input((8, 8, 1)), inner, keras.layers.Flatten(), keras.layers.Dense(2)])
    assert layer_kernel(first_kernel_layer(outer)).shape == (2, 2, 1, 5)


def test_image_folder_run_records_its_two_classes(image_folder, tmp_path):
    run = train_tiny_run(tmp_path / "runs", image_folder, "images", "orientation-fast", epochs=1, image_size=24)
    rep = read_replay(run)
    assert rep.problems == [] and rep.epochs == [0, 1]
    assert rep.class_names == ["horizontal", "vertical"]
    assert rep.images.shape[1:] == (24, 24, 1)
    assert rep.frames[1].kernels.shape == (3, 3, 1, 16)
    assert rep.frames[1].confusion.shape == (2, 2) and rep.frames[1].confusion.sum() == sample_size(run)


# ----- reading damaged records ---------------------------------------------------------


def test_no_record_reads_as_none(tmp_path):
    assert read_replay(tmp_path) is None


def test_damaged_epoch_files_are_skipped_with_their_reason(run_copy):
    folder = run_copy / record.REPLAY_DIR
    one = folder / "epoch-0001.npz"
    one.write_bytes(one.read_bytes()[: one.stat().st_size // 2])  # torn
    (folder / "epoch-0002.npz").write_bytes(b"not a zip at all")
    (folder / "epoch-0003.npz").mkdir()  # not a regular file
    os.mkfifo(folder / "epoch-0004.npz")  # would block a naive reader forever
    (folder / "epoch-0005.npz").write_bytes(b"\0" * (record.MAX_FILE_BYTES + 1))
    k = 10
    record.write_npz_atomic(folder / "epoch-0006.npz", confusion=np.ones((3, 3), np.int32),
                            probs=np.ones((8, k), np.float32), kernels=np.ones((3, 3, 1, 2), np.float32))  # fmt: skip
    record.write_npz_atomic(folder / "epoch-0007.npz", confusion=np.ones((k, k), np.int32),
                            probs=np.full((8, k), np.nan, np.float32), kernels=np.ones((3, 3, 1, 2), np.float32))  # fmt: skip
    record.write_npz_atomic(
        folder / "epoch-0008.npz", confusion=np.ones((k, k), np.int32), probs=np.ones((8, k), np.float32)
    )  # fmt: skip  (no kernels for a conv model)
    rep = read_replay(run_copy)
    assert rep.epochs == [0]
    assert len(rep.problems) == 8
    assert any("not a regular file" in p for p in rep.problems)
    assert any("larger than" in p for p in rep.problems)


def test_damaged_meta_and_samples_still_read(run_copy):
    folder = run_copy / record.REPLAY_DIR
    (folder / record.SAMPLES_FILE).write_bytes(b"PK\x03\x04torn")
    rep = read_replay(run_copy)
    assert rep.epochs == [0, 1, 2] and rep.images is None and rep.problems == ["samples.npz is damaged"]
    (folder / record.META_FILE).write_text('{"layer": "conv')
    rep = read_replay(run_copy)
    assert rep.frames == {} and rep.problems == ["meta.json is damaged"]


# ----- the page ------------------------------------------------------------------------


def curves_page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.switch_page("pages/curves.py").run()
    assert not at.exception, at.exception
    return at


def headline(at: AppTest) -> str:
    return next(m.value for m in at.markdown if m.value.startswith("**Epoch "))


def test_curves_page_replays_a_run(run_copy):
    at = curves_page()
    slider = at.slider(key="replay_epoch")
    assert slider.label == "Epoch" and slider.value == 2 and slider.max == 2  # the newest epoch first
    last = headline(at)
    assert last.startswith("**Epoch 2 of 2")
    replay_charts = [c for c in at.get("plotly_chart") if c.proto.id and "replay_" in c.proto.id]
    assert len(replay_charts) == 3  # confusion matrix, loss, accuracy
    assert len(at.get("image")) == 1 + record.GALLERY_SIZE  # the kernels and the sample images
    assert any("kernels (5x5) of the first convolution layer" in c.value for c in at.caption)
    slider.set_value(0).run()
    assert not at.exception
    first = headline(at)
    assert first.startswith("**Epoch 0 of 2") and "random weights" in first and first != last
    changed = next(c.value for c in at.caption if "Changed by" in c.value)
    assert "Changed by 0%" in changed
    at.slider(key="replay_epoch").set_value(2).run()
    assert "Changed by 0%" not in next(c.value for c in at.caption if "Changed by" in c.value)


def test_play_starts_from_epoch_zero_and_stops_at_the_end(run_copy):
    at = curves_page()
    at.button(key="replay_play_button").click().run()  # at the end: play from the start
    assert headline(at).startswith("**Epoch 0 of 2") and at.session_state["replay_play"]
    at.run()  # what the timer does each second
    assert headline(at).startswith("**Epoch 1 of 2")
    at.run()
    assert headline(at).startswith("**Epoch 2 of 2")
    assert not at.session_state["replay_play"] and at.button(key="replay_play_button").label == "Play the epochs"


def test_damaged_record_shows_what_is_there(run_copy):
    (run_copy / record.REPLAY_DIR / "epoch-0002.npz").write_bytes(b"garbage")
    (run_copy / record.REPLAY_DIR / record.SAMPLES_FILE).unlink()
    at = curves_page()
    assert at.slider(key="replay_epoch").max == 1
    assert any("could not be read" in c.value and "epoch-0002.npz is damaged" in c.value for c in at.caption)
    assert len(at.get("image")) == 1  # the kernels; no sample images without samples.npz


def test_a_run_without_record_and_a_model_without_convolution(tmp_path):
    root = tmp_path / "runs"
    seed_run(root, "20261120-100000-old", "completed", ["1,1.0,0.5,1.1,0.5,0.001,1.0\n"])
    at = curves_page()
    assert any("no replay record" in c.value for c in at.caption)
    assert all(s.key != "replay_epoch" for s in at.slider)
    assert all(b.key != "replay_play_button" for b in at.button)  # nothing to play: no Play button
    # A dense model's record: matrices and predictions, no kernels
    mlp = seed_run(root, "20261120-110000-mlp", "completed", ["1,1.0,0.5,1.1,0.5,0.001,1.0\n"])
    folder = mlp / record.REPLAY_DIR
    folder.mkdir()
    from core.base.storage import write_json_atomic

    write_json_atomic(folder / record.META_FILE, {"layer": None, "class_names": ["a", "b"], "sample_size": 4})
    record.write_npz_atomic(folder / record.SAMPLES_FILE, images=np.zeros((2, 28, 28, 1), np.uint8),
                            labels=np.array([0, 1, 1, 0]))  # fmt: skip
    for epoch in (0, 1):
        record.write_npz_atomic(folder / record.EPOCH_FILE.format(epoch=epoch), confusion=np.array([[2, 0], [1, 1]]),
                                probs=np.array([[0.9, 0.1], [0.4, 0.6]], np.float32))  # fmt: skip
    at = curves_page()  # the newest run is chosen
    assert not at.exception
    assert any("has no convolution" in i.value for i in at.info)
    assert headline(at).startswith("**Epoch 1 of 1") and "3 of 4 sample images right" in headline(at)


def test_a_live_run_replays_the_epochs_so_far(run_copy):
    from core.base.storage import write_json_atomic
    from core.runs import procs

    (run_copy / record.REPLAY_DIR / "epoch-0002.npz").unlink()  # epoch 2 is still training
    write_json_atomic(run_copy / "status.json", {"status": "running", "epoch": 2, "epochs": 2, "pid": os.getpid(),
                                                 "pid_start": procs.start_ticks(os.getpid())})  # fmt: skip
    at = curves_page()
    assert at.slider(key="replay_epoch").max == 1
    assert headline(at).startswith("**Epoch 1 of 1 (so far)")
