"""pix2pix: image-to-image translation with a conditional GAN (Isola et al. 2017;
seed 003).

A U-Net generator translates a source image; a PatchGAN discriminator scores
``[source, image]`` pairs patch by patch; the generator's loss adds an L1 term
that pulls the translation towards the target. How the two networks train (on
every backend, under mixed precision, with two optimizers) is told in
``recipes.adversarial_nets``, which pix2pix shares with the GANs of
``recipes.models.gan``.

Example:

>>> model = build_pix2pix(input_shape=(64, 64, 3), output_channels=1)
>>> model.fit(sources, targets, epochs=50)     # history: d_loss, g_loss, l1
>>> model.predict(sources[:4]).shape
(4, 64, 64, 1)
"""

import keras
from keras import ops

from recipes.adversarial_nets import (
    GAN_COMPILE,
    AdversarialModel,
    built_gan,
    constant_bce,
)
from recipes.checks import (
    check_known_shape,
    check_layer_sizes,
    check_non_negative,
    check_positive_int,
    check_sample_activation,
)
from recipes.data import derived as _derived  # noqa: F401  (registers the derived sets)
from recipes.models.unet import build_unet
from recipes.presets import dataset_arguments
from recipes.registry import register_builder, register_recipes


@keras.saving.register_keras_serializable(package="recipes")
class Pix2Pix(AdversarialModel):
    """Image-to-image translation with a conditional GAN (Isola et al. 2017,
    seed 003): ``fit(source_images, target_images)``.

    The generator translates a source image; the PatchGAN discriminator scores
    ``[source, image]`` pairs patch by patch. Losses, with ``G(s)`` the translation:

        discriminator:  0.5 * [BCE(D(s, t), 1) + BCE(D(s, G(s)), 0)]
        generator:      BCE(D(s, G(s)), 1) + l1_weight * mean|t - G(s)|

    ``predict(source)`` translates; ``l1`` is reported next to ``d_loss`` and
    ``g_loss``.

    Args:
        generator: a ``keras.Model`` from source images to target images.
        discriminator: a ``keras.Model`` from ``[source, target]`` to patch logits.
        l1_weight: weight of the L1 term (the paper's lambda = 100).
        **kwargs: ``Model`` arguments (``name``...).

    Example:

    >>> model.fit(masks, photos, epochs=50)
    >>> model.predict(masks[:4]).shape
    (4, 64, 64, 3)
    """

    def __init__(self, generator, discriminator, l1_weight=100.0, **kwargs):
        super().__init__(generator, discriminator, **kwargs)
        self.l1_weight = check_non_negative("l1_weight", l1_weight)
        self.l1_tracker = keras.metrics.Mean(name="l1")

    def call(self, inputs, training=False):
        return self.generator(inputs, training=training)

    def adversarial_losses(self, x, y, y_pred, training):
        if y is None:
            raise ValueError(
                "Pix2Pix trains on (source, target) image pairs: call fit(x, y) with "
                "the target images as y."
            )
        target = ops.cast(y, y_pred.dtype)
        real_logits = self.discriminator([x, target], training=training)
        fake_logits = self.discriminator([x, ops.stop_gradient(y_pred)], training=training)
        d_loss = 0.5 * (constant_bce(1.0, real_logits) + constant_bce(0.0, fake_logits))
        l1 = ops.mean(ops.abs(target - y_pred))
        self.l1_tracker.update_state(l1)
        adversarial = constant_bce(1.0, self.frozen_discriminator([x, y_pred], training))
        return d_loss, adversarial + self.l1_weight * l1

    def get_config(self):
        return {**super().get_config(), "l1_weight": self.l1_weight}


def apply_patchgan(source, target, filters=(64, 128, 256, 512), name="discriminator"):
    """PatchGAN discriminator body (Isola et al. 2017): 4x4 convolutions with
    LeakyReLU(0.2), batch norm after the first, stride 2 but the last, then a
    one-channel convolution giving one logit per patch. ``(64, 128, 256, 512)``
    is the paper's 70x70 PatchGAN.

    Example:

    >>> logits = apply_patchgan(keras.Input((64, 64, 1)), keras.Input((64, 64, 3)))
    >>> logits.shape
    (None, 8, 8, 1)
    """
    x = keras.layers.Concatenate(name=f"{name}_pair")([source, target])
    for i, count in enumerate(filters, start=1):
        strides = 2 if i < len(filters) else 1
        x = keras.layers.Conv2D(
            count, 4, strides=strides, padding="same", use_bias=i == 1, name=f"{name}_conv_{i}"
        )(x)
        if i > 1:
            x = keras.layers.BatchNormalization(name=f"{name}_bn_{i}")(x)
        x = keras.layers.LeakyReLU(0.2, name=f"{name}_leaky_relu_{i}")(x)
    return keras.layers.Conv2D(1, 4, padding="same", dtype="float32", name=f"{name}_patch_logits")(
        x
    )


