"""The editable layer table (one row per layer, one column per field) <-> a list of LayerSpec.

Columns come from the layer registry, so a new kind's fields appear in the table by itself.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from core.base.errors import InputError
from core.base.i18n import _
from core.models.layers import KINDS, editable_kinds, table_columns
from core.models.specs import LAYER_FIELD, LayerSpec


def layers_to_rows(layers: list[LayerSpec], kinds: Sequence[str] | None = None) -> list[dict]:
    """Layers as rows of the table; a field the layer's kind does not read is left blank (None).

    Args:
        kinds: the kinds a task offers (a narrower table, see :func:`editable_kinds`); None: every one.
    """
    cols = table_columns(kinds)
    rows = []
    for layer in layers:
        used = KINDS[layer.kind].fields if layer.kind in KINDS else ()
        rows.append({c: (layer.kind if c == "kind" else getattr(layer, c) if c in used else None) for c in cols})
    return rows


NOT_USED = ("", "—", "None")  # what a table shows in a cell the layer's kind does not use


def _blank(value: Any) -> bool:
    return (
        value is None
        or (isinstance(value, str) and value.strip() in NOT_USED)
        or (isinstance(value, float) and math.isnan(value))
    )


def _cell(name: str, value: Any, index: int) -> Any:
    """A table cell in its field's type: a data editor gives floats for whole numbers."""
    kind = LAYER_FIELD[name].kind
    if kind is int:
        try:
            whole = float(value) == int(float(value))
        except (TypeError, ValueError, OverflowError):
            whole = False
        if not whole:
            raise InputError(
                _("Layer {index}: {name} must be a whole number. Received: {value}").format(
                    index=index, name=name, value=repr(value))
            )  # fmt: skip
        return int(float(value))
    if kind is float:
        try:
            return float(value)
        except (TypeError, ValueError):
            raise InputError(
                _("Layer {index}: {name} must be a number. Received: {value}").format(
                    index=index, name=name, value=repr(value)
                )
            ) from None
    if kind is bool:
        return bool(value)
    return str(value)


def layers_from_rows(rows: list[dict], kinds: Sequence[str] | None = None, empty_ok: bool = False) -> list[LayerSpec]:
    """Reads the edited table back; blank cells (None, NaN, "") mean "not set".

    Rows without a kind (a blank row added in the editor) are skipped. Cells of fields the
    row's kind does not read are ignored. Ranges are checked later by ``validate_spec``.

    Args:
        kinds: the kinds a task offers (:func:`editable_kinds`); None: every editable kind.
        empty_ok: no layers at all is a model (a table's: inputs -> the output layer, linear).

    Raises:
        InputError: an unknown layer kind, a non-number where one is needed, or no layers.
    """
    layers = []
    allowed = editable_kinds(kinds)
    for i, row in enumerate(rows, start=1):
        kind = row.get("kind")
        if _blank(kind):
            continue
        if kind not in allowed:
            raise InputError(
                _("Layer {index}: expected a kind in {kinds}. Received: {kind}").format(
                    index=i, kinds=allowed, kind=repr(kind)
                )
            )
        values = {
            name: _cell(name, row[name], i) for name in KINDS[kind].fields if name in row and not _blank(row[name])
        }
        layers.append(LayerSpec(kind=kind, **values))
    if not layers and not empty_ok:
        raise InputError(_("The model has no layers: add at least a Flatten and a Dense layer."))
    return layers
