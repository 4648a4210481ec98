"""Task: what differs between kinds of training (images, MNIST, a table), declared in one place.

A task is a subclass of :class:`Task` in its own module of ``core.tasks``, listed once in
``core/tasks/__init__.py``. ``train()``, evaluation, prediction, serving and the pages ask the
registry (:func:`core.tasks.get`) instead of testing the task's name. The class attributes are
what the pages and the CLI show; the methods are what the task does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from core.models import ModelSpec, ModelSummary, editable_kinds, summarize_spec

if TYPE_CHECKING:
    import numpy as np

    from core.runs.store import Run
    from core.training.config import TrainConfig
    from core.training.fit import Body


class Task:
    """One kind of training. Subclasses set the attributes and override what differs."""

    name: ClassVar[str]  # the --task value and config.json's "task"
    label: ClassVar[str]  # N_(...): how the pages name its data ("MNIST digits", "Table (CSV)")
    data_help: ClassVar[str]  # what --data is, for the CLI's message when it is missing
    needs_data: ClassVar[bool] = True  # --data is required
    inputs: ClassVar[str] = "images"  # "images": served and explained as pictures; "rows": table rows
    layer_kinds: ClassVar[tuple[str, ...] | None] = None  # kinds the layer table offers (None: every editable one)
    form_skips: ClassVar[frozenset[str]] = frozenset()  # settings the generic form does not show (chosen elsewhere)
    augmentation: ClassVar[bool] = False  # the form offers augmentation choices
    digits: ClassVar[bool] = False  # inputs are prepared like MNIST digits; Predict and Join offer a drawing pad
    sample_data: ClassVar[str] = ""  # the data_status() key of datasets Predict can pick samples from
    preview_classes: ClassVar[int] = 2  # classes assumed when a model is sized before its data is read
    separate_test: ClassVar[bool] = False  # its test set is always separate (no test share taken from training)
    empty_model_ok: ClassVar[bool] = False  # a model with no hidden layer is allowed (a linear model)
    takes_drop: ClassVar[bool] = False  # --drop (columns left out) applies
    fixed_input: ClassVar[tuple[int, int, int] | None] = None  # an input every model of the task has (MNIST's)
    prefills_train: ClassVar[bool] = True  # a curves finding can pre-fill the Train form with its remedy
    replays: ClassVar[bool] = True  # training records the replay (first-layer kernels, samples, confusion)

    # ----- settings and the model ---------------------------------------------------------------

    def validate(self, cfg: TrainConfig) -> list[str]:
        """Checks a config for this task (the shared checks, then its own); returns warnings.

        Raises:
            InputError: the first problem, in words a person can act on.
        """
        cfg.check()
        self.check_input(cfg)
        cfg.check_held_out(cfg.spec.validation_fraction + (0.0 if self.separate_test else cfg.test_fraction))
        return cfg.check_model(summarize_spec(cfg.spec, cfg.input_shape(), self.preview_classes))

    def check_input(self, cfg: TrainConfig) -> None:
        """This task's own checks of a config (its input, its augmentation), between the shared ones."""

    def kinds(self) -> list[str]:
        """The layer kinds its layer table offers."""
        return editable_kinds(self.layer_kinds)

    def preview_summary(self, spec: ModelSpec, classes: int | None = None) -> ModelSummary:
        """Size and cost of ``spec`` before its data is read (the preset list, the race, the form)."""
        return summarize_spec(spec, spec.input_shape(), classes or self.preview_classes)

    def preview_shape(self, spec: ModelSpec) -> list[int]:
        """The input shape :meth:`preview_summary` counts with."""
        return list(spec.input_shape())

    def planned_train_size(self, cfg: TrainConfig, available: int | None, separate_test: bool) -> int | None:
        """How many examples training will see, before the data is loaded (for time estimates).

        Args:
            available: examples in the dataset (None: unknown before loading).
            separate_test: the test examples are elsewhere (a ``test/`` folder).

        Returns:
            None when ``available`` is unknown (no estimate can be made).
        """
        if available is None:
            return None
        n = available
        held_out = cfg.spec.validation_fraction + (0.0 if separate_test or self.separate_test else cfg.test_fraction)
        return max(1, round(n * (1 - held_out)))

    def same_data(self, a: dict, b: dict) -> bool:
        """Whether two runs of this task (their :meth:`~core.runs.store.Run.summary`) learnt from the same data."""
        return a.get("dataset") == b.get("dataset")

    # ----- training, evaluation, prediction -----------------------------------------------------

    def body(self, cfg: TrainConfig, fit=None) -> Body:
        """What training does in the run folder: prepare the data, fit, test (see core.training.fit)."""
        raise NotImplementedError

    def evaluate(self, run: Run, data: str | None) -> dict:
        """The CLI's metrics of ``run`` on its test split or on ``data``."""
        raise NotImplementedError

    def predict(self, run: Run, files: list[str], out: str | None) -> dict:
        """The CLI's predictions of ``run`` for ``files``."""
        raise NotImplementedError

    def test_inputs(self, run: Run):
        """The run's test inputs as its model takes them (an export is checked on them, :mod:`core.export.onnx`).

        Raises:
            InputError: the run's test data cannot be read again.
        """
        raise NotImplementedError

    # ----- serving -------------------------------------------------------------------------------

    def reload_validation(self, run: Run) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
        """A run's validation inputs (and training inputs with labels), for the "I don't know" calibration."""
        raise ValueError(f"a {self.name} run has no images to calibrate on")
