"""Generative adversarial networks (seed 004): an MLP GAN, DCGAN and a
class-conditional GAN.

A generator maps noise ``z`` to samples, a discriminator gives the logit that a
sample is real, and ``fit(x_real)`` trains both, each on its own loss with its own
optimizer; how (on every backend, under mixed precision) is told in
``recipes.adversarial_nets``, which these models share with pix2pix
(``recipes.models.pix2pix``).

Example:

>>> model = build_gan(input_shape=(28, 28, 1))
>>> model.fit(x_train, epochs=30, batch_size=128)   # history: loss, d_loss, g_loss
>>> model.sample(16).shape
(16, 28, 28, 1)
"""

import keras
import numpy as np
from keras import ops

from recipes.adversarial_nets import (
    GAN_COMPILE,
    AdversarialModel,
    built_gan,
    constant_bce,
)
from recipes.checks import (
    check_choice,
    check_class_labels,
    check_known_shape,
    check_layer_sizes,
    check_positive_int,
    check_rate,
    check_sample_activation,
    check_sides_divisible,
)
from recipes.heads import output_upconv
from recipes.presets import dataset_arguments
from recipes.registry import register_builder, register_recipes

ACTIVATIONS = ("leaky_relu", "relu", "elu", "swish", "gelu", "tanh")


class _NoiseGAN(AdversarialModel):
    """What the GAN and the conditional GAN share: noise ``z ~ N(0, I)`` drawn
    with ``seed`` in training, the discriminator's logits when called, and the
    non-saturating losses. A subclass sets ``latent_dim`` and says what the
    generator is conditioned on (``condition``) and how the discriminator's logits
    score a sample (``score``).
    """

    def __init__(self, generator, discriminator, seed=None, **kwargs):
        super().__init__(generator, discriminator, **kwargs)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs, training=False):
        return self.discriminator(inputs, training=training)

    def condition(self, y):
        """What the generator takes next to ``z`` in training (``None``: nothing)."""
        return None

    def score(self, logits, condition):
        """The logit that a sample is real, ``(batch, ...)``."""
        return logits

    def adversarial_losses(self, x, y, y_pred, training):
        condition = self.condition(y)
        z = keras.random.normal((ops.shape(x)[0], self.latent_dim), seed=self.seed_generator)
        fake = self.generator(z if condition is None else [z, condition], training=training)
        fake_logits = self.discriminator(ops.stop_gradient(fake), training=training)
        real_score = self.score(y_pred, condition)
        fake_score = self.score(fake_logits, condition)
        d_loss = constant_bce(1.0, real_score) + constant_bce(0.0, fake_score)
        frozen_score = self.score(self.frozen_discriminator(fake, training), condition)
        return d_loss, constant_bce(1.0, frozen_score)

    def latent(self, num_samples, seed=None):
        """``num_samples`` draws of ``z ~ N(0, I)`` (NumPy float32)."""
        z = np.random.default_rng(seed).standard_normal((num_samples, self.latent_dim))
        return z.astype("float32")

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}


@keras.saving.register_keras_serializable(package="recipes")
class GAN(_NoiseGAN):
    """An unconditional GAN: ``fit(x_real)`` trains both networks.

    Calling the model runs the discriminator: ``predict(x)`` gives the logit that
    each sample is real. ``sample(n)`` draws new samples.

    Args:
        generator: a ``keras.Model`` from ``z`` ``(batch, latent_dim)`` to samples.
        discriminator: a ``keras.Model`` from samples to logits ``(batch, 1)``.
        seed: seed of the noise ``z`` drawn in training.
        **kwargs: ``Model`` arguments (``name``...).

    Example:

    >>> model = GAN(generator, discriminator)
    >>> model.compile(optimizer=recipes.adversarial_nets.gan_optimizer())
    >>> model.fit(x, epochs=20)              # history: loss, d_loss, g_loss
    >>> model.sample(16).shape
    (16, 28, 28, 1)
    """

    def __init__(self, generator, discriminator, seed=None, **kwargs):
        super().__init__(generator, discriminator, seed=seed, **kwargs)
        self.latent_dim = int(generator.input_shape[-1])

    def sample(self, num_samples, seed=None, batch_size=256):
        """``num_samples`` generated samples (NumPy) from ``z ~ N(0, I)``."""
        check_positive_int("num_samples", num_samples)
        z = self.latent(num_samples, seed)
        return np.asarray(self.generator.predict(z, batch_size=batch_size, verbose=0))


