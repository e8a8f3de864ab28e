"""Random image augmentation that XLA can compile, active only in training.

Keras's own ``RandomCrop``, ``RandomTranslation``, ``RandomRotation`` and
``RandomZoom`` declare ``supports_jit=False``: one of them inside a model silently
turns ``jit_compile`` off for the whole model. These layers do the same jobs with
``keras.ops`` only (the resampling is a gather with bilinear or nearest weights) and
draw their randomness from a stored ``keras.random.SeedGenerator``, so the model
stays compiled on every backend. Each one is the identity at inference
(``training`` false or unset) and transforms every image of a batch differently in
training. Images are channels last: ``(batch, height, width, channels)``.

Example:

>>> augment = keras.Sequential([RandomFlip("horizontal", seed=1),
...                             RandomAffine(rotation=0.05, zoom=0.1, seed=2),
...                             RandomPadCrop(padding=4, seed=3)])
>>> augment(np.zeros((8, 32, 32, 3), "float32"), training=True).shape
(8, 32, 32, 3)
"""

import math

import keras
from keras import ops

from recipes.checks import check_choice, check_number, check_positive_int

FLIP_MODES = ("horizontal", "vertical", "horizontal_and_vertical")
FILL_MODES = ("reflect", "nearest", "constant")
INTERPOLATIONS = ("bilinear", "nearest")


def apply_flips(images, flips):
    """Flips each image of a batch where its flags say so.

    Args:
        images: a tensor ``(batch, height, width, channels)``.
        flips: a tensor ``(batch, 2)`` of 0/1 flags: column 0 flips top-bottom
            (vertical flip), column 1 flips left-right (horizontal flip).

    Returns:
        The flipped images. Flipping twice with the same flags gives the input back.
    """
    flips = ops.cast(flips, "float32")
    vertical = ops.reshape(flips[:, 0] > 0.5, (-1, 1, 1, 1))
    horizontal = ops.reshape(flips[:, 1] > 0.5, (-1, 1, 1, 1))
    images = ops.where(vertical, ops.flip(images, axis=1), images)
    return ops.where(horizontal, ops.flip(images, axis=2), images)


class _RandomImageLayer(keras.layers.Layer):
    """What the random layers share: a ``seed`` (kept in the config) and the
    ``SeedGenerator`` it starts, images cast to the compute dtype, and the
    identity outside training (``transform`` draws and applies the change)."""

    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, images, training=None):
        images = ops.cast(images, self.compute_dtype)
        return self.transform(images) if training else images

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}


_SEED_AND_CALL = """        seed: seed of the layer's ``SeedGenerator`` (``None``: a random one).
        **kwargs: ``Layer`` arguments (``name``, ``dtype``...).

    Call arguments:
        images: a tensor ``(batch, height, width, channels)``.
        training: transform only when true.

    Returns:
        A tensor shaped like ``images``.
"""
"""The end of the ``Args`` of ``RandomAffine`` and ``RandomPadCrop`` and what
follows, written once."""


@keras.saving.register_keras_serializable(package="recipes")
class RandomFlip(_RandomImageLayer):
    """Flips each image left-right and/or top-bottom with probability 1/2.

    The jittable counterpart of ``keras.layers.RandomFlip``. With
    ``return_flips=True`` the layer also returns the flags it drew, so that a
    segmentation model can flip its predicted masks back (``ApplyFlips``).

    Args:
        mode: ``"horizontal"`` (left-right), ``"vertical"`` (top-bottom) or
            ``"horizontal_and_vertical"`` (each independently).
        seed: seed of the layer's ``SeedGenerator`` (``None``: a random one).
        return_flips: also return the ``(batch, 2)`` flags (all zero at inference).
        **kwargs: ``Layer`` arguments (``name``, ``dtype``...).

    Call arguments:
        images: a tensor ``(batch, height, width, channels)``.
        training: flip only when true.

    Returns:
        The images, or ``(images, flips)`` with ``return_flips=True``.

    Example:

    >>> layer = RandomFlip("horizontal", seed=0)
    >>> layer(np.zeros((4, 8, 8, 3), "float32"), training=True).shape
    (4, 8, 8, 3)
    """

    def __init__(self, mode="horizontal", seed=None, return_flips=False, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.mode = check_choice("mode", mode, FLIP_MODES)
        self.return_flips = bool(return_flips)

    def call(self, images, training=None):
        images = ops.cast(images, self.compute_dtype)
        batch = ops.shape(images)[0]
        if training:
            draws = keras.random.uniform((batch, 2), seed=self.seed_generator)
            # The dtype given: inferring it breaks torch.compile (PyTorch 2.13).
            allowed = ops.convert_to_tensor(
                [[float(self.mode != "horizontal"), float(self.mode != "vertical")]],
                dtype="float32",
            )
            flips = ops.cast(draws < 0.5, "float32") * allowed
            images = apply_flips(images, flips)
        else:
            flips = ops.zeros((batch, 2), "float32")
        return (images, flips) if self.return_flips else images

    def compute_output_shape(self, input_shape):
        if self.return_flips:
            return tuple(input_shape), (input_shape[0], 2)
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "mode": self.mode, "return_flips": self.return_flips}


