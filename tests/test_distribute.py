"""Training under a tf.distribute strategy: the --devices choice, TF_CONFIG, and real runs on CPU.

The real runs are subprocesses: logical CPU devices and MultiWorkerMirroredStrategy must be set up
before TensorFlow initialises, and pytest's own process may already have it running.
"""

from __future__ import annotations

import csv
import json
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from core.base.cli import run_module
from core.base.errors import InputError
from core.training.distribute import MAX_DEVICES, Cluster, Placement, parse_devices, read_cluster, setup
from tests.conftest import ROOT, cli_env, synthetic_digits

# ----- the --devices value (no TensorFlow) -----------------------------------------------------


@pytest.mark.parametrize(
    "text, keyword, devices",
    [
        (None, "auto", ()),
        ("auto", "auto", ()),
        (" CPU ", "cpu", ()),
        ("gpu", "gpu", ()),
        ("cpu:0,cpu:1", None, (("cpu", 0), ("cpu", 1))),
        ("GPU:1, gpu:0", None, (("gpu", 1), ("gpu", 0))),
        ("cpu:0-3", None, tuple(("cpu", i) for i in range(4))),
        ("gpu:2", None, (("gpu", 2),)),
    ],
)
def test_parse_devices(text, keyword, devices):
    choice = parse_devices(text)
    assert (choice.keyword, choice.devices) == (keyword, devices)


@pytest.mark.parametrize(
    "text, message",
    [
        ("tpu", "Expected --devices auto, cpu, gpu or a list"),
        ("cpu:0,", "Expected --devices auto, cpu, gpu or a list"),
        ("cpu0", "Expected --devices auto, cpu, gpu or a list"),
        ("cpu:-1", "Expected --devices auto, cpu, gpu or a list"),
        ("cpu:3-1", "Expected --devices auto, cpu, gpu or a list"),
        ("2", "Expected --devices auto, cpu, gpu or a list"),
        ("cpu:0,cpu:0", "Each device may be named once"),
        ("cpu:0-2,cpu:1", "Each device may be named once"),
        ("cpu:0,gpu:0", "not both"),
        (f"cpu:0-{MAX_DEVICES}", f"Expected device numbers 0..{MAX_DEVICES - 1}"),
        ("gpu:99999999999", f"Expected device numbers 0..{MAX_DEVICES - 1}"),
    ],
)
def test_bad_devices_are_refused_with_what_is_expected(text, message):
    with pytest.raises(InputError, match=message):
        parse_devices(text)


# ----- TF_CONFIG ------------------------------------------------------------------------------


def tf_config(workers: int, index: int, kind: str = "worker", **cluster) -> dict:
    spec = {"cluster": {"worker": [f"host{i}:2222" for i in range(workers)], **cluster},
            "task": {"type": kind, "index": index}}  # fmt: skip
    return {"TF_CONFIG": json.dumps(spec)}


def test_read_cluster():
    assert read_cluster({}) is None
    assert read_cluster(tf_config(1, 0)) is None  # one worker: the local choice applies
    assert read_cluster(tf_config(3, 0)) == Cluster(3, "worker", 0, has_chief=False)
    assert read_cluster(tf_config(3, 0)).is_chief
    assert not read_cluster(tf_config(3, 2)).is_chief
    with_chief = read_cluster(tf_config(2, 0, "chief", chief=["boss:2222"]))
    assert (with_chief.workers, with_chief.is_chief) == (3, True)
    assert not read_cluster(tf_config(2, 0, chief=["boss:2222"])).is_chief  # worker 0 is not the chief then


@pytest.mark.parametrize(
    "env, message",
    [
        ({"TF_CONFIG": "{not json"}, "Expected TF_CONFIG like"),
        ({"TF_CONFIG": "[1, 2]"}, "Expected TF_CONFIG like"),
        (tf_config(2, 5), "task is worker 5, but its cluster has 2 worker"),
        (tf_config(2, 0, "evaluator"), "Expected TF_CONFIG like"),
        (tf_config(2, 0, ps=["ps0:2222"]), "parameter servers"),
    ],
)
def test_bad_tf_config_is_refused(env, message):
    with pytest.raises(InputError, match=message):
        read_cluster(env)


