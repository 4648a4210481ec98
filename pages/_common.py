"""Streamlit helpers shared by the pages: data status, image loading with notices.

Pages stay thin: they read widgets, call ``core`` and render. Anything that computes lives
in ``core``; this module only adapts it to Streamlit (caching, messages).
"""

from __future__ import annotations

import contextlib
import threading
from pathlib import Path

import numpy as np
import streamlit as st
from PIL import Image

from core import datasets, images
from core.errors import InputError
from core.runs import ACTIVE_STATES, RunStore

WORK_MAX_SIDE = 512  # the Learn page works on images up to 512 px (fast enough to feel live)


def app_icon() -> Image.Image:
    """A 32x32 favicon: a 3x3 kernel grid in the theme's blue."""
    icon = np.full((32, 32, 3), 255, np.uint8)
    for i in range(3):
        for j in range(3):
            shade = (31, 95, 214) if (i + j) % 2 == 0 else (140, 175, 235)
            icon[2 + i * 10 : 10 + i * 10, 2 + j * 10 : 10 + j * 10] = shade
    return Image.fromarray(icon)


_ROUTED = threading.local()  # set while streamlit_app.py runs a page (same thread, same run)


@contextlib.contextmanager
def routed():
    """Marks the page run by the router (``with routed(): page.run()``)."""
    _ROUTED.on = True
    try:
        yield
    finally:
        _ROUTED.on = False


def ensure_router() -> None:
    """Makes sure a page runs under ``streamlit_app.py``'s ``st.navigation``; call it first.

    Why: with a ``pages/`` folder, a fresh Streamlit server starts in its legacy multipage
    mode, so the first visitor opening a page URL (``/learn``) would get that file run on
    its own: no router, no sidebar, every ``pages/*.py`` listed as a page. Turning the
    legacy flag off and rerunning sends the run through the router instead.
    """
    from streamlit.runtime.pages_manager import PagesManager

    if not getattr(_ROUTED, "on", False) and PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


def data_status() -> dict:
    """What the data folder holds: ``{"root", "mnist": [...], "folders": [...]}``."""
    return _data_status(str(datasets.data_dir().resolve()))


def refresh_data_status() -> None:
    """Forgets the cached data-folder listing (after an import)."""
    _data_status.clear()


@st.cache_data(ttl=10, show_spinner=False)
def _data_status(root: str) -> dict:  # keyed by the folder so a changed $CNNLAB_DATA_DIR is seen
    found = datasets.list_datasets(root)
    mnist = datasets.find_mnist()
    if mnist is not None and str(mnist) not in found["mnist"]:
        found["mnist"].insert(0, str(mnist))
    return {"root": root, **found}


def active_runs() -> list[dict]:
    """Runs that are queued or running now (any session's), newest first."""
    return _active_runs(str(RunStore().root.resolve()))


@st.cache_data(ttl=1, show_spinner=False)  # many sessions poll; one listing per second serves all
def _active_runs(root: str) -> list[dict]:
    try:
        runs = RunStore(root).list()
        return [r.summary() | {"progress": r.status()} for r in runs if r.status().get("status") in ACTIVE_STATES]
    except OSError:  # an unreadable runs folder must not break every page
        return []


def render_sidebar_status() -> None:
    """The sidebar block every page shows: datasets found and what is training now."""
    status = data_status()
    with st.sidebar:
        st.markdown("**Data folder**")
        lines = [f"MNIST: `{Path(p).name}`" for p in status["mnist"][:1]]
        lines += [f"Images: `{Path(p).name}`" for p in status["folders"]]
        if lines:
            st.caption("  \n".join(lines))
        else:
            st.caption(
                f"No datasets in `{status['root']}` yet. The Learn page works without data; see Home for how to add some."
            )
        st.markdown("**Training now**")
        training_now()