@keras.saving.register_keras_serializable(package="recipes")
class ApplyFlips(keras.layers.Layer):
    """Flips images with given flags (see ``apply_flips``); no randomness.

    A flip is its own inverse: a segmentation model that flipped its input with
    ``RandomFlip(return_flips=True)`` applies this layer with the same flags to its
    predicted masks, which is the same as training on flipped (image, mask) pairs.

    Args:
        **kwargs: ``Layer`` arguments (``name``, ``dtype``...).

    Call arguments:
        inputs: a list ``[images, flips]``: images ``(batch, height, width, c)``
            and flags ``(batch, 2)``.

    Returns:
        The flipped images.

    Example:

    >>> images = np.arange(4.0, dtype="float32").reshape(1, 2, 2, 1)
    >>> flipped = ApplyFlips()([images, np.array([[0.0, 1.0]], "float32")])  # left-right
    >>> keras.ops.convert_to_numpy(flipped)[0, :, :, 0]
    array([[1., 0.],
           [3., 2.]], dtype=float32)
    """

    def call(self, inputs):
        images, flips = inputs
        return apply_flips(images, flips)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0])


def _fill_index(index, size, fill_mode):
    """Maps integer source indices into ``[0, size)`` by the fill mode's rule."""
    if fill_mode == "reflect":  # d c b a | a b c d | d c b a
        period = ops.mod(index, 2 * size)
        return ops.where(period >= size, 2 * size - 1 - period, period)
    return ops.clip(index, 0, size - 1)  # "nearest"; "constant" masks them after


def resample(images, rows, cols, interpolation="bilinear", fill_mode="reflect", fill_value=0.0):
    """Samples each image at the given source coordinates.

    Output pixel ``(b, i, j)`` takes the value of image ``b`` at ``(rows[b, i, j],
    cols[b, i, j])`` (pixel centres at integer coordinates), interpolated
    bilinearly or from the nearest pixel. Points outside the image are filled by
    reflection (``d c b a | a b c d``), with the nearest edge pixel, or with
    ``fill_value``.

    Args:
        images: a tensor ``(batch, height, width, channels)``.
        rows: source row coordinates ``(batch, height, width)``.
        cols: source column coordinates ``(batch, height, width)``.
        interpolation: ``"bilinear"`` or ``"nearest"``.
        fill_mode: ``"reflect"``, ``"nearest"`` or ``"constant"``.
        fill_value: the value outside the image with ``fill_mode="constant"``.

    Returns:
        A tensor shaped like ``images``.
    """
    images = ops.convert_to_tensor(images)
    rows = ops.convert_to_tensor(rows, dtype="float32")
    cols = ops.convert_to_tensor(cols, dtype="float32")
    shape = ops.shape(images)
    batch, height, width, channels = shape[0], shape[1], shape[2], shape[3]
    flat = ops.reshape(images, (-1, channels))
    offsets = ops.reshape(ops.arange(batch, dtype="int32") * (height * width), (-1, 1, 1))
    if interpolation == "nearest":
        corners = [(ops.floor(rows + 0.5), ops.floor(cols + 0.5), None)]
    else:
        top, left = ops.floor(rows), ops.floor(cols)
        down, right = rows - top, cols - left
        corners = [
            (top, left, (1.0 - down) * (1.0 - right)),
            (top, left + 1.0, (1.0 - down) * right),
            (top + 1.0, left, down * (1.0 - right)),
            (top + 1.0, left + 1.0, down * right),
        ]
    output = None
    for row, col, weight in corners:
        row, col = ops.cast(row, "int32"), ops.cast(col, "int32")
        index = (
            offsets
            + _fill_index(row, height, fill_mode) * width
            + _fill_index(col, width, fill_mode)
        )
        values = ops.reshape(ops.take(flat, ops.reshape(index, (-1,)), axis=0), shape)
        if fill_mode == "constant":
            inside = (row >= 0) & (row < height) & (col >= 0) & (col < width)
            values = ops.where(
                ops.expand_dims(inside, -1), values, ops.cast(fill_value, values.dtype)
            )
        if weight is not None:
            values = values * ops.cast(ops.expand_dims(weight, -1), values.dtype)
        output = values if output is None else output + values
    return output


def _pixel_grid(images):
    """Row and column coordinates ``(1, height, width)`` of every pixel (float32)."""
    shape = ops.shape(images)
    rows = ops.arange(shape[1], dtype="float32")
    cols = ops.arange(shape[2], dtype="float32")
    return (
        ops.reshape(rows, (1, -1, 1)) + ops.zeros((1, 1, shape[2])),
        ops.reshape(cols, (1, 1, -1)) + ops.zeros((1, shape[1], 1)),
    )


