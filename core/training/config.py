"""TrainConfig: the one description of a training run, from the form to the run folder.

A config is built once (by the command line from its flags, or by the Train page from its
widgets), checked once by :func:`core.tasks.validate` (the same messages everywhere), written
once to the run's ``config.json`` when the run is created, and read back by the training
process (``python -m core.train --run-dir``).

``SETTINGS`` is the table of every setting a person can change: the recipe's (declared on
``ModelSpec``) and the run's (declared here). The CLI flags and the page widgets come from it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from core.base.errors import InputError
from core.base.i18n import N_, _, percent
from core.base.settings import Setting, check_all, setting, settings_of
from core.models import PRESETS, SPEC_SETTINGS, ModelSpec, ModelSummary, get_preset
from core.models.memory import check_fits, training_memory
from core.models.specs import MAX_TEXT

TABLE_TASKS = ("auto", "regression", "classification")
MIN_TRAIN_SHARE = 0.1  # validation + test must leave this much of the data for training


@dataclass
class TrainConfig:
    """Everything a run needs; ``to_dict()`` is the run's ``config.json``."""

    task: str
    data: str | None
    spec: ModelSpec
    preset: str = "custom"  # the preset the spec started from, or "custom"
    name: str = ""  # a name for the run id (default: the preset's)
    seed: int = setting(int, 42, N_("Seed"), N_("same seed, same data order and initial weights"), lo=0, hi=2**31 - 1)
    max_seconds: float | None = setting(float, None, N_("Time budget (s)"), N_("stop training after this many seconds (empty: no limit)"),
        lo=1.0, hi=7 * 24 * 3600.0, optional=True,
    )  # fmt: skip
    test_fraction: float = setting(float, 0.15, N_("Test fraction"), N_("images or rows kept aside for the final test (a dataset's test/ folder wins)"),
        lo=0.0, hi=0.5, tasks=("images", "table"), group="advanced",
    )  # fmt: skip
    target: str = setting(str, "", N_("Column to predict"), N_("the table column the network learns to predict"),
                          tasks=("table",))  # fmt: skip
    table_task: str = setting(str, "auto", N_("Prediction"), N_("'auto': a number column with many values is a regression, anything else classes"),
        choices=TABLE_TASKS, tasks=("table",),
    )  # fmt: skip
    # Columns left out of a table run. None: the proposal (ids, empty columns; core.data.table.proposals.propose_drop).
    # A list, not a setting: the command line gives it as --drop a,b and the page as a multiselect.
    drop: list[str] | None = None

    # ----- building -----------------------------------------------------------------------

    @classmethod
    def from_preset(
        cls,
        task: str,
        data: str | None,
        preset: str | None = None,
        spec: ModelSpec | dict | None = None,
        settings: dict[str, Any] | None = None,
        augment: bool = True,
        name: str = "",
    ) -> TrainConfig:
        """A config from a preset (or a full spec) plus changed settings.

        Args:
            task: "mnist", "images" or "table".
            data: the dataset path (None: MNIST from the data folder or Keras's download; a CSV file for "table").
            preset: a preset name; with ``spec``, the preset it started from (recorded only when the
                spec has that preset's name and layers: they were not edited).
            spec: a full spec (the layer editor, a ``--spec`` file) instead of a preset.
            settings: values for any setting of ``SETTINGS`` (recipe or run), by name, and
                ``"drop"`` (a list of column names) for a table.
            augment: False drops the recipe's augmentation.
            name: a name for the run id.

        Raises:
            InputError: unknown preset or setting name. Values are checked by :func:`core.tasks.validate`.
        """
        if spec is None:
            base = get_preset(preset or "")
        else:
            base = spec if isinstance(spec, ModelSpec) else ModelSpec.from_dict(spec)
        settings = dict(settings or {})
        drop = settings.pop("drop", None)  # a list, not a setting (see TrainConfig.drop)
        unknown = set(settings) - set(SETTING)
        if unknown:
            raise InputError(
                _("Unknown setting(s) {names}. Expected some of: {known}").format(
                    names=sorted(unknown), known=", ".join(SETTING)
                )
            )
        spec_values = {k: v for k, v in settings.items() if SETTING[k].owner == "spec"}
        run_values = {k: v for k, v in settings.items() if SETTING[k].owner == "run"}
        base = replace(base, **spec_values, augment=dict(base.augment) if augment else {})
        # A spec that is the named preset's own layers (the Train page's, when they were not edited)
        # keeps the preset's name; an edited or uploaded spec is "custom".
        same = preset in PRESETS and base.name == preset and PRESETS[preset].layers == base.layers
        label = preset if spec is None or same else "custom"
        return cls(task=task, data=data, spec=base, preset=label or "custom", name=name, drop=drop, **run_values)

    # ----- checking -------------------------------------------------------------------------

    def check(self) -> None:
        """Checks what every task shares: the texts, the data path and every setting's value.

        What differs between tasks (the data, the input, the model against it) is checked by the
        task: :func:`core.tasks.validate` runs this, then the task's own checks.

        Raises:
            InputError: the first problem, in words a person can act on.
        """
        if self.spec.task not in ("any", self.task):
            raise InputError(
                _("Preset {name} is made for --task {made_for}, not {task}.").format(
                    name=repr(self.spec.name), made_for=self.spec.task, task=self.task)
            )  # fmt: skip
        for key in ("preset", "name"):
            value = getattr(self, key)
            if not isinstance(value, str) or len(value) > MAX_TEXT:
                raise InputError(
                    _("Expected {key} to be text of at most {limit} characters.").format(key=key, limit=MAX_TEXT)
                )
        if self.data is not None and not isinstance(self.data, str):
            raise InputError(_("Expected data to be a path. Received: {value}").format(value=repr(self.data)))
        check_all(self.spec, SPEC_SETTINGS)
        check_all(self, RUN_SETTINGS)

    def check_held_out(self, held_out: float) -> None:
        """Refuses validation and test shares that leave less than MIN_TRAIN_SHARE of the data for training."""
        if held_out > 1 - MIN_TRAIN_SHARE:
            raise InputError(
                _("validation_fraction + test_fraction must leave at least {share} for training. Received: {held_out}").format(
                    share=percent(MIN_TRAIN_SHARE, 0), held_out=f"{held_out:g}")
            )  # fmt: skip

    def check_model(self, summary: ModelSummary) -> list[str]:
        """Refuses a model whose training does not fit this machine's memory; returns the summary's warnings."""
        check_fits(training_memory(summary, self.spec.batch_size, self.spec.optimizer))
        return summary.warnings

    def input_shape(self) -> tuple[int, int, int]:
        return self.spec.input_shape()

    def run_name(self) -> str:
        return self.name or (self.preset if self.preset != "custom" else self.spec.name) or "run"

    # ----- config.json ----------------------------------------------------------------------

    def to_dict(self) -> dict:
        out = {s.name: getattr(self, s.name) for s in RUN_SETTINGS}
        drop = {} if self.drop is None else {"drop": list(self.drop)}  # a table's left-out columns
        return {"task": self.task, "data": self.data, "preset": self.preset, "name": self.name,
                **out, **drop, "spec": self.spec.to_dict()}  # fmt: skip

    @classmethod
    def from_dict(cls, data: Any) -> TrainConfig:
        """Reads a run's ``config.json`` (other keys, such as what training learnt of the data, are ignored).

        Raises:
            InputError: missing or mistyped keys.
        """
        if not isinstance(data, dict) or not isinstance(data.get("spec"), dict):
            raise InputError(_("This run folder's config.json holds no training config (no 'spec')."))
        run_values = {s.name: data[s.name] for s in RUN_SETTINGS if s.name in data}
        return cls(task=data.get("task") or "images", data=data.get("data"), spec=ModelSpec.from_dict(data["spec"]),
                   preset=data.get("preset") or "custom", name=data.get("name") or "", drop=data.get("drop"),
                   **run_values)  # fmt: skip


RUN_SETTINGS: tuple[Setting, ...] = settings_of(TrainConfig, "run")
SETTINGS: tuple[Setting, ...] = SPEC_SETTINGS + RUN_SETTINGS
SETTING: dict[str, Setting] = {s.name: s for s in SETTINGS}


def presets_for(task: str) -> list[str]:
    """Preset names usable for a task, the project's fast recipes first."""
    names = [n for n, p in PRESETS.items() if p.task in (task, "any")]
    return sorted(names, key=lambda n: not n.endswith("-fast"))
