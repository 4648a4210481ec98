"""The seeded split of a table's rows into training, validation and test rows."""

from __future__ import annotations

import numpy as np

from core.base.errors import InputError
from core.base.i18n import _, number


def split_rows(n: int, seed: int, validation: float, test: float) -> dict[str, np.ndarray]:
    """Deterministic train / validation / test row indices for ``n`` rows.

    The same (n, seed, fractions) always give the same split; the three parts are disjoint,
    sorted and cover ``range(n)``. A part asked for (fraction > 0) gets at least one row.

    Args:
        n: number of rows.
        seed: the run's seed.
        validation: fraction of rows for validation, in [0, 1).
        test: fraction of rows for the test, in [0, 1); validation + test < 1.

    Returns:
        ``{"train": (n_train,), "validation": (n_val,), "test": (n_test,)}`` int64 indices.

    Raises:
        InputError: fractions out of range, or too few rows to give each part a row.
    """
    if not (0 <= validation < 1 and 0 <= test < 1 and validation + test < 1):
        raise InputError(
            _("Expected validation and test fractions in [0, 1) adding up to less than 1. "
              "Received: validation={validation}, test={test}").format(validation=validation, test=test)
        )  # fmt: skip
    n_val = max(1, round(n * validation)) if validation > 0 else 0
    n_test = max(1, round(n * test)) if test > 0 else 0
    if n - n_val - n_test < 1:
        raise InputError(
            _("{n} rows are too few to split into training, validation and test rows.").format(n=number(n))
        )
    order = np.random.default_rng(seed).permutation(n)  # (n,)
    return {
        "train": np.sort(order[n_val + n_test :]).astype(np.int64),
        "validation": np.sort(order[:n_val]).astype(np.int64),
        "test": np.sort(order[n_val : n_val + n_test]).astype(np.int64),
    }
