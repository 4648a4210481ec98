"""Data for the pages: what the data folder holds, MNIST samples, and decoding uploads with notices."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import streamlit as st

from core.base.errors import InputError
from core.base.i18n import N_, _, language
from core.data import folders as datasets
from core.data import images
from core.data import mnist as mnist_files
from pages._session import session_id

WORK_MAX_SIDE = 512  # the Learn page works on images up to 512 px (fast enough to feel live)


def data_status() -> dict:
    """What the data folder holds: ``{"root", "mnist": [...], "folders": [...]}``."""
    return _data_status(str(datasets.data_dir().resolve()))


def warn_no_mnist(root: str) -> None:
    """Where MNIST is chosen but the data folder has no ``mnist.npz``: what to do about it."""
    st.warning(
        _("No `mnist.npz` in the data folder (`{root}`). Put one there (Keras key names x_train, y_train, "
          "x_test, y_test), or start anyway: training then tries Keras's download, which needs internet.").format(
            root=root),
        icon=":material/download:",
    )  # fmt: skip


def refresh_data_status() -> None:
    """Forgets the cached data-folder listing (after an import)."""
    _data_status.clear()


@st.cache_data(ttl=10, show_spinner=False)
def _data_status(root: str) -> dict:  # keyed by the folder so a changed $CNNLAB_DATA_DIR is seen
    found = datasets.list_datasets(root)
    mnist = mnist_files.find_mnist()
    if mnist is not None and str(mnist) not in found["mnist"]:
        found["mnist"].insert(0, str(mnist))
    return {"root": root, **found}


@st.cache_data(max_entries=16, show_spinner=False)
def _decode(
    data: bytes, max_side: int, lang: str, name: str, _session: str | None = None
) -> tuple[np.ndarray, list[str]]:
    # ``lang`` is part of the cache key: the notices are text in the session's language.
    budget = images.PixelBudget(images.MAX_PIXELS, N_("this image"), _session)
    source = io.BytesIO(data)
    source.name = name  # the core's messages then name the file
    return images.open_grayscale(source, max_side=max_side, budget=budget)


def load_upload(upload, max_side: int = WORK_MAX_SIDE) -> tuple[np.ndarray | None, list[str], str | None]:
    """Decodes a Streamlit upload (or camera photo) to a grayscale ``(H, W)`` array in [0, 1].

    Returns:
        ``(array, notices, error)``: on bad input the array is None and ``error`` says why.
    """
    name = getattr(upload, "name", None) or _("the image")
    try:
        arr, notices = _decode(upload.getvalue(), max_side, language(), name, session_id())
    except InputError as exc:
        return None, [], str(exc)
    return arr, notices, None


def mnist_test_digits(path: str) -> tuple[np.ndarray, np.ndarray]:
    """The MNIST test images ``(N, 28, 28)`` uint8 and labels ``(N,)``."""
    with st.spinner(_("Loading MNIST...")):
        return _mnist_test_digits(path)


@st.cache_data(show_spinner=False)
def _mnist_test_digits(path: str) -> tuple[np.ndarray, np.ndarray]:
    data = mnist_files.load_mnist_npz(path)
    return data.x_test, data.y_test


@st.cache_data(ttl=60, show_spinner=False)
def folder_samples(folder: str, per_class: int = 24) -> dict[str, list[str]]:
    """Up to ``per_class`` image paths per class of a dataset folder (not checked yet)."""
    return datasets.sample_files(folder, per_class)


def load_path(path: str, max_side: int = WORK_MAX_SIDE) -> tuple[np.ndarray | None, list[str], str | None]:
    """Like :func:`load_upload` for a file in the data folder."""
    try:
        data, _name = images.read_image_bytes(path)
        arr, notices = _decode(data, max_side, language(), Path(path).name, session_id())
    except (OSError, InputError) as exc:
        problem = str(exc)
        return None, [], problem if Path(path).name in problem else f"{Path(path).name}: {problem}"
    return arr, notices, None