@keras.saving.register_keras_serializable(package="recipes")
class ConditionalGAN(_NoiseGAN):
    """A class-conditional GAN: ``fit(x_real, labels)``.

    The generator takes ``[z, labels]``. The discriminator scores an image once per
    class, ``(batch, num_classes)`` logits, and the label picks the score: with a
    shared feature vector ``h`` and the layers named ``..._unconditional`` and
    ``..._projection``, ``D(x, y) = psi(h) + w_y . h``, the projection
    discriminator of Miyato and Koyama (2018). ``predict(x)`` gives the per-class
    logits; ``sample(n, labels=...)`` generates chosen classes.

    Args:
        generator: a ``keras.Model`` from ``[z (batch, latent_dim), labels
            (batch,)]`` to samples.
        discriminator: a ``keras.Model`` from samples to ``(batch, num_classes)``.
        seed: seed of the noise ``z`` drawn in training.
        **kwargs: ``Model`` arguments (``name``...).

    Example:

    >>> model.fit(x_train, y_train, epochs=20)
    >>> model.sample(10, labels=np.arange(10)).shape    # one of each digit
    (10, 28, 28, 1)
    """

    def __init__(self, generator, discriminator, seed=None, **kwargs):
        super().__init__(generator, discriminator, seed=seed, **kwargs)
        self.latent_dim = int(generator.input_shape[0][-1])
        self.num_classes = int(discriminator.output_shape[-1])

    def condition(self, y):
        if y is None:
            raise ValueError(
                "A ConditionalGAN trains on (images, labels): call fit(x, y) with the "
                "class labels as y."
            )
        return ops.reshape(ops.cast(y, "int32"), (-1,))

    def score(self, logits, condition):
        one_hot = ops.one_hot(condition, self.num_classes, dtype=logits.dtype)
        return ops.sum(logits * one_hot, axis=-1)

    def sample(self, num_samples=None, labels=None, seed=None, batch_size=256):
        """Generated samples (NumPy) of the classes ``labels`` (default
        ``0, 1, ..., num_classes - 1`` repeated up to ``num_samples``)."""
        if labels is None:
            check_positive_int("num_samples", num_samples)
            labels = np.arange(num_samples) % self.num_classes
        labels = check_class_labels(labels, self.num_classes, num_samples)
        inputs = [self.latent(len(labels), seed), labels]
        return np.asarray(self.generator.predict(inputs, batch_size=batch_size, verbose=0))


def apply_dense_stack(x, units, activation, dropout=0.0, batch_norm=False, name="dense"):
    """``Dense -> [BatchNormalization] -> [Dropout]`` per width in ``units``; layers
    named ``{name}_{i}``, ``{name}_bn_{i}``, ``{name}_dropout_{i}``."""
    for i, width in enumerate(units, start=1):
        x = keras.layers.Dense(
            width, activation=None if batch_norm else activation, name=f"{name}_{i}"
        )(x)
        if batch_norm:
            x = keras.layers.BatchNormalization(name=f"{name}_bn_{i}")(x)
            x = keras.layers.Activation(activation, name=f"{name}_act_{i}")(x)
        if dropout:
            x = keras.layers.Dropout(dropout, name=f"{name}_dropout_{i}")(x)
    return x


