"""How much memory training a model needs, from its summary, and whether this machine has it.

Counted (float32, 4 bytes a value): the weights; for trainable weights their gradients and
the optimizer's slots (Adam keeps two moments, SGD with momentum and RMSprop one); and one
batch of activations, kept on the way forward and matched by their gradients on the way
back. Framework overhead and the dataset are not counted, so the real need is higher:
models are refused above a fraction of the machine's memory, not at 100%.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

from core.base.errors import InputError
from core.base.i18n import _, number
from core.models.summary import ModelSummary

BYTES = 4  # float32
OPTIMIZER_SLOTS = {"adam": 2, "adamw": 2, "sgd": 1, "rmsprop": 1}
USABLE_FRACTION = 0.6  # of the machine's memory, for one training (the app and the data need the rest)


@dataclass(frozen=True)
class MemoryEstimate:
    weights: int
    training_state: int  # gradients and optimizer slots
    activations: int  # one batch, forward and backward

    @property
    def total(self) -> int:
        return self.weights + self.training_state + self.activations


def training_memory(summary: ModelSummary, batch_size: int, optimizer: str) -> MemoryEstimate:
    """Bytes needed to train the summarised model with batches of ``batch_size``."""
    slots = OPTIMIZER_SLOTS.get(optimizer, 2)
    values = math.prod(summary.input_shape) + sum(math.prod(r.output_shape) for r in summary.layers)
    return MemoryEstimate(
        weights=summary.total_params * BYTES,
        training_state=summary.trainable_params * (1 + slots) * BYTES,
        activations=values * batch_size * 2 * BYTES,
    )


def machine_memory() -> int:
    """Bytes of memory this process may use: the machine's, or its container's limit if lower."""
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    for limit_file in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            text = Path(limit_file).read_text().strip()
        except OSError:
            continue
        if text.isdigit():
            total = min(total, int(text))
    return total


def check_fits(estimate: MemoryEstimate, available: int | None = None) -> None:
    """Refuses a model that will not fit, saying how much it would need.

    Raises:
        InputError: "Training this model needs about 17.6 GB ..., more than the 14.4 GB ...".
    """
    available = machine_memory() if available is None else available
    budget = available * USABLE_FRACTION
    if estimate.total > budget:
        gb = 1024**3
        raise InputError(
            _("Training this model needs about {total} GB of memory (weights {weights} GB, gradients and optimizer "
              "state {state} GB, one batch of activations {activations} GB), more than the {budget} GB one training "
              "may use on this machine ({available} GB). Use fewer filters or units, a smaller image size, more "
              "pooling or a smaller batch.").format(
                total=number(estimate.total / gb, 1), weights=number(estimate.weights / gb, 1),
                state=number(estimate.training_state / gb, 1), activations=number(estimate.activations / gb, 1),
                budget=number(budget / gb, 1), available=number(available / gb, 0))
        )  # fmt: skip