def test_record_scales_the_batch_by_the_replicas():
    placement = Placement(None, "MirroredStrategy", ["CPU:0", "CPU:1"], 2, requested="cpu:0,cpu:1")
    assert placement.record(32) == {"strategy": "MirroredStrategy", "devices": ["CPU:0", "CPU:1"], "replicas": 2,
                                    "batch_per_replica": 32, "effective_batch": 64, "requested": "cpu:0,cpu:1"}  # fmt: skip
    assert "32 per replica, 64 in all" in placement.describe(32)
    worker = Placement(None, "MultiWorkerMirroredStrategy", ["CPU:0"], 4, cluster=Cluster(4, "worker", 1))
    assert worker.record(8)["effective_batch"] == 32 and worker.record(8)["task_index"] == 1 and not worker.is_chief


def test_gpus_that_are_not_there_are_refused_naming_what_is():
    import tensorflow as tf

    n = len(tf.config.list_physical_devices("GPU"))
    with pytest.raises(InputError, match=rf"no GPU:{n} on this machine\. Available: cpu .*"):
        setup(f"gpu:0-{n}", env={})
    if n == 0:
        with pytest.raises(InputError, match="no GPU that TensorFlow can use. Available: cpu"):
            setup("gpu", env={})


# ----- the command line -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def digits(tmp_path_factory) -> Path:
    """A synthetic MNIST (900 training, 100 validation, 200 test images) that mnist-mlp learns in 2 epochs."""
    path = tmp_path_factory.mktemp("digits") / "mnist.npz"
    (xt, yt), (xs, ys) = synthetic_digits(1000, 1), synthetic_digits(200, 2)
    np.savez_compressed(path, x_train=xt, y_train=yt, x_test=xs, y_test=ys)
    return path


def train_args(data: Path, runs: Path, batch: int, *extra: str) -> list[str]:
    return ["--task", "mnist", "--data", str(data), "--preset", "mnist-mlp", "--epochs", "2", "--seed", "5",
            "--learning-rate", "0.01", "--batch-size", str(batch), "--runs-dir", str(runs), *extra]  # fmt: skip


def trained(tmp: Path, data: Path, batch: int, devices: str) -> tuple[dict, list[dict], str, dict]:
    """Trains through ``python -m core.train``; returns config.json, the history rows, the log and the JSON."""
    done = run_module("train", train_args(data, tmp / "runs", batch, "--devices", devices), env=cli_env(tmp),
                      timeout=300)  # fmt: skip
    assert done.code == 0 and done.output["status"] == "completed", done.stderr[-3000:]
    return (*read_run(done.output["run_dir"]), done.output)


@pytest.fixture(scope="module")
def one_device(tmp_path_factory, digits):
    """The default strategy on the CPU, batches of 32."""
    return trained(tmp_path_factory.mktemp("one"), digits, 32, "cpu")


@pytest.fixture(scope="module")
def two_cpus(tmp_path_factory, digits):
    """MirroredStrategy over 2 logical CPU devices, 16 per replica: 32 per step, as ``one_device``."""
    return trained(tmp_path_factory.mktemp("two"), digits, 16, "cpu:0,cpu:1")


def read_run(run_dir: str) -> tuple[dict, list[dict], str]:
    path = Path(run_dir)
    with open(path / "history.csv", newline="") as fh:
        history = list(csv.DictReader(fh))
    return json.loads((path / "config.json").read_text()), history, (path / "log.txt").read_text()


