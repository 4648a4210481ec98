"""Where a job trains: the **local** engine (a process on this machine, the default) or a **Ray** cluster.

``$CNNLAB_RAY_ADDRESS`` chooses Ray for challenge entries: ``auto`` (this machine joined a cluster with
``ray start --address=HEAD:6379``) or the head's ``HOST:6379``. Ray Client (``ray://``) is refused: it
cannot stream a task's results, and live progress is made of them.
Ray is optional (``requirements-cluster.txt``); without it everything trains locally.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from core.base.errors import InputError
from core.base.i18n import _

RAY_ADDRESS_ENV = "CNNLAB_RAY_ADDRESS"
CHECK_SECONDS = 45.0  # a cluster that has not answered by then is unreachable (a hang is worse than a "no")
ROOT = Path(__file__).resolve().parents[2]


# Ray's connection waits, bounded (set before ``import ray``): its defaults retry an address that does not
# answer for about 14 minutes, and a Ray Client driver's task outlives a killed driver by 30 s.
BOUNDED_WAITS = {
    "RAY_gcs_rpc_server_connect_timeout_s": "2", "RAY_py_gcs_connect_timeout_s": "2", "RAY_NUM_REDIS_GET_RETRIES": "1",
    "RAY_CLIENT_INITIAL_CONNECTION_TIMEOUT_S": "10", "RAY_CLIENT_MAX_CONNECTION_TIMEOUT_S": "10",
    "RAY_CLIENT_RECONNECT_GRACE_PERIOD": "0",
}  # fmt: skip


def bound_waits() -> None:
    """Puts :data:`BOUNDED_WAITS` in this process's environment (a value already set there wins)."""
    for name, value in BOUNDED_WAITS.items():
        os.environ.setdefault(name, value)


def ray_address() -> str | None:
    """``$CNNLAB_RAY_ADDRESS``, or None (the local engine)."""
    return os.environ.get(RAY_ADDRESS_ENV, "").strip() or None


def engine_name() -> str:
    """The engine new challenge entries go to: "ray" when ``$CNNLAB_RAY_ADDRESS`` is set, else "local"."""
    return "ray" if ray_address() else "local"


def ray_installed() -> bool:
    import importlib.util

    return importlib.util.find_spec("ray") is not None


def check_cluster(address: str | None = None, timeout: float = CHECK_SECONDS) -> dict:
    """Connects to the cluster once, in a separate process with a deadline, and says what it has.

    Returns:
        ``{"nodes": n, "cpus": n, "gpus": n}`` of the cluster's live machines.

    Raises:
        InputError: Ray is not installed, or the cluster did not answer within ``timeout`` seconds,
            with what to do about it.
    """
    address = address or ray_address()
    if not address:
        raise InputError(_("No Ray cluster is set: {env} is empty.").format(env=RAY_ADDRESS_ENV))
    refuse_client(address)
    if not ray_installed():
        raise InputError(
            _("{env} names a Ray cluster, but Ray is not installed here: pip install -r "
              "requirements-cluster.txt").format(env=RAY_ADDRESS_ENV)
        )  # fmt: skip
    code = (
        "import json, ray\n"
        f"ray.init(address={address!r}, log_to_driver=False, logging_level='ERROR')\n"
        "r = ray.cluster_resources()\n"
        "print(json.dumps({'nodes': len([n for n in ray.nodes() if n.get('Alive')]), "
        "'cpus': r.get('CPU', 0), 'gpus': r.get('GPU', 0)}))\n"
    )
    try:
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout,
                              cwd=ROOT, stdin=subprocess.DEVNULL, env={**BOUNDED_WAITS, **os.environ})  # fmt: skip
    except subprocess.TimeoutExpired:
        raise InputError(unreachable(address, _("no answer in {n} s").format(n=int(timeout)))) from None
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        reason = (done.stderr.strip().splitlines() or ["?"])[-1][:300]
        raise InputError(unreachable(address, reason))
    return json.loads(lines[-1])


def refuse_client(address: str) -> None:
    """Ray Client (``ray://``) cannot stream a task's results, which live progress needs.

    Raises:
        InputError: for a ``ray://`` address, with the way that works.
    """
    if address.startswith("ray://"):
        raise InputError(
            _("{address}: Ray Client (ray://) cannot stream a training's progress back. Make the app's machine a "
              "node of the cluster instead (ray start --address=HEAD:6379 --num-cpus=0) and set {env}=auto.").format(
                address=address, env=RAY_ADDRESS_ENV)
        )  # fmt: skip


def unreachable(address: str, reason: str) -> str:
    """The message for a cluster that cannot be reached, with what to check."""
    return _(
        "Could not reach the Ray cluster at {address} ({reason}). Check that its head is running (ray status on "
        "the head), that this machine joined it (ray start --address=HEAD:6379) or that the ray:// port is open, "
        "or unset {env} to train on this machine."
    ).format(address=address, reason=reason, env=RAY_ADDRESS_ENV)
