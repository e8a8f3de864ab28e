"""Generative adversarial networks (seeds 003 and 004): an MLP GAN, DCGAN, a
class-conditional GAN and pix2pix (image-to-image translation).

A generator ``G`` maps noise ``z`` to samples; a discriminator ``D`` outputs the
logit of "real". Seed 004's losses, for a real batch ``x``:

    discriminator:  -[log D(x) + log(1 - D(G(z)))]
    generator:      -log D(G(z))          (the non-saturating loss)

How it trains on every backend. Each model puts both losses in ``compute_loss``
and returns their sum, so the built-in ``train_step`` of TensorFlow, JAX and
PyTorch computes the gradients. Two tricks keep each network on its own loss:
``D`` scores ``stop_gradient(G(z))`` for its loss (no gradient reaches ``G``),
and the generator loss scores ``G(z)`` with ``D``'s weights held constant
(``D.stateless_call`` on ``stop_gradient``-ed weights: the gradient reaches
``G`` through ``D`` but not ``D``'s weights). The gradient of the sum is then
exactly ``(dL_D/dD, dL_G/dG)``, the simultaneous update of TensorFlow's DCGAN
tutorial. Two optimizers apply it: a ``keras.optimizers.MultiOptimizer`` sends
the variables whose path matches ``DISCRIMINATOR_PATTERN`` (every discriminator
layer is named ``discriminator_...``) to the discriminator's optimizer, the rest
to the generator's. The history reports ``d_loss`` and ``g_loss``; ``loss`` is
their sum.

Under a mixed-precision policy (``recipes.set_precision``) the networks compute in
bfloat16 or float16, but each one's last layer is float32, as the Keras
mixed-precision guide advises: the generator's samples, the discriminator's
logits and so the losses (and pix2pix's L1 term) are float32.
"""

import re

import keras
import numpy as np
from keras import ops

from recipes.checks import (
    check_choice,
    check_non_negative,
    check_positive_int,
    check_rate,
    check_shape,
)
from recipes.compiling import compile_recipe, get_optimizer
from recipes.models.vae import check_builtin_loss, check_no_sample_weight
from recipes.registry import register_builder, register_recipe

DISCRIMINATOR_PATTERN = "discriminator.*"
# Radford et al. 2015 (DCGAN): Adam with learning rate 2e-4 and beta_1 = 0.5.
GAN_ADAM = {"class_name": "adam", "config": {"beta_1": 0.5}}
ACTIVATIONS = ("leaky_relu", "relu", "elu", "swish", "gelu", "tanh")
OUTPUT_ACTIVATIONS = ("sigmoid", "tanh", "linear")


def gan_optimizer(optimizer=GAN_ADAM, learning_rate=2e-4, discriminator_learning_rate=None):
    """The two optimizers of a GAN, as one ``keras.optimizers.MultiOptimizer``.

    Variables whose path matches ``DISCRIMINATOR_PATTERN`` get the
    discriminator's optimizer, all others the generator's.

    Args:
        optimizer: optimizer name, config or instance (an instance serves the
            generator and a copy of it the discriminator).
        learning_rate: the generator's learning rate (``None`` with an instance).
        discriminator_learning_rate: the discriminator's; ``None``: the same.

    Returns:
        A ``MultiOptimizer``; ``.optimizers`` lists the discriminator's then the
        generator's.

    Example:

    >>> gan_optimizer("adam", 2e-4, discriminator_learning_rate=1e-4)
    """
    generator_optimizer = get_optimizer(optimizer, learning_rate)
    if isinstance(optimizer, keras.optimizers.Optimizer):
        discriminator_optimizer = optimizer.__class__.from_config(optimizer.get_config())
        if discriminator_learning_rate is not None:
            discriminator_optimizer.learning_rate = discriminator_learning_rate
    else:
        discriminator_optimizer = get_optimizer(
            optimizer,
            learning_rate if discriminator_learning_rate is None else discriminator_learning_rate,
        )
    return keras.optimizers.MultiOptimizer(
        keras.optimizers.OptimizerMap(
            generator_optimizer, {DISCRIMINATOR_PATTERN: discriminator_optimizer}
        ),
        name="gan_optimizer",
    )


