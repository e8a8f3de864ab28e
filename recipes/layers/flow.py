"""Layers for invertible networks (normalizing flows, seed 004).

``Squeeze`` is the invertible pooling of seed 004 (space-to-depth): it halves the
height and width and multiplies the channels by 4, keeping every value, so it has
an exact inverse (``Squeeze.inverse`` or the ``Unsqueeze`` layer) and its Jacobian
is a permutation (log-determinant 0), which is what a flow needs.

Example:

>>> x = np.random.rand(2, 8, 8, 3).astype("float32")
>>> squeeze = Squeeze()
>>> y = squeeze(x)
>>> y.shape
(2, 4, 4, 12)
>>> np.array_equal(keras.ops.convert_to_numpy(squeeze.inverse(y)), x)
True
"""

import keras
from keras import ops

from recipes.checks import check_positive_int
from recipes.precision import VariableDtypeInputs


def space_to_depth(x, factor=2):
    """Moves each ``factor x factor`` block of pixels into the channels.

    Output channel ``(i * factor + j) * channels + c`` at ``(row, col)`` is input
    channel ``c`` at ``(row * factor + i, col * factor + j)``: the layout of
    ``tf.nn.space_to_depth``.

    Args:
        x: a tensor ``(batch, height, width, channels)``, height and width
            divisible by ``factor``.
        factor: the block size.

    Returns:
        A tensor ``(batch, height / factor, width / factor, channels * factor**2)``.
    """
    shape = ops.shape(x)
    height, width, channels = shape[1], shape[2], shape[3]
    x = ops.reshape(x, (-1, height // factor, factor, width // factor, factor, channels))
    x = ops.transpose(x, (0, 1, 3, 2, 4, 5))
    return ops.reshape(x, (-1, height // factor, width // factor, factor * factor * channels))


def depth_to_space(x, factor=2):
    """The exact inverse of ``space_to_depth``.

    Args:
        x: a tensor ``(batch, height, width, channels)``, channels divisible by
            ``factor**2``.
        factor: the block size.

    Returns:
        A tensor ``(batch, height * factor, width * factor, channels / factor**2)``.
    """
    shape = ops.shape(x)
    height, width, channels = shape[1], shape[2], shape[3]
    out_channels = channels // (factor * factor)
    x = ops.reshape(x, (-1, height, width, factor, factor, out_channels))
    x = ops.transpose(x, (0, 1, 3, 2, 4, 5))
    return ops.reshape(x, (-1, height * factor, width * factor, out_channels))


def _check_squeezable(factor, input_shape):
    if len(input_shape) != 4:
        raise ValueError(
            "Squeeze expects images (batch, height, width, channels). "
            f"Received: input_shape={tuple(input_shape)}"
        )
    if any(side is not None and side % factor for side in input_shape[1:3]):
        raise ValueError(
            f"Squeeze needs a height and width divisible by factor={factor}. "
            f"Received: input_shape={tuple(input_shape)}"
        )


def _check_unsqueezable(factor, input_shape):
    if len(input_shape) != 4:
        raise ValueError(
            "Unsqueeze expects images (batch, height, width, channels). "
            f"Received: input_shape={tuple(input_shape)}"
        )
    channels = input_shape[-1]
    if channels is not None and channels % (factor * factor):
        raise ValueError(
            f"Unsqueeze needs channels divisible by factor**2 = {factor * factor}. "
            f"Received: input_shape={tuple(input_shape)}"
        )


@keras.saving.register_keras_serializable(package="recipes")
class Squeeze(VariableDtypeInputs, keras.layers.Layer):
    """Invertible pooling (squeeze, space-to-depth): ``(b, h, w, c)`` to
    ``(b, h / f, w / f, c * f**2)`` with no value lost (seed 004; Dinh et al. 2017).

    Each ``f x f`` block of pixels becomes ``f**2`` groups of channels (see
    ``space_to_depth``). ``inverse`` undoes it exactly; the log-determinant of its
    Jacobian is 0. Height and width must be divisible by ``factor``. Under mixed
    precision it works in float32, as ``AffineCoupling`` does.

    Args:
        factor: the block size, >= 2.
        **kwargs: ``Layer`` arguments (``name``, ``dtype``...).

    Call arguments:
        inputs: a tensor ``(batch, height, width, channels)``.

    Returns:
        A tensor ``(batch, height / factor, width / factor, channels * factor**2)``.

    Example:

    >>> Squeeze(factor=2)(np.zeros((1, 4, 6, 3), "float32")).shape
    (1, 2, 3, 12)
    """

    def __init__(self, factor=2, **kwargs):
        super().__init__(**kwargs)
        self.factor = check_positive_int("factor", factor, minimum=2)

    def build(self, input_shape):
        _check_squeezable(self.factor, input_shape)

    def call(self, inputs):
        _check_squeezable(self.factor, inputs.shape)
        return space_to_depth(inputs, self.factor)

    def inverse(self, outputs):
        """Undoes ``call`` exactly: ``inverse(squeeze(x)) == x``.

        Args:
            outputs: a tensor ``(batch, height, width, channels)`` with channels
                divisible by ``factor**2``.

        Returns:
            A tensor ``(batch, height * factor, width * factor, channels / factor**2)``.
        """
        _check_unsqueezable(self.factor, outputs.shape)
        return depth_to_space(outputs, self.factor)

    def compute_output_shape(self, input_shape):
        _check_squeezable(self.factor, input_shape)
        f = self.factor
        batch, height, width, channels = input_shape
        return (
            batch,
            None if height is None else height // f,
            None if width is None else width // f,
            None if channels is None else channels * f * f,
        )

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


@keras.saving.register_keras_serializable(package="recipes")
class Unsqueeze(VariableDtypeInputs, keras.layers.Layer):
    """The inverse of ``Squeeze`` (depth-to-space): ``(b, h, w, c)`` to
    ``(b, h * f, w * f, c / f**2)``.

    Args:
        factor: the block size, >= 2.
        **kwargs: ``Layer`` arguments (``name``, ``dtype``...).

    Call arguments:
        inputs: a tensor whose channels divide by ``factor**2``.

    Returns:
        A tensor ``(batch, height * factor, width * factor, channels / factor**2)``.

    Example:

    >>> Unsqueeze()(np.zeros((1, 2, 3, 12), "float32")).shape
    (1, 4, 6, 3)
    """

    def __init__(self, factor=2, **kwargs):
        super().__init__(**kwargs)
        self.factor = check_positive_int("factor", factor, minimum=2)

    def build(self, input_shape):
        _check_unsqueezable(self.factor, input_shape)

    def call(self, inputs):
        _check_unsqueezable(self.factor, inputs.shape)
        return depth_to_space(inputs, self.factor)

    def inverse(self, outputs):
        """Undoes ``call`` exactly (a squeeze)."""
        _check_squeezable(self.factor, outputs.shape)
        return space_to_depth(outputs, self.factor)

    def compute_output_shape(self, input_shape):
        _check_unsqueezable(self.factor, input_shape)
        f = self.factor
        batch, height, width, channels = input_shape
        return (
            batch,
            None if height is None else height * f,
            None if width is None else width * f,
            None if channels is None else channels // (f * f),
        )

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}
