"""Rotation-equivariant group convolutions on the group p4 (Cohen and Welling 2016).

p4 is the group of translations and rotations by multiples of 90 degrees. A p4
feature map holds, at every pixel, one value per filter and per rotation; here it is
a 5-D tensor ``(batch, height, width, filters, 4)`` whose last axis is the rotation
``r = 0, 1, 2, 3`` (``r`` quarter turns, counter-clockwise as ``numpy.rot90``).

* ``P4ConvZ2`` lifts an image ``(batch, height, width, channels)`` to a p4 map: the
  output for rotation ``r`` is the image correlated with the filter turned ``r``
  times.
* ``P4ConvP4`` maps a p4 map to a p4 map: for output rotation ``r`` the filter is
  turned ``r`` times in space and shifted ``r`` steps along its rotation axis.
* ``P4Pool`` pools over the 4 rotations (max or mean), giving an ordinary feature
  map ``(batch, height, width, filters)``.

Equivariance: turning the input a quarter turn (``rot90`` over height and width)
turns every output map a quarter turn and shifts the rotation axis cyclically by one
(``numpy.roll(out, 1, axis=-1)``); after ``P4Pool`` only the spatial turn remains,
and a global spatial pooling makes the result invariant. This holds exactly (to
float rounding) with ``padding="valid"`` and with ``padding="same"`` for odd kernel
sizes; spatial max-pooling keeps it when the map's height and width are even.

Example:

>>> x = np.random.rand(2, 9, 9, 3).astype("float32")
>>> lifted = P4ConvZ2(8)(x)
>>> lifted.shape
(2, 7, 7, 8, 4)
>>> P4Pool()(P4ConvP4(16, padding="same")(lifted)).shape
(2, 7, 7, 16)
"""

import keras
from keras import ops

from recipes.checks import check_choice, check_positive_int

NUM_ROTATIONS = 4
PADDINGS = ("valid", "same")


def rotate_p4(features, k=1):
    """Applies the rotation by ``k`` quarter turns to a p4 feature map.

    The spatial axes (1 and 2) are turned ``k`` times as ``numpy.rot90`` does and
    the rotation axis (the last) is shifted cyclically by ``k``. This is what
    happens to the output of a p4 layer when its input is turned ``k`` times.

    Args:
        features: a tensor ``(batch, height, width, filters, 4)``.
        k: number of quarter turns (any integer).

    Returns:
        A tensor ``(batch, width, height, filters, 4)`` (the same when square).

    Example:

    >>> rotate_p4(np.zeros((1, 5, 5, 2, 4))).shape
    (1, 5, 5, 2, 4)
    """
    turned = ops.rot90(features, k=k, axes=(1, 2))
    return ops.roll(turned, shift=k % NUM_ROTATIONS, axis=-1)


