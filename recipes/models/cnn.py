"""The courses' convolutional networks: LeNet-style and VGG-style CIFAR-10 models
(seed 004 models 2 and 3) and Zhang et al. 2017's small AlexNet and small
Inception (seed 002's random-label table)."""

import keras

from recipes.blocks import apply_input_layers, input_layers
from recipes.checks import (
    check_bool,
    check_choice,
    check_int_tuple,
    check_nested_sizes,
    check_positive_int,
    check_rate,
    check_shape,
    check_sides_divisible,
    check_tagged_tuples,
)
from recipes.heads import SOFTMAX_CLASSIFIER, output_dense
from recipes.layers.normalization import LocalResponseNormalization
from recipes.presets import ZHANG_CIFAR10, dataset_arguments
from recipes.registry import register_builder, register_recipes

POOLINGS = ("max", "average")
VGG_BATCH_NORM = ("first", "all", "none")
# Zhang et al. 2017, appendix: (1x1 filters, 3x3 filters) of each Inception module,
# and the 3x3 filters of each downsample module, after a 3x3 convolution of 96.
INCEPTION_SMALL_STEM = 96
INCEPTION_SMALL_MODULES = (
    ("inception", 32, 32),
    ("inception", 32, 48),
    ("downsample", 80),
    ("inception", 112, 48),
    ("inception", 96, 64),
    ("inception", 80, 80),
    ("inception", 48, 96),
    ("downsample", 96),
    ("inception", 176, 160),
    ("inception", 176, 160),
)
# What each kind of module takes after its name.
INCEPTION_SMALL_FORMS = {
    "inception": ("filters_1x1", "filters_3x3"),
    "downsample": ("filters_3x3",),
}


def _conv_classifier(
    stem, module, filters, kernel_size, dense_units, activation, num_classes, name
):
    """The body of ``build_lenet`` and ``build_alexnet_small``: the ``stem`` layers
    (inputs, augmentation, crop), the layers ``module(width, i)`` for each width of
    ``filters``, then the classifier top; the shared arguments checked here."""
    check_positive_int("num_classes", num_classes)
    filters = check_int_tuple("filters", filters)
    check_positive_int("kernel_size", kernel_size)
    dense_units = check_int_tuple("dense_units", dense_units)
    model = keras.Sequential(stem, name=name)
    for i, width in enumerate(filters, start=1):
        for layer in module(width, i):
            model.add(layer)
    return _add_classifier_top(model, dense_units, activation, num_classes)


def _add_classifier_top(model, dense_units, activation, num_classes, dropout=0.0):
    """``Flatten -> dense_1..n -> [dense_dropout] -> softmax predictions``."""
    model.add(keras.layers.Flatten(name="flatten"))
    for i, units in enumerate(dense_units, start=1):
        model.add(keras.layers.Dense(units, activation=activation, name=f"dense_{i}"))
    if dropout and dense_units:
        model.add(keras.layers.Dropout(dropout, name="dense_dropout"))
    model.add(output_dense(num_classes, "softmax"))
    return model


@register_builder(**SOFTMAX_CLASSIFIER)
def build_lenet(
    input_shape=(32, 32, 3),
    num_classes=10,
    filters=(6, 16),
    kernel_size=5,
    dense_units=(120, 84),
    activation="relu",
    pooling="max",
    augment=None,
    name="lenet",
):
    """Builds a LeNet-style CNN: ``[conv -> activation -> 2x2 pool] * n``, then dense.

    Seed 004's CIFAR-10 model 2 is the default: conv5x5(6) - pool - conv5x5(16) -
    pool - 120 - 84 - 10, ReLU, max pooling, "valid" convolutions (62,006 params).

    Args:
        input_shape: ``(height, width, channels)``.
        num_classes: number of classes (softmax output).
        filters: filters of each convolution; each is followed by a pooling.
        kernel_size: side of the square kernels.
        dense_units: widths of the hidden dense layers.
        activation: activation of the convolutions and hidden dense layers.
        pooling: ``"max"`` or ``"average"`` 2x2 pooling.
        augment: ``None`` or a Keras layer applied to the input images, active in
            training only, e.g.
            ``recipes.augment.build_augmentation(flip="horizontal", crop=4)``.
        name: model name.

    Returns:
        A ``keras.Sequential`` model.

    Example:

    >>> build_lenet().count_params()
    62006
    """
    check_choice("activation", activation, ("relu", "tanh", "sigmoid", "elu", "swish"))
    check_choice("pooling", pooling, POOLINGS)
    pool = keras.layers.MaxPooling2D if pooling == "max" else keras.layers.AveragePooling2D

    def module(width, i):
        return [
            keras.layers.Conv2D(width, kernel_size, activation=activation, name=f"conv_{i}"),
            pool(2, name=f"pool_{i}"),
        ]

    stem = input_layers(check_shape("input_shape", input_shape, ndim=3), augment)
    return _conv_classifier(
        stem, module, filters, kernel_size, dense_units, activation, num_classes, name
    )


