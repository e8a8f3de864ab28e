"""Output heads: the last layer of a model and the loss and metrics that suit it.

Every family's classifier or regressor ends the same way: a ``Dense`` layer whose
activation says what the outputs are (softmax class probabilities, a sigmoid
probability, linear values, positive counts), compiled with the loss that suits
that activation. Under a mixed-precision policy the head computes in float32, as
the Keras mixed-precision guide advises, so whatever a loss scores is float32.

Example:

>>> activation = default_output_activation(num_classes=10)      # "softmax"
>>> outputs = output_dense(10, activation)(features)
>>> return head_model(keras.Model(inputs, outputs), activation)  # -> BuiltModel
"""

import keras

from recipes.compiling import BuiltModel

HIDDEN_ACTIVATIONS = ("relu", "sigmoid", "tanh", "leaky_relu", "elu", "swish", "gelu")
OUTPUT_ACTIVATIONS = ("softmax", "sigmoid", "linear", "exponential")
_DEFAULT_LOSSES = {
    "softmax": "sparse_categorical_crossentropy",
    "sigmoid": "binary_crossentropy",
    "linear": "mean_squared_error",
    "exponential": "poisson",
}


HEAD_DOCS = {
    "loss_doc": "the loss that suits ``output_activation``",
    "metrics_doc": "accuracy for classifiers, MAE for regressors",
}
"""``register_builder(**HEAD_DOCS)``: how the docstring of a builder that returns
``head_model(...)`` names its default loss and metrics."""
SOFTMAX_CLASSIFIER = {"loss": "sparse_categorical_crossentropy", "metrics": ["accuracy"]}
"""``register_builder(**SOFTMAX_CLASSIFIER)``: the compile defaults of a softmax
classifier over integer labels."""


def default_output_activation(num_classes):
    """``"softmax"`` for several classes, ``"sigmoid"`` for one output.

    Example:

    >>> default_output_activation(1)
    'sigmoid'
    """
    return "softmax" if num_classes > 1 else "sigmoid"


def default_loss_and_metrics(output_activation):
    """The loss and metrics that suit an output activation.

    Softmax gets sparse categorical cross-entropy (integer labels), sigmoid binary
    cross-entropy, linear the squared error and exponential the Poisson loss (the
    log link that suits positive quantities); classifiers report accuracy,
    regressors the mean absolute error.

    Example:

    >>> default_loss_and_metrics("linear")
    ('mean_squared_error', ['mae'])
    """
    classifier = output_activation in ("softmax", "sigmoid")
    return _DEFAULT_LOSSES[output_activation], ["accuracy" if classifier else "mae"]


def output_dense(units, activation, name="predictions", **dense_kwargs):
    """The output ``Dense`` layer, float32 under any precision policy.

    Args:
        units: number of outputs (classes or targets).
        activation: the output activation, e.g. one of ``OUTPUT_ACTIVATIONS``.
        name: layer name.
        **dense_kwargs: more ``keras.layers.Dense`` arguments (initializers,
            regularizers...).

    Returns:
        A ``keras.layers.Dense`` layer.

    Example:

    >>> output_dense(10, "softmax").dtype_policy.compute_dtype
    'float32'
    """
    return keras.layers.Dense(
        units, activation=activation, dtype="float32", name=name, **dense_kwargs
    )


def output_upconv(channels, kernel_size, activation, name):
    """The output layer of an image decoder: a stride-2 "same" ``Conv2DTranspose``
    to the image's ``channels`` (doubling the sides), float32 under any precision
    policy, like ``output_dense``.

    Args:
        channels: channels of the images.
        kernel_size: size of the kernel.
        activation: the output activation (``"sigmoid"`` for pixels in [0, 1]...).
        name: layer name.

    Returns:
        A ``keras.layers.Conv2DTranspose`` layer.

    Example:

    >>> layer = output_upconv(1, 3, "sigmoid", "reconstructions")
    >>> layer(np.zeros((2, 14, 14, 16), "float32")).shape
    (2, 28, 28, 1)
    """
    return keras.layers.Conv2DTranspose(
        channels,
        kernel_size,
        strides=2,
        padding="same",
        activation=activation,
        dtype="float32",
        name=name,
    )


def apply_output_head(x, num_classes, output_activation, dropout=0.0):
    """A classifier's head on pooled features: dropout (``head_dropout``) and
    the float32 output layer (``predictions``).

    Example:

    >>> outputs = apply_output_head(pooled, 2, "softmax", dropout=0.1)
    """
    if dropout:
        x = keras.layers.Dropout(dropout, name="head_dropout")(x)
    return output_dense(num_classes, output_activation)(x)


def head_model(model, output_activation, **compile_kwargs):
    """``model`` with the loss and metrics that suit its output activation, as
    a builder's body returns it.

    Args:
        model: the built ``keras.Model``.
        output_activation: the activation of its output layer.
        **compile_kwargs: more ``BuiltModel`` fields (``make_optimizer``...).

    Returns:
        A ``recipes.compiling.BuiltModel``.

    Example:

    >>> head_model(model, "softmax").loss
    'sparse_categorical_crossentropy'
    """
    loss, metrics = default_loss_and_metrics(output_activation)
    return BuiltModel(model, loss=loss, metrics=metrics, **compile_kwargs)