def _constant_bce(target, logits):
    """Mean binary cross-entropy of ``logits`` against a constant label."""
    labels = ops.full_like(logits, target)
    return ops.mean(ops.binary_crossentropy(labels, logits, from_logits=True))


class AdversarialModel(keras.Model):
    """What the GANs share: a generator and a discriminator, the two loss
    trackers, the frozen-discriminator pass, and (de)serialization.

    Args:
        generator: a ``keras.Model``.
        discriminator: a ``keras.Model`` whose layers are all named
            ``discriminator_...`` (see ``gan_optimizer``).
        **kwargs: ``Model`` arguments (``name``...).
    """

    def __init__(self, generator, discriminator, **kwargs):
        super().__init__(**kwargs)
        self.generator = generator
        self.discriminator = discriminator
        self.discriminator_tracker = keras.metrics.Mean(name="d_loss")
        self.generator_tracker = keras.metrics.Mean(name="g_loss")
        for variable in generator.trainable_variables:
            if re.fullmatch(DISCRIMINATOR_PATTERN, variable.path):
                raise ValueError(
                    f"The generator's variable {variable.path!r} would get the "
                    "discriminator's optimizer: generator layer names must not start "
                    "with 'discriminator'."
                )
        for variable in discriminator.trainable_variables:
            if not re.fullmatch(DISCRIMINATOR_PATTERN, variable.path):
                raise ValueError(
                    f"The discriminator's variable {variable.path!r} would get the "
                    "generator's optimizer: name every discriminator layer "
                    "'discriminator_...'."
                )

    def frozen_discriminator(self, inputs, training=True):
        """The discriminator's output with its weights held constant: gradients
        flow back to ``inputs`` (the generator) but not to the discriminator."""
        discriminator = self.discriminator
        trainable = [ops.stop_gradient(v) for v in discriminator.trainable_variables]
        non_trainable = [ops.convert_to_tensor(v) for v in discriminator.non_trainable_variables]
        outputs, _ = discriminator.stateless_call(
            trainable, non_trainable, inputs, training=training
        )
        return outputs

    def _total_loss(self, d_loss, g_loss):
        self.discriminator_tracker.update_state(d_loss)
        self.generator_tracker.update_state(g_loss)
        return d_loss + g_loss

    def get_config(self):
        return {
            **super().get_config(),
            "generator": keras.saving.serialize_keras_object(self.generator),
            "discriminator": keras.saving.serialize_keras_object(self.discriminator),
        }

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        for key in ("generator", "discriminator"):
            config[key] = keras.saving.deserialize_keras_object(
                config[key], custom_objects=custom_objects
            )
        return cls(**config)


