"""The MNIST CNN written by hand in low-level TensorFlow: no Keras anywhere.

Conv 32 5x5 same relu -> max-pool 2 -> Conv 64 5x5 same relu -> max-pool 2 -> flatten ->
Dense 1024 relu -> dropout 0.2 -> Dense 10 softmax; cross-entropy; Adam, learning rate 0.001.
Everything Keras does for you is written out here: the weights and their initial values,
each layer's maths, the loss, the gradients, Adam's update, batching, metrics, validation.
"""

from __future__ import annotations

import math

import tensorflow as tf

LEARNING_RATE = 0.001
DROPOUT_RATE = 0.2
# Weight shapes, in the order Keras's model.get_weights() lists them (kernels are HWIO).
SHAPES = [(5, 5, 1, 32), (32,), (5, 5, 32, 64), (64,), (7 * 7 * 64, 1024), (1024,), (1024, 10), (10,)]


def init_weights(seed: int) -> list[tf.Variable]:
    """Glorot-uniform kernels and zero biases (Keras's defaults)."""
    rng = tf.random.Generator.from_seed(seed)
    weights = []
    for shape in SHAPES:
        if len(shape) == 1:  # a bias
            weights.append(tf.Variable(tf.zeros(shape)))
            continue
        receptive = 1 if len(shape) == 2 else shape[0] * shape[1]  # 5x5 for a conv kernel
        fan_in, fan_out = receptive * shape[-2], receptive * shape[-1]
        limit = (6.0 / (fan_in + fan_out)) ** 0.5
        weights.append(tf.Variable(rng.uniform(shape, -limit, limit)))
    return weights


def forward(w: list[tf.Variable], x: tf.Tensor, training: bool = False) -> tf.Tensor:
    """Images (batch, 28, 28, 1) in [0, 1] -> logits (batch, 10); softmax makes them probabilities."""
    # bias_add rather than "+": TensorFlow then fuses convolution, bias and ReLU into one kernel
    h = tf.nn.relu(tf.nn.bias_add(tf.nn.conv2d(x, w[0], strides=1, padding="SAME"), w[1]))  # (batch, 28, 28, 32)
    h = tf.nn.max_pool2d(h, ksize=2, strides=2, padding="VALID")  # (batch, 14, 14, 32)
    h = tf.nn.relu(tf.nn.bias_add(tf.nn.conv2d(h, w[2], strides=1, padding="SAME"), w[3]))  # (batch, 14, 14, 64)
    h = tf.nn.max_pool2d(h, ksize=2, strides=2, padding="VALID")  # (batch, 7, 7, 64)
    h = tf.reshape(h, [-1, 7 * 7 * 64])  # (batch, 3136)
    h = tf.nn.relu(tf.nn.bias_add(tf.matmul(h, w[4]), w[5]))  # (batch, 1024)
    if training:  # drop 20% of the units, scale the others by 1 / 0.8
        h = tf.nn.dropout(h, rate=DROPOUT_RATE)
    return tf.nn.bias_add(tf.matmul(h, w[6]), w[7])  # (batch, 10)


def cross_entropy(logits: tf.Tensor, y: tf.Tensor) -> tf.Tensor:
    """Mean over the batch of -sum(y * log softmax(logits)); y is one-hot (batch, 10)."""
    return tf.reduce_mean(-tf.reduce_sum(y * tf.nn.log_softmax(logits), axis=1))


def accuracy(logits: tf.Tensor, y: tf.Tensor) -> tf.Tensor:
    return tf.reduce_mean(tf.cast(tf.argmax(logits, axis=1) == tf.argmax(y, axis=1), tf.float32))


class Adam:
    """Adam (Kingma and Ba, 2015) with Keras's defaults: a running mean of the gradients (m)
    and of their squares (v), with the bias of their zero start corrected in the step size."""

    def __init__(self, weights: list[tf.Variable], learning_rate: float = LEARNING_RATE,
                 beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-7):  # fmt: skip
        self.lr, self.beta_1, self.beta_2, self.epsilon = learning_rate, beta_1, beta_2, epsilon
        self.m = [tf.Variable(tf.zeros_like(w)) for w in weights]
        self.v = [tf.Variable(tf.zeros_like(w)) for w in weights]
        self.t = tf.Variable(0.0)

    def apply(self, weights: list[tf.Variable], grads: list[tf.Tensor]) -> None:
        self.t.assign_add(1.0)
        step = self.lr * tf.sqrt(1 - self.beta_2**self.t) / (1 - self.beta_1**self.t)
        for w, g, m, v in zip(weights, grads, self.m, self.v):
            m.assign_add((g - m) * (1 - self.beta_1))
            v.assign_add((tf.square(g) - v) * (1 - self.beta_2))
            w.assign_sub(step * m / (tf.sqrt(v) + self.epsilon))


