"""Rotation-equivariant CNNs on the group p4 (Cohen and Welling 2016; seed 002).

The network lifts the image to p4 feature maps (``P4ConvZ2``), applies p4 group
convolutions (``P4ConvP4``) with batch normalisation shared by the 4 rotations of
a filter, pools over the rotations (``P4Pool``) and then over space, so its
prediction is exactly invariant to quarter turns of the input. The default
arguments follow Cohen and Welling's P4CNN for rotated MNIST: 3x3 filters, 10 per
rotation, max-pooling after the second layer, valid padding.
"""

import keras

from recipes.checks import (
    check_augment,
    check_choice,
    check_layer_indices,
    check_layer_sizes,
    check_map_sizes,
    check_positive_int,
    check_rate,
    check_shape,
)
from recipes.heads import head_model, output_dense
from recipes.layers.group_conv import P4ConvP4, P4ConvZ2, P4Pool
from recipes.presets import dataset_arguments
from recipes.registry import register_builder, register_recipes

PADDINGS = ("valid", "same")
ROTATION_POOLING = ("max", "mean")


def apply_p4_block(
    x,
    filters,
    kernel_size=3,
    padding="valid",
    batch_norm=True,
    dropout=0.0,
    lifting=False,
    name="p4_block",
):
    """``P4ConvZ2`` (``lifting=True``) or ``P4ConvP4``, then batch norm over the
    filters (statistics shared by the 4 rotations; momentum 0.9, PyTorch's default,
    so that the inference statistics follow small data sets), ReLU and optional
    dropout.

    Layers are named ``{name}_conv``, ``{name}_bn``, ``{name}_relu`` and
    ``{name}_dropout``.
    """
    conv = P4ConvZ2 if lifting else P4ConvP4
    x = conv(
        filters,
        kernel_size,
        padding=padding,
        use_bias=not batch_norm,
        kernel_initializer="he_normal",
        name=f"{name}_conv",
    )(x)
    if batch_norm:
        # axis -2 is the filter axis of (batch, h, w, filters, 4): one mean, variance,
        # scale and shift per filter, whatever its rotation.
        x = keras.layers.BatchNormalization(axis=-2, momentum=0.9, name=f"{name}_bn")(x)
    x = keras.layers.Activation("relu", name=f"{name}_relu")(x)
    if dropout:
        x = keras.layers.Dropout(dropout, name=f"{name}_dropout")(x)
    return x


@register_builder(loss_doc="``'sparse_categorical_crossentropy'``", metrics_doc="``['accuracy']``")
def build_p4cnn(
    input_shape=(28, 28, 1),
    num_classes=10,
    filters=(10, 10, 10, 10, 10, 10),
    kernel_size=3,
    padding="valid",
    pool_after=(2,),
    batch_norm=True,
    dropout=0.0,
    rotation_pooling="max",
    augment=None,
    name="p4cnn",
):
    """Builds a p4 group-equivariant CNN whose prediction is invariant to quarter
    turns of the input (Cohen and Welling 2016).

    ``P4ConvZ2`` then ``P4ConvP4`` blocks (see ``apply_p4_block``), 2x2 max-pooling
    after the layers in ``pool_after``, rotation pooling (``P4Pool``), global
    average pooling and a softmax layer.

    Args:
        input_shape: ``(height, width, channels)``; square images for the
            rotation invariance to mean something.
        num_classes: number of classes.
        filters: filters per rotation of each group convolution (the first lifts).
        kernel_size: odd size of the square filters (any size with ``"valid"``).
        padding: ``"valid"`` or ``"same"``.
        pool_after: 1-based indices of the layers followed by 2x2 max-pooling;
            the map must have even sides there.
        batch_norm: batch normalisation after each group convolution.
        dropout: dropout rate after each block.
        rotation_pooling: ``"max"`` or ``"mean"`` over the 4 rotations.
        augment: ``None`` or a Keras layer applied to the images in training, e.g.
            ``recipes.augment.build_augmentation(...)``.
        name: model name.

    Returns:
        A ``keras.Model``.

    Example:

    >>> model = build_p4cnn(input_shape=(8, 8, 1), filters=(8, 8), padding="same")
    >>> model.output_shape
    (None, 10)
    """
    input_shape = check_shape("input_shape", input_shape, ndim=3)
    check_positive_int("num_classes", num_classes)
    filters = check_layer_sizes("filters", filters)
    check_positive_int("kernel_size", kernel_size)
    check_choice("padding", padding, PADDINGS)
    pool_after = check_layer_indices("pool_after", pool_after, len(filters))
    check_rate("dropout", dropout)
    check_choice("rotation_pooling", rotation_pooling, ROTATION_POOLING)
    check_augment(augment)
    check_map_sizes(input_shape, len(filters), kernel_size, padding, pool_after)

    inputs = keras.Input(shape=input_shape, name="images")
    x = augment(inputs) if augment is not None else inputs
    for layer, count in enumerate(filters, start=1):
        x = apply_p4_block(
            x,
            count,
            kernel_size,
            padding,
            batch_norm,
            dropout,
            lifting=layer == 1,
            name=f"block{layer}",
        )
        if layer in pool_after:
            # (batch, h, w, filters, 4): pool h and w only, per filter and rotation.
            x = keras.layers.MaxPooling3D(
                (2, 2, 1), data_format="channels_last", name=f"block{layer}_pool"
            )(x)
    x = P4Pool(rotation_pooling, name="rotation_pool")(x)
    x = keras.layers.GlobalAveragePooling2D(name="global_pool")(x)
    outputs = output_dense(num_classes, "softmax")(x)
    return head_model(keras.Model(inputs, outputs, name=name), "softmax")


register_recipes(
    {
        "mnist_p4cnn": {
            "builder": build_p4cnn,
            "summary": "Cohen and Welling's P4CNN shape: six 3x3 p4 convolutions of 10 filters "
            "per rotation, pooling after the 2nd, invariant to quarter turns.",
            **dataset_arguments("mnist"),
            "fit": {"epochs": 10, "batch_size": 128},
        },
        "digits_p4cnn": {
            "builder": build_p4cnn,
            "summary": "Small p4 group-equivariant CNN for the offline 8x8 digits (4 layers, "
            "same padding), invariant to quarter turns.",
            **dataset_arguments("digits"),
            "fit": {"epochs": 30, "batch_size": 32},
            "filters": (8, 8, 16, 16),
            "padding": "same",
            "learning_rate": 3e-3,
        },
    }
)
