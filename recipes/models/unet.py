"""U-Net for semantic segmentation (Ronneberger et al. 2015; seed 004).

An encoder of ``depth`` levels (two 3x3 convolutions, then 2x2 max-pooling, the
filters doubling at each level), a bottleneck, and a decoder that upsamples
(2x2 transposed convolution, or bilinear upsampling and a 1x1 convolution),
concatenates the encoder's map of the same size (the skip connection) and applies
two 3x3 convolutions. A 1x1 convolution gives each pixel's class probabilities.

Layer names are predictable: ``encoder1_conv1``, ``encoder1_pool``,
``bottleneck_conv2``, ``decoder1_upconv``, ``decoder1_concat``, ``predictions``.
"""

import keras

from recipes.checks import (
    check_augment,
    check_choice,
    check_flips_only,
    check_positive_int,
    check_rate,
    check_shape,
    check_sides_divisible,
)
from recipes.compiling import BuiltModel
from recipes.heads import default_output_activation
from recipes.layers.augmentation import ApplyFlips, RandomFlip
from recipes.losses.segmentation import PixelCrossentropy, SegmentationMeanIoU
from recipes.presets import dataset_arguments
from recipes.registry import register_builder, register_recipes

UPSAMPLING = ("transpose", "bilinear")


def apply_conv_block(
    x, filters, batch_norm=True, dropout=0.0, kernel_initializer="he_normal", name="block"
):
    """Two ``3x3 conv -> [batch norm] -> ReLU`` steps, then optional dropout.

    Batch norm uses momentum 0.9 (PyTorch's default) so that its inference
    statistics follow small data sets within a few epochs.

    Layers are named ``{name}_conv1``, ``{name}_bn1``, ``{name}_relu1``, the same
    with ``2``, and ``{name}_dropout``.
    """
    for i in (1, 2):
        x = keras.layers.Conv2D(
            filters,
            3,
            padding="same",
            use_bias=not batch_norm,
            kernel_initializer=kernel_initializer,
            name=f"{name}_conv{i}",
        )(x)
        if batch_norm:
            x = keras.layers.BatchNormalization(momentum=0.9, name=f"{name}_bn{i}")(x)
        x = keras.layers.Activation("relu", name=f"{name}_relu{i}")(x)
    if dropout:
        x = keras.layers.Dropout(dropout, name=f"{name}_dropout")(x)
    return x


def apply_down_block(
    x, filters, batch_norm=True, dropout=0.0, kernel_initializer="he_normal", name="encoder"
):
    """Encoder level: a conv block (the skip) then 2x2 max-pooling (``{name}_pool``).

    Returns:
        ``(pooled, skip)``.
    """
    skip = apply_conv_block(x, filters, batch_norm, dropout, kernel_initializer, name)
    pooled = keras.layers.MaxPooling2D(2, name=f"{name}_pool")(skip)
    return pooled, skip


def apply_up_block(
    x,
    skip,
    filters,
    upsampling="transpose",
    batch_norm=True,
    dropout=0.0,
    kernel_initializer="he_normal",
    name="decoder",
):
    """Decoder level: upsample by 2 to ``filters`` channels (``{name}_upconv``),
    concatenate ``skip`` (``{name}_concat``), then a conv block."""
    if upsampling == "transpose":
        x = keras.layers.Conv2DTranspose(
            filters,
            2,
            strides=2,
            kernel_initializer=kernel_initializer,
            name=f"{name}_upconv",
        )(x)
    else:
        x = keras.layers.UpSampling2D(2, interpolation="bilinear", name=f"{name}_upsample")(x)
        x = keras.layers.Conv2D(
            filters, 1, kernel_initializer=kernel_initializer, name=f"{name}_upconv"
        )(x)
    x = keras.layers.Concatenate(name=f"{name}_concat")([x, skip])
    return apply_conv_block(x, filters, batch_norm, dropout, kernel_initializer, name)


def segmentation_flip_mode(augment):
    """The flip mode of a flips-only augmentation (a ``RandomFlip`` or a
    ``Sequential`` of them), for a segmentation model.

    A segmentation model can only augment inside itself what it can undo exactly on
    its predicted mask: flips. Anything else would move the image away from its
    true mask.

    Returns:
        ``(mode, seed)`` of one ``RandomFlip`` that does what the stack does.
    """
    layers = check_flips_only(augment)
    modes = {layer.mode for layer in layers}
    mode = modes.pop() if len(modes) == 1 else "horizontal_and_vertical"
    return mode, layers[0].seed


