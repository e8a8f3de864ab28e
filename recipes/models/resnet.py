"""Residual networks (He et al. 2016; seed 003's residual links): the CIFAR ResNets
of depth 6n+2 (basic blocks) or 9n+2 (bottleneck blocks), and a fast
ResNet-9-style network (Page's DAWNBench CIFAR-10 model).

The body reads top-down: stem, stacks of blocks, head. Blocks are module-level
functions (``apply_basic_block``, ``apply_bottleneck_block``...) whose layers get
predictable names, e.g. ``stack2_block1_conv1`` or ``stack2_block1_shortcut_conv``.
"""

import keras

from recipes.blocks import apply_input_layers
from recipes.checks import (
    check_choice,
    check_non_negative,
    check_positive_int,
    check_resnet_depth,
    check_shape,
)
from recipes.heads import SOFTMAX_CLASSIFIER, output_dense
from recipes.presets import dataset_arguments
from recipes.registry import register_builder, register_recipes

RESNET_VARIANTS = ("cifar", "resnet9")
RESNET_BLOCKS = ("basic", "bottleneck")
# Layers per block: depth = layers_per_block * 3 stacks * n + 2 (stem and head).
_LAYERS_PER_BLOCK = {"basic": 2, "bottleneck": 3}
_DEFAULT_DEPTH = {"basic": 20, "bottleneck": 29}
BOTTLENECK_EXPANSION = 4


def _conv_bn(x, filters, kernel_size, stride, l2, conv_name, bn_name, relu_name=None):
    """``conv -> BN [-> ReLU]``, the layers named as given (no ReLU without a name):
    "same" bias-free He-initialised convolutions, L2-penalised by ``l2``, and batch
    norms with PyTorch's momentum and epsilon."""
    x = keras.layers.Conv2D(
        filters,
        kernel_size,
        strides=stride,
        padding="same",
        use_bias=False,
        kernel_initializer="he_normal",
        kernel_regularizer=keras.regularizers.L2(l2) if l2 else None,
        name=conv_name,
    )(x)
    x = keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-5, name=bn_name)(x)
    return keras.layers.Activation("relu", name=relu_name)(x) if relu_name else x


def _add_relu(shortcut, x, name):
    """The end of a residual block: ``ReLU(shortcut + x)`` (``{name}_add``, ``_out``)."""
    x = keras.layers.Add(name=f"{name}_add")([shortcut, x])
    return keras.layers.Activation("relu", name=f"{name}_out")(x)


def _shortcut(x, filters, stride, l2, name):
    """Identity, or a 1x1 projection (conv + BN) when the shape changes."""
    if stride == 1 and x.shape[-1] == filters:
        return x
    return _conv_bn(x, filters, 1, stride, l2, f"{name}_shortcut_conv", f"{name}_shortcut_bn")


def apply_basic_block(x, filters, stride=1, l2=0.0, name="block"):
    """Basic residual block: ``conv3x3 -> BN -> ReLU -> conv3x3 -> BN``, added to
    the shortcut, then ReLU (He et al. 2016, post-activation).

    The shortcut is the identity, or a 1x1 strided projection with batch norm
    (option B) when ``stride > 1`` or the width changes. Layers:
    ``{name}_conv1``, ``_bn1``, ``_relu1``, ``_conv2``, ``_bn2``,
    ``_shortcut_conv``, ``_shortcut_bn``, ``_add``, ``_out``.
    """
    shortcut = _shortcut(x, filters, stride, l2, name)
    x = _conv_bn(x, filters, 3, stride, l2, f"{name}_conv1", f"{name}_bn1", f"{name}_relu1")
    x = _conv_bn(x, filters, 3, 1, l2, f"{name}_conv2", f"{name}_bn2")
    return _add_relu(shortcut, x, name)