@register_builder(**SOFTMAX_CLASSIFIER)
def build_vgg(
    input_shape=(32, 32, 3),
    num_classes=10,
    blocks=((32, 64), (128, 128), (256, 256)),
    batch_norm="first",
    dense_units=(1024, 512),
    dropout=0.05,
    augment=None,
    name="vgg",
):
    """Builds a VGG-style CNN: blocks of 3x3 "same" convolutions, each block ending
    in a 2x2 max-pooling, then dense layers.

    The default is seed 004's CIFAR-10 model 3: six convolutions (32, 64 | 128, 128
    | 256, 256) with batch normalisation after the first of each block, dropout
    0.05 after the last pooling and after the last hidden dense layer, and
    4096-1024-512-10 dense layers (5,852,170 trainable parameters, 5,853,002 with
    the batch-norm statistics). Each convolution is ``conv -> [BN] -> ReLU``; the
    batch norms keep PyTorch's statistics momentum (0.1, i.e. Keras ``momentum=0.9``)
    as the seed's ``BatchNorm2d`` does.

    Args:
        input_shape: ``(height, width, channels)``; height and width must be
            divisible by ``2 ** len(blocks)``.
        num_classes: number of classes (softmax output).
        blocks: one tuple of convolution widths per block.
        batch_norm: ``"first"`` (BN after each block's first convolution, as in
            the seed), ``"all"`` or ``"none"``.
        dense_units: widths of the hidden dense layers.
        dropout: dropout rate after the last pooling and the last hidden dense layer.
        augment: ``None`` or a Keras layer applied to the inputs in training.
        name: model name.

    Returns:
        A ``keras.Sequential`` model.

    Example:

    >>> build_vgg().count_params()  # 5,852,170 trainable + 832 BN statistics
    5853002
    """
    input_shape = check_shape("input_shape", input_shape, ndim=3)
    check_positive_int("num_classes", num_classes)
    blocks = check_nested_sizes("blocks", blocks)
    check_choice("batch_norm", batch_norm, VGG_BATCH_NORM)
    dense_units = check_int_tuple("dense_units", dense_units)
    check_rate("dropout", dropout)
    factor = 2 ** len(blocks)
    check_sides_divisible(input_shape, factor, f"{factor} (len(blocks) poolings)")

    model = keras.Sequential(input_layers(input_shape, augment), name=name)
    for b, block in enumerate(blocks, start=1):
        for c, width in enumerate(block, start=1):
            prefix = f"block{b}_conv{c}"
            model.add(keras.layers.Conv2D(width, 3, padding="same", name=prefix))
            if batch_norm == "all" or (batch_norm == "first" and c == 1):
                model.add(keras.layers.BatchNormalization(momentum=0.9, name=f"{prefix}_bn"))
            model.add(keras.layers.Activation("relu", name=f"{prefix}_relu"))
        model.add(keras.layers.MaxPooling2D(2, name=f"block{b}_pool"))
    if dropout:
        model.add(keras.layers.Dropout(dropout, name="pool_dropout"))
    return _add_classifier_top(model, dense_units, "relu", num_classes, dropout)


