"""Multi-layer perceptrons (seeds 000, 001 and 004)."""

import keras

from recipes.blocks import center_crop
from recipes.checks import (
    check_augment,
    check_choice,
    check_non_negative,
    check_positive_int,
    check_rate,
    check_shape,
)
from recipes.heads import (
    HIDDEN_ACTIVATIONS,
    OUTPUT_ACTIVATIONS,
    default_output_activation,
    head_model,
    output_dense,
)
from recipes.presets import ZHANG_CIFAR10, dataset_arguments
from recipes.registry import register_builder, register_recipes

INITIALIZERS = {
    "glorot": "glorot_uniform",
    "glorot_uniform": "glorot_uniform",
    "glorot_normal": "glorot_normal",
    "he": "he_normal",
    "he_normal": "he_normal",
    "he_uniform": "he_uniform",
}


@register_builder(
    learning_rate=1e-3,
    loss_doc="the loss that suits `output_activation`",
    metrics_doc="accuracy for classifiers, MAE for regressors",
)
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
        output_dense(
            num_classes,
            output_activation,
            kernel_initializer=initializer,
            kernel_regularizer=regularizer,
        )
    )
    return head_model(model, output_activation)


def _regularizer(l1, l2):
    if not (l1 or l2):
        return None
    return keras.regularizers.L1L2(l1=l1, l2=l2)


register_recipes(
    {
        "mnist_mlp": {
            "builder": build_mlp,
            "summary": "Seed 004's MNIST MLP: 784-64-32-10, ReLU, softmax, SGD lr 0.01 "
            "(52,650 params).",
            **dataset_arguments("mnist"),
            "fit": {"epochs": 12, "batch_size": 64},
            "hidden_units": (64, 32),
            "optimizer": "sgd",
            "learning_rate": 0.01,
        },
        "digits_mlp": {
            "builder": build_mlp,
            "summary": "MLP for scikit-learn's offline 8x8 digits: 64-64-32-10, ReLU, Adam.",
            **dataset_arguments("digits"),
            "fit": {"epochs": 40, "batch_size": 32},
            "hidden_units": (64, 32),
            "learning_rate": 3e-3,
        },
        "digits_layerwise": {
            "builder": build_mlp,
            "summary": "Seed 003's greedy layer-wise pre-training on the offline 8x8 digits: "
            "64-32-16 sigmoid layers pre-trained one tied autoencoder at a time, then "
            "fine-tuned as a classifier.",
            **dataset_arguments("digits"),
            "fit": {"epochs": 20, "batch_size": 32},
            "trainer": "layerwise",
            "hidden_units": (32, 16),
            "activation": "sigmoid",
            "learning_rate": 3e-3,
        },
        "moons_mlp": {
            "builder": build_mlp,
            "summary": "Small tanh MLP for the offline 2-D two-moons set (binary, sigmoid "
            "output).",
            **dataset_arguments("moons", "input_shape"),
            "fit": {"epochs": 60, "batch_size": 32},
            "num_classes": 1,
            "hidden_units": (16, 16),
            "activation": "tanh",
            "learning_rate": 1e-2,
        },
        "cifar10_fc": {
            "builder": build_mlp,
            "summary": "Seed 004's CIFAR-10 model 1: fully connected 3072-1024-256-64-10, ReLU "
            "(3,426,250 params).",
            **dataset_arguments("cifar10"),
            "fit": {"epochs": 20, "batch_size": 128},
            "hidden_units": (1024, 256, 64),
        },
        "zhang_mlp_1x512": {
            "builder": build_mlp,
            "summary": "Zhang et al. 2017 MLP 1x512 on 28x28x3 centre crops of CIFAR-10 "
            "(1,209,866 params).",
            **ZHANG_CIFAR10,
            "hidden_units": (512,),
        },
        "zhang_mlp_3x512": {
            "builder": build_mlp,
            "summary": "Zhang et al. 2017 MLP 3x512 on 28x28x3 centre crops of CIFAR-10 "
            "(1,735,178 params).",
            **ZHANG_CIFAR10,
            "hidden_units": (512, 512, 512),
        },
    }
)