@register_builder(
    loss_doc="``recipes.losses.PixelCrossentropy()`` (binary cross-entropy for one class)",
    metrics_doc="pixel accuracy and ``SegmentationMeanIoU``",
)
def build_unet(
    input_shape=(128, 128, 3),
    num_classes=3,
    depth=4,
    filters=32,
    batch_norm=True,
    dropout=0.0,
    upsampling="transpose",
    augment=None,
    kernel_initializer="he_normal",
    name="unet",
):
    """Builds a U-Net (functional API) for images whose sides divide by ``2**depth``.

    The default loss, ``recipes.losses.PixelCrossentropy()``, is Keras' sparse
    categorical cross-entropy that also trains on PyTorch;
    ``recipes.losses.DiceLoss()`` or ``BoundaryWeightedCrossentropy()`` work too.

    Args:
        input_shape: ``(height, width, channels)``; height and width must be
            divisible by ``2**depth`` (``None`` leaves a side free, to be checked
            by the caller).
        num_classes: classes per pixel; 1 gives a sigmoid binary mask, more a
            softmax.
        depth: number of down-sampling levels, >= 1.
        filters: filters of the first level (doubled at each level down).
        batch_norm: batch normalisation after every 3x3 convolution (which then
            has no bias).
        dropout: dropout rate after every conv block.
        upsampling: ``"transpose"`` (2x2 transposed convolution) or
            ``"bilinear"`` (bilinear upsampling and a 1x1 convolution).
        augment: ``None`` or a flips-only augmentation, e.g.
            ``recipes.augment.build_augmentation(flip="horizontal")``: in training
            the image is flipped and the predicted mask flipped back, which equals
            training on flipped (image, mask) pairs and keeps XLA on.
        kernel_initializer: initializer of the convolutions.
        name: model name.

    Returns:
        A ``keras.Model`` mapping images to ``(batch, height, width, num_classes)``
        probabilities.

    Example:

    >>> model = build_unet(input_shape=(64, 64, 3), num_classes=3, depth=3, filters=16)
    >>> model.output_shape
    (None, 64, 64, 3)
    """
    input_shape = check_shape("input_shape", input_shape, ndim=3)
    check_positive_int("num_classes", num_classes)
    check_positive_int("depth", depth)
    check_positive_int("filters", filters)
    check_rate("dropout", dropout)
    check_choice("upsampling", upsampling, UPSAMPLING)
    check_sides_divisible(input_shape, 2**depth, f"2**depth = {2**depth} (depth={depth})")
    flip = None if check_augment(augment) is None else segmentation_flip_mode(augment)

    inputs = keras.Input(shape=input_shape, name="images")
    x = inputs
    if flip is not None:
        x, flips = RandomFlip(flip[0], seed=flip[1], return_flips=True, name="augment_flip")(x)
    skips = []
    for level in range(depth):
        x, skip = apply_down_block(
            x,
            filters * 2**level,
            batch_norm,
            dropout,
            kernel_initializer,
            name=f"encoder{level + 1}",
        )
        skips.append(skip)
    x = apply_conv_block(
        x, filters * 2**depth, batch_norm, dropout, kernel_initializer, name="bottleneck"
    )
    for level in reversed(range(depth)):
        x = apply_up_block(
            x,
            skips[level],
            filters * 2**level,
            upsampling,
            batch_norm,
            dropout,
            kernel_initializer,
            name=f"decoder{level + 1}",
        )
    activation = default_output_activation(num_classes)
    outputs = keras.layers.Conv2D(
        num_classes, 1, activation=activation, dtype="float32", name="predictions"
    )(x)
    if flip is not None:
        outputs = ApplyFlips(name="augment_unflip")([outputs, flips])
    model = keras.Model(inputs, outputs, name=name)
    return BuiltModel(
        model,
        loss=PixelCrossentropy() if num_classes > 1 else "binary_crossentropy",
        metrics=["accuracy", SegmentationMeanIoU(max(num_classes, 2))],
    )


register_recipes(
    {
        "shapes_unet": {
            "builder": build_unet,
            "summary": "U-Net (depth 3, 16 filters, batch norm) for the offline 64x64 `shapes` "
            "masks, 3 classes.",
            **dataset_arguments("shapes"),
            "fit": {"epochs": 15, "batch_size": 32},
            "depth": 3,
            "filters": 16,
        },
        "oxford_pets_unet": {
            "builder": build_unet,
            "summary": "U-Net (depth 4, 32 filters, batch norm) for Oxford-IIIT pets at 128x128: "
            "pet, background and border classes.",
            **dataset_arguments("oxford_iiit_pet"),
            "fit": {"epochs": 20, "batch_size": 32},
            "depth": 4,
            "filters": 32,
        },
    }
)
