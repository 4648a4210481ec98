"""The queue's order and what a queued run's ``job`` section says: its race, its engine, whether it is an entry."""

from __future__ import annotations

import math

from core.runs.store import Run

ENTRY_PRIORITY = 1  # a challenge entry waits behind the presenter's jobs (priority 0)


def _queue_order(run: Run) -> tuple:
    """The presenter's jobs before challenge entries; then oldest first: the id's second
    (``YYYYMMDD-HHMMSS``), the exact submission time, the id.

    Ids alone sort two jobs of the same second by name; ``job.order`` keeps the order they came in.
    """
    job = job_of(run)
    order = job.get("order")
    exact = order if isinstance(order, float | int) and not isinstance(order, bool) and math.isfinite(order) else 0.0
    return (1 if job.get("priority") == ENTRY_PRIORITY else 0), run.id[:15], exact, run.id


ENGINES = ("local", "ray")


def job_of(run: Run) -> dict:
    """The run's ``job`` section (what the queue wrote in config.json), ``{}`` when it has none."""
    job = run.config().get("job")
    return job if isinstance(job, dict) else {}


def is_entry(run: Run) -> bool:
    """A challenge entry (``job.priority`` 1): it waits behind the presenter's jobs."""
    return job_of(run).get("priority") == ENTRY_PRIORITY


def drivers_of(run: Run, most: int) -> int:
    """How many Ray entries may be handed to the cluster at once while ``run`` waits (``job.resources.drivers``,
    set from the cluster's size when the challenge opened), at most ``most``."""
    resources = job_of(run).get("resources")
    drivers = resources.get("drivers") if isinstance(resources, dict) else None
    return min(most, drivers) if isinstance(drivers, int) and not isinstance(drivers, bool) and drivers >= 1 else most


def engine_of(run: Run) -> str:
    """Where a run trains: "local" (a process here) or "ray" (a task on the cluster, driven from here)."""
    engine = job_of(run).get("engine")
    return engine if engine in ENGINES else "local"


def race_id(run: Run) -> str | None:
    """The id of the race a run belongs to (``config["race"]["id"]``, see core.teaching.race), or None."""
    race = run.config().get("race")
    value = race.get("id") if isinstance(race, dict) else None
    return value if isinstance(value, str) and value else None


def _job_units(configs: list[dict]) -> int:
    """How many jobs a submission counts as for the limits: the racers of one race count as one."""
    races = {c["race"].get("id") for c in configs if isinstance(c.get("race"), dict)}
    return len([c for c in configs if not isinstance(c.get("race"), dict)]) + len(races)
