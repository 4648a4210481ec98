"""Arrays ready for ``fit``: what an image task's data preparation hands the trainer."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class PreparedData:
    """Arrays ready for ``fit``: x float32 (N, H, W, C) in [0, 1], y one-hot (N, K)."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: list[str]
    source: str
    split: dict = field(default_factory=dict)  # file lists for image folders
    skipped: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what was done to make the data usable

    def facts(self) -> dict:
        """What training learnt of the data, for config.json."""
        return {"class_names": self.class_names, "data_source": self.source, "n_train": len(self.y_train),
                "n_val": len(self.y_val), "n_test": len(self.y_test), "skipped_files": self.skipped}  # fmt: skip


def one_hot(labels: np.ndarray, k: int) -> np.ndarray:
    """Class indices (N,) -> float32 one-hot rows (N, k)."""
    return np.eye(k, dtype=np.float32)[np.asarray(labels, dtype=int)]
