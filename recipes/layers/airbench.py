"""What airbench94's network (``recipes.build_fast_cifar``) needs beyond Keras: a
bias with its own learning-rate scale, and convolution kernels that start as the
identity.

Both are registered serializable as ``recipes>ScaledBias`` and
``recipes>PartialIdentity``, the names they had in ``recipes.models.fast_cifar``,
so ``.keras`` files saved before the move still load.
"""

import keras
import numpy as np
from keras import ops

from recipes.checks import check_number


@keras.saving.register_keras_serializable(package="recipes")
class ScaledBias(keras.layers.Layer):
    """Adds a learned per-channel bias ``scale * b`` to its input.

    Multiplying a parameter by ``scale`` multiplies its effective SGD learning rate
    by ``scale ** 2`` without touching the optimizer: airbench94 trains batch-norm
    biases 64 times faster than the other weights, so it uses ``scale=8``. Decoupled
    weight decay shrinks ``b`` (and so the bias) at the same relative rate as any
    other weight.

    Args:
        scale: the multiplier of the stored bias, > 0.
        **kwargs: ``Layer`` arguments (``name``, ``dtype``...).

    Call arguments:
        inputs: a tensor whose last axis holds the channels.

    Returns:
        ``inputs + scale * b``.

    Example:

    >>> layer = ScaledBias(scale=8.0)
    >>> layer(np.zeros((2, 4, 4, 3), "float32")).shape
    (2, 4, 4, 3)
    """

    def __init__(self, scale=1.0, **kwargs):
        super().__init__(**kwargs)
        self.scale = check_number("scale", scale)

    def build(self, input_shape):
        self.bias = self.add_weight(name="bias", shape=(input_shape[-1],), initializer="zeros")

    def call(self, inputs):
        return inputs + ops.cast(self.bias, inputs.dtype) * self.scale

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "scale": self.scale}


@keras.saving.register_keras_serializable(package="recipes")
class PartialIdentity(keras.initializers.Initializer):
    """Convolution kernels whose first ``in_channels`` filters are the identity
    (PyTorch's ``dirac_``) and whose other filters are uniform in
    ``+-1 / sqrt(fan_in)`` (PyTorch's default), as in airbench94: each convolution
    starts as an implicit residual connection.

    Args:
        seed: seed of the uniform part (``None``: drawn from Keras' global seed).

    Example:

    >>> kernel = PartialIdentity(seed=0)((3, 3, 2, 4))
    >>> keras.ops.convert_to_numpy(kernel)[1, 1, :, :2]
    array([[1., 0.],
           [0., 1.]], dtype=float32)
    """

    def __init__(self, seed=None):
        self.seed = seed
        self._uniform = keras.initializers.VarianceScaling(
            scale=1.0 / 3.0, mode="fan_in", distribution="uniform", seed=seed
        )

    def __call__(self, shape, dtype=None):
        height, width, channels_in, channels_out = shape
        identity = np.zeros(shape, "float32")
        for channel in range(min(channels_in, channels_out)):
            identity[height // 2, width // 2, channel, channel] = 1.0
        is_identity = np.arange(channels_out) < channels_in
        return ops.where(
            is_identity, ops.cast(identity, dtype or "float32"), self._uniform(shape, dtype)
        )

    def get_config(self):
        return {"seed": self.seed}
