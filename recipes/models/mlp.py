"""Multi-layer perceptrons (seeds 000, 001 and 004)."""

import keras

from recipes.checks import (
    check_choice,
    check_non_negative,
    check_positive_int,
    check_rate,
    check_shape,
)
from recipes.compiling import compile_recipe
from recipes.registry import register_builder, register_recipe

HIDDEN_ACTIVATIONS = ("relu", "sigmoid", "tanh", "leaky_relu", "elu", "swish", "gelu")
OUTPUT_ACTIVATIONS = ("softmax", "sigmoid", "linear", "exponential")
INITIALIZERS = {
    "glorot": "glorot_uniform",
    "glorot_uniform": "glorot_uniform",
    "glorot_normal": "glorot_normal",
    "he": "he_normal",
    "he_normal": "he_normal",
    "he_uniform": "he_uniform",
}
_DEFAULT_LOSSES = {
    "softmax": "sparse_categorical_crossentropy",
    "sigmoid": "binary_crossentropy",
    "linear": "mean_squared_error",
    "exponential": "poisson",
}


def default_output_activation(num_classes):
    """``"softmax"`` for several classes, ``"sigmoid"`` for one output."""
    return "softmax" if num_classes > 1 else "sigmoid"


def default_loss_and_metrics(output_activation):
    """The loss and metrics that suit an output activation.

    Softmax gets sparse categorical cross-entropy (integer labels), sigmoid binary
    cross-entropy, linear the squared error and exponential the Poisson loss (the
    log link that suits positive quantities); classifiers report accuracy,
    regressors the mean absolute error.
    """
    classifier = output_activation in ("softmax", "sigmoid")
    return _DEFAULT_LOSSES[output_activation], ["accuracy" if classifier else "mae"]


@register_builder
def build_mlp(
    input_shape=(784,),
    num_classes=10,
    hidden_units=(64, 32),
    activation="relu",
    output_activation=None,
    dropout=0.0,
    batch_norm=False,
    l1=0.0,
    l2=0.0,
    kernel_initializer="glorot",
    crop=None,
    augment=None,
    name="mlp",
    compile=True,
    optimizer="adam",
    learning_rate=1e-3,
    loss=None,
    metrics=None,
):
    """Builds a multi-layer perceptron as a ``keras.Sequential`` stack.

    Inputs of more than one dimension (images) are flattened first. Each hidden
    layer is ``Dense -> [BatchNormalization] -> activation -> [Dropout]``.

    Args:
        input_shape: shape of one sample, e.g. ``(784,)`` or ``(28, 28, 1)``.
        num_classes: width of the output layer: classes for a classifier, targets
            for a regressor (with ``output_activation="linear"``).
        hidden_units: width of each hidden layer; ``()`` gives a linear model.
        activation: hidden activation, one of ``HIDDEN_ACTIVATIONS``.
        output_activation: one of ``OUTPUT_ACTIVATIONS``; default softmax for
            ``num_classes > 1``, else sigmoid.
        dropout: dropout rate after each hidden layer.
        batch_norm: add batch normalisation before each hidden activation.
        l1: L1 penalty on the kernels.
        l2: L2 penalty on the kernels.
        kernel_initializer: ``"glorot"`` (Xavier), ``"he"`` or a full Keras name
            such as ``"he_uniform"``.
        crop: ``(height, width)`` (or one int) to centre-crop image inputs to
            before flattening, e.g. 28 for Zhang et al.'s 28x28 CIFAR-10 crops;
            ``None`` keeps the whole image.
        augment: ``None`` or a Keras layer applied to the input images (before
            any crop), active in training only, e.g.
            ``recipes.augment.build_augmentation(flip="horizontal", crop=4)``.
        name: model name.
        compile: compile with the defaults below (False: return uncompiled).
        optimizer: optimizer name, config or instance.
        learning_rate: learning rate (or schedule) of the optimizer.
        loss: defaults to the loss that suits ``output_activation``.
        metrics: defaults to accuracy for classifiers, MAE for regressors.

    Returns:
        A ``keras.Sequential`` model.

    Example:

    >>> model = build_mlp(input_shape=(28, 28, 1), hidden_units=(64, 32))
    >>> model.count_params()
    52650
    """
    input_shape = check_shape("input_shape", input_shape)
    check_positive_int("num_classes", num_classes)
    hidden_units = tuple(hidden_units)
    for i, units in enumerate(hidden_units):
        check_positive_int(f"hidden_units[{i}]", units)
    check_choice("activation", activation, HIDDEN_ACTIVATIONS)
    output_activation = output_activation or default_output_activation(num_classes)
    check_choice("output_activation", output_activation, OUTPUT_ACTIVATIONS)
    check_rate("dropout", dropout)
    check_choice("kernel_initializer", kernel_initializer, tuple(INITIALIZERS))
    regularizer = _regularizer(check_non_negative("l1", l1), check_non_negative("l2", l2))
    initializer = INITIALIZERS[kernel_initializer]
    cropping = center_crop(input_shape, crop)
    check_augment(augment)

    model = keras.Sequential(name=name)
    model.add(keras.Input(shape=input_shape, name="inputs"))
    if augment is not None:
        model.add(augment)
    if cropping is not None:
        model.add(cropping)
    if len(input_shape) > 1:
        model.add(keras.layers.Flatten(name="flatten"))
    for i, units in enumerate(hidden_units, start=1):
        model.add(
            keras.layers.Dense(
                units,
                use_bias=not batch_norm,
                kernel_initializer=initializer,
                kernel_regularizer=regularizer,
                name=f"dense_{i}",
            )
        )
        if batch_norm:
            model.add(keras.layers.BatchNormalization(name=f"batch_norm_{i}"))
        model.add(keras.layers.Activation(activation, name=f"{activation}_{i}"))
        if dropout:
            model.add(keras.layers.Dropout(dropout, name=f"dropout_{i}"))
    model.add(
        keras.layers.Dense(
            num_classes,
            activation=output_activation,
            kernel_initializer=initializer,
            kernel_regularizer=regularizer,
            dtype="float32",  # a float32 output keeps the loss stable in mixed precision
            name="predictions",
        )
    )
    default_loss, default_metrics = default_loss_and_metrics(output_activation)
    return compile_recipe(
        model,
        compile=compile,
        optimizer=optimizer,
        learning_rate=learning_rate,
        loss=loss or default_loss,
        metrics=default_metrics if metrics is None else metrics,
    )


