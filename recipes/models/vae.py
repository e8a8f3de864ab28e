"""Variational autoencoder (seed 000; Kingma and Welling 2014).

The encoder gives a Gaussian over the codings, ``q(z | x) = N(z_mean,
exp(z_log_var))``; training samples ``z = z_mean + exp(z_log_var / 2) * eps`` (the
reparameterisation trick, so gradients reach the encoder) and decodes it. The loss
is the negative evidence lower bound (ELBO), per example:

    -ELBO = reconstruction NLL  -log p(x | z)   +   beta * KL(q(z | x) || N(0, I))

with the KL term in closed form (``kl_divergence``). Both terms are reported as
metrics, ``reconstruction_loss`` and ``kl_loss``. New data comes from decoding
``z ~ N(0, I)`` (``VAE.sample``).

The loss lives in ``compute_loss``, so the built-in ``train_step`` of every
backend (TensorFlow, JAX, PyTorch) trains the model: no backend-specific code.
``call`` keeps the batch's posterior for the ``compute_loss`` that follows it, so
each training step encodes the batch once.
"""

import math

import keras
import numpy as np
from keras import ops

from recipes.checks import (
    check_choice,
    check_int_tuple,
    check_known_shape,
    check_no_sample_weight,
    check_non_negative,
    check_observation_std,
    check_positive_int,
)
from recipes.nested_config import NestedConfig
from recipes.presets import dataset_arguments
from recipes.registry import register_builder, register_recipes

RECONSTRUCTIONS = ("bernoulli", "gaussian")
ACTIVATIONS = ("relu", "tanh", "elu", "selu", "leaky_relu", "swish", "gelu", "sigmoid")


def kl_divergence(z_mean, z_log_var):
    """``KL(N(z_mean, diag(exp(z_log_var))) || N(0, I))`` per sample, in closed form:

        0.5 * sum_j (exp(z_log_var_j) + z_mean_j ** 2 - 1 - z_log_var_j)

    Args:
        z_mean: tensor ``(batch, latent_dim)``.
        z_log_var: tensor ``(batch, latent_dim)``, the log-variances.

    Returns:
        A tensor ``(batch,)`` in nats.

    Example:

    >>> kl_divergence(np.zeros((1, 2)), np.zeros((1, 2)))   # q = p: no divergence
    [0.]
    """
    return 0.5 * ops.sum(ops.exp(z_log_var) + ops.square(z_mean) - 1.0 - z_log_var, axis=-1)


