"""What a step's view needs from this machine, found or said in words.

A deck opens on any machine; a step whose data or model is absent shows what is missing and the
talk goes on. These functions find an image, a model or runs for a view, or return the message.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from core.base.errors import InputError
from core.base.i18n import _
from core.data.folders import data_dir, sample_files
from core.data.mnist import find_mnist
from core.models.presets import PRESETS
from core.runs.store import ACTIVE_STATES, Run, RunStore
from core.serving.default_model import default_run
from core.talk.views import ImageRef, View

FINISHED = ("completed", "stopped")  # runs whose checkpoint a view may use


@dataclass(frozen=True)
class Found:
    """An image found: a file (``path``), or an MNIST test digit (``mnist`` and ``index``)."""

    ref: ImageRef
    path: str = ""  # a sample's file; the npz for MNIST
    folder: str = ""  # the class folder's dataset, as the data folder lists it


def find_image(ref: ImageRef, root: str | Path | None = None) -> Found | str:
    """The file of an image reference, or why it cannot be shown here."""
    root = Path(root) if root is not None else data_dir()
    if ref.kind == "card":
        return Found(ref)
    if ref.kind == "mnist":
        path = find_mnist()
        if path is None:
            return _("This step shows MNIST test digit {i}, and this machine has no mnist.npz in the data folder "
                     "({root}). The README says where to get it.").format(i=ref.index, root=root)  # fmt: skip
        return Found(ref, str(path))
    folder = root / ref.folder
    if not folder.is_dir():
        return _("This step shows an image of the folder {folder}, which is not in the data folder ({root}) on this "
                 "machine. The README says where to get it.").format(folder=ref.folder, root=root)  # fmt: skip
    samples = sample_files(folder).get(ref.cls, [])
    if not samples:
        return _("The folder {folder} has no class {cls} with images.").format(folder=ref.folder, cls=ref.cls)
    if ref.index >= len(samples):
        return _("The class {cls} of {folder} has {n} images; this step shows number {i}.").format(
            cls=ref.cls, folder=ref.folder, n=len(samples), i=ref.index)  # fmt: skip
    return Found(ref, samples[ref.index], str(folder))


def runs_of(preset: str, runs_dir: str | Path | None = None, active: bool = True) -> list[Run]:
    """The runs of a preset, newest first: finished ones (and, with ``active``, queued or running ones)."""
    states = FINISHED + (ACTIVE_STATES if active else ())
    out = []
    for run in RunStore(runs_dir).list(mark_interrupted=False):
        config = run.config()
        if config.get("preset") == preset and not config.get("challenge") and run.status().get("status") in states:
            out.append(run)
    return sorted(out, key=lambda r: r.id, reverse=True)  # ids start with the creation time


def find_model(ref: str, runs_dir: str | Path | None = None) -> Run | str:
    """A predict view's model: the shipped one, a preset's newest finished run with a checkpoint, or a run id."""
    if ref == "shipped":
        return default_run() or _("The shipped MNIST model is missing from this copy of the app.")
    if ref not in PRESETS:  # a run id
        try:
            run = RunStore(runs_dir).get(ref)
        except InputError:
            run = None
        if run is None or run.checkpoint() is None:
            return _("This step uses the run {run}, which is not on this machine.").format(run=ref)
        return run
    for run in runs_of(ref, runs_dir, active=False):
        if run.checkpoint() is not None:
            return run
    return _("This step uses a trained {preset} model, and there is none yet: train one (a step of this talk may "
             "do it), then come back.").format(preset=ref)  # fmt: skip


def find_curves(view: View, runs_dir: str | Path | None = None) -> list[Run] | str:
    """A curves or train view's runs: the named run, or the preset's newest (running, or finished) run."""
    if view.get("run"):
        try:
            return [RunStore(runs_dir).get(view.get("run"))]
        except InputError:
            return _("This step shows the run {run}, which is not on this machine.").format(run=view.get("run"))
    runs = runs_of(view.get("preset"), runs_dir)
    if not runs:
        return _("No run of {preset} yet: its curves appear here once the presenter trains it.").format(
            preset=view.get("preset"))  # fmt: skip
    return runs[:1]


def missing(view: View, root: str | Path | None = None) -> str | None:
    """What the view needs and this machine lacks (data, a trained model), in words; None when nothing is missing."""
    root = Path(root) if root is not None else data_dir()
    image = view.get("image")
    if isinstance(image, ImageRef):
        found = find_image(image, root)
        if isinstance(found, str):
            return found
    if view.kind == "predict":
        model = find_model(view.get("model"))
        if isinstance(model, str):
            return model
        digits = model.config().get("task") == "mnist"
        if digits != (image.kind == "mnist"):  # Predict's samples: MNIST test digits, or a dataset's images
            return _("This step shows {image} to a model of {task} images: give it an image of that kind.").format(
                image=image, task=_("MNIST") if digits else _("dataset"))  # fmt: skip
    data = view.get("data")
    if view.kind in ("train", "layers") and data:
        if data == "mnist":
            return None  # Keras's download is the offline message's job, on Train
        if not (root / data).is_dir():
            return _("This step trains on the folder {folder}, which is not in the data folder ({root}) on this "
                     "machine. The README says where to get it.").format(folder=data, root=root)  # fmt: skip
    return None
