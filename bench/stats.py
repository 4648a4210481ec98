"""What every benchmark reports of repeated measurements: the spread, not the best run."""

from __future__ import annotations

import statistics


def spread(values: list[float], digits: int = 4) -> dict:
    """``{"median", "min", "max", "n"}`` of ``values`` rounded to ``digits`` (``{"n": 0}`` when empty)."""
    if not values:
        return {"n": 0}
    return {"median": round(statistics.median(values), digits), "min": round(min(values), digits),
            "max": round(max(values), digits), "n": len(values)}  # fmt: skip