def gradients(w: list[tf.Variable], x: tf.Tensor, y: tf.Tensor, training: bool = False):
    """The loss and its gradient with respect to every weight, by automatic differentiation."""
    with tf.GradientTape() as tape:
        logits = forward(w, x, training)
        loss = cross_entropy(logits, y)
    return loss, logits, tape.gradient(loss, w)


def evaluate(w: list[tf.Variable], x, y, batch_size: int = 1000) -> tuple[float, float]:
    """Mean loss and accuracy over a whole set, in batches (no dropout)."""
    total_loss = total_correct = 0.0
    for xb, yb in tf.data.Dataset.from_tensor_slices((x, y)).batch(batch_size):
        logits = _predict_logits(w, xb)
        n = float(len(xb))
        total_loss += float(cross_entropy(logits, yb)) * n
        total_correct += float(accuracy(logits, yb)) * n
    return total_loss / len(x), total_correct / len(x)


@tf.function
def _predict_logits(w, x):
    return forward(w, x, training=False)


def train(x_train, y_train, x_val, y_val, *, epochs: int = 1, batch_size: int = 128,
          max_batches: int | None = None, seed: int = 42, callbacks=None) -> list[tf.Variable]:  # fmt: skip
    """Trains from fresh weights and returns them.

    Args:
        x_train, y_train: float32 images (N, 28, 28, 1) and one-hot labels (N, 10); same for val.
        max_batches: stop each epoch after this many batches (a quick demo).
        callbacks: an object with Keras's callback methods (``on_epoch_begin``,
            ``on_train_batch_end``, ``on_epoch_end``); its ``model.stop_training`` asks to stop.
    """
    tf.random.set_seed(seed)  # dropout's random masks
    weights = init_weights(seed)
    optimizer = Adam(weights)

    @tf.function  # traced into a graph on the first batch (and again for the smaller last one)
    def train_step(x, y):
        loss, logits, grads = gradients(weights, x, y, training=True)
        optimizer.apply(weights, grads)
        return loss, accuracy(logits, y)

    batches = (tf.data.Dataset.from_tensor_slices((x_train, y_train))
               .shuffle(len(x_train), seed=seed, reshuffle_each_iteration=True)
               .batch(batch_size).prefetch(tf.data.AUTOTUNE))  # fmt: skip
    # Count the steps instead of running the pipeline dry: on a 2-core machine, reaching the end
    # of this shuffled pipeline often stalled for about 12 s (see bench/api_compare.py).
    steps = min(math.ceil(len(x_train) / batch_size), max_batches or math.inf)
    if callbacks:
        callbacks.on_train_begin()
    for epoch in range(epochs):
        if callbacks:
            callbacks.on_epoch_begin(epoch)
        seen = loss_sum = correct = 0.0
        batch_iterator = iter(batches)  # a new shuffle each epoch
        for step in range(steps):
            x, y = next(batch_iterator)
            loss, acc = train_step(x, y)
            n = float(len(x))  # the epoch's running means, as Keras reports them
            seen, loss_sum, correct = seen + n, loss_sum + float(loss) * n, correct + float(acc) * n
            if callbacks:
                callbacks.on_train_batch_end(step, {"loss": loss_sum / seen, "accuracy": correct / seen})
                if callbacks.model.stop_training:
                    break
        val_loss, val_acc = evaluate(weights, x_val, y_val)
        logs = {"loss": loss_sum / max(seen, 1), "accuracy": correct / max(seen, 1),
                "val_loss": val_loss, "val_accuracy": val_acc}  # fmt: skip
        if callbacks:
            callbacks.on_epoch_end(epoch, logs)
            if callbacks.model.stop_training:
                break
    return weights
