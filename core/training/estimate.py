"""A rough seconds-per-epoch estimate from multiply-adds (not a timing: the UI says so)."""

from __future__ import annotations

import math

# Calibrated on this project's 2-core CPU reference machine (mnist-fast: 2.6 M multiply-adds
# per image, ~11 s per epoch of 54,000 images; orientation-fast: 48 M, ~3.8 s per 840).
MACS_PER_SECOND = 35e9  # forward + backward counted as 3x the forward multiply-adds
SECONDS_PER_BATCH = 0.004  # fixed cost of a training step (Python, optimizer, callbacks)


def estimate_epoch_seconds(macs_per_image: int, n_train: int, batch_size: int) -> float:
    """Seconds for one epoch of ``n_train`` images at ``macs_per_image`` forward multiply-adds."""
    batches = math.ceil(n_train / max(batch_size, 1))
    return n_train * macs_per_image * 3 / MACS_PER_SECOND + batches * SECONDS_PER_BATCH
