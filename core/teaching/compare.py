"""What differs between runs: their settings flattened into one comparable row each."""

from __future__ import annotations

import json
from typing import Any

from core.runs.store import Run
from core.training.config import SETTINGS


def _readable(value: Any) -> Any:
    """Numbers as people write them (0.0833, not 0.08333333333333333)."""
    if isinstance(value, float):
        return float(f"{value:.4g}")
    return value


def run_settings(config: dict) -> dict[str, Any]:
    """The settings that define a run, flat: dataset, preset, input, every setting, layers.

    Reads runs written by any version: old ones kept run settings under ``"train"``.
    """
    spec = config.get("spec") if isinstance(config.get("spec"), dict) else {}
    old = config.get("train") if isinstance(config.get("train"), dict) else {}
    out: dict[str, Any] = {"dataset": config.get("data"), "preset": config.get("preset"),
                           "input": str(config.get("input_shape"))}  # fmt: skip
    for s in SETTINGS:
        source = spec if s.owner == "spec" else config if s.name in config else old
        out[s.name] = _readable(source.get(s.name, s.default))
    out["augment"] = json.dumps(spec.get("augment") or {}, sort_keys=True)
    layers = spec.get("layers") if isinstance(spec.get("layers"), list) else []
    out["layers"] = " / ".join(str(x.get("kind", "?")) if isinstance(x, dict) else "?" for x in layers)
    out["parameters"] = config.get("n_params")
    return out


def differences(runs: list[Run]) -> dict[str, dict[str, str]]:
    """``{run_id: {setting: value}}`` for the settings that are not the same in every run."""
    table = {r.id: run_settings(r.config()) for r in runs}
    if not table:
        return {}
    keys = [
        k for k in next(iter(table.values())) if len({json.dumps(v.get(k), default=str) for v in table.values()}) > 1
    ]
    return {rid: {k: str(s.get(k)) for k in keys} for rid, s in table.items()}
