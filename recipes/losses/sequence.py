"""Losses and metrics for token sequences padded with id 0 (``PAD``): the
cross-entropy, accuracy and perplexity of the real tokens only, and the exact
match of generated sequences.

Plain ``accuracy`` on padded targets counts every easy padding position as a hit;
these leave the padding out.

Example:

>>> model.compile("adam", loss=sequence_loss(), metrics=[MaskedTokenAccuracy()])
"""

import keras
import numpy as np
from keras import ops

from recipes.checks import check_positive_int


def sequence_loss(pad_id=0):
    """Sparse categorical cross-entropy that ignores the ``pad_id`` targets.

    Example:

    >>> sequence_loss().ignore_class
    0
    """
    return keras.losses.SparseCategoricalCrossentropy(ignore_class=pad_id)


@keras.saving.register_keras_serializable(package="recipes")
class MaskedTokenAccuracy(keras.metrics.Metric):
    """Token accuracy that skips the padding positions of the targets.

    Counts only the positions whose target is not ``ignore_class``, whatever the
    shape of the targets (``(batch, steps)`` tokens, ``(batch,)`` labels).

    Args:
        ignore_class: the target id to skip (``PAD``, 0; -1 for the unlabelled
            samples of ``recipes.models.dann``).
        name: metric name.
        dtype: metric dtype.

    Example:

    >>> metric = MaskedTokenAccuracy(ignore_class=0)
    >>> metric.update_state([[3, 4, 0]], one_hot([[3, 9, 5]]))
    >>> float(metric.result())  # 1 of the 2 real tokens
    0.5
    """

    def __init__(self, ignore_class=0, name="token_accuracy", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.ignore_class = check_positive_int("ignore_class", ignore_class, minimum=-1)
        self.correct = self.add_variable((), initializer="zeros", name="correct")
        self.total = self.add_variable((), initializer="zeros", name="total")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = ops.reshape(ops.cast(y_true, "int32"), (-1,))
        y_pred = ops.reshape(y_pred, (-1, ops.shape(y_pred)[-1]))
        predicted = ops.cast(ops.argmax(y_pred, axis=-1), "int32")
        keep = ops.cast(ops.not_equal(y_true, self.ignore_class), self.dtype)
        if sample_weight is not None:
            keep = keep * ops.reshape(ops.cast(sample_weight, self.dtype), (-1,))
        hits = ops.cast(ops.equal(predicted, y_true), self.dtype) * keep
        self.correct.assign_add(ops.sum(hits))
        self.total.assign_add(ops.sum(keep))

    def result(self):
        return ops.divide_no_nan(self.correct, self.total)

    def reset_state(self):
        self.correct.assign(0.0)
        self.total.assign(0.0)

    def get_config(self):
        return {**super().get_config(), "ignore_class": self.ignore_class}


@keras.saving.register_keras_serializable(package="recipes")
class Perplexity(keras.metrics.Metric):
    """Perplexity, ``exp`` of the mean cross-entropy per predicted token.

    A model that spreads its probability evenly over ``V`` words has perplexity
    ``V``; a perfect model has 1. Targets equal to ``ignore_class`` (padding)
    are left out.

    Args:
        ignore_class: the target id to leave out (``None``: keep all).
        name: metric name.
        **kwargs: ``Metric`` arguments (``dtype``).

    Example:

    >>> metric = Perplexity()
    >>> metric.update_state(np.array([[1, 0]]), np.full((1, 2, 4), 0.25))
    >>> float(metric.result())  # uniform over 4 words
    4.0
    """

    def __init__(self, ignore_class=0, name="perplexity", **kwargs):
        super().__init__(name=name, **kwargs)
        self.ignore_class = ignore_class
        self.total = self.add_variable(shape=(), initializer="zeros", name="total")
        self.count = self.add_variable(shape=(), initializer="zeros", name="count")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = ops.cast(y_true, "int32")
        y_pred = ops.convert_to_tensor(y_pred)
        losses = keras.losses.sparse_categorical_crossentropy(y_true, y_pred)
        weights = ops.ones_like(losses)
        if self.ignore_class is not None:
            weights = weights * ops.cast(ops.not_equal(y_true, self.ignore_class), losses.dtype)
        if sample_weight is not None:
            weights = weights * ops.cast(
                ops.broadcast_to(sample_weight, ops.shape(weights)), losses.dtype
            )
        self.total.assign_add(ops.cast(ops.sum(losses * weights), self.dtype))
        self.count.assign_add(ops.cast(ops.sum(weights), self.dtype))

    def result(self):
        return ops.exp(ops.divide_no_nan(self.total, self.count))

    def get_config(self):
        return {**super().get_config(), "ignore_class": self.ignore_class}


def exact_match(predicted, targets, end_id=2, pad_id=0):
    """Fraction of sequences predicted exactly: every token up to and including
    the first ``end_id`` (a prediction with no ``end_id`` is wrong unless the
    target has none either and all tokens match).

    Args:
        predicted: int tokens ``(batch, length)``, e.g. from ``Seq2Seq.generate``
            or ``recipes.models.transformer.greedy_decode``.
        targets: int tokens ``(batch, target_length)`` (``y`` of the ``copy`` and
            ``reverse`` datasets).
        end_id: the end token (``END``, 2).
        pad_id: the padding token (``PAD``, 0).

    Example:

    >>> exact_match(np.array([[5, 2, 0], [5, 6, 2]]), np.array([[5, 2], [5, 2]]))
    0.5
    """
    predicted, targets = np.asarray(predicted), np.asarray(targets)
    if len(predicted) != len(targets):
        raise ValueError(
            "`predicted` and `targets` must hold as many sequences. "
            f"Received: {len(predicted)} and {len(targets)}"
        )

    def trim(row):
        ends = np.flatnonzero(row == end_id)
        return tuple(row[: ends[0] + 1]) if len(ends) else tuple(row[row != pad_id])

    hits = [trim(p) == trim(t) for p, t in zip(predicted, targets)]
    return float(np.mean(hits)) if hits else 0.0
