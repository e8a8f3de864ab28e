"""Segmentation losses and the mean IoU metric (seed 004, "Image segmentation with
U-Net").

The seed's three losses for a predicted mask ``p`` and a true mask ``y`` over the
``N`` pixels of an image and ``C`` classes:

* cross-entropy ``-1/N sum_i sum_c y_ic log p_ic`` (``pixel_crossentropy``:
  Keras's ``sparse_categorical_crossentropy`` for integer masks, computed over
  the flattened pixels so that it also trains on PyTorch, whose CPU backward of
  the 4-D ``nll_loss`` Keras calls fails with "grad_input must be contiguous");
* Dice ``1 - 2 sum_i y_i p_i / (sum_i y_i + sum_i p_i)``: here per class, with a
  ``smooth`` term added above and below, averaged over the classes
  (``dice_loss``);
* shape-aware ``-w(x) [1/N sum_i sum_c y_ic log p_ic]`` with ``w`` larger near the
  object boundaries: here ``w = 1 + boundary_weight`` on pixels whose
  ``(2 width + 1)``-pixel square neighbourhood in the true mask holds another
  class, ``1`` elsewhere (``boundary_weighted_crossentropy``).

True masks are integer class maps ``(batch, height, width)`` or ``(..., 1)``, or
one-hot ``(..., classes)``; predictions are probabilities ``(batch, height, width,
classes)`` (softmax), or ``(..., 1)`` for binary masks (sigmoid, true masks 0/1).
Each loss returns one value per image, so ``sample_weight`` weighs images.

Example:

>>> model.compile(optimizer="adam", loss=DiceLoss(),
...               metrics=[SegmentationMeanIoU(num_classes=3)])
"""

import keras
from keras import ops

from recipes.checks import check_non_negative, check_positive_int

__all__ = [
    "BoundaryWeightedCrossentropy",
    "DiceLoss",
    "PixelCrossentropy",
    "SegmentationMeanIoU",
    "boundary_weighted_crossentropy",
    "boundary_weights",
    "dice_loss",
    "pixel_crossentropy",
]


def _class_maps(y_true, y_pred):
    """Returns the true mask as integer labels ``(batch, h, w)`` and as targets
    shaped like ``y_pred`` (one-hot for several classes, 0/1 for one)."""
    y_pred = ops.convert_to_tensor(y_pred)
    y_true = ops.convert_to_tensor(y_true)
    classes = y_pred.shape[-1]
    rank = len(y_pred.shape)
    if classes == 1:
        targets = ops.cast(y_true, y_pred.dtype)
        if len(targets.shape) == rank - 1:
            targets = ops.expand_dims(targets, -1)
        return ops.cast(targets[..., 0] > 0.5, "int32"), targets
    if len(y_true.shape) == rank and y_true.shape[-1] == classes:
        labels = ops.argmax(y_true, axis=-1)
        return ops.cast(labels, "int32"), ops.cast(y_true, y_pred.dtype)
    if len(y_true.shape) == rank:
        y_true = ops.squeeze(y_true, axis=-1)
    labels = ops.cast(y_true, "int32")
    return labels, ops.one_hot(labels, classes, dtype=y_pred.dtype)


@keras.saving.register_keras_serializable(package="recipes")
def pixel_crossentropy(y_true, y_pred, from_logits=False):
    """Cross-entropy of each pixel's predicted class probabilities, one value per
    pixel: what ``keras.losses.sparse_categorical_crossentropy`` gives for integer
    masks.

    The pixels are flattened to ``(pixels, classes)`` first. That keeps PyTorch
    off the 4-D ``nll_loss`` whose CPU backward rejects the channels-moved tensor
    Keras hands it ("grad_input must be contiguous", pytorch/pytorch#175084), so
    per-pixel training works on every backend. On XLA it costs one fusion in a
    U-Net's compiled step (507 against 506).

    Args:
        y_true: integer masks ``(batch, h, w)`` or ``(batch, h, w, 1)``.
        y_pred: probabilities ``(batch, h, w, classes)``, classes >= 2 (logits
            with ``from_logits=True``).
        from_logits: ``y_pred`` holds logits.

    Returns:
        A tensor ``(batch, h, w)``, so that a per-pixel ``sample_weight`` applies.

    Example:

    >>> loss = pixel_crossentropy(np.array([[[0, 1]]]), np.full((1, 1, 2, 2), 0.5))
    >>> keras.ops.convert_to_numpy(loss)  # log(2) for both pixels
    array([[[0.6931472, 0.6931472]]], dtype=float32)
    """
    y_pred = ops.convert_to_tensor(y_pred)
    y_true = ops.convert_to_tensor(y_true)
    classes = y_pred.shape[-1]
    if classes is None or classes < 2:
        raise ValueError(
            "`y_pred` must end in an axis of at least 2 class probabilities "
            f"(use binary_crossentropy for one). Received shape {y_pred.shape}"
        )
    if len(y_true.shape) == len(y_pred.shape):
        if y_true.shape[-1] != 1:
            raise ValueError(
                "`y_true` must hold integer class ids, (batch, h, w) or "
                f"(batch, h, w, 1). Received shape {y_true.shape}"
            )
        y_true = ops.squeeze(y_true, axis=-1)
    losses = keras.losses.sparse_categorical_crossentropy(
        ops.reshape(y_true, (-1,)), ops.reshape(y_pred, (-1, classes)), from_logits=from_logits
    )
    return ops.reshape(losses, ops.shape(y_true))


