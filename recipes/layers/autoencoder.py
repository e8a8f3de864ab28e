"""Layers of the autoencoder family: the tied-weights decoder layer (seeds 000, 003).

A symmetric autoencoder can tie each decoder layer to the encoder layer it
mirrors: the decoder multiplies by the transpose of the encoder's kernel and owns
only a bias (seed 000: "we impose W_{N-L+1} = W_L^T"; seed 003: "decoder weights
linked to encoder weights, usually transposed"). This halves the kernels to learn,
speeds training up and limits over-fitting.
"""

import keras
from keras import ops

from recipes.checks import check_positive_int


class _Tie:
    """Holds the tied layer out of Keras' attribute tracking, so that the tied
    kernel is counted, trained and saved once: as a weight of the encoder."""

    __slots__ = ("layer",)

    def __init__(self, layer):
        self.layer = layer


@keras.saving.register_keras_serializable(package="recipes")
class DenseTranspose(keras.layers.Layer):
    """A dense layer whose kernel is the transpose of another ``Dense`` layer's.

    ``outputs = activation(inputs @ transpose(W) + bias)`` where ``W`` (shape
    ``(units, input_width)``) is the kernel of the tied ``Dense`` layer. The layer
    owns only its bias: gradients reach ``W`` through the tied layer, which counts,
    trains and saves it. Hands-On Machine Learning's ``DenseTranspose``, made
    serializable: the configuration names the tied layer, and the model holding
    both layers (``recipes.models.autoencoder.Autoencoder``) ties them again when
    it is loaded.

    Args:
        units: output width, the input width of the tied layer. ``None`` reads it
            from ``tied_to``'s kernel (which must then be a built layer).
        tied_to: the ``keras.layers.Dense`` layer to share the kernel with, or its
            name, to be resolved later with ``tie``.
        activation: activation name or function (``None``: linear).
        use_bias: add a bias of its own.
        bias_initializer: initializer of the bias.
        **kwargs: ``Layer`` arguments (``name``, ``dtype``...).

    Call arguments:
        inputs: a tensor ``(..., width)`` where ``width`` is the tied layer's
            ``units``.

    Returns:
        A tensor ``(..., units)``.

    Example:

    >>> dense = keras.layers.Dense(16)
    >>> codes = dense(np.ones((2, 64), "float32"))
    >>> decoder_layer = DenseTranspose(tied_to=dense, activation="sigmoid")
    >>> decoder_layer(codes).shape
    (2, 64)
    >>> [w.shape for w in decoder_layer.weights]   # the bias only
    [(64,)]
    """

    def __init__(
        self,
        units=None,
        tied_to=None,
        activation=None,
        use_bias=True,
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        if isinstance(tied_to, keras.layers.Layer):
            layer, tied_name = tied_to, tied_to.name
        elif isinstance(tied_to, str) and tied_to:
            layer, tied_name = None, tied_to
        else:
            raise ValueError(
                "`tied_to` must be a Dense layer or the name of one. "
                f"Received: tied_to={tied_to!r}"
            )
        if units is None:
            units = _kernel_rows(layer) if layer is not None else None
            if units is None:
                raise ValueError(
                    "`units` is needed unless `tied_to` is a built Dense layer. "
                    f"Received: units=None, tied_to={tied_to!r}"
                )
        self.units = check_positive_int("units", units)
        self.tied_to = tied_name
        self.activation = keras.activations.get(activation)
        self.use_bias = bool(use_bias)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self._tie = _Tie(None)
        if layer is not None:
            self.tie(layer)

    @property
    def is_tied(self):
        """Whether the layer knows the ``Dense`` layer it shares the kernel with."""
        return self._tie.layer is not None

    def tie(self, layer):
        """Ties this layer to ``layer`` (a ``Dense`` whose kernel it transposes).

        Args:
            layer: a ``keras.layers.Dense`` named ``self.tied_to`` with ``units``
                inputs (checked once it is built).

        Returns:
            ``self``.
        """
        if not isinstance(layer, keras.layers.Dense):
            raise ValueError(
                f"`layer` must be a keras.layers.Dense. Received: {type(layer).__name__}"
            )
        if layer.name != self.tied_to:
            raise ValueError(
                f"{self.name} is tied to a layer named {self.tied_to!r}. "
                f"Received: a layer named {layer.name!r}"
            )
        rows = _kernel_rows(layer)
        if rows is not None and rows != self.units:
            raise ValueError(
                f"{self.name} has units={self.units}, but {layer.name}'s kernel has "
                f"{rows} rows (its input width): they must match."
            )
        self._tie.layer = layer
        return self

    @property
    def tied_kernel(self):
        """The tied layer's kernel, shape ``(units, input_width)``."""
        if self._tie.layer is None:
            raise ValueError(
                f"{self.name} is not tied yet: call `tie(layer)` with the Dense layer "
                f"named {self.tied_to!r}."
            )
        return self._tie.layer.kernel

    def build(self, input_shape):
        if self.use_bias:
            self.bias = self.add_weight(
                name="bias", shape=(self.units,), initializer=self.bias_initializer
            )

    def call(self, inputs):
        kernel = ops.cast(self.tied_kernel, inputs.dtype)
        outputs = ops.matmul(inputs, ops.transpose(kernel))
        if self.use_bias:
            outputs = outputs + ops.cast(self.bias, outputs.dtype)
        return self.activation(outputs)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "tied_to": self.tied_to,
            "activation": keras.activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "bias_initializer": keras.initializers.serialize(self.bias_initializer),
        }


def _kernel_rows(layer):
    kernel = getattr(layer, "kernel", None) if layer.built else None
    return None if kernel is None else int(kernel.shape[0])


def tie_decoder(decoder, encoder):
    """Ties every untied ``DenseTranspose`` of ``decoder`` to the ``Dense`` layer of
    ``encoder`` that it names. Returns the number of layers tied.

    Example:

    >>> tie_decoder(loaded_decoder, loaded_encoder)
    2
    """
    tied = 0
    for layer in _walk_layers(decoder):
        if isinstance(layer, DenseTranspose) and not layer.is_tied:
            try:
                target = encoder.get_layer(layer.tied_to)
            except ValueError:
                raise ValueError(
                    f"{layer.name} is tied to {layer.tied_to!r}, which the encoder "
                    f"{encoder.name!r} lacks."
                ) from None
            layer.tie(target)
            tied += 1
    return tied


def _walk_layers(model):
    for layer in getattr(model, "layers", ()):
        yield layer
        yield from _walk_layers(layer)