@st.fragment(run_every=3.0)
def training_now() -> None:
    """Queued and running jobs of every session, refreshed every 3 s on every page."""
    runs = active_runs()
    if not runs:
        st.caption("Nothing is training.")
    for run in runs:
        p = run["progress"]
        done, total = p.get("epoch"), p.get("epochs")
        where = f"epoch {done}/{total}" if done is not None and total else run["status"]
        st.caption(f"`{run['run_id']}`: {where}")


@st.cache_data(max_entries=16, show_spinner=False)
def _decode(data: bytes, max_side: int) -> tuple[np.ndarray, list[str]]:
    img, info = images.open_image(data)
    notices = []
    if info.frames > 1:
        notices.append(f"Animated {info.format} with {info.frames} frames: showing the first frame.")
    if info.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        notices.append(
            f"{info.mode} ({'16-bit' if '16' in info.mode else '32-bit'}) image: rescaled to 0..255 by its own range."
        )
    if "A" in info.mode or "transparency" in img.info:
        notices.append("Transparent image: transparent areas are shown on white.")
    if info.mode not in ("L", "LA", "1", "F") and not info.mode.startswith("I"):
        notices.append(f"{info.mode} image converted to grayscale (one channel keeps the arithmetic readable).")
    img, shrunk = images.downscale(img, max_side)
    if shrunk:
        notices.append(
            f"Large image ({info.width}x{info.height}) downscaled to {img.size[0]}x{img.size[1]} to stay live."
        )
    return images.to_array(img, "grayscale"), notices


def load_upload(upload, max_side: int = WORK_MAX_SIDE) -> tuple[np.ndarray | None, list[str], str | None]:
    """Decodes a Streamlit upload (or camera photo) to a grayscale ``(H, W)`` array in [0, 1].

    Returns:
        ``(array, notices, error)``: on bad input the array is None and ``error`` says why.
    """
    data = upload.getvalue()
    try:
        arr, notices = _decode(data, max_side)
    except InputError as exc:
        name = getattr(upload, "name", "The file")
        return None, [], str(exc).replace("the image", name, 1)
    return arr, notices, None


@st.cache_data(show_spinner="Loading MNIST...")
def mnist_test_digits(path: str) -> tuple[np.ndarray, np.ndarray]:
    """The MNIST test images ``(N, 28, 28)`` uint8 and labels ``(N,)``."""
    data = datasets.load_mnist_npz(path)
    return data.x_test, data.y_test


@st.cache_data(ttl=60, show_spinner=False)
def folder_samples(folder: str, per_class: int = 24) -> dict[str, list[str]]:
    """Up to ``per_class`` image paths per class of a dataset folder (not checked yet)."""
    base = Path(folder) / "train" if (Path(folder) / "train").is_dir() else Path(folder)
    out = {}
    for class_dir in sorted(p for p in base.iterdir() if p.is_dir()):
        files = sorted(p for p in class_dir.iterdir() if p.suffix.lower() in images.IMAGE_EXTENSIONS)
        if files:
            out[class_dir.name] = [str(p) for p in files[:per_class]]
    return out


def load_path(path: str, max_side: int = WORK_MAX_SIDE) -> tuple[np.ndarray | None, list[str], str | None]:
    """Like :func:`load_upload` for a file in the data folder."""
    try:
        data = Path(path).read_bytes()
        arr, notices = _decode(data, max_side)
    except (OSError, InputError) as exc:
        return None, [], f"{Path(path).name}: {exc}"
    return arr, notices, None


STATUS_ICONS = {
    "queued": ":material/hourglass_top:",
    "running": ":material/autorenew:",
    "completed": ":material/check_circle:",
    "stopped": ":material/stop_circle:",
    "failed": ":material/error:",
    "interrupted": ":material/warning:",
}


def early_stop_epoch(status: dict) -> int | None:
    """The epoch where early stopping fired: the run completed before its last epoch."""
    done, total = status.get("epochs_done"), status.get("epochs")
    if status.get("status") == "completed" and done and total and done < total and not status.get("stop_reason"):
        return int(done)
    return None


