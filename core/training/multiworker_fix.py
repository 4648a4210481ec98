"""Two fixes that let Keras 3's ``model.fit`` run under ``MultiWorkerMirroredStrategy``.

Keras 3 (checked with 3.15 on TensorFlow 2.21) fails there before the first step
(keras-team/keras#20585, tensorflow/tensorflow#72388):

1. ``fit`` peeks at one batch to build the model and reduces it with ``strategy.reduce(..., axis=None)``,
   which a multi-worker strategy cannot do with a per-replica batch ("Attempt to convert a value
   (PerReplica...)"). The build only needs the batch's shapes, so the first replica's part is given.
2. The step's logs (loss and metrics, scalars) are averaged with ``strategy.reduce("MEAN", v, axis=0)``,
   which fails on a scalar ("Invalid reduction dimension 0 for input with 0 dimensions"); scalars are
   averaged over replicas with ``axis=None``, everything else goes to Keras as before.

Both apply only when the model's strategy is a multi-worker ``MultiWorkerMirroredStrategy``: other runs
never reach them. :func:`apply` is called once, when that strategy is created (core.training.distribute).
Delete this module when Keras fixes the issue.
"""

from __future__ import annotations

_APPLIED: list[bool] = []


def apply() -> None:
    """Patches Keras's TensorFlow trainer (idempotent).

    Raises:
        RuntimeError: this Keras no longer has the functions patched here (its internals changed):
            check whether it now runs multi-worker ``fit`` unpatched, then remove this module.
    """
    if _APPLIED:
        return
    import keras
    import tensorflow as tf
    from keras.src import tree
    from keras.src.backend.tensorflow import trainer as tf_trainer

    trainer_cls = getattr(tf_trainer, "TensorFlowTrainer", None)
    multi_worker = getattr(tf_trainer, "_collective_all_reduce_multi_worker", None)
    original_reduce = getattr(tf_trainer, "reduce_per_replica", None)
    original_build = getattr(trainer_cls, "_maybe_symbolic_build", None)
    if None in (multi_worker, original_reduce, original_build):
        raise RuntimeError(f"Keras {keras.__version__} changed the internals that core/training/multiworker_fix.py "
                           "patches for MultiWorkerMirroredStrategy; see that module.")  # fmt: skip

    def first_replica(value):
        if isinstance(value, tf.distribute.DistributedValues):
            return value.values[0]
        return value

    def maybe_symbolic_build(self, iterator=None, data_batch=None):
        if iterator is not None and multi_worker(self.distribute_strategy):
            for _, _, it in iterator:  # the same peek as Keras's, without the cross-worker reduce
                data_batch = tree.map_structure(first_replica, next(it))
                break
            iterator = None
        return original_build(self, iterator=iterator, data_batch=data_batch)

    def reduce_per_replica(values, strategy, reduction):
        if reduction in ("auto", "mean") and multi_worker(strategy):

            def mean(v):  # a scalar (a loss, a metric): the mean over every replica of every worker
                if first_replica(v).shape.rank == 0:
                    return strategy.reduce("MEAN", v, axis=None)
                return original_reduce(v, strategy, reduction)

            return tree.map_structure(mean, values)
        return original_reduce(values, strategy, reduction)

    trainer_cls._maybe_symbolic_build = maybe_symbolic_build
    tf_trainer.reduce_per_replica = reduce_per_replica
    _APPLIED.append(True)
