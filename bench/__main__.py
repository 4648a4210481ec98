"""``python -m bench``: every speed target of the project in one run, as one JSON object.

Run from the project root on a quiet machine (about 10 minutes on 2 CPU cores)::

    python -m bench [--only mnist orientation best overhead teardown startup] [--seeds 0 1 2]

- ``mnist``: ``mnist-fast`` against ``mnist-tutorial`` (bench/mnist_speed.py);
- ``best``: ``mnist-best``'s test accuracy and fit time, seeds 0 and 42 (bench/train_targets.py);
- ``orientation``: ``orientation-fast`` on the chest X-rays, 5 seeds = 5 splits (bench/train_targets.py);
- ``overhead``: the trainer against a bare ``model.fit``, 5 pairs (bench/overhead.py);
- ``teardown``: the wait after a fit's last epoch, tf.data autotuning off against on, 8 pairs (bench/teardown.py);
- ``startup``: server start to the first page and to the first prediction (bench/startup.py).

The JSON starts with the machine (CPU, cores, versions), so numbers are never read without it.
The parts that need the real data are skipped, with the reason, when ``../shared/data`` is absent.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

PARTS = ("mnist", "best", "orientation", "overhead", "teardown", "startup")
DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def machine() -> dict:
    """What the numbers were measured on."""
    import keras
    import tensorflow as tf

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    gpus = [d.name for d in tf.config.list_physical_devices("GPU")]
    return {"cpu": cpu, "cores": len(os.sched_getaffinity(0)), "gpus": gpus, "python": platform.python_version(),
            "tensorflow": tf.__version__, "keras": keras.__version__,
            "load_average": [round(x, 2) for x in os.getloadavg()]}  # fmt: skip


def run_part(name: str, seeds: tuple[int, ...]) -> dict:
    """One part's JSON (see the module docstring)."""
    if name == "startup":
        from bench import startup

        return startup.measure(3)
    if not DATA.is_dir():
        return {"skipped": f"no real data at {DATA}"}
    if name == "mnist":
        from bench import mnist_speed

        return mnist_speed.measure(seeds=seeds)
    if name == "overhead":
        from bench import overhead

        return overhead.measure(repeats=5)
    if name == "teardown":
        from bench import teardown

        return teardown.measure(repeats=8)
    from bench import train_targets

    if name == "best":
        return train_targets.measure("mnist-best", (0, 42))  # 42: the default seed users get
    return train_targets.measure("orientation-fast", tuple(range(5)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=PARTS, default=list(PARTS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="seeds of mnist-fast")
    args = parser.parse_args()
    out: dict = {"machine": machine(), "date": time.strftime("%Y-%m-%d %H:%M")}
    for name in args.only:
        t0 = time.perf_counter()
        print(f"bench: {name} ...", file=sys.stderr)
        try:
            out[name] = run_part(name, tuple(args.seeds))
        except Exception as exc:  # noqa: BLE001 - one part failing (no browser, a failed run) keeps the others
            out[name] = {"error": f"{type(exc).__name__}: {exc}"}
        out[name]["bench_seconds"] = round(time.perf_counter() - t0, 1)
    out["machine"]["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(out))


if __name__ == "__main__":
    main()