def _probabilities(y_pred, from_logits):
    y_pred = ops.convert_to_tensor(y_pred)
    if not from_logits:
        return y_pred
    return ops.sigmoid(y_pred) if y_pred.shape[-1] == 1 else ops.softmax(y_pred, axis=-1)


@keras.saving.register_keras_serializable(package="recipes")
def dice_loss(y_true, y_pred, smooth=1.0, from_logits=False):
    """Dice loss, one value per image: ``1 - mean_c (2 I_c + s) / (T_c + P_c + s)``.

    ``I_c`` is the sum over pixels of ``y * p`` for class ``c``, ``T_c`` and
    ``P_c`` the sums of the true and predicted masks, ``s`` the ``smooth`` term;
    a class absent from both masks scores a perfect 1. With one output
    channel (sigmoid) it is the Dice loss of the foreground.

    Args:
        y_true: integer masks ``(batch, h, w)`` or ``(batch, h, w, 1)``, or one-hot
            masks ``(batch, h, w, classes)``; 0/1 masks for one channel.
        y_pred: probabilities ``(batch, h, w, classes)`` (logits with
            ``from_logits=True``).
        smooth: the term ``s >= 0`` added to numerator and denominator.
        from_logits: apply softmax (or sigmoid for one channel) first.

    Returns:
        A tensor ``(batch,)``.

    Example:

    >>> loss = dice_loss(np.array([[1, 1, 0, 0]]), np.full((1, 4, 1), 0.5), smooth=0.0)
    >>> keras.ops.convert_to_numpy(loss)  # 1 - 2 * 1 / (2 + 2)
    array([0.5], dtype=float32)
    """
    probabilities = _probabilities(y_pred, from_logits)
    _, targets = _class_maps(y_true, probabilities)
    axes = tuple(range(1, len(probabilities.shape) - 1))
    intersection = ops.sum(targets * probabilities, axis=axes)
    total = ops.sum(targets, axis=axes) + ops.sum(probabilities, axis=axes)
    denominator = total + smooth
    present = denominator > 0  # with smooth=0 a class absent from both masks is 0 / 0
    dice = ops.where(
        present, (2.0 * intersection + smooth) / ops.where(present, denominator, 1.0), 1.0
    )
    return 1.0 - ops.mean(dice, axis=-1)


def boundary_weights(labels, width=1, boundary_weight=5.0):
    """Pixel weights ``1 + boundary_weight`` near class boundaries, else 1.

    A pixel is near a boundary when its ``(2 width + 1)`` square neighbourhood
    (clipped at the image border) holds a class other than its own.

    Args:
        labels: integer masks ``(batch, height, width)``.
        width: the neighbourhood's half-size in pixels, >= 1.
        boundary_weight: the extra weight of boundary pixels, >= 0.

    Returns:
        A float32 tensor ``(batch, height, width)``.

    Example:

    >>> weights = boundary_weights(np.array([[[0, 0, 1, 1]] * 4]), width=1)
    >>> keras.ops.convert_to_numpy(weights)[0, 0]
    array([1., 6., 6., 1.], dtype=float32)
    """
    labels = ops.expand_dims(ops.cast(labels, "float32"), -1)
    size = 2 * width + 1
    highest = ops.max_pool(labels, size, strides=1, padding="same")
    lowest = -ops.max_pool(-labels, size, strides=1, padding="same")
    near = ops.cast(ops.not_equal(highest, lowest), "float32")[..., 0]
    return 1.0 + boundary_weight * near