@keras.saving.register_keras_serializable(package="recipes")
class RandomAffine(_RandomImageLayer):
    __doc__ = (
        """Random rotation, zoom and translation in one resampling, jittable.

    The counterpart of ``keras.layers.RandomRotation``, ``RandomZoom`` and
    ``RandomTranslation`` together (one interpolation instead of three). For each
    image it draws an angle ``2 pi * U(-rotation, rotation)`` about the centre, a
    scale ``U(1 - zoom, 1 + zoom)`` (below 1 zooms in) and shifts
    ``U(-translation, translation)`` times the height and the width, then
    resamples the image.

    Args:
        rotation: largest rotation as a fraction of a full turn, in [0, 0.5).
        zoom: largest relative change of scale, in [0, 1).
        translation: largest shift as a fraction of the image size, in [0, 1).
        fill_mode: ``"reflect"``, ``"nearest"`` or ``"constant"`` for the points
            that come from outside the image.
        fill_value: the value used with ``fill_mode="constant"``.
        interpolation: ``"bilinear"`` or ``"nearest"``.
"""
        + _SEED_AND_CALL
        + """
    Example:

    >>> layer = RandomAffine(rotation=0.05, zoom=0.1, translation=0.1, seed=0)
    >>> layer(np.zeros((4, 28, 28, 1), "float32"), training=True).shape
    (4, 28, 28, 1)
"""
    )

    def __init__(
        self,
        rotation=0.0,
        zoom=0.0,
        translation=0.0,
        fill_mode="reflect",
        fill_value=0.0,
        interpolation="bilinear",
        seed=None,
        **kwargs,
    ):
        super().__init__(seed=seed, **kwargs)
        self.rotation = check_number("rotation", rotation, 0.0, 0.5, low_open=False)
        self.zoom = check_number("zoom", zoom, 0.0, 1.0, low_open=False)
        self.translation = check_number("translation", translation, 0.0, 1.0, low_open=False)
        if not (self.rotation or self.zoom or self.translation):
            raise ValueError(
                "RandomAffine needs `rotation`, `zoom` or `translation` above 0. "
                f"Received: rotation={rotation}, zoom={zoom}, translation={translation}"
            )
        self.fill_mode = check_choice("fill_mode", fill_mode, FILL_MODES)
        self.fill_value = float(fill_value)
        self.interpolation = check_choice("interpolation", interpolation, INTERPOLATIONS)

    def transform(self, images):
        shape = ops.shape(images)
        draws = keras.random.uniform((shape[0], 4), -1.0, 1.0, seed=self.seed_generator)
        draws = ops.reshape(draws, (-1, 4, 1, 1))
        angle = draws[:, 0] * (2.0 * math.pi * self.rotation)
        scale = 1.0 + draws[:, 1] * self.zoom
        shift_rows = draws[:, 2] * (self.translation * ops.cast(shape[1], "float32"))
        shift_cols = draws[:, 3] * (self.translation * ops.cast(shape[2], "float32"))
        rows, cols = _pixel_grid(images)
        centre_rows = (ops.cast(shape[1], "float32") - 1.0) / 2.0
        centre_cols = (ops.cast(shape[2], "float32") - 1.0) / 2.0
        rows, cols = rows - centre_rows, cols - centre_cols
        cos, sin = ops.cos(angle), ops.sin(angle)
        source_rows = centre_rows + scale * (cos * rows - sin * cols) - shift_rows
        source_cols = centre_cols + scale * (sin * rows + cos * cols) - shift_cols
        return resample(
            images, source_rows, source_cols, self.interpolation, self.fill_mode, self.fill_value
        )

    def get_config(self):
        return {
            **super().get_config(),
            "rotation": self.rotation,
            "zoom": self.zoom,
            "translation": self.translation,
            "fill_mode": self.fill_mode,
            "fill_value": self.fill_value,
            "interpolation": self.interpolation,
        }


@keras.saving.register_keras_serializable(package="recipes")
class RandomPadCrop(_RandomImageLayer):
    __doc__ = (
        """Pads each image by ``padding`` pixels and crops a random window of the
    original size (the CIFAR-10 augmentation of He et al. 2016), jittable.

    The same as shifting each image by a random whole number of pixels in
    ``[-padding, padding]`` along both axes and filling with ``fill_value``; the
    output keeps the input's shape. It replaces ``keras.layers.RandomCrop``, which
    disables XLA.

    Args:
        padding: pixels of padding on each side (the largest shift), >= 1.
        fill_value: the value of the padding.
"""
        + _SEED_AND_CALL
        + """
    Example:

    >>> layer = RandomPadCrop(padding=4, seed=0)
    >>> layer(np.zeros((4, 32, 32, 3), "float32"), training=True).shape
    (4, 32, 32, 3)
"""
    )

    def __init__(self, padding=4, fill_value=0.0, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.padding = check_positive_int("padding", padding)
        self.fill_value = float(fill_value)

    def transform(self, images):
        shifts = keras.random.randint(
            (ops.shape(images)[0], 2),
            -self.padding,
            self.padding + 1,
            seed=self.seed_generator,
        )
        shifts = ops.reshape(ops.cast(shifts, "float32"), (-1, 2, 1, 1))
        rows, cols = _pixel_grid(images)
        return resample(
            images,
            rows + shifts[:, 0],
            cols + shifts[:, 1],
            "nearest",
            "constant",
            self.fill_value,
        )

    def get_config(self):
        return {**super().get_config(), "padding": self.padding, "fill_value": self.fill_value}
