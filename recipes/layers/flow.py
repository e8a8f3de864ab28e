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

from fractions import Fraction

import keras
from keras import ops

from recipes.checks import check_positive_int, check_squeezable, check_unsqueezable
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


class _Rearrangement(VariableDtypeInputs, keras.layers.Layer):
    """What ``Squeeze`` and ``Unsqueeze`` share: a block size ``factor``, a
    rearrangement of the values (``forward``, on inputs that ``check_inputs``
    accepts) and its exact inverse (``backward``, checked by ``check_outputs``);
    the sides of the outputs are those of the inputs times
    ``factor ** side_exponent``, their channels divided by the square of that."""

    def __init__(self, factor=2, **kwargs):
        super().__init__(**kwargs)
        self.factor = check_positive_int("factor", factor, minimum=2)

    def build(self, input_shape):
        self.check_inputs(self.factor, input_shape)

    def call(self, inputs):
        self.check_inputs(self.factor, inputs.shape)
        return self.forward(inputs, self.factor)

    def inverse(self, outputs):
        """Undoes ``call`` exactly: ``layer.inverse(layer(x)) == x``.

        Args:
            outputs: a tensor shaped like this layer's outputs.

        Returns:
            A tensor shaped like its inputs.
        """
        self.check_outputs(self.factor, outputs.shape)
        return self.backward(outputs, self.factor)

    def compute_output_shape(self, input_shape):
        self.check_inputs(self.factor, input_shape)
        side = Fraction(self.factor) ** self.side_exponent
        batch, height, width, channels = input_shape
        return (batch, _scaled(height, side), _scaled(width, side), _scaled(channels, side**-2))

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


def _scaled(size, scale):
    return None if size is None else int(size * scale)


@keras.saving.register_keras_serializable(package="recipes")
class Squeeze(_Rearrangement):
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

    forward = staticmethod(space_to_depth)
    backward = staticmethod(depth_to_space)
    check_inputs = staticmethod(check_squeezable)
    check_outputs = staticmethod(check_unsqueezable)
    side_exponent = -1  # sides divided by the factor


@keras.saving.register_keras_serializable(package="recipes")
class Unsqueeze(_Rearrangement):
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

    forward = staticmethod(depth_to_space)
    backward = staticmethod(space_to_depth)
    check_inputs = staticmethod(check_unsqueezable)
    check_outputs = staticmethod(check_squeezable)
    side_exponent = 1  # sides multiplied by the factor