@register_builder(**GAN_COMPILE)
def build_gan(
    input_shape=(28, 28, 1),
    latent_dim=64,
    generator_units=(256, 512),
    discriminator_units=(512, 256),
    activation="leaky_relu",
    output_activation="sigmoid",
    batch_norm=False,
    dropout=0.0,
    seed=None,
    discriminator_learning_rate=None,
    name="gan",
):
    """Builds a GAN of two MLPs (seed 004's MNIST GAN).

    Generator: ``z -> Dense(generator_units...) -> Dense(prod(input_shape),
    output_activation) -> Reshape``. Discriminator: ``Flatten ->
    Dense(discriminator_units...) -> Dense(1)`` (a logit). The losses are built
    in; ``d_loss`` and ``g_loss`` are reported.

    Args:
        input_shape: shape of one sample, e.g. ``(28, 28, 1)`` or ``(2,)``.
        latent_dim: size of the noise ``z``.
        generator_units: hidden widths of the generator.
        discriminator_units: hidden widths of the discriminator.
        activation: hidden activation of both (LeakyReLU slope 0.2 by default).
        output_activation: ``"sigmoid"`` for data in [0, 1], ``"tanh"`` for
            [-1, 1], ``"linear"`` for real values.
        batch_norm: batch normalisation in the generator's hidden layers.
        dropout: dropout rate after the discriminator's hidden layers.
        seed: seed of the training noise.
        discriminator_learning_rate: the discriminator's learning rate
            (``learning_rate`` is the generator's); ``None``: the same.
        name: model name.

    Returns:
        A ``GAN`` with ``.generator``, ``.discriminator`` and ``.sample(n)``.

    Example:

    >>> model = build_gan(input_shape=(28, 28, 1), latent_dim=64)
    >>> model.generator.output_shape
    (None, 28, 28, 1)
    """
    return _mlp_gan(GAN, **locals())