@keras.saving.register_keras_serializable(package="recipes")
class GAN(AdversarialModel):
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
    >>> model.compile(optimizer=gan_optimizer())
    >>> model.fit(x, epochs=20)              # history: loss, d_loss, g_loss
    >>> model.sample(16).shape
    (16, 28, 28, 1)
    """

    def __init__(self, generator, discriminator, seed=None, **kwargs):
        super().__init__(generator, discriminator, **kwargs)
        self.seed = seed
        self.latent_dim = int(generator.input_shape[-1])
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs, training=False):
        return self.discriminator(inputs, training=training)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        check_no_sample_weight(sample_weight, type(self).__name__)
        z = keras.random.normal((ops.shape(x)[0], self.latent_dim), seed=self.seed_generator)
        fake = self.generator(z, training=training)
        fake_logits = self.discriminator(ops.stop_gradient(fake), training=training)
        d_loss = _constant_bce(1.0, y_pred) + _constant_bce(0.0, fake_logits)
        g_loss = _constant_bce(1.0, self.frozen_discriminator(fake, training))
        return self._total_loss(d_loss, g_loss)

    def sample(self, num_samples, seed=None, batch_size=256):
        """``num_samples`` generated samples (NumPy) from ``z ~ N(0, I)``."""
        check_positive_int("num_samples", num_samples)
        z = np.random.default_rng(seed).standard_normal((num_samples, self.latent_dim))
        return np.asarray(
            self.generator.predict(z.astype("float32"), batch_size=batch_size, verbose=0)
        )

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}


@keras.saving.register_keras_serializable(package="recipes")
class ConditionalGAN(AdversarialModel):
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
        super().__init__(generator, discriminator, **kwargs)
        self.seed = seed
        self.latent_dim = int(generator.input_shape[0][-1])
        self.num_classes = int(discriminator.output_shape[-1])
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs, training=False):
        return self.discriminator(inputs, training=training)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        check_no_sample_weight(sample_weight, type(self).__name__)
        if y is None:
            raise ValueError(
                "A ConditionalGAN trains on (images, labels): call fit(x, y) with the "
                "class labels as y."
            )
        labels = ops.reshape(ops.cast(y, "int32"), (-1,))
        one_hot = ops.one_hot(labels, self.num_classes, dtype=y_pred.dtype)

        def score(logits):
            return ops.sum(logits * ops.cast(one_hot, logits.dtype), axis=-1)

        z = keras.random.normal((ops.shape(x)[0], self.latent_dim), seed=self.seed_generator)
        fake = self.generator([z, labels], training=training)
        fake_logits = self.discriminator(ops.stop_gradient(fake), training=training)
        d_loss = _constant_bce(1.0, score(y_pred)) + _constant_bce(0.0, score(fake_logits))
        g_loss = _constant_bce(1.0, score(self.frozen_discriminator(fake, training)))
        return self._total_loss(d_loss, g_loss)

    def sample(self, num_samples=None, labels=None, seed=None, batch_size=256):
        """Generated samples (NumPy) of the classes ``labels`` (default
        ``0, 1, ..., num_classes - 1`` repeated up to ``num_samples``)."""
        if labels is None:
            check_positive_int("num_samples", num_samples)
            labels = np.arange(num_samples) % self.num_classes
        labels = np.asarray(labels, "int32").reshape(-1)
        if num_samples is not None and num_samples != len(labels):
            raise ValueError(
                f"`num_samples` ({num_samples}) must equal the number of labels ({len(labels)})."
            )
        if labels.size == 0 or labels.min() < 0 or labels.max() >= self.num_classes:
            raise ValueError(
                f"`labels` must be class ids in [0, {self.num_classes}). Received: {labels}"
            )
        z = np.random.default_rng(seed).standard_normal((len(labels), self.latent_dim))
        return np.asarray(
            self.generator.predict([z.astype("float32"), labels], batch_size=batch_size, verbose=0)
        )

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}


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

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        check_no_sample_weight(sample_weight, type(self).__name__)
        if y is None:
            raise ValueError(
                "Pix2Pix trains on (source, target) image pairs: call fit(x, y) with "
                "the target images as y."
            )
        target = ops.cast(y, y_pred.dtype)
        real_logits = self.discriminator([x, target], training=training)
        fake_logits = self.discriminator([x, ops.stop_gradient(y_pred)], training=training)
        d_loss = 0.5 * (_constant_bce(1.0, real_logits) + _constant_bce(0.0, fake_logits))
        l1 = ops.mean(ops.abs(target - y_pred))
        self.l1_tracker.update_state(l1)
        adversarial = _constant_bce(1.0, self.frozen_discriminator([x, y_pred], training))
        return self._total_loss(d_loss, adversarial + self.l1_weight * l1)

    def get_config(self):
        return {**super().get_config(), "l1_weight": self.l1_weight}


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


def apply_patchgan(source, target, filters=(64, 128, 256, 512), name="discriminator"):
    """PatchGAN discriminator body (Isola et al. 2017): 4x4 convolutions with
    LeakyReLU(0.2), batch norm after the first, stride 2 but the last, then a
    one-channel convolution giving one logit per patch. ``(64, 128, 256, 512)``
    is the paper's 70x70 PatchGAN."""
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


