"""How a sliding window (a convolution, a pooling) sizes its output: Keras's rules, by arithmetic."""

from __future__ import annotations

import math

from core.base.errors import InputError
from core.base.i18n import _

PADDINGS = ("valid", "same")


def check_padding(padding: str) -> str:
    if padding not in PADDINGS:
        raise InputError(_("Expected padding 'valid' or 'same'. Received: padding={value}").format(value=repr(padding)))
    return padding


def output_size(n: int, k: int, stride: int, padding: str) -> int:
    """Output length along one axis, Keras's rule: valid ``floor((n-k)/s)+1``, same ``ceil(n/s)``.

    Returns 0 when a "valid" window does not fit (``k > n``).
    """
    check_padding(padding)
    if padding == "same":
        return math.ceil(n / stride)
    return max((n - k) // stride + 1, 0)


def same_padding(n: int, k: int, stride: int) -> tuple[int, int]:
    """TF's "same" padding along one axis: ``(before, after)``; the odd extra goes after."""
    total = max((math.ceil(n / stride) - 1) * stride + k - n, 0)
    return total // 2, total - total // 2
