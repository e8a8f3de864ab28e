"""The affine coupling layer of RealNVP normalizing flows (Dinh et al. 2017; seed 004).

A coupling layer splits its input with a binary mask ``m``: the masked part
``x_a = m * x`` passes unchanged and parameterises an affine map of the rest,

    y = m * x + (1 - m) * (x * exp(s(x_a)) + t(x_a)),

so the Jacobian is triangular, ``log|det J| = sum((1 - m) * s(x_a))``, and the
inverse is exact and as cheap as the forward pass:

    x = m * y + (1 - m) * (y - t(y_a)) * exp(-s(y_a)).

``s`` and ``t`` come from one network of any complexity (it is never inverted).
The log-scale is bounded, ``s = scale * tanh(raw)`` with a learned ``scale`` per
feature (RealNVP's own stabiliser), and the network's last layer starts at zero,
so every coupling starts as the identity.
"""

import functools

import keras
import numpy as np
from keras import ops

from recipes.checks import check_activation_name, check_choice, check_positive_int
from recipes.precision import VariableDtypeInputs

MASKS = ("checkerboard", "channel")


def coupling_mask(shape, mask="checkerboard", parity=0):
    """The binary mask of a coupling layer: 1 where values pass unchanged.

    For vectors ``(features,)``: ``"checkerboard"`` alternates features (even
    ones kept for parity 0), ``"channel"`` keeps the first half. For images
    ``(height, width, channels)``: ``"checkerboard"`` alternates pixels like a
    chess board (every channel alike), ``"channel"`` keeps the first half of the
    channels. ``parity=1`` swaps the kept and transformed parts.

    Args:
        shape: shape of one sample, rank 1 or 3.
        mask: ``"checkerboard"`` or ``"channel"``.
        parity: 0 or 1.

    Returns:
        A float32 NumPy array of ``shape``.

    Example:

    >>> coupling_mask((4,), "checkerboard", parity=1)
    array([0., 1., 0., 1.], dtype=float32)
    """
    check_choice("mask", mask, MASKS)
    check_choice("parity", parity, (0, 1))
    shape = tuple(shape)
    if len(shape) == 1:
        index = np.arange(shape[0])
        keep = index % 2 == 0 if mask == "checkerboard" else index < shape[0] // 2
    elif len(shape) == 3:
        if mask == "checkerboard":
            rows, cols = np.indices(shape[:2])
            keep = np.broadcast_to(((rows + cols) % 2 == 0)[..., None], shape)
        else:
            keep = np.broadcast_to(np.arange(shape[2]) < shape[2] // 2, shape)
    else:
        raise ValueError(
            "Coupling masks exist for vectors (features,) and images "
            f"(height, width, channels). Received: shape={shape}"
        )
    keep = keep if parity == 0 else ~keep
    return keep.astype("float32")


@keras.saving.register_keras_serializable(package="recipes")
class AffineCoupling(VariableDtypeInputs, keras.layers.Layer):
    """RealNVP affine coupling: half the input, chosen by a mask, scales and
    shifts the other half (Dinh, Sohl-Dickstein and Bengio, "Density estimation
    using Real NVP", ICLR 2017).

    The conditioning network is an MLP for vectors ``(batch, features)`` and a
    stack of ``kernel_size`` convolutions for images ``(batch, h, w, c)``; its
    last layer (``2 *`` features or channels: log-scale and shift) starts at zero.

    Args:
        mask: ``"checkerboard"`` (alternating features or pixels) or
            ``"channel"`` (first half of the features or channels); see
            ``coupling_mask``.
        parity: 0 or 1: which half passes unchanged. Alternate it between layers so
            every value gets transformed.
        hidden_units: width (units or filters) of the conditioning network.
        num_hidden: number of its hidden layers.
        kernel_size: kernel size of its convolutions (images only).
        activation: its hidden activation.
        **kwargs: ``Layer`` arguments (``name``, ``dtype``...).

    Under a mixed-precision policy only the conditioning network runs in the
    compute dtype (bfloat16 or float16). The coupling itself (inputs, outputs,
    the scale and the log-determinant) stays in the variable dtype, float32, so
    that ``inverse`` undoes the layer to float32 precision and log-likelihoods
    sum exactly.

    Call arguments:
        inputs: a tensor ``(batch, features)`` or ``(batch, h, w, c)``.
        inverse: False (default) for the normalising direction ``x -> z``, True
            for the generative direction ``z -> x``.

    Returns:
        ``(outputs, log_det)``: ``outputs`` has the shape of ``inputs``;
        ``log_det`` ``(batch,)`` is ``log|det d outputs / d inputs|``.

    Example:

    >>> layer = AffineCoupling(mask="checkerboard", parity=0, hidden_units=32)
    >>> y, log_det = layer(np.random.rand(5, 2).astype("float32"))
    >>> y.shape, log_det.shape
    ((5, 2), (5,))
    >>> x, _ = layer(y, inverse=True)     # == the input, to float precision
    """

    def __init__(
        self,
        mask="checkerboard",
        parity=0,
        hidden_units=64,
        num_hidden=2,
        kernel_size=3,
        activation="relu",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.mask = check_choice("mask", mask, MASKS)
        self.parity = check_choice("parity", parity, (0, 1))
        self.hidden_units = check_positive_int("hidden_units", hidden_units)
        self.num_hidden = check_positive_int("num_hidden", num_hidden, minimum=0)
        self.kernel_size = check_positive_int("kernel_size", kernel_size)
        self.activation = check_activation_name(activation)

    def build(self, input_shape):
        shape = tuple(input_shape[1:])
        if len(shape) not in (1, 3) or None in shape:
            raise ValueError(
                "AffineCoupling needs fully known vectors (batch, features) or images "
                f"(batch, height, width, channels). Received: input_shape={input_shape}"
            )
        self.mask_values = coupling_mask(shape, self.mask, self.parity)
        kept = self.mask_values.sum()
        if kept == 0 or kept == self.mask_values.size:
            raise ValueError(
                f"A {self.mask!r} mask of input shape {shape} leaves nothing to "
                "transform or nothing to condition on: use a checkerboard mask or more "
                "features/channels."
            )
        features = shape[-1]
        # Vectors: a Dense network; images: "same" convolutions of kernel_size.
        layer = (
            keras.layers.Dense
            if len(shape) == 1
            else functools.partial(
                keras.layers.Conv2D, kernel_size=self.kernel_size, padding="same"
            )
        )
        self.hidden_layers = [
            layer(
                self.hidden_units,
                activation=self.activation,
                dtype=self.dtype_policy,
                name=f"hidden_{i}",
            )
            for i in range(1, self.num_hidden + 1)
        ]
        self.output_layer = layer(
            2 * features,
            kernel_initializer="zeros",
            dtype=self.dtype_policy,
            name="log_scale_and_shift",
        )
        current = tuple(input_shape)
        for layer in [*self.hidden_layers, self.output_layer]:
            layer.build(current)
            current = layer.compute_output_shape(current)
        self.scale = self.add_weight(
            name="scale", shape=(features,), initializer="ones", autocast=False
        )

    def log_scale_and_shift(self, conditioning):
        """``(s, t)`` for the masked input ``conditioning``, both zero where the
        mask keeps values."""
        h = conditioning
        for layer in self.hidden_layers:
            h = layer(h)
        raw_log_scale, shift = ops.split(
            ops.cast(self.output_layer(h), conditioning.dtype), 2, axis=-1
        )
        free = 1.0 - ops.cast(self.mask_values, conditioning.dtype)
        log_scale = ops.cast(self.scale, conditioning.dtype) * ops.tanh(raw_log_scale)
        return log_scale * free, shift * free

    def call(self, inputs, inverse=False):
        mask = ops.cast(self.mask_values, inputs.dtype)
        conditioning = inputs * mask
        log_scale, shift = self.log_scale_and_shift(conditioning)
        if inverse:
            outputs = conditioning + (1.0 - mask) * (inputs - shift) * ops.exp(-log_scale)
            sign = -1.0
        else:
            outputs = conditioning + (1.0 - mask) * inputs * ops.exp(log_scale) + shift
            sign = 1.0
        axes = tuple(range(1, len(inputs.shape)))
        return outputs, sign * ops.sum(log_scale, axis=axes)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape), (input_shape[0],)

    def get_config(self):
        return {
            **super().get_config(),
            "mask": self.mask,
            "parity": self.parity,
            "hidden_units": self.hidden_units,
            "num_hidden": self.num_hidden,
            "kernel_size": self.kernel_size,
            "activation": self.activation,
        }