def apply_bottleneck_block(x, filters, stride=1, l2=0.0, name="block"):
    """Bottleneck residual block: ``1x1 (filters) -> 3x3 (filters, stride) -> 1x1
    (4 * filters)``, each conv followed by BN (and ReLU but the last), added to
    the shortcut, then ReLU. Layers as in ``apply_basic_block`` plus
    ``{name}_conv3``, ``_bn3``, ``_relu2``."""
    out_filters = BOTTLENECK_EXPANSION * filters
    shortcut = _shortcut(x, out_filters, stride, l2, name)
    x = _conv_bn(x, filters, 1, 1, l2, f"{name}_conv1", f"{name}_bn1", f"{name}_relu1")
    x = _conv_bn(x, filters, 3, stride, l2, f"{name}_conv2", f"{name}_bn2", f"{name}_relu2")
    x = _conv_bn(x, out_filters, 1, 1, l2, f"{name}_conv3", f"{name}_bn3")
    return _add_relu(shortcut, x, name)


def apply_stack(x, filters, blocks, stride, block="basic", l2=0.0, name="stack"):
    """``blocks`` residual blocks of one width; the first has ``stride``.
    Blocks are named ``{name}_block1``, ``{name}_block2``..."""
    apply_block = apply_basic_block if block == "basic" else apply_bottleneck_block
    for b in range(1, blocks + 1):
        x = apply_block(x, filters, stride if b == 1 else 1, l2, name=f"{name}_block{b}")
    return x


def apply_conv_bn(x, filters, pool=False, l2=0.0, name="conv"):
    """ResNet-9's unit: ``conv3x3 -> BN -> ReLU [-> 2x2 max-pool]`` (``{name}_conv``,
    ``_bn``, ``_relu``, ``_pool``)."""
    x = _conv_bn(x, filters, 3, 1, l2, f"{name}_conv", f"{name}_bn", f"{name}_relu")
    if pool:
        x = keras.layers.MaxPooling2D(2, name=f"{name}_pool")(x)
    return x


def apply_resnet9_residual(x, filters, l2=0.0, name="res"):
    """ResNet-9's residual: two conv-BN-ReLU units added to their input
    (``{name}_a_*``, ``{name}_b_*``, ``{name}_add``)."""
    y = apply_conv_bn(x, filters, l2=l2, name=f"{name}_a")
    y = apply_conv_bn(y, filters, l2=l2, name=f"{name}_b")
    return keras.layers.Add(name=f"{name}_add")([x, y])


