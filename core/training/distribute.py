"""Where training runs: a ``tf.distribute`` strategy chosen from the devices present (``--devices``).

The choice (``python -m core.train --devices CHOICE``):

- ``auto`` (default): ``MirroredStrategy`` over every GPU when there are 2 or more, else the
  default strategy (on the one GPU, or the CPU).
- ``cpu``: the default strategy on the CPU, GPUs hidden.
- ``gpu``: every GPU: ``MirroredStrategy`` on 2 or more, the default strategy on one.
- a list such as ``gpu:0,gpu:1``, ``cpu:0,cpu:1`` or a range ``cpu:0-3``: ``MirroredStrategy`` over
  those devices (``OneDeviceStrategy`` for one). TensorFlow sees the CPU as one device, so naming
  more CPU devices splits it into that many logical devices (for tests and demos: they share the
  same cores). That split, like hiding GPUs, is possible only before TensorFlow starts, hence
  :func:`setup` at the top of the command.
- a ``TF_CONFIG`` naming 2 or more workers: ``MultiWorkerMirroredStrategy``, each worker on its GPUs
  or its CPU (``--devices`` auto, cpu or gpu). Only the chief (worker 0) keeps its run folder.

The batch size of a recipe is per replica: every step trains on ``batch_size x replicas`` images
(the effective batch), recorded in the run's config.json under ``"distribute"``.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from typing import Any

from core.base.errors import InputError

MAX_DEVICES = 64  # device indices 0..63: logical CPU devices share the same cores, more is never useful
_ITEM = re.compile(r"(cpu|gpu):(\d+)(?:-(\d+))?", re.IGNORECASE)  # "gpu:1" or the range "cpu:0-3"
_KEYWORDS = ("auto", "cpu", "gpu")


@dataclass(frozen=True)
class DeviceChoice:
    """A parsed ``--devices`` value: a keyword, or an explicit list of ``("cpu"|"gpu", index)``."""

    keyword: str | None  # "auto", "cpu", "gpu" or None for a list
    devices: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True)
class Cluster:
    """What ``TF_CONFIG`` says about this process: the number of workers and which one it is."""

    workers: int  # the "chief" task, if any, counts as a worker: it trains too
    task_type: str
    task_index: int
    has_chief: bool = False  # the cluster names a "chief" task

    @property
    def is_chief(self) -> bool:
        """The chief writes the run: the "chief" task, else worker 0 (TensorFlow's rule)."""
        return self.task_type == "chief" or (not self.has_chief and self.task_type == "worker" and self.task_index == 0)


@dataclass
class Placement:
    """The strategy training runs under, and what to record about it."""

    strategy: Any  # a tf.distribute.Strategy
    name: str  # "DefaultStrategy", "OneDeviceStrategy", "MirroredStrategy", "MultiWorkerMirroredStrategy"
    devices: list[str]  # this process's devices, e.g. ["CPU:0", "CPU:1"]
    replicas: int  # replicas in sync, over every worker
    requested: str = ""  # the --devices value ("" for runs that do not read it: tables, the API comparison)
    cluster: Cluster | None = None

    @property
    def is_chief(self) -> bool:
        return self.cluster is None or self.cluster.is_chief

    def record(self, batch_per_replica: int) -> dict:
        """The JSON-able ``"distribute"`` entry of config.json."""
        out = {"strategy": self.name, "devices": list(self.devices), "replicas": self.replicas,
               "batch_per_replica": batch_per_replica, "effective_batch": batch_per_replica * self.replicas}  # fmt: skip
        if self.requested:
            out["requested"] = self.requested
        if self.cluster is not None:
            out.update(workers=self.cluster.workers, task_type=self.cluster.task_type,
                       task_index=self.cluster.task_index)  # fmt: skip
        return out

    def describe(self, batch_per_replica: int) -> str:
        """One line for the run log."""
        where = ", ".join(self.devices)
        if self.cluster is not None:  # "2 workers, CPU:0 each; this is worker 1"
            c = self.cluster
            where = f"{c.workers} workers, {where} each; this is {c.task_type} {c.task_index}"
        if self.replicas == 1:
            return f"Distribution: {self.name} on {where}, batches of {batch_per_replica}."
        return (f"Distribution: {self.name} over {self.replicas} replicas ({where}): batches of "
                f"{batch_per_replica} per replica, {batch_per_replica * self.replicas} in all.")  # fmt: skip


_PLACEMENTS: dict[str, Placement] = {}  # by --devices value: a strategy is made once per process
_CURRENT: list[Placement] = []  # the last one set up


def parse_devices(text: str | None) -> DeviceChoice:
    """Reads a ``--devices`` value (None: ``auto``) without touching TensorFlow.

    Raises:
        InputError: not a keyword nor a list of ``cpu:N`` / ``gpu:N`` (ranges ``cpu:0-3``), a repeated
            device, CPU and GPU mixed, or a device number of ``MAX_DEVICES`` or more.
    """
    value = (text if text is not None else "auto").strip().lower()
    if value in _KEYWORDS:
        return DeviceChoice(value)
    expected = ("Expected --devices auto, cpu, gpu or a list of devices such as gpu:0,gpu:1 or cpu:0,cpu:1 "
                f"(a range: cpu:0-3). Received: --devices {text!r}")  # fmt: skip
    devices: list[tuple[str, int]] = []
    for item in value.split(","):
        m = _ITEM.fullmatch(item.strip())
        if m is None:
            raise InputError(expected)
        kind, first = m.group(1), int(m.group(2))
        last = int(m.group(3)) if m.group(3) is not None else first
        if last < first:
            raise InputError(expected)
        if last >= MAX_DEVICES:
            raise InputError(f"Expected device numbers 0..{MAX_DEVICES - 1}. Received: --devices {text}")
        devices += [(kind, i) for i in range(first, last + 1)]
    if len(set(devices)) != len(devices):
        raise InputError(f"Each device may be named once. Received: --devices {text}")
    if len({kind for kind, _ in devices}) > 1:
        raise InputError(f"Train on CPU devices or on GPU devices, not both. Received: --devices {text}")
    return DeviceChoice(None, tuple(devices))


def read_cluster(env: dict | None = None) -> Cluster | None:
    """The multi-worker cluster that ``TF_CONFIG`` describes, or None (unset, or one worker).

    Raises:
        InputError: ``TF_CONFIG`` is not the JSON TensorFlow expects, or asks for parameter servers.
    """
    raw = (os.environ if env is None else env).get("TF_CONFIG", "").strip()
    if not raw:
        return None
    bad = ('Expected TF_CONFIG like {"cluster": {"worker": ["host1:port", "host2:port"]}, '
           f'"task": {{"type": "worker", "index": 0}}}}. Received: {raw[:300]}')  # fmt: skip
    try:
        config = json.loads(raw)
        cluster, task = config.get("cluster") or {}, config.get("task") or {}
        workers = len(cluster.get("worker", [])) + len(cluster.get("chief", []))
        task_type, task_index = task.get("type"), task.get("index", 0)
    except (ValueError, AttributeError, TypeError):
        raise InputError(bad) from None
    if "ps" in cluster:
        raise InputError("TF_CONFIG names parameter servers (ps); CNN Lab trains with MultiWorkerMirroredStrategy: "
                         "give workers only.")  # fmt: skip
    if workers <= 1:
        return None  # one machine: the local choice applies
    if task_type not in ("worker", "chief") or not isinstance(task_index, int) or task_index < 0:
        raise InputError(bad)
    if task_index >= len(cluster.get(task_type, [])):
        raise InputError(f"TF_CONFIG's task is {task_type} {task_index}, but its cluster has "
                         f"{len(cluster.get(task_type, []))} {task_type}(s).")  # fmt: skip
    return Cluster(workers, task_type, task_index, has_chief=bool(cluster.get("chief")))


def setup(devices: str | None = "auto", env: dict | None = None) -> Placement:
    """Chooses and creates the strategy for this process; call it before TensorFlow runs anything.

    Splitting the CPU into logical devices, hiding GPUs and creating ``MultiWorkerMirroredStrategy``
    all have to happen before TensorFlow initialises its devices, so the command line calls this
    first; :func:`current` returns the result to the training code.

    Args:
        devices: the ``--devices`` value (see the module docstring); None is ``auto``.
        env: the environment to read ``TF_CONFIG`` from (default ``os.environ``).

    Raises:
        InputError: a bad or impossible choice, naming the devices this machine has.
    """
    key = (devices or "auto").strip().lower()
    if key not in _PLACEMENTS:
        choice, cluster = parse_devices(devices), read_cluster(env)
        placement = _multi_worker(choice, cluster, devices) if cluster else _local(choice, devices)
        placement.requested = key
        _PLACEMENTS[key] = placement
    _CURRENT[:] = [_PLACEMENTS[key]]
    return _PLACEMENTS[key]


def current() -> Placement:
    """The placement :func:`setup` chose for this process (``auto`` when it was never called)."""
    return _CURRENT[0] if _CURRENT else setup("auto")


def default_record(batch_size: int) -> dict:
    """The ``"distribute"`` entry of a run trained on the default strategy (tables, the API comparison)."""
    import tensorflow as tf

    gpus = tf.config.list_logical_devices("GPU")
    return Placement(tf.distribute.get_strategy(), "DefaultStrategy", ["GPU:0" if gpus else "CPU:0"], 1).record(
        batch_size
    )


# ----- making the strategies ----------------------------------------------------------------


def _local(choice: DeviceChoice, text: str | None) -> Placement:
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")  # does not initialise the devices
    if choice.keyword == "cpu" or (choice.devices and choice.devices[0][0] == "cpu"):
        _hide_gpus(gpus, text)
        gpus = []
    if choice.keyword == "gpu" and not gpus:
        raise InputError(f"--devices gpu: this machine has no GPU that TensorFlow can use. {_available()}")
    if choice.keyword in ("auto", "gpu") and len(gpus) >= 2:
        return _mirrored([f"GPU:{i}" for i in range(len(gpus))])
    if choice.keyword is not None:
        return Placement(tf.distribute.get_strategy(), "DefaultStrategy", ["GPU:0" if gpus else "CPU:0"], 1)
    names = [f"{kind.upper()}:{i}" for kind, i in choice.devices]
    if choice.devices[0][0] == "gpu":
        missing = [n for n, (_, i) in zip(names, choice.devices) if i >= len(gpus)]
        if missing:
            raise InputError(f"--devices {text}: no {', '.join(missing)} on this machine. {_available()}")
    else:
        _split_cpu(1 + max(i for _, i in choice.devices), text)
    if len(names) == 1:
        return Placement(tf.distribute.OneDeviceStrategy(f"/{names[0]}"), "OneDeviceStrategy", names, 1)
    return _mirrored(names)


def _mirrored(names: list[str]) -> Placement:
    import tensorflow as tf

    strategy = tf.distribute.MirroredStrategy([f"/{n}" for n in names])
    return Placement(strategy, "MirroredStrategy", names, strategy.num_replicas_in_sync)


def _multi_worker(choice: DeviceChoice, cluster: Cluster, text: str | None) -> Placement:
    import tensorflow as tf

    if choice.keyword is None:
        raise InputError(f"With a multi-worker TF_CONFIG each worker trains on its own GPUs or CPU: use --devices "
                         f"auto, cpu or gpu. Received: --devices {text}")  # fmt: skip
    gpus = tf.config.list_physical_devices("GPU")
    if choice.keyword == "cpu":
        _hide_gpus(gpus, text)
    elif choice.keyword == "gpu" and not gpus:
        raise InputError(f"--devices gpu: this worker has no GPU that TensorFlow can use. {_available()}")
    try:  # reads TF_CONFIG itself; must come before any other TensorFlow work
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
    except RuntimeError as exc:
        raise InputError(f"MultiWorkerMirroredStrategy could not start ({exc}): it must be created before "
                         "TensorFlow runs anything else.") from None  # fmt: skip
    from core.training import multiworker_fix

    multiworker_fix.apply()  # Keras 3's fit fails under this strategy without it (see that module)
    names = [_short(d) for d in strategy.extended.worker_devices]
    return Placement(strategy, "MultiWorkerMirroredStrategy", names, strategy.num_replicas_in_sync, cluster=cluster)


def _hide_gpus(gpus: list, text: str | None) -> None:
    import tensorflow as tf

    if not gpus:
        return
    try:
        tf.config.set_visible_devices([], "GPU")
    except RuntimeError:  # TensorFlow already started: too late to hide them
        raise InputError(f"--devices {text} trains on the CPU, which must be chosen before TensorFlow starts "
                         f"(its GPUs are in use). {_available()}") from None  # fmt: skip


def _split_cpu(n: int, text: str | None) -> None:
    """Makes TensorFlow see ``n`` logical CPU devices (they share the machine's cores)."""
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    have = tf.config.get_logical_device_configuration(cpu)
    if have is not None and len(have) >= n:
        return
    try:
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(n)])
    except RuntimeError:  # devices already initialised in this process (e.g. TensorFlow used from Python first)
        if len(tf.config.list_logical_devices("CPU")) < n:
            raise InputError(f"--devices {text} needs {n} CPU devices, which can be made only before TensorFlow "
                             f"starts. {_available()}") from None  # fmt: skip


def _available() -> str:
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    gpu_text = ", ".join(f"gpu:{i}" for i in range(len(gpus))) if gpus else "no GPU"
    return f"Available: cpu (cpu:0, or cpu:0,cpu:1... to split it), {gpu_text}."


def _short(device: str) -> str:
    """'/job:worker/replica:0/task:1/device:CPU:0' -> 'CPU:0'."""
    import tensorflow as tf

    spec = tf.DeviceSpec.from_string(device)
    return f"{spec.device_type}:{spec.device_index}"
