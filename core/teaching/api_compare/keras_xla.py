"""The same Keras network and ``fit``, with each training step compiled by XLA.

XLA fuses the step's operations into one compiled program instead of running TensorFlow's
kernels one by one. Everything else is ``keras_fit``: the difference is one argument.
"""

from __future__ import annotations

import keras

from core.teaching.api_compare import keras_fit


def train(x_train, y_train, x_val, y_val, **options) -> keras.Model:
    """Trains a fresh model with ``jit_compile=True`` (options as in ``keras_fit.train``)."""
    return keras_fit.train(x_train, y_train, x_val, y_val, jit_compile=True, **options)