class _P4Conv(keras.layers.Layer):
    """What both p4 convolutions share: arguments, weights, output shapes."""

    input_rank = None

    def __init__(
        self,
        filters,
        kernel_size=3,
        padding="valid",
        activation=None,
        use_bias=True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        check_positive_int("filters", filters)
        check_positive_int("kernel_size", kernel_size)
        check_choice("padding", padding, PADDINGS)
        if padding == "same" and kernel_size % 2 == 0:
            raise ValueError(
                "`kernel_size` must be odd with padding='same': an even kernel pads one "
                "side more than the other, which breaks rotation equivariance. "
                f"Received: kernel_size={kernel_size}, padding='same'"
            )
        self.filters = filters
        self.kernel_size = kernel_size
        self.padding = padding
        self.activation = keras.activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)

    def _kernel_shape(self, input_shape):
        raise NotImplementedError

    def _check_input_shape(self, input_shape):
        if len(input_shape) != self.input_rank:
            raise ValueError(
                f"{type(self).__name__} expects inputs of rank {self.input_rank}. "
                f"Received: input_shape={tuple(input_shape)}"
            )

    def build(self, input_shape):
        self._check_input_shape(input_shape)
        self.kernel = self.add_weight(
            name="kernel",
            shape=self._kernel_shape(input_shape),
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
        )
        if self.use_bias:
            # One bias per filter, shared by the 4 rotations (else not equivariant).
            self.bias = self.add_weight(
                name="bias", shape=(self.filters,), initializer=self.bias_initializer
            )
        else:
            self.bias = None

    def _finish(self, inputs, kernel):
        """Correlates the flattened input with the stacked kernel ``(k, k, in, 4F)``
        whose output channel ``f * 4 + r`` is filter ``f`` for rotation ``r``."""
        outputs = ops.conv(inputs, kernel, padding=self.padding, data_format="channels_last")
        shape = ops.shape(outputs)
        outputs = ops.reshape(outputs, (-1, shape[1], shape[2], self.filters, NUM_ROTATIONS))
        if self.bias is not None:
            outputs = outputs + ops.reshape(self.bias, (self.filters, 1))
        return self.activation(outputs)

    def compute_output_shape(self, input_shape):
        self._check_input_shape(input_shape)
        spatial = []
        for size in input_shape[1:3]:
            if size is None or self.padding == "same":
                spatial.append(size)
            else:
                spatial.append(size - self.kernel_size + 1)
        return (input_shape[0], *spatial, self.filters, NUM_ROTATIONS)

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "padding": self.padding,
            "activation": keras.activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "bias_initializer": keras.initializers.serialize(self.bias_initializer),
            "kernel_regularizer": keras.regularizers.serialize(self.kernel_regularizer),
        }


@keras.saving.register_keras_serializable(package="recipes")
class P4ConvZ2(_P4Conv):
    """Lifting group convolution: image to p4 feature map (Cohen and Welling 2016).

    Output rotation ``r`` is the input correlated with each filter turned ``r``
    quarter turns, so a quarter turn of the input turns every output map and shifts
    the rotation axis by one (see ``rotate_p4``). One bias per filter is shared by
    the 4 rotations. Weights: ``kernel_size**2 * channels * filters`` (+ ``filters``
    biases), as many as a ``Conv2D`` with ``filters`` filters, for 4 times the
    output channels.

    Args:
        filters: number of filters (output maps per rotation).
        kernel_size: height and width of the square filters.
        padding: ``"valid"`` or ``"same"`` (``"same"`` needs an odd kernel size).
        activation: activation applied to the output.
        use_bias: add a learned bias per filter.
        kernel_initializer: initializer of the ``(k, k, channels, filters)`` kernel.
        bias_initializer: initializer of the biases.
        kernel_regularizer: regularizer of the kernel.
        **kwargs: ``Layer`` arguments (``name``, ``dtype``...).

    Call arguments:
        inputs: images ``(batch, height, width, channels)``, channels last.

    Returns:
        A p4 feature map ``(batch, height', width', filters, 4)``.

    Example:

    >>> layer = P4ConvZ2(filters=10, kernel_size=3)
    >>> layer(np.zeros((2, 28, 28, 1), "float32")).shape
    (2, 26, 26, 10, 4)
    >>> layer.count_params()
    100
    """

    input_rank = 4

    def _kernel_shape(self, input_shape):
        return (self.kernel_size, self.kernel_size, input_shape[-1], self.filters)

    def call(self, inputs):
        base = ops.convert_to_tensor(self.kernel)  # a plain tensor: rot90 needs one on JAX
        kernel = ops.stack(
            [ops.rot90(base, k=r, axes=(0, 1)) for r in range(NUM_ROTATIONS)], axis=-1
        )  # (k, k, channels, filters, 4)
        shape = ops.shape(kernel)
        kernel = ops.reshape(kernel, (shape[0], shape[1], shape[2], -1))
        return self._finish(inputs, kernel)