@keras.saving.register_keras_serializable(package="recipes")
def boundary_weighted_crossentropy(
    y_true, y_pred, width=1, boundary_weight=5.0, from_logits=False
):
    """Cross-entropy with pixels near mask boundaries weighted more (seed 004's
    shape-aware loss), one value per image: ``mean_pixels(w * crossentropy)``.

    ``w`` is ``boundary_weights(true labels, width, boundary_weight)``: with
    ``boundary_weight=0`` this is the plain pixel-averaged cross-entropy.

    Args:
        y_true: integer masks ``(batch, h, w)`` or ``(batch, h, w, 1)``, or one-hot
            masks; 0/1 masks for one channel.
        y_pred: probabilities ``(batch, h, w, classes)`` or ``(batch, h, w, 1)``
            (logits with ``from_logits=True``).
        width: half-size in pixels of the boundary band, >= 1.
        boundary_weight: extra weight of the pixels in the band, >= 0.
        from_logits: ``y_pred`` holds logits.

    Returns:
        A tensor ``(batch,)``.

    Example:

    >>> y_true = np.array([[[0, 0, 1, 1]] * 4])          # 1 x 4 x 4, two classes
    >>> loss = boundary_weighted_crossentropy(y_true, np.full((1, 4, 4, 2), 0.5))
    >>> keras.ops.convert_to_numpy(loss)  # log(2) * (1 + 6 + 6 + 1) / 4
    array([2.4260151], dtype=float32)
    """
    y_pred = ops.convert_to_tensor(y_pred)
    labels, targets = _class_maps(y_true, y_pred)
    if y_pred.shape[-1] == 1:
        pixel_loss = keras.losses.binary_crossentropy(targets, y_pred, from_logits=from_logits)
    else:
        pixel_loss = pixel_crossentropy(labels, y_pred, from_logits=from_logits)
    weights = ops.cast(boundary_weights(labels, width, boundary_weight), pixel_loss.dtype)
    return ops.mean(weights * pixel_loss, axis=tuple(range(1, len(pixel_loss.shape))))


class _MaskLoss(keras.losses.Loss):
    """What the segmentation losses share: ``from_logits`` (kept in the config)
    and the arguments of ``keras.losses.Loss``."""

    def __init__(self, from_logits, reduction, name, dtype):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.from_logits = bool(from_logits)

    def get_config(self):
        return {**super().get_config(), "from_logits": self.from_logits}


@keras.saving.register_keras_serializable(package="recipes")
class DiceLoss(_MaskLoss):
    """The Dice loss of ``dice_loss`` as a configurable ``keras.losses.Loss``.

    Args:
        smooth: the term added to numerator and denominator, >= 0.
        from_logits: the model outputs logits.
        reduction: Keras reduction over the batch's per-image losses.
        name: the loss name.
        dtype: the loss computation dtype.

    Example:

    >>> model.compile(optimizer="adam", loss=DiceLoss(smooth=1.0))
    """

    def __init__(
        self,
        smooth=1.0,
        from_logits=False,
        reduction="sum_over_batch_size",
        name="dice_loss",
        dtype=None,
    ):
        super().__init__(from_logits, reduction, name, dtype)
        self.smooth = check_non_negative("smooth", smooth)

    def call(self, y_true, y_pred):
        return dice_loss(y_true, y_pred, self.smooth, self.from_logits)

    def get_config(self):
        return {**super().get_config(), "smooth": self.smooth}


@keras.saving.register_keras_serializable(package="recipes")
class PixelCrossentropy(_MaskLoss):
    """``pixel_crossentropy`` as a ``keras.losses.Loss``: the multi-class U-Net's
    default loss, equal to ``sparse_categorical_crossentropy`` on every backend.

    Args:
        from_logits: the model outputs logits.
        reduction: Keras reduction over the per-pixel losses (the default
            averages every pixel of the batch).
        name: the loss name.
        dtype: the loss computation dtype.

    Example:

    >>> model.compile(optimizer="adam", loss=PixelCrossentropy())
    """

    def __init__(
        self,
        from_logits=False,
        reduction="sum_over_batch_size",
        name="pixel_crossentropy",
        dtype=None,
    ):
        super().__init__(from_logits, reduction, name, dtype)

    def call(self, y_true, y_pred):
        return pixel_crossentropy(y_true, y_pred, self.from_logits)


