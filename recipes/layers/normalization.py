"""Normalisation layers that Keras lacks."""

import keras
from keras import ops

from recipes.checks import check_positive_int


@keras.saving.register_keras_serializable(package="recipes")
class LocalResponseNormalization(keras.layers.Layer):
    """Local response normalisation across channels (Krizhevsky et al. 2012).

    Each activation is divided by a power of the summed squares of its
    neighbours along the channel axis (channels last):

        y_c = x_c / (bias + alpha * sum_{|d - c| <= depth_radius} x_d ** 2) ** beta

    This is TensorFlow's ``tf.nn.lrn`` convention (``alpha`` multiplies the sum;
    PyTorch's ``LocalResponseNorm`` divides it by the window size first). The
    defaults are AlexNet's: window of 5 channels, ``bias=2``, ``alpha=1e-4``,
    ``beta=0.75``. The layer has no weights.

    Args:
        depth_radius: half-width of the channel window (the window holds
            ``2 * depth_radius + 1`` channels, clipped at the edges).
        bias: the additive constant (``k`` in the paper), > 0.
        alpha: scale of the summed squares, >= 0.
        beta: the exponent, >= 0.
        **kwargs: ``Layer`` arguments (``name``, ``dtype``...).

    Call arguments:
        inputs: a tensor whose last axis is the channel axis.

    Returns:
        A tensor of the same shape as ``inputs``.

    Example:

    >>> layer = LocalResponseNormalization(depth_radius=4, bias=1.0, alpha=0.001 / 9)
    >>> layer(np.ones((2, 14, 14, 64), "float32")).shape
    (2, 14, 14, 64)
    """

    def __init__(self, depth_radius=2, bias=2.0, alpha=1e-4, beta=0.75, **kwargs):
        super().__init__(**kwargs)
        check_positive_int("depth_radius", depth_radius, minimum=0)
        for argument, value, low in (
            ("bias", bias, None),
            ("alpha", alpha, 0.0),
            ("beta", beta, 0.0),
        ):
            if not isinstance(value, (int, float)) or (value <= 0 if low is None else value < low):
                bound = "> 0" if low is None else ">= 0"
                raise ValueError(
                    f"`{argument}` must be a number {bound}. Received: {argument}={value!r}"
                )
        self.depth_radius = depth_radius
        self.bias = float(bias)
        self.alpha = float(alpha)
        self.beta = float(beta)
        self.supports_masking = True

    def build(self, input_shape):
        if input_shape[-1] is None:
            raise ValueError(
                "LocalResponseNormalization needs a known channel axis (the last). "
                f"Received: input_shape={input_shape}"
            )

    def call(self, inputs):
        channels = inputs.shape[-1]
        # float32 inside: squares of float16 activations above 256 would overflow.
        x = ops.cast(inputs, "float32")
        squares = ops.square(x)
        radius = self.depth_radius
        padding = [(0, 0)] * (len(inputs.shape) - 1) + [(radius, radius)]
        padded = ops.pad(squares, padding)
        window_sum = padded[..., 0:channels]
        for offset in range(1, 2 * radius + 1):
            window_sum = window_sum + padded[..., offset : offset + channels]
        scale = ops.power(self.bias + self.alpha * window_sum, -self.beta)
        return ops.cast(x * scale, inputs.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {
            **super().get_config(),
            "depth_radius": self.depth_radius,
            "bias": self.bias,
            "alpha": self.alpha,
            "beta": self.beta,
        }
