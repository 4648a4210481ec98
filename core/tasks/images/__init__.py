"""The image-folder task: a folder of class folders, a CNN, predictions with "I don't know".

- ``data``: check, split and decode a class-folder dataset.
- ``fit``: fit and test the model, calibrate "I don't know".
- ``evaluate``: a run's test split or another folder, and the metrics.
"""

from __future__ import annotations

import numpy as np

from core.base.i18n import N_
from core.base.storage import read_json
from core.data import folders
from core.runs.store import Run
from core.serving.inference import ModelInput, load_and_preprocess, predict_batch
from core.tasks.base import Task
from core.tasks.images import evaluate as evaluation
from core.tasks.images.fit import FitAndTest, fit_and_test
from core.training.config import TrainConfig
from core.training.data import PreparedData
from core.training.fit import Body


class ImageTask(Task):
    """Class folders of images: any size and colour, a test share or a ``test/`` folder."""

    name = "images"
    label = N_("Image folder")
    data_help = "FOLDER"
    augmentation = True
    sample_data = "folders"

    def check_input(self, cfg: TrainConfig) -> None:
        from core.training.augment import check_augment

        cfg.spec.augment = check_augment(cfg.spec.augment)

    def prepare_data(self, cfg: TrainConfig, log) -> PreparedData:
        """The run's arrays, split by its seed."""
        from core.tasks.images.data import prepare_folder

        return prepare_folder(cfg, log)

    def body(self, cfg: TrainConfig, fit: FitAndTest | None = None) -> Body:
        from core.base.storage import write_json_atomic

        def body(run: Run, result: dict) -> dict:
            run.update_status(phase="loading")
            data = self.prepare_data(cfg, run.log)
            for note in data.notes:
                run.log(f"note: {note}")
            if data.split:
                write_json_atomic(run.path / "split.json", data.split)
            return (fit or fit_and_test)(cfg, run, data, result)

        return body

    def evaluation_data(self, run: Run, data: str | None, spec: ModelInput):
        """x (N, S, S, C), one-hot y and class names to evaluate ``run`` on (its test split, or ``data``)."""
        return evaluation.folder_data(run, data, spec)

    def test_inputs(self, run: Run) -> np.ndarray:
        """(N, S, S, C) float32: the test split (MNIST's test set), prepared as for evaluation."""
        from core.tasks import model_input

        return self.evaluation_data(run, None, model_input(run))[0]

    def evaluate(self, run: Run, data: str | None) -> dict:
        from core.tasks import evaluate_run

        return evaluate_run(run, data).metrics

    def predict(self, run: Run, files: list[str], out: str | None) -> dict:
        from core.base.errors import InputError
        from core.base.i18n import _
        from core.tasks import model_input, serve

        if out:
            raise InputError(_("--out applies to a table run only. Received: run {run} of images.").format(run=run.id))
        spec = model_input(run)
        batch = np.stack([load_and_preprocess(f, spec) for f in files])  # every file checked before the model loads
        return {"predictions": predict_batch(serve(run), [str(f) for f in files], batch)}

    def reload_validation(self, run: Run):
        """The validation images listed in split.json (and up to ``ood.MAX_FIT`` training images)."""
        from core.serving.ood import MAX_FIT

        cfg = TrainConfig.from_dict(run.config())
        split = read_json(run.path / "split.json")
        if not split or not split.get("validation"):
            raise ValueError("split.json is missing or lists no validation images")
        size, mode = cfg.spec.image_size, cfg.spec.color_mode
        val = [str(f) for f, _label in split["validation"]]
        train = split.get("train") or []
        rng = np.random.default_rng(cfg.seed)
        if len(train) > MAX_FIT:
            train = [train[i] for i in np.sort(rng.choice(len(train), MAX_FIT, replace=False))]
        x_train = folders.load_image_arrays([str(f) for f, _label in train], size, mode) if train else None
        y_train = np.array([int(label) for _f, label in train]) if train else None
        return folders.load_image_arrays(val, size, mode), x_train, y_train