@register_builder(**SOFTMAX_CLASSIFIER)
def build_alexnet_small(
    input_shape=(28, 28, 3),
    num_classes=10,
    filters=(64, 64),
    kernel_size=5,
    dense_units=(384, 192),
    local_response_norm=True,
    crop=None,
    augment=None,
    name="alexnet_small",
):
    """Builds Zhang et al. 2017's small AlexNet (the TensorFlow CIFAR-10 tutorial
    model): modules of ``conv5x5 -> ReLU -> 3x3/2 max-pool -> LRN``, then dense.

    On 28x28x3 inputs the default has 1,387,786 parameters (seed 002). Local
    response normalisation uses the tutorial's settings: ``depth_radius=4``,
    ``bias=1``, ``alpha=0.001 / 9``, ``beta=0.75``.

    Args:
        input_shape: ``(height, width, channels)``.
        num_classes: number of classes (softmax output).
        filters: filters of each module's convolution ("same" padding).
        kernel_size: side of the square kernels.
        dense_units: widths of the hidden dense layers.
        local_response_norm: add ``LocalResponseNormalization`` after each pooling.
        crop: ``(height, width)`` or one int: centre-crop the inputs first
            (Zhang et al. trained on 28x28 crops of the 32x32 CIFAR-10 images).
        augment: ``None`` or a Keras layer applied to the inputs in training,
            before the crop.
        name: model name.

    Returns:
        A ``keras.Sequential`` model.

    Example:

    >>> build_alexnet_small(input_shape=(32, 32, 3), crop=28).count_params()
    1387786
    """

    def module(width, i):
        layers = [
            keras.layers.Conv2D(
                width, kernel_size, padding="same", activation="relu", name=f"conv_{i}"
            ),
            keras.layers.MaxPooling2D(3, strides=2, padding="same", name=f"pool_{i}"),
        ]
        if local_response_norm:
            layers.append(
                LocalResponseNormalization(
                    depth_radius=4, bias=1.0, alpha=0.001 / 9.0, beta=0.75, name=f"lrn_{i}"
                )
            )
        return layers

    stem = input_layers(check_shape("input_shape", input_shape, ndim=3), augment, crop)
    return _conv_classifier(
        stem, module, filters, kernel_size, dense_units, "relu", num_classes, name
    )


def apply_conv_module(x, filters, kernel_size, strides=1, batch_norm=True, name="conv"):
    """Zhang et al.'s conv module: ``conv -> [BN] -> ReLU``.

    With batch norm the convolution has no bias and the BN has a shift but no
    scale (``scale=False``), so both variants have the same trainable count; the
    statistics use ``momentum=0.9``.
    Layers are named ``{name}_conv``, ``{name}_bn`` and ``{name}_relu``.
    """
    x = keras.layers.Conv2D(
        filters,
        kernel_size,
        strides=strides,
        padding="same",
        use_bias=not batch_norm,
        name=f"{name}_conv",
    )(x)
    if batch_norm:
        x = keras.layers.BatchNormalization(scale=False, momentum=0.9, name=f"{name}_bn")(x)
    return keras.layers.Activation("relu", name=f"{name}_relu")(x)


def apply_inception_module(x, filters_1x1, filters_3x3, batch_norm=True, name="inception"):
    """Zhang et al.'s small Inception module: a 1x1 and a 3x3 conv module side by
    side, concatenated on the channels (``{name}_1x1_*``, ``{name}_3x3_*``,
    ``{name}_concat``)."""
    branch_1x1 = apply_conv_module(x, filters_1x1, 1, batch_norm=batch_norm, name=f"{name}_1x1")
    branch_3x3 = apply_conv_module(x, filters_3x3, 3, batch_norm=batch_norm, name=f"{name}_3x3")
    return keras.layers.Concatenate(name=f"{name}_concat")([branch_1x1, branch_3x3])


def apply_downsample_module(x, filters_3x3, batch_norm=True, name="downsample"):
    """Zhang et al.'s downsample module: a 3x3 stride-2 conv module next to a 3x3
    stride-2 max-pooling, concatenated (``{name}_3x3_*``, ``{name}_pool``,
    ``{name}_concat``)."""
    branch_conv = apply_conv_module(
        x, filters_3x3, 3, strides=2, batch_norm=batch_norm, name=f"{name}_3x3"
    )
    branch_pool = keras.layers.MaxPooling2D(3, strides=2, padding="same", name=f"{name}_pool")(x)
    return keras.layers.Concatenate(name=f"{name}_concat")([branch_conv, branch_pool])