@register_builder
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
    name="gan",
    compile=True,
    optimizer=GAN_ADAM,
    learning_rate=2e-4,
    discriminator_learning_rate=None,
    loss=None,
    metrics=None,
):
    """Builds a GAN of two MLPs (seed 004's MNIST GAN).

    Generator: ``z -> Dense(generator_units...) -> Dense(prod(input_shape),
    output_activation) -> Reshape``. Discriminator: ``Flatten ->
    Dense(discriminator_units...) -> Dense(1)`` (a logit).

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
        name: model name.
        compile: compile with ``gan_optimizer`` (False: return uncompiled).
        optimizer: optimizer name, config or instance, for both networks.
        learning_rate: the generator's learning rate.
        discriminator_learning_rate: the discriminator's (default: the same).
        loss: must be None (the GAN losses are built in).
        metrics: must be None (``d_loss`` and ``g_loss`` are reported).

    Returns:
        A ``GAN`` with ``.generator``, ``.discriminator`` and ``.sample(n)``.

    Example:

    >>> model = build_gan(input_shape=(28, 28, 1), latent_dim=64)
    >>> model.generator.output_shape
    (None, 28, 28, 1)
    """
    input_shape = _check_sample_shape(input_shape)
    check_positive_int("latent_dim", latent_dim)
    generator_units = _check_units("generator_units", generator_units)
    discriminator_units = _check_units("discriminator_units", discriminator_units)
    check_choice("activation", activation, ACTIVATIONS)
    check_choice("output_activation", output_activation, OUTPUT_ACTIVATIONS)
    check_rate("dropout", dropout)
    check_builtin_loss(loss, metrics, "GAN")

    z = keras.Input(shape=(latent_dim,), name="latent")
    x = apply_dense_stack(
        z, generator_units, activation, batch_norm=batch_norm, name="generator_dense"
    )
    generator = keras.Model(z, _dense_output(x, input_shape, output_activation), name="generator")
    discriminator = _mlp_discriminator(
        input_shape, discriminator_units, activation, dropout, outputs=1
    )
    model = GAN(generator, discriminator, seed=seed, name=name)
    return _compile_gan(
        model, input_shape, compile, optimizer, learning_rate, discriminator_learning_rate
    )


