"""The MNIST CNN written three ways (core.teaching.api_compare): the same maths, trained as jobs.

The oracle: from the same weights, low-level TensorFlow, Keras and Keras compiled with XLA
compute the same forward pass and the same gradients, and the hand-written Adam takes
Keras's step; so the page compares APIs, not three different networks.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
from conftest import synthetic_digits

from core.access.roles import LOCAL, Actor, NotAllowedError
from core.base.errors import InputError
from core.runs.jobs import MAX_JOBS_PER_SESSION, JobManager
from core.runs.store import ACTIVE_STATES, RunStore
from core.teaching.api_compare import WAYS, code_lines, source, way_lines
from core.teaching.api_compare.results import comparisons
from core.teaching.api_compare.runner import ApiRunConfig, comparison_configs, train_queued


def batch(n: int = 12, seed: int = 0):
    x, y = synthetic_digits(n, seed)
    return (x.astype(np.float32) / 255.0)[..., None], np.eye(10, dtype=np.float32)[y]


@pytest.fixture(scope="module")
def ops_as_a_job_runs_them():
    """Op determinism off, as in a comparison job's own process.

    A training test earlier in this process turned it on for the whole process (core.training.fit),
    and XLA has no deterministic MaxPool gradient.
    """
    from tensorflow.python.framework import config  # disable_op_determinism is not in the public API

    was_on = config.is_op_determinism_enabled()
    config.disable_op_determinism()
    yield
    if was_on:
        config.enable_op_determinism()


@pytest.fixture(scope="module")
def three_ways(ops_as_a_job_runs_them):
    """One set of weights, in the low-level variables and in two Keras models (plain and XLA)."""
    from core.teaching.api_compare import keras_fit, lowlevel

    weights = lowlevel.init_weights(seed=7)
    plain = keras_fit.compile_model(keras_fit.build_model())
    xla = keras_fit.compile_model(keras_fit.build_model(), jit_compile=True)
    for model in (plain, xla):
        assert [tuple(w.shape) for w in model.get_weights()] == lowlevel.SHAPES  # the same order and layouts
        model.set_weights([w.numpy() for w in weights])
    return weights, plain, xla


def test_the_three_ways_compute_the_same_forward_pass(three_ways):
    import tensorflow as tf

    from core.teaching.api_compare import lowlevel

    weights, plain, xla = three_ways
    x, _ = batch()
    by_hand = tf.nn.softmax(lowlevel.forward(weights, tf.constant(x))).numpy()
    assert by_hand.shape == (12, 10) and not np.allclose(by_hand, 0.1, atol=1e-3)  # not a trivially flat output
    np.testing.assert_allclose(plain(x, training=False).numpy(), by_hand, rtol=1e-4, atol=1e-6)
    assert xla.jit_compile
    np.testing.assert_allclose(xla.predict(x, verbose=0), by_hand, rtol=1e-4, atol=1e-6)  # XLA-compiled predict


def test_the_three_ways_compute_the_same_gradients(three_ways):
    import keras
    import tensorflow as tf

    from core.teaching.api_compare import lowlevel

    weights, plain, xla = three_ways
    x, y = batch(seed=3)
    loss, _, by_hand = lowlevel.gradients(weights, tf.constant(x), tf.constant(y))

    def keras_gradients(model):
        with tf.GradientTape() as tape:
            keras_loss = keras.losses.CategoricalCrossentropy()(y, model(x, training=False))
        return keras_loss, tape.gradient(keras_loss, model.trainable_weights)

    for name, fn in (("keras", keras_gradients), ("xla", tf.function(keras_gradients, jit_compile=True))):
        model = plain if name == "keras" else xla
        keras_loss, grads = fn(model)
        np.testing.assert_allclose(float(keras_loss), float(loss), rtol=1e-5, err_msg=name)
        for g_hand, g_keras, shape in zip(by_hand, grads, lowlevel.SHAPES):
            assert tuple(g_keras.shape) == shape
            assert np.abs(g_hand.numpy()).max() > 0  # every weight gets a gradient
            # XLA's CPU code has its own exp/log and summation order: its error is relative to the
            # tensor's scale (about 1e-3 of the largest gradient), not to each element
            scale = 1e-6 if name == "keras" else 2e-3 * np.abs(g_hand.numpy()).max()
            np.testing.assert_allclose(
                g_keras.numpy(), g_hand.numpy(), rtol=1e-3, atol=scale, err_msg=f"{name} {shape}"
            )


def test_the_hand_written_adam_takes_keras_adams_steps():
    import keras
    import tensorflow as tf

    from core.teaching.api_compare import lowlevel

    rng = np.random.default_rng(0)
    start = [rng.normal(size=s).astype(np.float32) for s in ((3, 4), (4,))]
    mine = [tf.Variable(w) for w in start]
    theirs = [tf.Variable(w) for w in start]
    adam, keras_adam = lowlevel.Adam(mine), keras.optimizers.Adam(lowlevel.LEARNING_RATE)
    for step in range(3):  # bias correction changes the step size at each of the first steps
        grads = [tf.constant(rng.normal(size=w.shape).astype(np.float32)) for w in start]
        adam.apply(mine, grads)
        keras_adam.apply_gradients(zip(grads, theirs))
        for a, b in zip(mine, theirs):
            np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6, atol=1e-7, err_msg=f"step {step}")
    assert not np.allclose(mine[0].numpy(), start[0])


def test_line_counts_leave_out_docstrings_comments_and_blank_lines():
    text = '"""Module doc\n\nover lines."""\n\nimport os  # why\n\n\ndef f(x):\n    """Doc."""\n    # a comment\n    s = """not a doc"""\n    return x\n'
    assert code_lines(text) == 4  # import, def, s = ..., return
    for way, info in WAYS.items():
        assert way_lines(way) == sum(code_lines(source(f)) for f in info.files) > 0
    assert way_lines("keras") < way_lines("lowlevel")  # what Keras does for you
    with pytest.raises(ValueError):
        source("../runner.py")  # only the ways' modules are shown


def test_a_comparison_is_three_runs_checked_like_any_setting(tmp_path):
    configs = comparison_configs(str(tmp_path / "mnist.npz"), max_batches=5)
    assert [c.way for c in configs] == list(WAYS) and len({c.group for c in configs}) == 1
    round_trip = ApiRunConfig.from_dict(configs[0].to_dict())
    assert round_trip == configs[0]
    assert configs[0].to_dict()["preset"] == "mnist-tutorial"  # Curves, Evaluate and Predict read it as one
    bad = [
        (dict(way="estimator"), "way"),
        (dict(way="keras", epochs=0), "epochs"),
        (dict(way="keras", max_batches=0), "max_batches"),
        (dict(way="keras", epochs=2, max_batches=5), "whole epochs"),
        (dict(way="keras", group="../x"), "group"),
    ]
    for fields, words in bad:
        with pytest.raises(InputError, match=words):
            ApiRunConfig(**fields).validate()
    with pytest.raises(InputError, match="api_compare"):
        ApiRunConfig.from_dict({"task": "mnist"})


@pytest.fixture
def mnist_file(tmp_path):
    x, y = synthetic_digits(600, 1)
    xt, yt = synthetic_digits(100, 2)
    path = tmp_path / "mnist.npz"
    np.savez_compressed(path, x_train=x, y_train=y, x_test=xt, y_test=yt)
    return path


def test_the_three_train_as_queued_jobs_and_are_measured(tmp_path, mnist_file):
    manager = JobManager(tmp_path / "runs")
    runs = manager.submit_all(comparison_configs(str(mnist_file), max_batches=4), actor=LOCAL)
    deadline = time.time() + 300
    while any(r.status().get("status") in ACTIVE_STATES for r in runs) and time.time() < deadline:
        time.sleep(1)
        manager.pump()
    [(group, results)] = comparisons(RunStore(tmp_path / "runs")).items()
    assert [r.way for r in results] == list(WAYS)
    for r in results:
        assert r.status == "completed", (r.way, r.error)
        assert r.test_accuracy > 0.9  # the synthetic digits are easy: every way really learnt
        assert r.train_seconds > 0 and r.images_per_second > 0
        # 4 of 5 batches of an epoch: the epoch's seconds are scaled up from them
        assert r.seconds_per_epoch == pytest.approx(r.train_seconds * 5 / 4)
        assert r.lines == way_lines(r.way)
    run = RunStore(tmp_path / "runs").get(results[0].run_id)
    assert run.checkpoint().name == "final.keras" and len(run.history()) == 1  # usable on Predict and Curves
    assert run.status()["steps_per_epoch"] == 4


def test_a_stop_request_stops_the_hand_written_loop(tmp_path, mnist_file):
    cfg = comparison_configs(str(mnist_file))[0]
    assert cfg.way == "lowlevel"
    run = RunStore(tmp_path).create(cfg.run_name(), cfg.to_dict())
    run.update_status(status="queued")
    run.request_stop()  # before the first batch: it stops after that batch
    result = train_queued(run)
    st = run.status()
    assert result["status"] == "stopped" and st["stop_reason"] == "stop_file" and st["batch"] == 1


def test_only_the_presenter_starts_a_comparison_and_it_is_all_or_nothing(tmp_path, mnist_file):
    manager = JobManager(tmp_path / "runs")
    configs = comparison_configs(str(mnist_file))
    with pytest.raises(NotAllowedError):
        manager.submit_all(configs, actor=Actor(presenter=False, session="phone"))
    presenter = Actor(presenter=True, session="speaker")
    cfg = ApiRunConfig("keras", str(mnist_file), max_batches=1, group="other")
    manager.submit(cfg, actor=presenter)  # one job already waiting or running for this session
    assert MAX_JOBS_PER_SESSION == 3
    with pytest.raises(InputError, match=r"at most 3.*This starts 3 jobs together"):
        manager.submit_all(configs, actor=presenter)  # 1 + 3 > 3: none of the three is queued
    assert len(RunStore(tmp_path / "runs").list()) == 1
    for run in manager.active():
        manager.stop(run.id, actor=presenter, force=True)


def test_damaged_comparison_folders_show_what_they_have(tmp_path):
    """The run store is untrusted: junk in a comparison's files gives empty cells, never an exception."""
    import json

    junk = {
        "20261120-100000-a": {"api_compare": {"way": "keras", "group": "g"}, "spec": [1, 2], "steps_per_epoch": 3,
                              "full_steps_per_epoch": 4, "n_train": 10},
        "20261120-100001-b": {"api_compare": {"way": "lowlevel", "group": "g"}, "spec": {"batch_size": "big"},
                              "steps_per_epoch": "x", "n_train": None},
        "20261120-100002-c": {"api_compare": "not a section"},
        "20261120-100003-d": {"api_compare": {"way": "../../etc", "group": "g"}},
        "20261120-100004-e": {"api_compare": {"way": "keras_xla", "group": ["g"]}},
    }  # fmt: skip
    for run_id, config in junk.items():
        path = tmp_path / run_id
        path.mkdir()
        (path / "config.json").write_text(json.dumps(config))
        (path / "status.json").write_text(json.dumps({"status": "completed", "train_seconds": 2.0, "epochs_done": 1}))
        (path / "metrics.json").write_text("[not json")
        (path / "batches.csv").write_text("epoch,batch,step,loss,accuracy,seconds\n1,2,3,x,inf,nan\n1,3,4,1,0.5,1.5\n")
    [(group, results)] = comparisons(RunStore(tmp_path)).items()
    assert group == "g" and [r.way for r in results] == ["lowlevel", "keras"]  # the others are not comparisons
    keras = results[1]
    assert keras.seconds_per_epoch == pytest.approx(2.0 * 4 / 3) and keras.images_per_second == pytest.approx(
        3 / 2.0
    )  # 3 batches of 1 (no batch size)
    assert keras.test_accuracy is None and keras.curve == [(1.5, 0.5)]  # the junk row is left out
    assert results[0].seconds_per_epoch is None
