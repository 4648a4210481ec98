"""The table task: a dense network on a CSV, from its data to its predictions.

- ``data``: check the choices against the CSV, split the rows, learn the preprocessing.
- ``fit``: fit, test against the baseline, write the run.
- ``evaluate``: score a run on its test rows or on another CSV.
- ``predict``: predict new rows (a CSV, an upload, a one-row form).
"""

from __future__ import annotations

from core.base.errors import InputError
from core.base.i18n import N_, _
from core.models import ModelSpec, ModelSummary
from core.models.layers import TABLE_LAYER_KINDS
from core.runs.store import Run
from core.tasks.base import Task
from core.training.config import TrainConfig
from core.training.fit import Body

EXAMPLE_COLUMNS = 3  # presets are sized for the lesson's table: 3 number columns (table-tutorial: 41 parameters)


class TableTask(Task):
    """A CSV file, a column to predict (a number or a class) and a dense network with its preprocessing inside."""

    name = "table"
    label = N_("Table (CSV)")
    data_help = "FILE.csv"
    inputs = "rows"
    layer_kinds = TABLE_LAYER_KINDS
    empty_model_ok = True  # no hidden layer: a linear model
    # Chosen in the page's data section (the target, the prediction, the left-out columns), or
    # following the prediction (the head and the loss: MSE + linear, or cross-entropy + softmax).
    form_skips = frozenset({"target", "table_task", "drop", "output_activation", "loss"})
    takes_drop = True
    prefills_train = False  # the pre-filled Train form knows image data only
    replays = False  # no kernels nor sample images to replay: the curves tell a table run's story

    def validate(self, cfg: TrainConfig) -> list[str]:
        from core.tasks.table.data import validate_table  # reads the CSV

        cfg.check()
        return validate_table(cfg)

    def preview_summary(self, spec: ModelSpec, classes: int | None = None) -> ModelSummary:
        """Counted for EXAMPLE_COLUMNS number columns and a regression (the real width comes with the CSV)."""
        from core.tasks.table.data import table_summary

        return table_summary(spec, EXAMPLE_COLUMNS, classes or 1)

    def preview_shape(self, spec: ModelSpec) -> list[int]:
        return [EXAMPLE_COLUMNS]

    def body(self, cfg: TrainConfig, fit=None) -> Body:
        from core.tasks.table.fit import fit_table

        if fit is not None:
            raise InputError(_("A table run trains its dense network only: no other fit applies."))
        return lambda run, result: fit_table(cfg, run, result)

    def evaluate(self, run: Run, data: str | None) -> dict:
        from core.tasks.table.evaluate import evaluate_table

        return evaluate_table(run, data)

    def test_inputs(self, run: Run) -> dict:
        """The test rows that can be scored, as the model's inputs: {input name: (n, 1) array}."""
        from core.models.table_net import to_inputs
        from core.tasks.table.evaluate import scorable_rows
        from core.tasks.table.predict import run_features

        return to_inputs(scorable_rows(run).frame, run_features(run))

    def predict(self, run: Run, files: list[str], out: str | None) -> dict:
        from core.tasks.table.predict import predict_to_file

        return predict_to_file(run, files, out)