@pytest.mark.parametrize("devices", ["tpu:0", "cpu:0,gpu:1", "gpu:63"])
def test_bad_devices_on_the_command_line_exit_2_and_write_nothing(tmp_path, digits, devices):
    done = run_module("train", train_args(digits, tmp_path / "runs", 32, "--devices", devices), env=cli_env(tmp_path))
    assert done.code == 2 and "--devices" in done.output["error"], done.output
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_mirrored_over_two_logical_cpus_matches_one_device(one_device, two_cpus):
    """The same seed and the same effective batch: one device, then 2 logical CPUs (2 x 16 per step).

    Both runs start from the same weights and take the same 29 steps of 32 images per epoch. They
    differ only in the order of the images: under a strategy Keras reads one batch before training
    (to build the model), which moves the seeded shuffle on by one permutation. On a task both
    learn to >= 95% that can change a couple of the 200 test images, hence the 0.02 tolerance
    (chance is 0.10).
    """
    (one_config, one_history, one_log, one), (two_config, two_history, two_log, two) = one_device, two_cpus
    assert one_config["distribute"] == {"strategy": "DefaultStrategy", "devices": ["CPU:0"], "replicas": 1,
                                        "batch_per_replica": 32, "effective_batch": 32, "requested": "cpu"}  # fmt: skip
    assert two_config["distribute"] == {"strategy": "MirroredStrategy", "devices": ["CPU:0", "CPU:1"], "replicas": 2,
                                        "batch_per_replica": 16, "effective_batch": 32, "requested": "cpu:0,cpu:1"}  # fmt: skip
    assert one_config["steps_per_epoch"] == two_config["steps_per_epoch"] == 29  # ceil(900 / 32)
    assert (
        "Distribution: MirroredStrategy over 2 replicas (CPU:0, CPU:1): batches of 16 per replica, 32 in all."
        in two_log
    )
    assert "Distribution: DefaultStrategy on CPU:0" in one_log
    assert min(one["test_accuracy"], two["test_accuracy"]) >= 0.95
    assert abs(one["test_accuracy"] - two["test_accuracy"]) <= 0.02
    assert len(one_history) == len(two_history) == 2


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def test_two_workers_on_localhost_train_one_run_like_two_local_devices(tmp_path, digits, two_cpus):
    """MultiWorkerMirroredStrategy: 2 ``python -m core.train`` processes joined by TF_CONFIG.

    Each worker is one replica of 16 images, so every step is the same 32-image step as
    MirroredStrategy over 2 logical CPUs: same seed, same shuffle, the sum of two gradients. The
    histories agree to the digits history.csv keeps. Only the chief (worker 0) keeps a run folder.
    About 25 s on 2 cores.
    """
    ports = [free_port(), free_port()]
    procs = []
    for index in range(2):
        env = {**cli_env(tmp_path), "TF_CONFIG": json.dumps({"cluster": {"worker": [f"localhost:{p}" for p in ports]},
                                                             "task": {"type": "worker", "index": index}})}  # fmt: skip
        args = train_args(digits, tmp_path / f"runs{index}", 16)
        procs.append(subprocess.Popen([sys.executable, "-m", "core.train", *args], cwd=ROOT, env=env, text=True,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE))  # fmt: skip
    try:
        outs = [p.communicate(timeout=150) for p in procs]
    finally:
        for p in procs:  # a worker left alone waits for its peer: never leave one behind
            if p.poll() is None:
                p.kill()
                p.wait()
    results = [json.loads(out.strip().splitlines()[-1]) for out, _ in outs]
    assert [p.returncode for p in procs] == [0, 0], [err[-2000:] for _, err in outs]
    chief, worker = results
    assert chief["status"] == worker["status"] == "completed"
    assert worker["run_dir"] is None and worker["worker"] == 1
    assert not (tmp_path / "runs1").exists()  # the other worker's folder was temporary
    config, history, log = read_run(chief["run_dir"])
    assert config["distribute"] == {"strategy": "MultiWorkerMirroredStrategy", "devices": ["CPU:0"], "replicas": 2,
                                    "batch_per_replica": 16, "effective_batch": 32, "requested": "auto",
                                    "workers": 2, "task_type": "worker", "task_index": 0}  # fmt: skip
    assert "MultiWorkerMirroredStrategy over 2 replicas" in log
    for mine, local in zip(history, two_cpus[1], strict=True):
        for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
            assert float(mine[key]) == pytest.approx(float(local[key]), rel=1e-4, abs=1e-6), key
    assert chief["test_accuracy"] >= 0.95


def test_a_table_run_stays_on_the_default_strategy_and_records_it(tmp_path):
    from core.data import folders as datasets

    args = ["--task", "table", "--data", str(datasets.SHIPPED_TABLES / "diabetes.csv"), "--target", "progression",
            "--preset", "table-tutorial", "--epochs", "1", "--runs-dir", str(tmp_path / "runs"), "--devices", "cpu:0,cpu:1"]  # fmt: skip
    done = run_module("train", args, env=cli_env(tmp_path), timeout=300)
    assert done.code == 0, done.stderr[-2000:]
    config, _, _ = read_run(done.output["run_dir"])
    assert config["distribute"] == {"strategy": "DefaultStrategy", "devices": ["CPU:0"], "replicas": 1,
                                    "batch_per_replica": 32, "effective_batch": 32}  # fmt: skip