@keras.saving.register_keras_serializable(package="recipes")
class VAE(NestedConfig, keras.Model):
    """A variational autoencoder: Gaussian encoder, reparameterised sampling,
    decoder, negative ELBO as the loss.

    Calling the model encodes, takes a sample of ``q(z | x)`` in training (its mean
    otherwise) and decodes: ``predict`` gives deterministic reconstructions. Train
    with ``model.fit(x)``; targets, if given, are ignored.

    Args:
        encoder: a ``keras.Model`` mapping inputs to ``[z_mean, z_log_var]``.
        decoder: a ``keras.Model`` mapping codings to Bernoulli probabilities
            (``reconstruction="bernoulli"``) or Gaussian means (``"gaussian"``).
        reconstruction: the likelihood ``p(x | z)``: ``"bernoulli"`` (inputs in
            [0, 1], binary cross-entropy) or ``"gaussian"``.
        observation_std: Gaussian likelihood only: its standard deviation, a
            float, or ``None`` to learn one per input feature (the weight
            ``log_scale``). A learned one can explain the data as noise around a
            curve and leave the codings unused (posterior collapse); a fixed
            one near the data's noise level avoids that.
        beta: weight of the KL term (1 gives the ELBO; other values a beta-VAE).
        seed: seed of the sampling.
        **kwargs: ``Model`` arguments (``name``...).

    Example:

    >>> model = VAE(encoder, decoder, reconstruction="gaussian")
    >>> model.compile("adam")
    >>> model.fit(x, epochs=50)           # history: loss, reconstruction_loss, kl_loss
    >>> model.sample(100).shape
    (100, 2)
    """

    nested_objects = ("encoder", "decoder")

    def __init__(
        self,
        encoder,
        decoder,
        reconstruction="bernoulli",
        observation_std=None,
        beta=1.0,
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        check_choice("reconstruction", reconstruction, RECONSTRUCTIONS)
        check_observation_std(observation_std, reconstruction)
        self.encoder = encoder
        self.decoder = decoder
        self.reconstruction = reconstruction
        self.observation_std = None if observation_std is None else float(observation_std)
        self.beta = check_non_negative("beta", beta)
        self.seed = seed
        self.latent_dim = int(decoder.input_shape[-1])
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.reconstruction_tracker = keras.metrics.Mean(name="reconstruction_loss")
        self.kl_tracker = keras.metrics.Mean(name="kl_loss")

    def build(self, input_shape):
        if self.reconstruction == "gaussian" and self.observation_std is None:
            self.log_scale = self.add_weight(
                name="log_scale", shape=tuple(input_shape[1:]), initializer="zeros"
            )

    def call(self, inputs, training=False):
        z_mean, z_log_var = self.encoder(inputs, training=training)
        # Kept for compute_loss, which fit/evaluate call next on the same batch in
        # the same traced step: the batch is encoded once, not twice. Set with
        # object.__setattr__ so that Keras does not track it as layer state.
        object.__setattr__(self, "_posterior", (z_mean, z_log_var))
        z = self.reparameterize(z_mean, z_log_var) if training else z_mean
        return self.decoder(z, training=training)

    def reparameterize(self, z_mean, z_log_var):
        """``z = z_mean + exp(z_log_var / 2) * eps`` with ``eps ~ N(0, I)``."""
        epsilon = keras.random.normal(
            ops.shape(z_mean), dtype=z_mean.dtype, seed=self.seed_generator
        )
        return z_mean + ops.exp(0.5 * z_log_var) * epsilon

    def reconstruction_nll(self, x, reconstructions):
        """``-log p(x | z)`` per sample (nats), summed over the input features."""
        x = ops.cast(x, reconstructions.dtype)
        if self.reconstruction == "bernoulli":
            terms = ops.binary_crossentropy(x, reconstructions)
        else:
            if self.observation_std is None:
                log_scale = ops.cast(self.log_scale, reconstructions.dtype)
            else:
                log_scale = math.log(self.observation_std)
            standardized = (x - reconstructions) * ops.exp(-log_scale)
            terms = 0.5 * ops.square(standardized) + log_scale + 0.5 * math.log(2 * math.pi)
        return ops.sum(ops.reshape(terms, (ops.shape(terms)[0], -1)), axis=-1)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        check_no_sample_weight(sample_weight, "VAE")
        posterior = self.__dict__.pop("_posterior", None)
        z_mean, z_log_var = posterior or self.encoder(x, training=training)
        reconstruction = ops.mean(self.reconstruction_nll(x, y_pred))
        kl = ops.mean(kl_divergence(z_mean, z_log_var))
        self.reconstruction_tracker.update_state(reconstruction)
        self.kl_tracker.update_state(kl)
        loss = reconstruction + self.beta * kl
        if self.losses:
            loss = loss + ops.sum(self.losses)
        return loss

    def encode(self, x, batch_size=256):
        """``(z_mean, z_log_var)`` of ``q(z | x)`` as NumPy arrays."""
        z_mean, z_log_var = self.encoder.predict(x, batch_size=batch_size, verbose=0)
        return np.asarray(z_mean), np.asarray(z_log_var)

    def sample(self, num_samples, seed=None, batch_size=256):
        """Decodes ``num_samples`` codings drawn from the prior ``N(0, I)``.

        Returns:
            NumPy array ``(num_samples, *input_shape)``: Bernoulli probabilities or
            Gaussian means.
        """
        check_positive_int("num_samples", num_samples)
        z = np.random.default_rng(seed).standard_normal((num_samples, self.latent_dim))
        return np.asarray(
            self.decoder.predict(z.astype("float32"), batch_size=batch_size, verbose=0)
        )

    def get_config(self):
        return {
            **super().get_config(),
            "reconstruction": self.reconstruction,
            "observation_std": self.observation_std,
            "beta": self.beta,
            "seed": self.seed,
        }


@register_builder(builtin_loss=True)
def build_vae(
    input_shape=(28, 28, 1),
    latent_dim=2,
    hidden_units=(256, 128),
    activation="relu",
    reconstruction="bernoulli",
    observation_std=None,
    beta=1.0,
    seed=None,
    name="vae",
):
    """Builds a dense variational autoencoder.

    Encoder: ``[Flatten] -> Dense(hidden_units...) -> (z_mean, z_log_var)``, two
    ``Dense(latent_dim)`` heads. Decoder: the mirror image, ending in sigmoid
    probabilities (Bernoulli) or linear means (Gaussian), reshaped to the input.
    The loss, the negative ELBO, is built in; ``reconstruction_loss`` and
    ``kl_loss`` are reported.

    Args:
        input_shape: shape of one sample, e.g. ``(28, 28, 1)`` or ``(2,)``.
        latent_dim: size of the codings.
        hidden_units: widths of the encoder's hidden layers (the decoder reverses
            them).
        activation: hidden activation.
        reconstruction: ``"bernoulli"`` for inputs in [0, 1] (images), or
            ``"gaussian"`` for real-valued data.
        observation_std: Gaussian only: the likelihood's standard deviation, or
            ``None`` to learn one per feature (see ``VAE``).
        beta: weight of the KL term (1: the ELBO).
        seed: seed of the reparameterisation noise.
        name: model name.

    Returns:
        A ``VAE`` with ``.encoder``, ``.decoder`` and ``.sample(n)``.

    Example:

    >>> model = build_vae(input_shape=(2,), latent_dim=2, hidden_units=(64, 64),
    ...                   reconstruction="gaussian")
    >>> model.fit(x_moons, epochs=100, batch_size=64)
    >>> model.sample(500).shape
    (500, 2)
    """
    input_shape = check_known_shape("input_shape", input_shape)
    check_positive_int("latent_dim", latent_dim)
    hidden_units = check_int_tuple("hidden_units", hidden_units)
    check_choice("activation", activation, ACTIVATIONS)
    check_choice("reconstruction", reconstruction, RECONSTRUCTIONS)
    check_observation_std(observation_std, reconstruction)
    width = math.prod(input_shape)

    inputs = keras.Input(shape=input_shape, name="inputs")
    x = keras.layers.Flatten(name="flatten")(inputs) if len(input_shape) > 1 else inputs
    for i, units in enumerate(hidden_units, start=1):
        x = keras.layers.Dense(units, activation=activation, name=f"encoder_dense_{i}")(x)
    z_mean = keras.layers.Dense(latent_dim, name="z_mean")(x)
    z_log_var = keras.layers.Dense(latent_dim, name="z_log_var")(x)
    encoder = keras.Model(inputs, [z_mean, z_log_var], name="encoder")

    decoder = keras.Sequential(name="decoder")
    decoder.add(keras.Input(shape=(latent_dim,), name="codings"))
    for i, units in enumerate(reversed(hidden_units), start=1):
        decoder.add(keras.layers.Dense(units, activation=activation, name=f"decoder_dense_{i}"))
    # float32 outputs keep the reconstruction NLL, a sum over every input feature,
    # exact under a mixed-precision policy
    decoder.add(
        keras.layers.Dense(
            width,
            activation="sigmoid" if reconstruction == "bernoulli" else None,
            dtype="float32",
            name="reconstructions",
        )
    )
    if len(input_shape) > 1:
        decoder.add(keras.layers.Reshape(input_shape, dtype="float32", name="reshape"))

    return VAE(
        encoder,
        decoder,
        reconstruction=reconstruction,
        observation_std=observation_std,
        beta=beta,
        seed=seed,
        name=name,
    )


register_recipes(
    {
        "mnist_vae": {
            "builder": build_vae,
            "summary": "Dense VAE for MNIST: 784-256-128-(2-D Gaussian codings), Bernoulli "
            "decoder.",
            **dataset_arguments("mnist", "input_shape"),
            "fit": {"epochs": 20, "batch_size": 128},
            "trainer": "samples",
            "latent_dim": 2,
            "hidden_units": (256, 128),
        },
        "moons_vae": {
            "builder": build_vae,
            "summary": "Small VAE for the 2-D moons: 2-64-64-(2-D codings), Gaussian decoder with "
            "standard deviation 0.2 (the moons' noise).",
            **dataset_arguments("moons", "input_shape"),
            "fit": {"epochs": 200, "batch_size": 64},
            "trainer": "samples",
            "latent_dim": 2,
            "hidden_units": (64, 64),
            "reconstruction": "gaussian",
            "observation_std": 0.2,
            "learning_rate": 3e-3,
        },
    }
)
