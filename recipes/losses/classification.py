"""Hinge losses of seed 002 for score (logit) outputs, and the matching accuracy.

Binary hinge, gold label ``y`` in {-1, 1} (or {0, 1}, read as ``2y - 1``), score ``w``:

    l(y, w) = max(0, m - y w)

Multiclass hinge (Crammer and Singer), gold class ``y``, class scores ``w``:

    l(y, w) = max(0, m - w_y + max_{j != y} w_j)

with margin ``m >= 0`` (``m = 1`` in the course). Both take raw scores: the model's
last layer has no activation, and a positive score predicts the positive class.

Example:

>>> import numpy as np
>>> keras.ops.convert_to_numpy(binary_hinge(np.array([[1.0], [-1.0]]),
...                                         np.array([[0.25], [0.5]])))
array([0.75, 1.5 ], dtype=float32)
"""

import keras
from keras import ops

from recipes.checks import check_non_negative


@keras.saving.register_keras_serializable(package="recipes")
def binary_hinge(y_true, y_pred, margin=1.0):
    """Binary hinge loss ``max(0, margin - y * score)``, one value per sample.

    Args:
        y_true: labels in {-1, 1} or {0, 1}; any label ``<= 0`` counts as the
            negative class, so 0/1 labels become ``2y - 1`` as in seed 002.
        y_pred: raw scores, same shape as ``y_true`` (a trailing axis of size 1 is
            added to ``y_true`` when it lacks it).
        margin: the margin ``m >= 0``.

    Returns:
        The loss averaged over the last axis: shape ``y_pred.shape[:-1]``.

    Example:

    >>> loss = binary_hinge(np.array([0.0, 1.0]), np.array([[-2.0], [0.5]]))
    >>> keras.ops.convert_to_numpy(loss)  # 0/1 labels: 0 is the negative class
    array([0. , 0.5], dtype=float32)
    """
    y_pred = ops.convert_to_tensor(y_pred)
    y_true = ops.cast(ops.convert_to_tensor(y_true), y_pred.dtype)
    if len(y_true.shape) == len(y_pred.shape) - 1:
        y_true = ops.expand_dims(y_true, -1)
    signs = ops.where(y_true > 0, 1.0, -1.0)
    return ops.mean(ops.relu(margin - ops.cast(signs, y_pred.dtype) * y_pred), axis=-1)


@keras.saving.register_keras_serializable(package="recipes")
def multiclass_hinge(y_true, y_pred, margin=1.0, sparse=True):
    """Multiclass hinge loss ``max(0, margin - w_y + max_{j != y} w_j)`` per sample.

    Args:
        y_true: integer class ids of shape ``(batch,)`` or ``(batch, 1)`` when
            ``sparse``, else one-hot rows of shape ``(batch, classes)``.
        y_pred: raw class scores ``(batch, classes)``.
        margin: the margin ``m >= 0``.
        sparse: whether ``y_true`` holds class ids (True) or one-hot rows.

    Returns:
        One loss per sample, shape ``(batch,)``.

    Example:

    >>> loss = multiclass_hinge(np.array([0]), np.array([[2.0, 1.5, -1.0]]))
    >>> keras.ops.convert_to_numpy(loss)  # 1 - 2.0 + 1.5
    array([0.5], dtype=float32)
    """
    y_pred = ops.convert_to_tensor(y_pred)
    num_classes = y_pred.shape[-1]
    if sparse:
        y_true = ops.reshape(ops.cast(y_true, "int32"), (-1,))
        one_hot = ops.one_hot(y_true, num_classes, dtype=y_pred.dtype)
    else:
        one_hot = ops.cast(y_true, y_pred.dtype)
    gold = ops.sum(one_hot * y_pred, axis=-1)
    lowest = ops.min(y_pred, axis=-1, keepdims=True)
    # Gold scores are replaced by the row minimum so they never win the max.
    best_other = ops.max(ops.where(one_hot > 0, lowest, y_pred), axis=-1)
    return ops.relu(margin - gold + best_other)


class _HingeBase(keras.losses.Loss):
    def __init__(self, margin=1.0, reduction="sum_over_batch_size", name=None, dtype=None):
        margin = check_non_negative("margin", margin)
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.margin = margin

    def get_config(self):
        return {**super().get_config(), "margin": self.margin}


@keras.saving.register_keras_serializable(package="recipes")
class BinaryHinge(_HingeBase):
    """Binary hinge loss of seed 002 for a single raw score; -1/1 or 0/1 labels.

    ``max(0, m - y w)`` with ``y`` in {-1, 1}; 0/1 labels are read as ``2y - 1``.
    It is the perceptron's loss in ``build_linear(kind="perceptron")``.

    Args:
        margin: the margin ``m >= 0`` (1 in the course; 0 gives the classic
            perceptron criterion, which stops at any separating hyperplane).
        reduction: Keras loss reduction.
        name: loss name.
        dtype: loss dtype.

    Example:

    >>> loss = BinaryHinge()
    >>> float(loss(np.array([1.0, -1.0]), np.array([[0.25], [0.5]])))
    1.125
    """

    def __init__(
        self, margin=1.0, reduction="sum_over_batch_size", name="binary_hinge", dtype=None
    ):
        super().__init__(margin=margin, reduction=reduction, name=name, dtype=dtype)

    def call(self, y_true, y_pred):
        return binary_hinge(y_true, y_pred, margin=self.margin)


@keras.saving.register_keras_serializable(package="recipes")
class MulticlassHinge(_HingeBase):
    """Multiclass hinge loss of seed 002 on raw class scores.

    ``max(0, m - w_y + max_{j != y} w_j)``: the gold score must beat the best
    other class by the margin ``m``.

    Args:
        margin: the margin ``m >= 0``.
        sparse: True for integer class ids, False for one-hot labels.
        reduction: Keras loss reduction.
        name: loss name.
        dtype: loss dtype.

    Example:

    >>> loss = MulticlassHinge(margin=1.0)
    >>> float(loss(np.array([0]), np.array([[2.0, 1.5, -1.0]])))
    0.5
    """

    def __init__(
        self,
        margin=1.0,
        sparse=True,
        reduction="sum_over_batch_size",
        name="multiclass_hinge",
        dtype=None,
    ):
        super().__init__(margin=margin, reduction=reduction, name=name, dtype=dtype)
        self.sparse = bool(sparse)

    def call(self, y_true, y_pred):
        return multiclass_hinge(y_true, y_pred, margin=self.margin, sparse=self.sparse)

    def get_config(self):
        return {**super().get_config(), "sparse": self.sparse}


@keras.saving.register_keras_serializable(package="recipes")
def sign_accuracy(y_true, y_pred):
    """Accuracy of a raw binary score: a score ``> 0`` predicts the positive class.

    Labels may be -1/1 or 0/1 (a label ``> 0`` is positive), which Keras's
    ``"accuracy"`` (it thresholds at 0.5 and compares with the label) gets wrong.

    Example:

    >>> hits = sign_accuracy(np.array([-1.0, 1.0]), np.array([[-0.3], [-0.1]]))
    >>> keras.ops.convert_to_numpy(hits)
    array([1., 0.], dtype=float32)
    """
    y_pred = ops.convert_to_tensor(y_pred)
    y_true = ops.convert_to_tensor(y_true)
    if len(y_true.shape) == len(y_pred.shape) - 1:
        y_true = ops.expand_dims(y_true, -1)
    hits = ops.equal(y_true > 0, y_pred > 0)
    return ops.mean(ops.cast(hits, y_pred.dtype), axis=-1)
