"""Model specifications, the layer registry, presets, the summary and the Keras builder.

- ``specs``: ``LayerSpec`` / ``ModelSpec``, plain data with their settings declared once.
- ``layers``: one registry entry per layer kind (fields, shape, counts, label, colour, build);
  ``backbones`` adds the pretrained one.
- ``summary``: validation and the arithmetic summary (no weights allocated).
- ``layer_table``: the editable layer table <-> ``LayerSpec`` list.
- ``memory``: what training needs of memory; ``windows``: the output-size arithmetic of a sliding window;
  ``table_net``: the dense network of a table, with its preprocessing inside.
- ``builder``: ``build_model`` (Functional API), the optimizer and the loss.
- ``presets``: the tutorial and fast recipes.
"""

from core.models import backbones  # noqa: F401  (registers the Pretrained kind)
from core.models.builder import build_model, make_loss, make_optimizer
from core.models.layer_table import layers_from_rows, layers_to_rows
from core.models.layers import KINDS, editable_kinds, table_columns
from core.models.presets import PRESETS, get_preset
from core.models.specs import ACTIVATIONS, OPTIMIZERS, SPEC_SETTINGS, LayerSpec, ModelSpec
from core.models.summary import LayerSummary, ModelSummary, summarize_spec, validate_spec

__all__ = [
    "ACTIVATIONS",
    "KINDS",
    "OPTIMIZERS",
    "PRESETS",
    "SPEC_SETTINGS",
    "LayerSpec",
    "LayerSummary",
    "ModelSpec",
    "ModelSummary",
    "build_model",
    "editable_kinds",
    "get_preset",
    "layers_from_rows",
    "layers_to_rows",
    "make_loss",
    "make_optimizer",
    "summarize_spec",
    "table_columns",
    "validate_spec",
]