def check_augment(augment):
    """Raises ``ValueError`` unless ``augment`` is ``None`` or a Keras layer (such
    as ``recipes.augment.build_augmentation(...)``); returns it."""
    if augment is not None and not isinstance(augment, keras.layers.Layer):
        raise ValueError(f"`augment` must be a Keras layer or None. Received: augment={augment!r}")
    return augment


def center_crop(input_shape, crop):
    """A ``Cropping2D`` layer named ``"crop"`` that keeps the central ``crop``
    pixels of ``(height, width, channels)`` inputs, or ``None`` when ``crop`` is
    ``None``. ``crop`` is ``(height, width)`` or one int for a square."""
    if crop is None:
        return None
    size = (crop, crop) if isinstance(crop, int) and not isinstance(crop, bool) else crop
    image = tuple(input_shape)
    try:
        size = tuple(size)
        valid = len(size) == 2 and all(isinstance(d, int) and d >= 1 for d in size)
    except TypeError:
        valid = False
    if not valid:
        raise ValueError(
            f"`crop` must be None, an int or a (height, width) pair. Received: crop={crop!r}"
        )
    if len(image) != 3 or None in image[:2] or size[0] > image[0] or size[1] > image[1]:
        raise ValueError(
            "`crop` needs image inputs (height, width, channels) at least as large as "
            f"the crop. Received: crop={crop!r}, input_shape={input_shape!r}"
        )
    margins = [(total - kept) for total, kept in zip(image[:2], size)]
    return keras.layers.Cropping2D(
        tuple((margin // 2, margin - margin // 2) for margin in margins), name="crop"
    )


def _regularizer(l1, l2):
    if not (l1 or l2):
        return None
    return keras.regularizers.L1L2(l1=l1, l2=l2)


register_recipe(
    "mnist_mlp",
    build_mlp,
    "Seed 004's MNIST MLP: 784-64-32-10, ReLU, softmax, SGD lr 0.01 (52,650 params).",
    dataset="mnist",
    fit={"epochs": 12, "batch_size": 64},
    input_shape=(28, 28, 1),
    num_classes=10,
    hidden_units=(64, 32),
    optimizer="sgd",
    learning_rate=0.01,
)

register_recipe(
    "digits_mlp",
    build_mlp,
    "MLP for scikit-learn's offline 8x8 digits: 64-64-32-10, ReLU, Adam.",
    dataset="digits",
    fit={"epochs": 40, "batch_size": 32},
    input_shape=(8, 8, 1),
    num_classes=10,
    hidden_units=(64, 32),
    learning_rate=3e-3,
)

register_recipe(
    "moons_mlp",
    build_mlp,
    "Small tanh MLP for the offline 2-D two-moons set (binary, sigmoid output).",
    dataset="moons",
    fit={"epochs": 60, "batch_size": 32},
    input_shape=(2,),
    num_classes=1,
    hidden_units=(16, 16),
    activation="tanh",
    learning_rate=1e-2,
)

register_recipe(
    "cifar10_fc",
    build_mlp,
    "Seed 004's CIFAR-10 model 1: fully connected 3072-1024-256-64-10, ReLU (3,426,250 params).",
    dataset="cifar10",
    fit={"epochs": 20, "batch_size": 128},
    input_shape=(32, 32, 3),
    num_classes=10,
    hidden_units=(1024, 256, 64),
)

# Zhang et al. 2017 trained with SGD and momentum 0.9.
ZHANG_SGD = {"class_name": "sgd", "config": {"momentum": 0.9}}

register_recipe(
    "zhang_mlp_1x512",
    build_mlp,
    "Zhang et al. 2017 MLP 1x512 on 28x28x3 centre crops of CIFAR-10 (1,209,866 params).",
    dataset="cifar10",
    fit={"epochs": 30, "batch_size": 128},
    input_shape=(32, 32, 3),
    crop=28,
    num_classes=10,
    hidden_units=(512,),
    optimizer=ZHANG_SGD,
    learning_rate=0.01,
)

register_recipe(
    "zhang_mlp_3x512",
    build_mlp,
    "Zhang et al. 2017 MLP 3x512 on 28x28x3 centre crops of CIFAR-10 (1,735,178 params).",
    dataset="cifar10",
    fit={"epochs": 30, "batch_size": 128},
    input_shape=(32, 32, 3),
    crop=28,
    num_classes=10,
    hidden_units=(512, 512, 512),
    optimizer=ZHANG_SGD,
    learning_rate=0.01,
)
