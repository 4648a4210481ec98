"""A Train form opened pre-filled from another page (Learning curves' "Train again with ...").

The other page stores the new run's config in the session and switches to Train; Train selects
its data, preset and layer table once (:func:`select_prefill`), and its settings form starts from
the config's values while the same model stays selected (:func:`prefill_for`).
"""

from __future__ import annotations

import streamlit as st

from core import tasks
from core.base.errors import InputError
from core.models import get_preset, layers_to_rows
from core.teaching.remedy import Remedy
from core.training import TrainConfig, presets_for
from pages._router import switch_page

KEY = "train_prefill"
TRAIN_PAGE = "pages/train.py"


def open_in_train(remedy: Remedy, run_id: str, finding: str) -> None:
    """Stores the remedy for the Train page and goes there."""
    st.session_state[KEY] = {"config": remedy.config.to_dict(), "run": run_id, "finding": finding,
                             "changes": list(remedy.changes), "fresh": True}  # fmt: skip
    switch_page(TRAIN_PAGE)


def select_prefill(folders: list[str]) -> None:
    """Once, on the first Train run after :func:`open_in_train`: selects the data, preset and layers.

    Called before the Train page's widgets exist, so the selections are their starting values.

    Args:
        folders: the image folders the Train page offers (a run's folder missing there is skipped).
    """
    state = st.session_state
    pre = state.get(KEY)
    if not pre or not pre.pop("fresh", False):
        return
    try:
        cfg = TrainConfig.from_dict(pre["config"])
    except InputError:
        state.pop(KEY, None)
        return
    state.train_data_kind = tasks.get(cfg.task).label  # the data section's choice for the run's task
    if cfg.data in folders:
        state.train_folder = cfg.data
    names = presets_for(cfg.task)
    preset = cfg.preset if cfg.preset in names else names[0]
    same = preset == cfg.preset and get_preset(preset).layers == cfg.spec.layers
    state[f"train_preset_{cfg.task}"] = preset
    state.train_edit_layers = not same
    if not same:  # the run's own layers (edited, or changed by the remedy) in the layer table
        version = f"train_rows_version_{preset}"
        state[f"train_rows_{preset}"], state[version] = layers_to_rows(cfg.spec.layers), state.get(version, 0) + 1
    pre["spec_name"] = preset if same else "custom"


def prefill_for(spec_name: str, task: str) -> tuple[TrainConfig, dict] | None:
    """The pre-filled config and its note while the model it was made for is selected, else None."""
    pre = st.session_state.get(KEY)
    if not pre or pre.get("spec_name") != spec_name or pre["config"].get("task") != task:
        return None
    try:
        return TrainConfig.from_dict(pre["config"]), pre
    except InputError:
        return None


def clear_prefill() -> None:
    """Forgets the pre-filled config (after the run was started)."""
    st.session_state.pop(KEY, None)


def back_to_preset() -> None:
    """A button callback: forgets the pre-filled config and the form's values, so the preset's return.

    Keyed widgets keep their value across reruns whatever default they are given, so the
    settings' and augmentation's widget states (``t_*``) are dropped, and the layer editor closed.
    """
    state = st.session_state
    clear_prefill()
    for key in [k for k in state if isinstance(k, str) and k.startswith("t_")]:
        del state[key]
    state.train_edit_layers = False
