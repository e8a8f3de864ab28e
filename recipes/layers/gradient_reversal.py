"""The gradient reversal layer of domain-adversarial networks (Ganin and Lempitsky 2015).

Forward, the layer is the identity. Backward, it multiplies the gradient by
``-lambda_``: the layers below it are trained to *increase* the loss of the layers
above it. In a DANN the domain classifier sits above the reversal, so the shared
features learn to confuse it while it learns to tell the domains apart.

``lambda_`` is a non-trainable weight, so it can change during training without
recompiling: ``GradientReversal.set_lambda`` (or the ``LambdaScheduler`` callback of
``recipes.models.dann``) assigns it, and the compiled training step reads the new
value. The custom gradient is ``keras.ops.custom_gradient``, which works on the
TensorFlow, JAX and PyTorch backends.
"""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="recipes")
class GradientReversal(keras.layers.Layer):
    """Identity forward; gradient times ``-lambda_`` backward.

    Ganin and Lempitsky, "Unsupervised Domain Adaptation by Backpropagation",
    ICML 2015.

    Args:
        lambda_: the reversal strength (a float, may be 0 or negative; 1 is full
            reversal). It is stored in a non-trainable weight, ``lambda_`` holds
            the starting value and ``set_lambda`` changes it.
        **kwargs: ``Layer`` arguments (``name``, ``dtype``...).

    Call arguments:
        inputs: a float tensor of any shape.

    Returns:
        ``inputs`` unchanged; during back-propagation the gradient that reaches
        ``inputs`` is ``-lambda_`` times the gradient of the output.

    Example:

    >>> layer = GradientReversal(lambda_=0.5)
    >>> layer(np.ones((2, 3), "float32")).shape
    (2, 3)
    >>> layer.set_lambda(1.0)
    """

    def __init__(self, lambda_=1.0, **kwargs):
        super().__init__(**kwargs)
        if isinstance(lambda_, bool) or not isinstance(lambda_, (int, float)):
            raise ValueError(f"`lambda_` must be a number. Received: lambda_={lambda_!r}")
        self.lambda_ = float(lambda_)
        self.supports_masking = True

    def build(self, input_shape):
        self.strength = self.add_weight(
            name="lambda",
            shape=(),
            initializer=keras.initializers.Constant(self.lambda_),
            trainable=False,
        )

    def set_lambda(self, value):
        """Sets the reversal strength used from the next step on."""
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"`value` must be a number. Received: value={value!r}")
        if not self.built:
            self.lambda_ = float(value)
            return
        self.strength.assign(float(value))

    def get_lambda(self):
        """Returns the current reversal strength as a Python float."""
        if not self.built:
            return self.lambda_
        return float(ops.convert_to_numpy(self.strength))

    def call(self, inputs):
        strength = ops.cast(ops.convert_to_tensor(self.strength), inputs.dtype)
        return _reverse_gradient(inputs, strength)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "lambda_": self.lambda_}


@ops.custom_gradient
def _reverse_gradient(inputs, strength):
    def grad(*args, upstream=None):
        # TensorFlow and JAX pass the upstream gradient positionally, PyTorch by
        # keyword (see keras.ops.custom_gradient).
        if upstream is None:
            (upstream,) = args
        return -strength * upstream, ops.zeros_like(strength)

    return ops.copy(inputs), grad