@register_builder(**GAN_COMPILE)
def build_pix2pix(
    input_shape=(64, 64, 3),
    output_channels=None,
    depth=3,
    filters=16,
    dropout=0.0,
    discriminator_filters=(32, 64, 128),
    output_activation="sigmoid",
    l1_weight=100.0,
    discriminator_learning_rate=None,
    name="pix2pix",
):
    """Builds pix2pix (Isola et al. 2017): a U-Net generator, a PatchGAN
    discriminator, and the L1 + adversarial loss (seed 003's image-to-image
    translation with conditional GANs).

    The generator is ``recipes.build_unet`` (``depth`` levels, ``filters`` at the
    top, batch norm, skip connections) with its class head replaced by a 1x1
    convolution to ``output_channels`` with ``output_activation``. The
    discriminator is ``apply_patchgan`` on the concatenated ``[source, target]``.
    Train with ``fit(sources, targets)``; the losses are built in.

    Args:
        input_shape: ``(height, width, channels)`` of the source images, sides
            divisible by ``2 ** depth``.
        output_channels: channels of the target images (default: the source's).
        depth: U-Net levels.
        filters: U-Net filters at the first level.
        dropout: U-Net dropout (pix2pix's noise), 0 for none.
        discriminator_filters: PatchGAN filters; ``(64, 128, 256, 512)`` is the
            paper's 70x70 PatchGAN.
        output_activation: ``"sigmoid"`` (images in [0, 1]), ``"tanh"`` or
            ``"linear"``.
        l1_weight: weight of the L1 term (the paper's 100).
        discriminator_learning_rate: the discriminator's learning rate
            (``learning_rate`` is the generator's); ``None``: the same.
        name: model name.

    Returns:
        A ``Pix2Pix`` model; ``predict(sources)`` translates.

    Example:

    >>> model = build_pix2pix(input_shape=(64, 64, 1), output_channels=3)
    >>> model.discriminator.output_shape    # one logit per patch
    (None, 16, 16, 1)
    """
    input_shape = check_known_shape("input_shape", input_shape, ndim=3)
    output_channels = input_shape[-1] if output_channels is None else output_channels
    check_positive_int("output_channels", output_channels)
    discriminator_filters = check_layer_sizes("discriminator_filters", discriminator_filters)
    check_sample_activation(output_activation)

    unet = build_unet(
        input_shape=input_shape,
        num_classes=1,
        depth=depth,
        filters=filters,
        dropout=dropout,
        compile=False,
        name="unet",
    )
    features = unet.get_layer("predictions").input
    outputs = keras.layers.Conv2D(
        output_channels, 1, activation=output_activation, dtype="float32", name="generator_outputs"
    )(features)
    generator = keras.Model(unet.inputs, outputs, name="generator")

    target_shape = (*input_shape[:2], output_channels)
    source = keras.Input(shape=input_shape, name="discriminator_source")
    target = keras.Input(shape=target_shape, name="discriminator_target")
    discriminator = keras.Model(
        [source, target],
        apply_patchgan(source, target, discriminator_filters),
        name="discriminator",
    )
    model = Pix2Pix(generator, discriminator, l1_weight=l1_weight, name=name)
    return built_gan(model, discriminator_learning_rate)


register_recipes(
    {
        "shapes_pix2pix": {
            "builder": build_pix2pix,
            "summary": "pix2pix from the offline 64x64 `shapes` images to their label maps "
            "(3 one-hot channels): U-Net depth 3, 16 filters, PatchGAN 32-64-128.",
            **dataset_arguments("shapes_label_maps", "input_shape"),
            "fit": {"epochs": 20, "batch_size": 16},
            "output_channels": 3,
        },
    }
)
