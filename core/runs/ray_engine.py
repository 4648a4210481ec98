"""The Ray engine: a queued run trained as one Ray task on a cluster, driven from this machine.

The run's own process here (``python -m core.train --run-dir``, started by ``core.runs.jobs`` as any
job) is the *driver*: it connects to the cluster, ships the run's data and ``core`` itself (so the
machines need no shared disk, only the same Python packages), and starts :func:`_train_remotely`
with the CPUs and GPUs the entry asks for. That task trains in a temporary folder on its machine and
streams the folder's changed files back every second; the driver writes them into the run folder
here, so status, curves, STOP and force stop work as for a local run:

- STOP: the driver sees the run's ``STOP`` file and raises a flag in the cluster's key-value store;
  the task writes ``STOP`` in its folder, and training stops after the batch, keeping its best checkpoint.
- Force stop kills the driver; Ray then kills the task it owned.
- The folder ends complete here (checkpoints, ``metrics.json``, ``split.json``): the final status is
  written last, with its paths mapped back to this machine's data.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import shutil
import tarfile
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

from core.base.errors import InputError, first_line
from core.base.i18n import _
from core.base.storage import write_bytes_atomic
from core.runs import procs
from core.runs.engines import ROOT, bound_waits, ray_address, refuse_client, unreachable
from core.runs.queue import job_of
from core.runs.store import ACTIVE_STATES, Run, now_iso

TICK = 1.0  # seconds between two shipments of changed files
CONNECT_SECONDS = 60.0  # ray.init that has not returned by then: the cluster is unreachable
MAX_DATA_BYTES = int(os.environ.get("CNNLAB_RAY_MAX_DATA_MB", "2048")) * 1024**2
MAX_LIVE_FILE = 8 * 1024**2  # larger files (a big checkpoint) travel only at the end
STOP_PREFIX = "cnnlab-stop:"
EXCLUDES = ["__pycache__", "*.pyc", "assets/mnist-default", "locales/*.pot"]  # what the workers need not get


# ----- on this machine: the driver ---------------------------------------------------------------


def drive(run: Run, train_folder: Callable[[str], dict], address: str | None = None) -> dict:
    """Trains ``run`` on the cluster and mirrors its folder here; returns the training's result dict.

    Args:
        run: a queued run folder of this machine (its ``config.json`` has ``job.resources``).
        train_folder: what the task calls on its copy of the folder (``core.train.train_folder``):
            passed in, since this layer cannot import the tasks.
        address: the cluster (default ``$CNNLAB_RAY_ADDRESS``).

    Raises:
        InputError: Ray is missing, the cluster cannot be reached, or the data is too large to ship.
    """
    address = address or ray_address() or "auto"
    config = run.config()
    resources = job_of(run).get("resources") or {}
    resources = resources if isinstance(resources, dict) else {}
    run.update_status(status="running", phase="cluster", started=now_iso(), engine="ray", pid=os.getpid(),
                      pid_start=procs.start_ticks(os.getpid()))  # fmt: skip
    ray = _connect(address)
    shipped = _pack(config)
    if shipped is not None:
        data_ref = ray.put(shipped[1])
        shipped = (shipped[0], shipped[2], [data_ref])  # (digest, name, [ref]): a list, so Ray does not fetch it
    task = ray.remote(_train_remotely).options(
        num_cpus=_number(resources.get("cpus"), 1), num_gpus=_number(resources.get("gpus"), 0),
        num_returns="streaming", name=f"cnnlab:{run.id}", max_retries=0,
    )  # fmt: skip
    stop_key = STOP_PREFIX + run.id + ":" + hashlib.sha256(os.urandom(16)).hexdigest()[:12]
    stream = task.remote(config, run.id, shipped, train_folder, stop_key)
    mirror = _Mirror(run, config.get("data"))
    consumer = threading.Thread(target=mirror.consume, args=(ray, stream), daemon=True)
    consumer.start()
    stop_sent = False
    while consumer.is_alive():
        consumer.join(0.5)
        if not stop_sent and run.stop_requested():
            _set_flag(stop_key)
            stop_sent = True
    if stop_sent:
        _clear_flag(stop_key)
    return mirror.finish()


def _connect(address: str):
    """``ray.init`` with a deadline: a cluster that does not answer fails the run with a message."""
    refuse_client(address)
    bound_waits()  # before Ray reads its settings
    try:
        import ray
    except ImportError:
        raise InputError(
            _("Ray is not installed on the app's machine: pip install -r requirements-cluster.txt")
        ) from None
    done = threading.Event()

    def guard():
        if not done.wait(CONNECT_SECONDS):
            os.write(2, (unreachable(address, _("no answer in {n} s").format(n=int(CONNECT_SECONDS))) + "\n").encode())
            os._exit(2)  # the job manager finalises the run as failed with this line

    threading.Thread(target=guard, daemon=True).start()
    try:
        ray.init(address=address, log_to_driver=False, logging_level="ERROR", configure_logging=False,
                 runtime_env={"py_modules": [str(ROOT / "core")], "excludes": EXCLUDES})  # fmt: skip
    except Exception as exc:  # noqa: BLE001 - any way of not connecting is the same answer for the user
        raise InputError(unreachable(address, first_line(exc))) from None
    finally:
        done.set()
    return ray


def _number(value, default: float) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0 else default


def _pack(config: dict) -> tuple[str, bytes, str] | None:
    """The run's data as bytes for the cluster: ``(digest, bytes, name)``, or None when there is none to send.

    A folder travels as a tar of its visible files (a room's ``.pending`` and ``.hidden`` stay here);
    MNIST without a path is the data folder's ``mnist.npz`` when there is one.
    """
    data = config.get("data")
    if data is None and config.get("task") == "mnist":
        from core.data.mnist import find_mnist

        found = find_mnist(None)
        data = str(found) if found else None
    if not data:
        return None
    path = Path(data)
    if path.is_file():
        blob, name = path.read_bytes() if path.stat().st_size <= MAX_DATA_BYTES else b"", path.name
    elif path.is_dir():
        blob, name = _tar(path), path.name + ".tar"
    else:
        raise InputError(_("The data {path} is not on the app's machine.").format(path=data))
    if not blob or len(blob) > MAX_DATA_BYTES:
        raise InputError(_("The data {path} is over {mb} MB: too large to send to the cluster "
                           "(CNNLAB_RAY_MAX_DATA_MB).").format(path=data, mb=MAX_DATA_BYTES // 1024**2))  # fmt: skip
    return hashlib.sha256(blob).hexdigest()[:32], blob, name


def _tar(folder: Path) -> bytes:
    buf = io.BytesIO()
    size = 0
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for path in sorted(folder.rglob("*")):
            rel = path.relative_to(folder)
            if any(part.startswith(".") for part in rel.parts) or not path.is_file() or path.is_symlink():
                continue
            size += path.stat().st_size
            if size > MAX_DATA_BYTES:
                return b""
            tar.add(path, arcname=str(rel), recursive=False)
    return buf.getvalue()


def _set_flag(key: str) -> None:
    from ray.experimental import internal_kv

    with contextlib.suppress(Exception):
        internal_kv._internal_kv_put(key, b"1", overwrite=True)


def _clear_flag(key: str) -> None:
    from ray.experimental import internal_kv

    with contextlib.suppress(Exception):
        internal_kv._internal_kv_del(key)


class _Mirror:
    """Writes what the task streams into the run folder here; keeps this process's pid in status.json."""

    def __init__(self, run: Run, local_data: str | None):
        self.run = run
        self.local_data = local_data
        self.remote_data: str | None = None
        self.result: dict | None = None
        self.error: str | None = None
        self.node = ""

    def consume(self, ray, stream) -> None:
        try:
            for ref in stream:
                self.apply(ray.get(ref))
        except Exception as exc:  # noqa: BLE001 - a dead worker or machine: the run failed, say why
            self.error = _("The Ray task ended without finishing: {problem}").format(
                problem=(str(exc).strip().splitlines() or [type(exc).__name__])[-1][:400]
            )

    def apply(self, message: dict) -> None:
        if "node" in message:
            self.node, self.remote_data = message["node"], message.get("data")
            self.run.update_status(phase="starting", node=self.node)
        files: dict[str, bytes] = message.get("files") or {}
        status = files.pop("status.json", None)
        for rel, blob in files.items():
            target = self.run.path / rel
            if not _inside(self.run.path, target):
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            if rel in ("config.json", "split.json"):
                blob = self._local_paths(blob)
            write_bytes_atomic(target, blob)
        if status is not None:  # last: a final status means every file above is already here
            with contextlib.suppress(ValueError):
                st = json.loads(status)
                if st.get("status") == "queued":  # the task's copy before training began: here it is running
                    st.update(status="running", phase="starting")
                st.update(
                    remote_pid=st.get("pid"),
                    pid=os.getpid(),
                    pid_start=procs.start_ticks(os.getpid()),
                    engine="ray",
                    node=self.node,
                )
                self.run.update_status(**st)
        if "result" in message:
            self.result = message["result"]

    def _local_paths(self, blob: bytes) -> bytes:
        """config.json and split.json name the data where the task read it: name this machine's instead."""
        if not self.remote_data:
            return blob
        data = json.loads(blob)
        local = self.local_data
        if local is None:  # MNIST from the data folder: the config keeps saying so
            data = {**data, "data": None} if isinstance(data, dict) and data.get("data") == self.remote_data else data
            return json.dumps(data).encode()
        return json.dumps(_replace_prefix(data, self.remote_data, local)).encode()

    def finish(self) -> dict:
        st = self.run.status()
        if self.result is None or st.get("status") in ACTIVE_STATES:
            error = self.error or _("The Ray task ended without a result.")
            self.run.update_status(status="failed", error=error, ended=now_iso())
            self.run.log(f"failed: {error}")
            return {"run_id": self.run.id, "run_dir": str(self.run.path), "status": "failed", "error": error}
        return {**self.result, "run_dir": str(self.run.path), "engine": "ray", "node": self.node}


def _replace_prefix(value, old: str, new: str):
    if isinstance(value, str):
        return new + value[len(old) :] if value == old or value.startswith(old.rstrip("/") + "/") else value
    if isinstance(value, list):
        return [_replace_prefix(v, old, new) for v in value]
    if isinstance(value, dict):
        return {k: _replace_prefix(v, old, new) for k, v in value.items()}
    return value


def _inside(root: Path, target: Path) -> bool:
    try:
        target.resolve().relative_to(root.resolve())
    except ValueError:
        return False
    return True


# ----- on a machine of the cluster: the task ---------------------------------------------------------


def _train_remotely(config: dict, run_id: str, shipped, train_folder: Callable[[str], dict],
                    stop_key: str) -> Iterator[dict]:  # fmt: skip
    """The Ray task: trains a copy of the run folder here and yields its changed files every :data:`TICK` s.

    Yields ``{"node", "data"}`` first, then ``{"files": {relative path: bytes}}``; the last message also
    holds ``"result"``, the training's result dict.
    """
    import ray

    scratch = Path(tempfile.mkdtemp(prefix="cnnlab-ray-"))
    try:
        data = _unpack(*shipped) if shipped else config.get("data")
        folder = scratch / run_id
        folder.mkdir()
        config = {**config, "data": data}
        (folder / "config.json").write_text(json.dumps(config))
        (folder / "status.json").write_text(
            json.dumps({"status": "queued", "created": now_iso(), "updated": now_iso()})
        )
        yield {"node": ray.util.get_node_ip_address(), "data": data}
        outcome: dict = {}

        def work():
            try:
                outcome["result"] = train_folder(str(folder))
            except BaseException as exc:  # noqa: BLE001 - reported to the driver, which marks the run
                outcome["error"] = exc

        worker = threading.Thread(target=work, daemon=True)
        worker.start()
        seen: dict[str, tuple[int, int]] = {}
        while worker.is_alive():
            worker.join(TICK)
            if _flag_raised(stop_key):
                (folder / "STOP").touch()
            files = _changed(folder, seen, MAX_LIVE_FILE)
            if files:  # nothing new: nothing to send this second
                yield {"files": files}
        files = _changed(folder, seen, None)
        if "error" in outcome:
            raise outcome["error"]
        yield {"files": files, "result": outcome["result"]}
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _flag_raised(key: str) -> bool:
    from ray.experimental import internal_kv

    try:
        return internal_kv._internal_kv_get(key) is not None
    except Exception:  # noqa: BLE001 - the store unreachable for a moment: ask again next tick
        return False


def _changed(folder: Path, seen: dict[str, tuple[int, int]], limit: int | None) -> dict[str, bytes]:
    """Files of ``folder`` whose size or time changed since ``seen`` (and smaller than ``limit``), by relative path."""
    out = {}
    for path in sorted(folder.rglob("*")):
        if not path.is_file() or path.name.startswith(".") or path.name == "STOP":
            continue
        st = path.stat()
        rel = str(path.relative_to(folder))
        stamp = (st.st_size, st.st_mtime_ns)
        if seen.get(rel) == stamp or (limit is not None and st.st_size > limit):
            continue
        with contextlib.suppress(OSError):
            out[rel] = path.read_bytes()
            seen[rel] = stamp
    return out


def _unpack(digest: str, name: str, refs: list) -> str:
    """The shipped data on this machine: unpacked once per node into a cache named by its digest."""
    import ray

    cache = Path(tempfile.gettempdir()) / "cnnlab-ray-data" / digest
    target = cache / (name[:-4] if name.endswith(".tar") else name)
    if target.exists():
        return str(target)
    blob = ray.get(refs[0])
    cache.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".cnnlab-", dir=cache.parent))
    try:
        if name.endswith(".tar"):
            with tarfile.open(fileobj=io.BytesIO(blob)) as tar:
                tar.extractall(staging / target.name, filter="data")
        else:
            (staging / target.name).write_bytes(blob)
        with contextlib.suppress(OSError):  # another task of the same data won the race: use its copy
            os.replace(staging, cache)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return str(target)