@keras.saving.register_keras_serializable(package="recipes")
class BoundaryWeightedCrossentropy(_MaskLoss):
    """``boundary_weighted_crossentropy`` as a configurable ``keras.losses.Loss``.

    Args:
        width: half-size in pixels of the boundary band, >= 1.
        boundary_weight: extra weight of the pixels in the band, >= 0.
        from_logits: the model outputs logits.
        reduction: Keras reduction over the batch's per-image losses.
        name: the loss name.
        dtype: the loss computation dtype.

    Example:

    >>> model.compile(optimizer="adam",
    ...               loss=BoundaryWeightedCrossentropy(width=2, boundary_weight=4.0))
    """

    def __init__(
        self,
        width=1,
        boundary_weight=5.0,
        from_logits=False,
        reduction="sum_over_batch_size",
        name="boundary_weighted_crossentropy",
        dtype=None,
    ):
        super().__init__(from_logits, reduction, name, dtype)
        self.width = check_positive_int("width", width)
        self.boundary_weight = check_non_negative("boundary_weight", boundary_weight)

    def call(self, y_true, y_pred):
        return boundary_weighted_crossentropy(
            y_true, y_pred, self.width, self.boundary_weight, self.from_logits
        )

    def get_config(self):
        return {
            **super().get_config(),
            "width": self.width,
            "boundary_weight": self.boundary_weight,
        }


@keras.saving.register_keras_serializable(package="recipes")
class SegmentationMeanIoU(keras.metrics.MeanIoU):
    """Mean intersection over union of predicted and true masks, over the classes.

    ``keras.metrics.MeanIoU`` that takes what a segmentation model outputs: the
    predicted class is the argmax of the probabilities, or ``p > threshold`` for
    one sigmoid channel (then ``num_classes`` is 2). True masks are integer class
    maps (a trailing axis of 1 is fine). The IoU of each class is
    ``TP / (TP + FP + FN)`` over all pixels seen since the last reset; classes
    absent from both masks are left out of the mean. As in Keras, the confusion
    matrix counts in integers (exact for any number of pixels), so a
    ``sample_weight`` acts as an integer count per image (0 leaves an image out).

    Args:
        num_classes: the number of classes (2 for a binary sigmoid output).
        threshold: decision threshold for one-channel (sigmoid) outputs.
        ignore_class: a class id left out of the metric (e.g. a "void" class).
        name: the metric name.
        dtype: the metric dtype.

    Example:

    >>> metric = SegmentationMeanIoU(num_classes=2)
    >>> metric.update_state(np.array([[0, 0, 1, 1]]),
    ...                     np.array([[[0.9, 0.1], [0.2, 0.8], [0.3, 0.7], [0.4, 0.6]]]))
    >>> round(float(metric.result()), 4)  # IoU 1/2 for class 0, 2/3 for class 1
    0.5833
    """

    def __init__(self, num_classes, threshold=0.5, ignore_class=None, name="mean_iou", dtype=None):
        if isinstance(num_classes, bool) or not isinstance(num_classes, int) or (num_classes < 2):
            raise ValueError(
                "`num_classes` must be an integer >= 2 (2 for a binary sigmoid output). "
                f"Received: num_classes={num_classes!r}"
            )
        super().__init__(
            num_classes=num_classes, name=name, dtype=dtype, ignore_class=ignore_class
        )
        self.threshold = float(threshold)

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = ops.convert_to_tensor(y_pred)
        if y_pred.shape[-1] == 1:
            predicted = ops.cast(y_pred[..., 0] > self.threshold, "int32")
        else:
            predicted = ops.argmax(y_pred, axis=-1)
        if sample_weight is not None:  # one weight per image: spread over its pixels
            sample_weight = ops.convert_to_tensor(sample_weight)
            for _ in range(len(predicted.shape) - len(sample_weight.shape)):
                sample_weight = ops.expand_dims(sample_weight, -1)
            sample_weight = ops.broadcast_to(sample_weight, ops.shape(predicted))
        return super().update_state(y_true, predicted, sample_weight)

    def get_config(self):
        return {
            "num_classes": self.num_classes,
            "threshold": self.threshold,
            "ignore_class": self.ignore_class,
            "name": self.name,
            "dtype": self._dtype,
        }
