"""The MNIST CNN in Keras: the network as a list of layers, then ``compile`` and ``fit``.

Weights, initial values, the layers' maths, the loss, gradients, Adam, batching, shuffling,
metrics, validation and the progress callbacks all come from Keras.
"""

from __future__ import annotations

import keras
from keras import layers

LEARNING_RATE = 0.001


def build_model() -> keras.Model:
    """The network, with the Functional API: (batch, 28, 28, 1) -> 10 class probabilities."""
    inputs = keras.Input(shape=(28, 28, 1))
    x = layers.Conv2D(32, 5, padding="same", activation="relu")(inputs)  # (batch, 28, 28, 32)
    x = layers.MaxPooling2D(2)(x)  # (batch, 14, 14, 32)
    x = layers.Conv2D(64, 5, padding="same", activation="relu")(x)  # (batch, 14, 14, 64)
    x = layers.MaxPooling2D(2)(x)  # (batch, 7, 7, 64)
    x = layers.Flatten()(x)  # (batch, 3136)
    x = layers.Dense(1024, activation="relu")(x)
    x = layers.Dropout(0.2)(x)
    outputs = layers.Dense(10, activation="softmax")(x)
    return keras.Model(inputs, outputs, name="mnist_keras")


def compile_model(model: keras.Model, jit_compile: bool = False) -> keras.Model:
    """Adam and cross-entropy; ``jit_compile=True`` has XLA compile each training step."""
    model.compile(optimizer=keras.optimizers.Adam(LEARNING_RATE), loss="categorical_crossentropy",
                  metrics=[keras.metrics.CategoricalAccuracy(name="accuracy")], jit_compile=jit_compile)  # fmt: skip
    return model


def train(x_train, y_train, x_val, y_val, *, epochs: int = 1, batch_size: int = 128,
          max_batches: int | None = None, seed: int = 42, callbacks=(), jit_compile: bool = False) -> keras.Model:  # fmt: skip
    """Trains a fresh model and returns it (arguments as in ``lowlevel.train``)."""
    keras.utils.set_random_seed(seed)
    model = compile_model(build_model(), jit_compile)
    model.fit(x_train, y_train, batch_size=batch_size, epochs=epochs, steps_per_epoch=max_batches,
              validation_data=(x_val, y_val), callbacks=list(callbacks), verbose=0)  # fmt: skip
    return model
