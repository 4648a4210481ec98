"""Widgets made from the settings table (``core.training.SETTINGS``) and the layer registry.

A setting or a layer kind added in ``core`` shows up here by itself: its widget (or table
column) is chosen from its type, range and choices.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import streamlit as st

from core.base.i18n import _
from core.base.settings import Setting
from core.models import editable_kinds, table_columns
from core.models.specs import LAYER_FIELD
from core.training import SETTINGS

COLUMNS = 4
NOT_USED = "—"  # a choice cell the layer does not use (an empty one would read "None")


def _step(value: Any, s: Setting) -> float:
    """A step one decade below the value (0.001 -> 0.0001), so arrows make sensible changes."""
    ref = value if isinstance(value, int | float) and value else s.default
    if not isinstance(ref, int | float) or not ref:
        return 0.01
    return 10 ** math.floor(math.log10(abs(ref))) / 10


def setting_widget(container, s: Setting, value: Any, key: str, disabled: bool = False) -> Any:
    """Renders one setting's widget in ``container``; returns the value it holds."""
    label, help_text = _(s.label), _(s.help)
    help_text = f"{help_text} ({s.range_text()})" if s.range_text() else help_text
    if s.choices:
        options = list(s.choices)
        return container.selectbox(label, options, options.index(value) if value in options else 0, key=key,
                                   help=help_text, disabled=disabled)  # fmt: skip
    if s.kind is bool:
        return container.toggle(label, bool(value), key=key, help=help_text, disabled=disabled)
    if s.steps:
        options = sorted({*s.steps, value})
        return container.select_slider(label, options, value, key=key, help=help_text, disabled=disabled)
    if s.kind is int:
        return container.number_input(label, int(s.lo), int(s.hi), None if value is None else int(value), step=1,
                                      key=key, help=help_text, disabled=disabled)  # fmt: skip
    return container.number_input(label, float(s.lo), float(s.hi), None if value is None else float(value),
                                  step=_step(value, s), format="%.3g", key=key, help=help_text,
                                  disabled=disabled)  # fmt: skip


def settings_form(
    current: dict[str, Any], task: str, key_suffix: str, skip: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """Every setting that applies to ``task``, main ones in a grid and the rest under "Advanced".

    Args:
        current: the starting value of each setting (the preset's), by name.
        key_suffix: part of each widget key, so another preset starts from its own values.
        skip: settings chosen elsewhere on the page (a table's target column), left out here.

    Returns:
        The values the widgets hold now, by setting name.
    """
    table = [s for s in SETTINGS if s.applies_to(task) and s.name not in skip]
    values: dict[str, Any] = {}
    for group, box in (("training", st.container()), ("advanced", st.expander(_("Advanced settings")))):
        cols = box.columns(COLUMNS)
        for i, s in enumerate(x for x in table if x.group == group):
            other, allowed = s.only_with or (None, ())
            off = other is not None and values.get(other, current.get(other)) not in allowed
            value = setting_widget(cols[i % COLUMNS], s, s.default if off else current.get(s.name, s.default),
                                   f"t_{s.name}_{key_suffix}", disabled=off)  # fmt: skip
            values[s.name] = s.default if off else value
    return values


def layer_table_config(kinds: Sequence[str] | None = None) -> dict:
    """``st.data_editor`` column configs for a layer table of ``kinds`` (a task's; None: every editable kind)."""
    config: dict[str, Any] = {
        "kind": st.column_config.SelectboxColumn(
            _("layer"), options=editable_kinds(kinds), required=True, width="medium"
        )  # fmt: skip
    }
    for name in table_columns(kinds)[1:]:
        f = LAYER_FIELD[name]
        help_text = _("{help} ({range}); blank where the layer does not use it").format(help=_(f.help),
                                                                                         range=f.range_text())  # fmt: skip
        if f.choices:
            config[name] = st.column_config.SelectboxColumn(_(f.label), options=[NOT_USED, *f.choices], help=help_text)
        elif f.kind is bool:
            config[name] = st.column_config.CheckboxColumn(_(f.label), help=_(f.help))
        else:  # text cells, so that an unused one is blank (a number cell shows the word "None")
            config[name] = st.column_config.TextColumn(
                _(f.label), help=help_text, validate=r"^\s*-?[0-9]*\.?[0-9]*\s*$"
            )
    return config