@register_builder(**GAN_COMPILE)
def build_dcgan(
    input_shape=(28, 28, 1),
    latent_dim=100,
    filters=(64, 128),
    kernel_size=4,
    output_activation="sigmoid",
    batch_norm=True,
    dropout=0.0,
    seed=None,
    discriminator_learning_rate=None,
    name="dcgan",
):
    """Builds a DCGAN (Radford et al. 2015): convolutional generator and
    discriminator.

    Generator: ``Dense -> Reshape(h / 2**L, w / 2**L, filters[-1])`` then ``L =
    len(filters)`` transposed convolutions of stride 2 (filters reversed, the last
    giving the image's channels), batch norm and ReLU between. Discriminator:
    ``L`` convolutions of stride 2 with ``filters``, LeakyReLU(0.2) and batch norm
    after the first, then ``Dense(1)``.

    Args:
        input_shape: ``(height, width, channels)``, sides divisible by
            ``2 ** len(filters)``.
        latent_dim: size of the noise ``z``.
        filters: discriminator filters per level (the generator mirrors them).
        kernel_size: kernel size of every convolution.
        output_activation: ``"sigmoid"`` (pixels in [0, 1]), ``"tanh"`` or
            ``"linear"``.
        batch_norm: batch normalisation in both networks.
        dropout: dropout rate before the discriminator's logit.
        seed: seed of the training noise.
        discriminator_learning_rate: the discriminator's learning rate
            (``learning_rate`` is the generator's); ``None``: the same.
        name: model name.

    Returns:
        A ``GAN``.

    Example:

    >>> model = build_dcgan(input_shape=(28, 28, 1), filters=(64, 128))
    >>> model.sample(4).shape
    (4, 28, 28, 1)
    """
    input_shape = check_known_shape("input_shape", input_shape, ndim=3)
    check_positive_int("latent_dim", latent_dim)
    filters = check_layer_sizes("filters", filters)
    check_positive_int("kernel_size", kernel_size)
    check_sample_activation(output_activation)
    check_rate("dropout", dropout)
    factor = 2 ** len(filters)
    check_sides_divisible(input_shape, factor, f"2**len(filters) = {factor}")
    base = (input_shape[0] // factor, input_shape[1] // factor, filters[-1])

    z = keras.Input(shape=(latent_dim,), name="latent")
    x = keras.layers.Dense(int(np.prod(base)), use_bias=not batch_norm, name="generator_dense")(z)
    x = _normalize_activate(x, batch_norm, "relu", "generator_dense")
    x = keras.layers.Reshape(base, name="generator_reshape")(x)
    for i, count in enumerate(reversed(filters[:-1]), start=1):
        x = keras.layers.Conv2DTranspose(
            count,
            kernel_size,
            strides=2,
            padding="same",
            use_bias=not batch_norm,
            name=f"generator_upconv_{i}",
        )(x)
        x = _normalize_activate(x, batch_norm, "relu", f"generator_upconv_{i}")
    output_layer = output_upconv(
        input_shape[-1], kernel_size, output_activation, "generator_outputs"
    )
    generator = keras.Model(z, output_layer(x), name="generator")

    images = keras.Input(shape=input_shape, name="discriminator_inputs")
    x = images
    for i, count in enumerate(filters, start=1):
        x = keras.layers.Conv2D(
            count, kernel_size, strides=2, padding="same", name=f"discriminator_conv_{i}"
        )(x)
        if batch_norm and i > 1:
            x = keras.layers.BatchNormalization(name=f"discriminator_bn_{i}")(x)
        x = keras.layers.LeakyReLU(0.2, name=f"discriminator_leaky_relu_{i}")(x)
    x = keras.layers.Flatten(name="discriminator_flatten")(x)
    if dropout:
        x = keras.layers.Dropout(dropout, name="discriminator_dropout")(x)
    logits = keras.layers.Dense(1, dtype="float32", name="discriminator_logits")(x)
    discriminator = keras.Model(images, logits, name="discriminator")

    model = GAN(generator, discriminator, seed=seed, name=name)
    return built_gan(model, discriminator_learning_rate)


@register_builder(**GAN_COMPILE)
def build_conditional_gan(
    input_shape=(28, 28, 1),
    num_classes=10,
    latent_dim=64,
    embedding_dim=16,
    generator_units=(256, 512),
    discriminator_units=(512, 256),
    activation="leaky_relu",
    output_activation="sigmoid",
    batch_norm=False,
    dropout=0.0,
    seed=None,
    discriminator_learning_rate=None,
    name="conditional_gan",
):
    """Builds a class-conditional GAN of two MLPs (Mirza and Osindero 2014 for the
    generator, a projection discriminator).

    Generator: ``[z, Embedding(labels)]`` concatenated, then an MLP as in
    ``build_gan``. Discriminator: an MLP to features ``h``, then
    ``Dense(1)(h) + Dense(num_classes, use_bias=False)(h)``: one logit per class.
    Train with ``fit(images, labels)``.

    Args:
        input_shape: shape of one sample.
        num_classes: number of classes (labels are ints in ``[0, num_classes)``).
        latent_dim: size of the noise ``z``.
        embedding_dim: size of the generator's label embedding.
        generator_units: the generator's hidden widths (see ``build_gan``).
        discriminator_units: the discriminator's hidden widths.
        activation: hidden activation of both networks.
        output_activation: ``"sigmoid"``, ``"tanh"`` or ``"linear"`` samples.
        batch_norm: batch normalisation in the generator's hidden layers.
        dropout: dropout rate after the discriminator's hidden layers.
        seed: seed of the training noise.
        discriminator_learning_rate: the discriminator's learning rate
            (``learning_rate`` is the generator's); ``None``: the same.
        name: model name.

    Returns:
        A ``ConditionalGAN``.

    Example:

    >>> model = build_conditional_gan(input_shape=(8, 8, 1), num_classes=10)
    >>> model.sample(labels=[3, 3, 7]).shape
    (3, 8, 8, 1)
    """
    return _mlp_gan(ConditionalGAN, **locals())


def _mlp_gan(
    model_class,
    input_shape,
    latent_dim,
    generator_units,
    discriminator_units,
    activation,
    output_activation,
    batch_norm,
    dropout,
    seed,
    discriminator_learning_rate,
    name,
    num_classes=None,
    embedding_dim=None,
):
    """The body of ``build_gan`` and, with a class label (``num_classes`` of them)
    conditioning the generator, of ``build_conditional_gan``: the two MLPs in a
    ``model_class`` model, with its optimizers."""
    input_shape = check_known_shape("input_shape", input_shape)
    if num_classes is not None:
        check_positive_int("num_classes", num_classes, minimum=2)
        check_positive_int("embedding_dim", embedding_dim)
    check_positive_int("latent_dim", latent_dim)
    generator_units = check_layer_sizes("generator_units", generator_units)
    discriminator_units = check_layer_sizes("discriminator_units", discriminator_units)
    check_choice("activation", activation, ACTIVATIONS)
    check_sample_activation(output_activation)
    check_rate("dropout", dropout)

    z = keras.Input(shape=(latent_dim,), name="latent")
    inputs, x = z, z
    if num_classes is not None:
        labels = keras.Input(shape=(), dtype="int32", name="labels")
        embedded = keras.layers.Embedding(
            num_classes, embedding_dim, name="generator_label_embedding"
        )(labels)
        inputs = [z, labels]
        x = keras.layers.Concatenate(name="generator_condition")([z, embedded])
    x = apply_dense_stack(
        x, generator_units, activation, batch_norm=batch_norm, name="generator_dense"
    )
    x = keras.layers.Dense(
        int(np.prod(input_shape)),
        activation=output_activation,
        dtype="float32",
        name="generator_outputs",
    )(x)
    if len(input_shape) > 1:
        x = keras.layers.Reshape(input_shape, dtype="float32", name="generator_reshape_outputs")(x)
    generator = keras.Model(inputs, x, name="generator")
    discriminator = _mlp_discriminator(
        input_shape, discriminator_units, activation, dropout, outputs=num_classes or 1
    )
    model = model_class(generator, discriminator, seed=seed, name=name)
    return built_gan(model, discriminator_learning_rate)


def _mlp_discriminator(input_shape, units, activation, dropout, outputs):
    inputs = keras.Input(shape=input_shape, name="discriminator_inputs")
    x = inputs
    if len(input_shape) > 1:
        x = keras.layers.Flatten(name="discriminator_flatten")(x)
    x = apply_dense_stack(x, units, activation, dropout=dropout, name="discriminator_dense")
    if outputs == 1:
        logits = keras.layers.Dense(1, dtype="float32", name="discriminator_logits")(x)
    else:
        unconditional = keras.layers.Dense(1, dtype="float32", name="discriminator_unconditional")(
            x
        )
        projection = keras.layers.Dense(
            outputs, use_bias=False, dtype="float32", name="discriminator_projection"
        )(x)
        logits = keras.layers.Add(dtype="float32", name="discriminator_logits")(
            [unconditional, projection]
        )
    return keras.Model(inputs, logits, name="discriminator")


def _normalize_activate(x, batch_norm, activation, name):
    if batch_norm:
        x = keras.layers.BatchNormalization(name=f"{name}_bn")(x)
    return keras.layers.Activation(activation, name=f"{name}_{activation}")(x)


# The MNIST presets: 28x28x1 images of recipes.data's "mnist".
MNIST_IMAGES = dataset_arguments("mnist", "input_shape")

register_recipes(
    {
        "mnist_gan": {
            "builder": build_gan,
            "summary": "Seed 004's MNIST GAN: MLP generator 64-256-512-784 and discriminator "
            "784-512-256-1, LeakyReLU, Adam 2e-4 (beta_1 0.5).",
            **MNIST_IMAGES,
            "fit": {"epochs": 30, "batch_size": 128},
            "trainer": "samples",
        },
        "mnist_dcgan": {
            "builder": build_dcgan,
            "summary": "DCGAN for MNIST: generator 100 -> 7x7x128 -> 14x14x64 -> 28x28x1, "
            "discriminator conv 64-128 with LeakyReLU and batch norm.",
            **MNIST_IMAGES,
            "fit": {"epochs": 20, "batch_size": 128},
            "trainer": "samples",
        },
        "mnist_conditional_gan": {
            "builder": build_conditional_gan,
            "summary": "Class-conditional MLP GAN for MNIST: label embedding into the generator, "
            "projection discriminator; fit(images, labels), sample(labels=...).",
            **MNIST_IMAGES,
            "fit": {"epochs": 30, "batch_size": 128},
            "trainer": "samples",
            "num_classes": 10,
        },
        "moons_gan": {
            "builder": build_gan,
            "summary": "Small GAN for the 2-D moons: 4-D noise, MLPs of 128-128 units, linear "
            "output, Adam 5e-4.",
            **dataset_arguments("moons", "input_shape"),
            "fit": {"epochs": 200, "batch_size": 64},
            "trainer": "samples",
            "latent_dim": 4,
            "generator_units": (128, 128),
            "discriminator_units": (128, 128),
            "output_activation": "linear",
            "learning_rate": 5e-4,
        },
    }
)