@keras.saving.register_keras_serializable(package="recipes")
class P4ConvP4(_P4Conv):
    """Group convolution from p4 feature maps to p4 feature maps (Cohen and Welling
    2016).

    The filter is itself a p4 map: ``(k, k, channels, 4, filters)``. For output
    rotation ``r`` it is turned ``r`` quarter turns in space and shifted ``r`` steps
    along its rotation axis, so that a quarter turn of the input turns every output
    map and shifts the rotation axis by one. Weights:
    ``kernel_size**2 * channels * 4 * filters`` (+ ``filters`` biases).

    Args:
        filters: number of filters (output maps per rotation).
        kernel_size: height and width of the square filters.
        padding: ``"valid"`` or ``"same"`` (``"same"`` needs an odd kernel size).
        activation: activation applied to the output.
        use_bias: add a learned bias per filter (shared by the 4 rotations).
        kernel_initializer: initializer of the kernel.
        bias_initializer: initializer of the biases.
        kernel_regularizer: regularizer of the kernel.
        **kwargs: ``Layer`` arguments (``name``, ``dtype``...).

    Call arguments:
        inputs: a p4 feature map ``(batch, height, width, channels, 4)``.

    Returns:
        A p4 feature map ``(batch, height', width', filters, 4)``.

    Example:

    >>> layer = P4ConvP4(filters=10, kernel_size=3, padding="same")
    >>> layer(np.zeros((2, 12, 12, 10, 4), "float32")).shape
    (2, 12, 12, 10, 4)
    >>> layer.count_params()
    3610
    """

    input_rank = 5

    def _check_input_shape(self, input_shape):
        super()._check_input_shape(input_shape)
        if input_shape[-1] != NUM_ROTATIONS:
            raise ValueError(
                "P4ConvP4 expects a p4 feature map (batch, height, width, channels, 4), "
                f"e.g. the output of P4ConvZ2. Received: input_shape={tuple(input_shape)}"
            )

    def _kernel_shape(self, input_shape):
        k = self.kernel_size
        return (k, k, input_shape[-2], NUM_ROTATIONS, self.filters)

    def call(self, inputs):
        base = ops.convert_to_tensor(self.kernel)
        kernel = ops.stack(
            [
                ops.roll(ops.rot90(base, k=r, axes=(0, 1)), shift=r, axis=3)
                for r in range(NUM_ROTATIONS)
            ],
            axis=-1,
        )  # (k, k, channels, 4 input rotations, filters, 4 output rotations)
        shape = ops.shape(kernel)
        kernel = ops.reshape(kernel, (shape[0], shape[1], shape[2] * NUM_ROTATIONS, -1))
        in_shape = ops.shape(inputs)
        inputs = ops.reshape(inputs, (-1, in_shape[1], in_shape[2], shape[2] * NUM_ROTATIONS))
        return self._finish(inputs, kernel)


@keras.saving.register_keras_serializable(package="recipes")
class P4Pool(keras.layers.Layer):
    """Pools a p4 feature map over its 4 rotations (rotation pooling).

    The result no longer depends on the cyclic shift of the rotation axis, so a
    quarter turn of the network's input only turns this layer's output in space.

    Args:
        mode: ``"max"`` or ``"mean"`` over the rotations.
        **kwargs: ``Layer`` arguments (``name``, ``dtype``...).

    Call arguments:
        inputs: a p4 feature map ``(batch, height, width, channels, 4)``.

    Returns:
        A tensor ``(batch, height, width, channels)``.

    Example:

    >>> P4Pool("max")(np.zeros((2, 6, 6, 10, 4), "float32")).shape
    (2, 6, 6, 10)
    """

    def __init__(self, mode="max", **kwargs):
        super().__init__(**kwargs)
        self.mode = check_choice("mode", mode, ("max", "mean"))

    def build(self, input_shape):
        if len(input_shape) != 5 or input_shape[-1] != NUM_ROTATIONS:
            raise ValueError(
                "P4Pool expects a p4 feature map (batch, height, width, channels, 4). "
                f"Received: input_shape={tuple(input_shape)}"
            )

    def call(self, inputs):
        if self.mode == "max":
            return ops.max(inputs, axis=-1)
        return ops.mean(inputs, axis=-1)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1])

    def get_config(self):
        return {**super().get_config(), "mode": self.mode}