@register_builder(**SOFTMAX_CLASSIFIER)
def build_inception_small(
    input_shape=(28, 28, 3),
    num_classes=10,
    batch_norm=True,
    stem_filters=INCEPTION_SMALL_STEM,
    modules=INCEPTION_SMALL_MODULES,
    crop=None,
    augment=None,
    name="inception_small",
):
    """Builds Zhang et al. 2017's small Inception for CIFAR-10 (their appendix).

    A 3x3 conv module of 96 filters, then the Inception and downsample modules of
    ``INCEPTION_SMALL_MODULES``, global mean pooling and a softmax layer. All
    convolutions and poolings use "same" padding, so 28x28 inputs end in 7x7 maps.
    With the default ``stem_filters`` and ``modules`` it has 1,649,402 trainable
    parameters with or without batch norm (seed 002): with it, the convolutions
    lose their bias and the batch norms have a shift (beta) but no scale (gamma).

    Args:
        input_shape: ``(height, width, channels)``.
        num_classes: number of classes (softmax output).
        batch_norm: batch normalisation in every conv module.
        stem_filters: filters of the first 3x3 conv module.
        modules: the modules in order: ``("inception", filters_1x1, filters_3x3)``
            or ``("downsample", filters_3x3)``.
        crop: ``(height, width)`` or one int: centre-crop the inputs first
            (Zhang et al. used 28x28 crops of CIFAR-10).
        augment: ``None`` or a training-time Keras layer (before the crop).
        name: model name.

    Returns:
        A functional ``keras.Model``.

    Example:

    >>> model = build_inception_small(batch_norm=False)
    >>> model.count_params()
    1649402
    """
    input_shape = check_shape("input_shape", input_shape, ndim=3)
    check_positive_int("num_classes", num_classes)
    check_bool("batch_norm", batch_norm)
    check_positive_int("stem_filters", stem_filters)
    modules = check_tagged_tuples("modules", modules, INCEPTION_SMALL_FORMS)

    inputs, x = apply_input_layers(input_shape, augment, crop)
    x = apply_conv_module(x, stem_filters, 3, batch_norm=batch_norm, name="stem")
    counts = {"inception": 0, "downsample": 0}
    for kind, *widths in modules:
        counts[kind] += 1
        module_name = f"{kind}_{counts[kind]}"
        if kind == "inception":
            x = apply_inception_module(x, *widths, batch_norm=batch_norm, name=module_name)
        else:
            x = apply_downsample_module(x, *widths, batch_norm=batch_norm, name=module_name)
    x = keras.layers.GlobalAveragePooling2D(name="mean_pool")(x)
    outputs = output_dense(num_classes, "softmax")(x)
    return keras.Model(inputs, outputs, name=name)


register_recipes(
    {
        "cifar10_lenet": {
            "builder": build_lenet,
            "summary": "Seed 004's CIFAR-10 model 2: LeNet-style "
            "conv5(6)-pool-conv5(16)-pool-120-84-10 (62,006 params).",
            **dataset_arguments("cifar10"),
            "fit": {"epochs": 20, "batch_size": 64},
        },
        "cifar10_vgg": {
            "builder": build_vgg,
            "summary": "Seed 004's CIFAR-10 model 3: six 3x3 convs with batch norm and dropout "
            "0.05, 1024-512-10 (5,852,170 trainable params).",
            **dataset_arguments("cifar10"),
            "fit": {"epochs": 20, "batch_size": 128},
        },
        "zhang_alexnet_small": {
            "builder": build_alexnet_small,
            "summary": "Zhang et al. 2017 small AlexNet with LRN on 28x28 centre crops of "
            "CIFAR-10 (1,387,786 params).",
            **ZHANG_CIFAR10,
        },
        "zhang_inception_small": {
            "builder": build_inception_small,
            "summary": "Zhang et al. 2017 small Inception on 28x28 centre crops of CIFAR-10; "
            "batch_norm=False for the variant without (1,649,402 trainable params in both).",
            **ZHANG_CIFAR10,
        },
    }
)