@register_builder(**SOFTMAX_CLASSIFIER)
def build_resnet(
    input_shape=(32, 32, 3),
    num_classes=10,
    depth=None,
    block="basic",
    variant="cifar",
    filters=None,
    l2=0.0,
    augment=None,
    name=None,
):
    """Builds a residual network for small images.

    ``variant="cifar"`` (He et al. 2016, section 4.2): a 3x3 conv of ``filters``
    (default 16), three stacks of ``n`` blocks of width ``filters``,
    ``2 * filters`` and ``4 * filters`` (stride 2 at the start of stacks 2 and
    3), global average pooling and a softmax layer. Basic blocks give depth
    ``6n + 2`` (ResNet-20/32/44/56/110; ResNet-20 has 0.27M parameters);
    bottleneck blocks (x4 expansion) give depth ``9n + 2`` (e.g. 29, 56, 164).
    Shape-changing shortcuts are 1x1 projections with batch norm (option B).
    Convolutions have no bias; batch norms use momentum 0.9 and epsilon 1e-5
    (PyTorch's defaults, as in most CIFAR ResNet code).

    ``variant="resnet9"``: the fast ResNet-9 of Page's DAWNBench entry: prep
    conv(64), conv(128)+pool with a residual of two convs, conv(256)+pool,
    conv(512)+pool with a residual, global max-pooling, softmax (6.57M
    parameters at ``filters=64``).

    Args:
        input_shape: ``(height, width, channels)``.
        num_classes: number of classes (softmax output).
        depth: ``6n+2`` (basic) or ``9n+2`` (bottleneck) for ``"cifar"``; default
            20 (basic) or 29 (bottleneck). Must stay None (9) for ``"resnet9"``.
        block: ``"basic"`` or ``"bottleneck"`` (``"cifar"`` only).
        variant: ``"cifar"`` or ``"resnet9"``.
        filters: width of the first stage; default 16 (cifar) or 64 (resnet9).
        l2: L2 penalty on every kernel (He et al. used 1e-4).
        augment: ``None`` or a Keras layer applied to the input images, active in
            training only, e.g. ``recipes.augment.build_augmentation(
            flip="horizontal", crop=4)`` (He et al.'s CIFAR augmentation).
        name: model name (default ``"resnet{depth}"``).

    Returns:
        A functional ``keras.Model``.

    Example:

    >>> model = build_resnet(depth=20)
    >>> model.name, model.get_layer("stack3_block3_add").output.shape
    ('resnet20', (None, 8, 8, 64))
    >>> build_resnet(depth=21)
    Traceback (most recent call last):
    ValueError: `depth` must be 6n+2 for block='basic' (e.g. 8, 20, 32, 44, 56, 110)...
    """
    input_shape = check_shape("input_shape", input_shape, ndim=3)
    check_positive_int("num_classes", num_classes)
    check_choice("variant", variant, RESNET_VARIANTS)
    check_choice("block", block, RESNET_BLOCKS)
    depth = check_resnet_depth(depth, variant, block, 3 * _LAYERS_PER_BLOCK[block])
    depth = _DEFAULT_DEPTH[block] if depth is None else depth
    filters = (
        check_positive_int("filters", filters)
        if filters is not None
        else (64 if variant == "resnet9" else 16)
    )
    l2 = check_non_negative("l2", l2)
    regularizer = keras.regularizers.L2(l2) if l2 else None

    inputs, x = apply_input_layers(input_shape, augment)
    if variant == "cifar":
        x = apply_conv_bn(x, filters, l2=l2, name="stem")
        blocks = (depth - 2) // (3 * _LAYERS_PER_BLOCK[block])
        for s, stride in enumerate((1, 2, 2)):
            x = apply_stack(
                x, filters * 2**s, blocks, stride, block=block, l2=l2, name=f"stack{s + 1}"
            )
        x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
    else:
        x = apply_conv_bn(x, filters, l2=l2, name="prep")
        x = apply_conv_bn(x, 2 * filters, pool=True, l2=l2, name="layer1")
        x = apply_resnet9_residual(x, 2 * filters, l2=l2, name="layer1_res")
        x = apply_conv_bn(x, 4 * filters, pool=True, l2=l2, name="layer2")
        x = apply_conv_bn(x, 8 * filters, pool=True, l2=l2, name="layer3")
        x = apply_resnet9_residual(x, 8 * filters, l2=l2, name="layer3_res")
        x = keras.layers.GlobalMaxPooling2D(name="max_pool")(x)
    outputs = output_dense(num_classes, "softmax", kernel_regularizer=regularizer)(x)
    return keras.Model(inputs, outputs, name=name or f"resnet{depth}")


register_recipes(
    {
        "cifar10_resnet20": {
            "builder": build_resnet,
            "summary": "He et al. 2016 CIFAR ResNet-20 (3 stacks of 3 basic blocks, 16-32-64 "
            "filters, 0.27M params).",
            **dataset_arguments("cifar10"),
            "fit": {"epochs": 30, "batch_size": 128},
            "depth": 20,
            "l2": 1e-4,
        },
        "cifar10_resnet56": {
            "builder": build_resnet,
            "summary": "He et al. 2016 CIFAR ResNet-56 (3 stacks of 9 basic blocks, "
            "0.86M params).",
            **dataset_arguments("cifar10"),
            "fit": {"epochs": 50, "batch_size": 128},
            "depth": 56,
            "l2": 1e-4,
        },
        "cifar10_resnet9": {
            "builder": build_resnet,
            "summary": "Fast ResNet-9 (Page's DAWNBench CIFAR-10 net, 64-128-256-512 filters, "
            "6.57M params).",
            **dataset_arguments("cifar10"),
            "fit": {"epochs": 24, "batch_size": 512},
            "variant": "resnet9",
            "l2": 5e-4,
        },
    }
)