@register_builder
def build_dcgan(
    input_shape=(28, 28, 1),
    latent_dim=100,
    filters=(64, 128),
    kernel_size=4,
    output_activation="sigmoid",
    batch_norm=True,
    dropout=0.0,
    seed=None,
    name="dcgan",
    compile=True,
    optimizer=GAN_ADAM,
    learning_rate=2e-4,
    discriminator_learning_rate=None,
    loss=None,
    metrics=None,
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
        name: model name.
        compile: compile with ``gan_optimizer`` (False: return uncompiled).
        optimizer: optimizer for both networks.
        learning_rate: the generator's learning rate.
        discriminator_learning_rate: the discriminator's (default: the same).
        loss: must be None.
        metrics: must be None.

    Returns:
        A ``GAN``.

    Example:

    >>> model = build_dcgan(input_shape=(28, 28, 1), filters=(64, 128))
    >>> model.sample(4).shape
    (4, 28, 28, 1)
    """
    input_shape = _check_sample_shape(input_shape, ndim=3)
    check_positive_int("latent_dim", latent_dim)
    filters = _check_units("filters", filters)
    check_positive_int("kernel_size", kernel_size)
    check_choice("output_activation", output_activation, OUTPUT_ACTIVATIONS)
    check_rate("dropout", dropout)
    check_builtin_loss(loss, metrics, "GAN")
    factor = 2 ** len(filters)
    if input_shape[0] % factor or input_shape[1] % factor:
        raise ValueError(
            f"`input_shape` height and width must be divisible by 2**len(filters) = "
            f"{factor}. Received: input_shape={input_shape}, filters={filters}"
        )
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
    outputs = keras.layers.Conv2DTranspose(
        input_shape[-1],
        kernel_size,
        strides=2,
        padding="same",
        activation=output_activation,
        dtype="float32",
        name="generator_outputs",
    )(x)
    generator = keras.Model(z, outputs, name="generator")

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
    return _compile_gan(
        model, input_shape, compile, optimizer, learning_rate, discriminator_learning_rate
    )


@register_builder
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
    name="conditional_gan",
    compile=True,
    optimizer=GAN_ADAM,
    learning_rate=2e-4,
    discriminator_learning_rate=None,
    loss=None,
    metrics=None,
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
        generator_units: hidden widths of the generator.
        discriminator_units: hidden widths of the discriminator.
        activation: hidden activation of both.
        output_activation: ``"sigmoid"``, ``"tanh"`` or ``"linear"``.
        batch_norm: batch normalisation in the generator's hidden layers.
        dropout: dropout rate after the discriminator's hidden layers.
        seed: seed of the training noise.
        name: model name.
        compile: compile with ``gan_optimizer`` (False: return uncompiled).
        optimizer: optimizer for both networks.
        learning_rate: the generator's learning rate.
        discriminator_learning_rate: the discriminator's (default: the same).
        loss: must be None.
        metrics: must be None.

    Returns:
        A ``ConditionalGAN``.

    Example:

    >>> model = build_conditional_gan(input_shape=(8, 8, 1), num_classes=10)
    >>> model.sample(labels=[3, 3, 7]).shape
    (3, 8, 8, 1)
    """
    input_shape = _check_sample_shape(input_shape)
    check_positive_int("num_classes", num_classes, minimum=2)
    check_positive_int("latent_dim", latent_dim)
    check_positive_int("embedding_dim", embedding_dim)
    generator_units = _check_units("generator_units", generator_units)
    discriminator_units = _check_units("discriminator_units", discriminator_units)
    check_choice("activation", activation, ACTIVATIONS)
    check_choice("output_activation", output_activation, OUTPUT_ACTIVATIONS)
    check_rate("dropout", dropout)
    check_builtin_loss(loss, metrics, "GAN")

    z = keras.Input(shape=(latent_dim,), name="latent")
    labels = keras.Input(shape=(), dtype="int32", name="labels")
    embedded = keras.layers.Embedding(
        num_classes, embedding_dim, name="generator_label_embedding"
    )(labels)
    x = keras.layers.Concatenate(name="generator_condition")([z, embedded])
    x = apply_dense_stack(
        x, generator_units, activation, batch_norm=batch_norm, name="generator_dense"
    )
    generator = keras.Model(
        [z, labels], _dense_output(x, input_shape, output_activation), name="generator"
    )
    discriminator = _mlp_discriminator(
        input_shape, discriminator_units, activation, dropout, outputs=num_classes
    )
    model = ConditionalGAN(generator, discriminator, seed=seed, name=name)
    return _compile_gan(
        model, input_shape, compile, optimizer, learning_rate, discriminator_learning_rate
    )


@register_builder
def build_pix2pix(
    input_shape=(64, 64, 3),
    output_channels=None,
    depth=3,
    filters=16,
    dropout=0.0,
    discriminator_filters=(32, 64, 128),
    output_activation="sigmoid",
    l1_weight=100.0,
    name="pix2pix",
    compile=True,
    optimizer=GAN_ADAM,
    learning_rate=2e-4,
    discriminator_learning_rate=None,
    loss=None,
    metrics=None,
):
    """Builds pix2pix (Isola et al. 2017): a U-Net generator, a PatchGAN
    discriminator, and the L1 + adversarial loss (seed 003's image-to-image
    translation with conditional GANs).

    The generator is ``recipes.build_unet`` (``depth`` levels, ``filters`` at the
    top, batch norm, skip connections) with its class head replaced by a 1x1
    convolution to ``output_channels`` with ``output_activation``. The
    discriminator is ``apply_patchgan`` on the concatenated ``[source, target]``.
    Train with ``fit(sources, targets)``.

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
        name: model name.
        compile: compile with ``gan_optimizer`` (False: return uncompiled).
        optimizer: optimizer for both networks.
        learning_rate: the generator's learning rate.
        discriminator_learning_rate: the discriminator's (default: the same).
        loss: must be None.
        metrics: must be None.

    Returns:
        A ``Pix2Pix`` model; ``predict(sources)`` translates.

    Example:

    >>> model = build_pix2pix(input_shape=(64, 64, 1), output_channels=3)
    >>> model.discriminator.output_shape    # one logit per patch
    (None, 16, 16, 1)
    """
    from recipes.models.unet import build_unet

    input_shape = _check_sample_shape(input_shape, ndim=3)
    output_channels = input_shape[-1] if output_channels is None else output_channels
    check_positive_int("output_channels", output_channels)
    discriminator_filters = _check_units("discriminator_filters", discriminator_filters)
    check_choice("output_activation", output_activation, OUTPUT_ACTIVATIONS)
    check_builtin_loss(loss, metrics, "GAN")

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
    return _compile_gan(
        model, input_shape, compile, optimizer, learning_rate, discriminator_learning_rate
    )


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


def _dense_output(x, input_shape, output_activation):
    width = int(np.prod(input_shape))
    x = keras.layers.Dense(
        width, activation=output_activation, dtype="float32", name="generator_outputs"
    )(x)
    if len(input_shape) > 1:
        x = keras.layers.Reshape(input_shape, dtype="float32", name="generator_reshape_outputs")(x)
    return x


def _normalize_activate(x, batch_norm, activation, name):
    if batch_norm:
        x = keras.layers.BatchNormalization(name=f"{name}_bn")(x)
    return keras.layers.Activation(activation, name=f"{name}_{activation}")(x)


def _compile_gan(
    model, input_shape, compile, optimizer, learning_rate, discriminator_learning_rate
):
    model.build((None, *input_shape))
    if not compile:
        return model
    optimizer = gan_optimizer(optimizer, learning_rate, discriminator_learning_rate)
    return compile_recipe(model, optimizer=optimizer)


def _check_sample_shape(input_shape, ndim=None):
    shape = check_shape("input_shape", input_shape, ndim=ndim)
    if None in shape:
        raise ValueError(f"`input_shape` must be fully known. Received: {input_shape}")
    return shape


def _check_units(name, units):
    try:
        units = tuple(units)
    except TypeError:
        raise ValueError(f"`{name}` must be a tuple of ints. Received: {name}={units!r}") from None
    if not units:
        raise ValueError(f"`{name}` must hold at least one value. Received: {name}={units!r}")
    for i, value in enumerate(units):
        check_positive_int(f"{name}[{i}]", value)
    return units


register_recipe(
    "mnist_gan",
    build_gan,
    "Seed 004's MNIST GAN: MLP generator 64-256-512-784 and discriminator "
    "784-512-256-1, LeakyReLU, Adam 2e-4 (beta_1 0.5).",
    dataset="mnist",
    fit={"epochs": 30, "batch_size": 128},
    input_shape=(28, 28, 1),
)

register_recipe(
    "mnist_dcgan",
    build_dcgan,
    "DCGAN for MNIST: generator 100 -> 7x7x128 -> 14x14x64 -> 28x28x1, "
    "discriminator conv 64-128 with LeakyReLU and batch norm.",
    dataset="mnist",
    fit={"epochs": 20, "batch_size": 128},
    input_shape=(28, 28, 1),
)

register_recipe(
    "mnist_conditional_gan",
    build_conditional_gan,
    "Class-conditional MLP GAN for MNIST: label embedding into the generator, "
    "projection discriminator; fit(images, labels), sample(labels=...).",
    dataset="mnist",
    fit={"epochs": 30, "batch_size": 128},
    input_shape=(28, 28, 1),
    num_classes=10,
)

register_recipe(
    "moons_gan",
    build_gan,
    "Small GAN for the 2-D moons: 4-D noise, MLPs of 128-128 units, linear output, Adam 5e-4.",
    dataset="moons",
    fit={"epochs": 200, "batch_size": 64},
    input_shape=(2,),
    latent_dim=4,
    generator_units=(128, 128),
    discriminator_units=(128, 128),
    output_activation="linear",
    learning_rate=5e-4,
)
