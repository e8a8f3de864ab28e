"""Cross-entropy with integer labels and label smoothing, which Keras'
``SparseCategoricalCrossentropy`` lacks.

Registered serializable as ``recipes>SparseSmoothedCrossentropy``, the name it had
in ``recipes.models.fast_cifar``, so models saved before the move still load.
"""

import keras
from keras import ops

from recipes.checks import check_number


@keras.saving.register_keras_serializable(package="recipes")
class SparseSmoothedCrossentropy(keras.losses.Loss):
    """Cross-entropy with integer labels and label smoothing.

    Keras' ``SparseCategoricalCrossentropy`` has no ``label_smoothing``; this one
    one-hot encodes the labels and calls ``categorical_crossentropy``: the target
    is ``1 - label_smoothing`` on the true class plus ``label_smoothing / classes``
    on every class.

    Args:
        label_smoothing: in [0, 1).
        from_logits: ``y_pred`` holds logits (True) or probabilities.
        reduction: Keras loss reduction.
        name: name of the loss.

    Example:

    >>> loss = SparseSmoothedCrossentropy(label_smoothing=0.2)
    >>> float(loss(np.array([0]), np.array([[0.0, 0.0]])))
    0.693...
    """

    def __init__(
        self,
        label_smoothing=0.0,
        from_logits=True,
        reduction="sum_over_batch_size",
        name="sparse_smoothed_crossentropy",
    ):
        super().__init__(reduction=reduction, name=name)
        self.label_smoothing = check_number(
            "label_smoothing", label_smoothing, 0.0, 1.0, low_open=False
        )
        self.from_logits = bool(from_logits)

    def call(self, y_true, y_pred):
        labels = ops.reshape(ops.cast(y_true, "int32"), ops.shape(y_pred)[:-1])
        targets = ops.one_hot(labels, ops.shape(y_pred)[-1], dtype=y_pred.dtype)
        return keras.losses.categorical_crossentropy(
            targets, y_pred, from_logits=self.from_logits, label_smoothing=self.label_smoothing
        )

    def get_config(self):
        return {
            **super().get_config(),
            "label_smoothing": self.label_smoothing,
            "from_logits": self.from_logits,
        }