def render_run_progress(run, queue_pos: int | None = None) -> None:
    """Status, progress bar with ETA, live curves and log of one run (for a fragment)."""
    from core import plots

    st_ = run.status()
    state = st_.get("status", "unknown")
    icon = STATUS_ICONS.get(state, ":material/help:")
    if state == "queued":
        where = f"number {queue_pos} in the queue" if queue_pos else "starting"
        st.info(f"**{run.id}** is waiting: {where}.", icon=icon)
    elif state == "running" and not st_.get("epoch"):
        st.info(f"**{run.id}** is loading its data and building the model...", icon=icon)
    elif state == "running":
        epoch, epochs = st_.get("epoch") or 0, st_.get("epochs") or 1
        batch, steps = st_.get("batch") or 0, st_.get("steps_per_epoch") or 1
        frac = min(((epoch - 1) + batch / steps) / epochs, 1.0) if epoch else 0.0
        elapsed = st_.get("elapsed") or 0.0
        eta = f", about {elapsed / frac * (1 - frac):,.0f} s left" if frac > 0.02 else ""
        st.progress(frac, f"Epoch {epoch}/{epochs}, batch {batch}/{steps}: {elapsed:,.0f} s{eta}")
    elif state in ("failed", "interrupted"):
        st.error(f"**{run.id}** {state}: {st_.get('error') or 'no reason recorded'}", icon=icon)
    else:
        metrics = run.metrics() or {}
        acc = metrics.get("accuracy")
        best = st_.get("best_epoch")
        st.success(
            f"**{run.id}** {state}"
            + (f": test accuracy **{acc:.2%}**" if acc is not None else "")
            + (f", best epoch {best}" if best else "")
            + (f", early stopping at epoch {early_stop_epoch(st_)}" if early_stop_epoch(st_) else "")
            + (f" ({st_.get('stop_reason')})" if st_.get("stop_reason") else ""),
            icon=icon,
        )
        if state in ("completed", "stopped"):
            c1, c2 = st.columns(2)
            c1.page_link("pages/curves.py", label="Compare on Learning curves", icon=":material/show_chart:")
            c2.page_link("pages/predict.py", label="Try it on Predict", icon=":material/draw:")
    history = run.history()
    batches = run.batches()
    if history or batches:
        curve = plots.Curve(run.id, history, st_.get("best_epoch"), early_stop_epoch(st_))
        c1, c2 = st.columns(2)
        if history:
            c1.plotly_chart(plots.curves_figure([curve], "loss"), key=f"loss_{run.id}")
            c2.plotly_chart(plots.curves_figure([curve], "accuracy"), key=f"acc_{run.id}")
        if batches:
            fig = plots.curves_figure([plots.Curve(run.id, batches)], "loss", smoothing=0.6, x="step")
            fig.update_layout(title="Running loss, every few batches", height=260)
            st.plotly_chart(fig, key=f"batch_{run.id}")
    log = run.log_path
    if log.exists():
        with st.expander("Log"):
            st.code(log.read_text(encoding="utf-8", errors="replace")[-4000:] or "(empty)", language="text")


def usable_runs() -> list:
    """Runs with a checkpoint that finished, stopped or were interrupted, newest first."""
    out = []
    for run in RunStore().list():
        if run.status().get("status") in ("completed", "stopped", "interrupted") and run.checkpoint() is not None:
            if run.config().get("class_names"):
                out.append(run)
    return out


def served_model(run_path: str):
    """The run's model, loaded once per server and shared by every session.

    Keyed by the checkpoint's modification time, so a retrained or replaced checkpoint
    is picked up. Raises InputError when the checkpoint is gone or cannot be loaded.
    """
    from core.runs import Run

    run = Run(run_path)
    ckpt = run.checkpoint()
    if ckpt is None:
        raise InputError(f"Run {run.id} has no checkpoint any more (best.keras was deleted?).")
    return _served(run_path, ckpt.stat().st_mtime)


@st.cache_resource(max_entries=8, show_spinner="Loading the model...")
def _served(run_path: str, mtime: float):
    from core.inference import serve
    from core.runs import Run

    return serve(Run(run_path))
