"""Autoencoders (seeds 000, 003 and 004): stacked, tied, denoising, sparse and
convolutional; greedy layer-wise pre-training; anomaly scores.

An autoencoder is trained to reproduce its input, ``model.fit(x, x)``, through a
narrow coding layer. ``Autoencoder`` keeps the two halves as models of their own:
``model.encoder`` maps inputs to codings and ``model.decoder`` maps codings back,
each usable alone (``model.encoder.predict(x)``). Denoising noise is applied to
the input in training only; a sparse autoencoder adds an L1 penalty on the codings
to the loss.
"""

import math

import keras
import numpy as np

from recipes.checks import (
    INPUT_NOISES,
    check_choice,
    check_input_noise,
    check_known_shape,
    check_layer_sizes,
    check_non_negative,
    check_open_fraction,
    check_positive_int,
    check_sample_activation,
    check_samples,
    check_shape,
    check_sides_divisible,
)
from recipes.compiling import compile_recipe
from recipes.data import derived as _derived  # noqa: F401  (registers the derived sets)
from recipes.heads import output_upconv
from recipes.layers.autoencoder import DenseTranspose, tie_decoder
from recipes.nested_config import NestedConfig
from recipes.presets import dataset_arguments
from recipes.registry import register_builder, register_recipes

NOISE = INPUT_NOISES
ACTIVATIONS = ("relu", "sigmoid", "tanh", "elu", "selu", "leaky_relu", "swish", "gelu")


@keras.saving.register_keras_serializable(package="recipes")
class Autoencoder(NestedConfig, keras.Model):
    """``decoder(encoder(corrupt(x)))``: an encoder and a decoder model, with
    optional input noise in training (a denoising autoencoder).

    The two halves stay models of their own (``encoder``, ``decoder``). Tied
    decoders (``DenseTranspose`` layers) are tied to the encoder's ``Dense`` layers
    by name when the model is made, so a loaded model is tied again.

    Args:
        encoder: a ``keras.Model`` from inputs to codings.
        decoder: a ``keras.Model`` from codings to reconstructions.
        noise: ``None``, ``"gaussian"`` (additive ``N(0, noise_level**2)``) or
            ``"dropout"`` (inputs zeroed with probability ``noise_level``, the others
            scaled by ``1 / (1 - noise_level)``); applied in training only.
        noise_level: standard deviation (Gaussian) or rate (dropout) of the noise.
        seed: seed of the noise.
        **kwargs: ``Model`` arguments (``name``...).

    Example:

    >>> model = Autoencoder(encoder, decoder, noise="gaussian", noise_level=0.2)
    >>> model.fit(x, x, epochs=10)
    >>> codes = model.encoder.predict(x)
    """

    nested_objects = ("encoder", "decoder")

    def __init__(self, encoder, decoder, noise=None, noise_level=0.1, seed=None, **kwargs):
        super().__init__(**kwargs)
        noise_level = check_input_noise(noise, noise_level)
        self.encoder = encoder
        self.decoder = decoder
        tie_decoder(decoder, encoder)
        self.noise = noise
        self.noise_level = noise_level
        self.seed = seed
        if noise == "gaussian":
            self.corruption = keras.layers.GaussianNoise(noise_level, seed=seed, name="corruption")
        elif noise == "dropout":
            self.corruption = keras.layers.Dropout(noise_level, seed=seed, name="corruption")
        else:
            self.corruption = None

    def call(self, inputs, training=False):
        x = inputs
        if self.corruption is not None:
            x = self.corruption(x, training=training)
        return self.decoder(self.encoder(x, training=training), training=training)

    def get_config(self):
        return {
            **super().get_config(),
            "noise": self.noise,
            "noise_level": self.noise_level,
            "seed": self.seed,
        }


# The reconstruction loss of every autoencoder: seed 000's l2 loss (MSE risk).
AUTOENCODER_COMPILE = {"loss": "mse", "metrics": list}


@register_builder(**AUTOENCODER_COMPILE)
def build_autoencoder(
    input_shape=(784,),
    encoder_units=(128, 32),
    activation="relu",
    output_activation="sigmoid",
    tied_weights=False,
    noise=None,
    noise_level=0.1,
    sparsity=0.0,
    seed=None,
    name="autoencoder",
):
    """Builds a dense (stacked) autoencoder, symmetric around its coding layer.

    The encoder is ``[Flatten] -> Dense(encoder_units[0]) -> ... ->
    Dense(encoder_units[-1])`` (the codings); the decoder mirrors it back to the
    input width (and shape). Train it with ``model.fit(x, x)``.

    Args:
        input_shape: shape of one sample, e.g. ``(784,)`` or ``(8, 8, 1)``.
        encoder_units: widths of the encoder layers; the last is the coding size.
        activation: activation of every layer but the output, one of
            ``ACTIVATIONS``.
        output_activation: ``"sigmoid"`` (inputs in [0, 1]), ``"linear"`` or
            ``"tanh"``.
        tied_weights: the decoder layers are ``DenseTranspose`` layers that reuse
            the transposed encoder kernels (seed 000's ``W_{N-L+1} = W_L^T``): the
            decoder owns biases only.
        noise: denoising autoencoder: ``"gaussian"`` or ``"dropout"`` noise on the
            inputs, in training only; ``None`` for none.
        noise_level: standard deviation (Gaussian) or rate (dropout) of the noise.
        sparsity: weight of an L1 activity penalty on the codings (a sparse
            autoencoder); 0 for none.
        seed: seed of the noise.
        name: model name (the halves are named ``"encoder"`` and ``"decoder"``).

    Returns:
        An ``Autoencoder`` with ``.encoder`` and ``.decoder``.

    Example:

    >>> model = build_autoencoder(input_shape=(784,), encoder_units=(100, 30),
    ...                           tied_weights=True)
    >>> model.count_params()  # encoder kernels and biases + decoder biases
    82414
    """
    input_shape = check_known_shape("input_shape", input_shape)
    encoder_units = check_layer_sizes("encoder_units", encoder_units)
    check_choice("activation", activation, ACTIVATIONS)
    check_sample_activation(output_activation)
    check_input_noise(noise, noise_level)
    sparsity = check_non_negative("sparsity", sparsity)
    width = math.prod(input_shape)

    encoder = keras.Sequential(name="encoder")
    encoder.add(keras.Input(shape=input_shape, name="inputs"))
    if len(input_shape) > 1:
        encoder.add(keras.layers.Flatten(name="flatten"))
    dense_layers = []
    for i, units in enumerate(encoder_units, start=1):
        coding = i == len(encoder_units)
        regularizer = keras.regularizers.L1(sparsity) if coding and sparsity else None
        layer = keras.layers.Dense(
            units,
            activation=activation,
            activity_regularizer=regularizer,
            name="codings" if coding else f"encoder_dense_{i}",
        )
        encoder.add(layer)
        dense_layers.append(layer)

    decoder = keras.Sequential(name="decoder")
    decoder.add(keras.Input(shape=(encoder_units[-1],), name="codings"))
    widths = (width, *encoder_units[:-1])
    for i in reversed(range(len(encoder_units))):
        last = i == 0
        layer_activation = output_activation if last else activation
        layer_name = "reconstructions" if last else f"decoder_dense_{len(encoder_units) - i}"
        # float32 reconstructions keep the loss exact under mixed precision
        dtype = "float32" if last else None
        if tied_weights:
            decoder.add(
                DenseTranspose(
                    widths[i],
                    tied_to=dense_layers[i],
                    activation=layer_activation,
                    dtype=dtype,
                    name=layer_name,
                )
            )
        else:
            decoder.add(
                keras.layers.Dense(
                    widths[i], activation=layer_activation, dtype=dtype, name=layer_name
                )
            )
    if len(input_shape) > 1:
        decoder.add(keras.layers.Reshape(input_shape, dtype="float32", name="reshape"))

    return Autoencoder(
        encoder, decoder, noise=noise, noise_level=noise_level, seed=seed, name=name
    )


@register_builder(**AUTOENCODER_COMPILE)
def build_conv_autoencoder(
    input_shape=(28, 28, 1),
    filters=(16, 32),
    kernel_size=3,
    latent_dim=None,
    activation="relu",
    output_activation="sigmoid",
    noise=None,
    noise_level=0.1,
    seed=None,
    name="conv_autoencoder",
):
    """Builds a convolutional autoencoder for images.

    The encoder halves the image at each of its ``Conv2D(strides=2)`` layers (and,
    with ``latent_dim``, ends with a dense coding layer); the decoder mirrors it
    with ``Conv2DTranspose(strides=2)`` layers, the last one giving the image's
    channels.

    Args:
        input_shape: ``(height, width, channels)``; height and width must be
            divisible by ``2 ** len(filters)``.
        filters: filters of the encoder's convolutions, one per halving.
        kernel_size: size of every kernel.
        latent_dim: size of a dense coding layer after the convolutions; ``None``
            keeps the last feature map as the codings.
        activation: activation of every layer but the output.
        output_activation: ``"sigmoid"`` (pixels in [0, 1]), ``"linear"`` or
            ``"tanh"``.
        noise: ``None``, ``"gaussian"`` or ``"dropout"`` input noise in training
            (a denoising autoencoder).
        noise_level: standard deviation (Gaussian) or rate (dropout) of the noise.
        seed: seed of the noise.
        name: model name.

    Returns:
        An ``Autoencoder`` with ``.encoder`` and ``.decoder``.

    Example:

    >>> model = build_conv_autoencoder(input_shape=(28, 28, 1), filters=(16, 32))
    >>> model.encoder.output_shape
    (None, 7, 7, 32)
    """
    input_shape = check_shape("input_shape", input_shape, ndim=3)
    filters = check_layer_sizes("filters", filters)
    check_positive_int("kernel_size", kernel_size)
    if latent_dim is not None:
        check_positive_int("latent_dim", latent_dim)
    check_choice("activation", activation, ACTIVATIONS)
    check_sample_activation(output_activation)
    check_input_noise(noise, noise_level)
    factor = 2 ** len(filters)
    check_sides_divisible(input_shape, factor, f"2**len(filters) = {factor}", known=True)
    feature_shape = (input_shape[0] // factor, input_shape[1] // factor, filters[-1])

    encoder = keras.Sequential(name="encoder")
    encoder.add(keras.Input(shape=input_shape, name="inputs"))
    for i, count in enumerate(filters, start=1):
        encoder.add(
            keras.layers.Conv2D(
                count,
                kernel_size,
                strides=2,
                padding="same",
                activation=activation,
                name=f"encoder_conv_{i}",
            )
        )
    decoder = keras.Sequential(name="decoder")
    if latent_dim is None:
        decoder.add(keras.Input(shape=feature_shape, name="codings"))
    else:
        encoder.add(keras.layers.Flatten(name="flatten"))
        encoder.add(keras.layers.Dense(latent_dim, activation=activation, name="codings"))
        decoder.add(keras.Input(shape=(latent_dim,), name="codings"))
        decoder.add(
            keras.layers.Dense(
                math.prod(feature_shape), activation=activation, name="decoder_dense"
            )
        )
        decoder.add(keras.layers.Reshape(feature_shape, name="reshape"))
    for i, count in enumerate(reversed(filters[:-1]), start=1):
        decoder.add(
            keras.layers.Conv2DTranspose(
                count,
                kernel_size,
                strides=2,
                padding="same",
                activation=activation,
                name=f"decoder_conv_{i}",
            )
        )
    decoder.add(output_upconv(input_shape[-1], kernel_size, output_activation, "reconstructions"))

    return Autoencoder(
        encoder, decoder, noise=noise, noise_level=noise_level, seed=seed, name=name
    )


def pretrain_layerwise(
    x,
    units=(64, 32),
    activation="sigmoid",
    output_activation="sigmoid",
    tied_weights=True,
    epochs=10,
    batch_size=32,
    optimizer="adam",
    learning_rate=1e-2,
    loss="mse",
    callbacks=None,
    verbose=0,
    name="pretrained_encoder",
):
    """Greedy layer-wise pre-training of a deep autoencoder (seed 003).

    Stage 1 trains ``W1`` (with its tied ``W1^T``) to minimise ``||x - x_hat||^2``.
    Stage ``k`` inserts a new pair ``W_k`` / ``W_k^T`` in the middle of the stack and
    trains only that pair, every earlier layer frozen, still reconstructing ``x``.
    The decoder is then dropped: the returned encoder (all layers trainable again)
    is what a classifier is stacked on and fine-tuned with the labels.

    Args:
        x: training inputs (NumPy), e.g. images ``(n, 8, 8, 1)`` or ``(n, 64)``.
        units: widths of the encoder layers, one stage each.
        activation: hidden activation (non-linear: a linear stack would collapse
            into one layer).
        output_activation: activation of the reconstruction (``"sigmoid"`` for
            inputs in [0, 1], else ``"linear"``).
        tied_weights: decoder layers reuse the transposed encoder kernels.
        epochs: epochs per stage.
        batch_size: batch size.
        optimizer: optimizer name or config (a fresh one per stage).
        learning_rate: learning rate of each stage.
        loss: reconstruction loss.
        callbacks: Keras callbacks passed to every stage's ``fit``.
        verbose: ``fit``'s verbosity.
        name: name of the returned encoder.

    Returns:
        A ``keras.Sequential`` encoder ``[Flatten] -> Dense(units[0]) -> ...``,
        its layers named ``encoder_dense_1``, ``encoder_dense_2``...

    Example:

    >>> encoder = pretrain_layerwise(x_unlabelled, units=(64, 32), epochs=10)
    >>> classifier = keras.Sequential([encoder, keras.layers.Dense(10, "softmax")])
    >>> classifier.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
    ...                    metrics=["accuracy"])
    >>> classifier.fit(x_labelled, y_labelled, epochs=5)      # fine-tuning
    """
    x = check_samples("x", x)
    units = check_layer_sizes("units", units)
    check_choice("activation", activation, ACTIVATIONS)
    check_sample_activation(output_activation)
    check_positive_int("epochs", epochs)
    check_positive_int("batch_size", batch_size)
    input_shape = tuple(x.shape[1:])
    widths = (math.prod(input_shape), *units[:-1])

    encoder_layers, decoder_layers = [], []
    for stage, width in enumerate(units, start=1):
        dense = keras.layers.Dense(width, activation=activation, name=f"encoder_dense_{stage}")
        out_activation = output_activation if stage == 1 else activation
        if tied_weights:
            mirror = DenseTranspose(
                widths[stage - 1],
                tied_to=dense,
                activation=out_activation,
                name=f"decoder_dense_{stage}",
            )
        else:
            mirror = keras.layers.Dense(
                widths[stage - 1], activation=out_activation, name=f"decoder_dense_{stage}"
            )
        for layer in encoder_layers + decoder_layers:
            layer.trainable = False
        encoder_layers.append(dense)
        decoder_layers.append(mirror)
        stack = keras.Sequential(
            [
                keras.Input(shape=input_shape),
                *_flatten(input_shape),
                *encoder_layers,
                *reversed(decoder_layers),
                *_reshape(input_shape),
            ],
            name=f"pretraining_stage_{stage}",
        )
        compile_recipe(stack, optimizer=optimizer, learning_rate=learning_rate, loss=loss)
        stack.fit(x, x, epochs=epochs, batch_size=batch_size, callbacks=callbacks, verbose=verbose)

    for layer in encoder_layers:
        layer.trainable = True
    return keras.Sequential(
        [keras.Input(shape=input_shape, name="inputs"), *_flatten(input_shape), *encoder_layers],
        name=name,
    )


def reconstruction_error(model, x, batch_size=256):
    """Per-sample mean squared reconstruction error of an autoencoder (seed 004's
    anomaly score: normal data reconstructs well, anomalies do not).

    Args:
        model: a trained autoencoder (any model whose output has ``x``'s shape).
        x: inputs (NumPy).
        batch_size: prediction batch size.

    Returns:
        A float NumPy array ``(n,)``.

    Example:

    >>> scores = reconstruction_error(model, x_test)
    """
    x = np.asarray(x)
    reconstructions = np.asarray(model.predict(x, batch_size=batch_size, verbose=0))
    if reconstructions.shape != x.shape:
        raise ValueError(
            "`model` must reconstruct its input: its output shape "
            f"{reconstructions.shape} differs from x's {x.shape}."
        )
    squared = np.square(reconstructions.astype("float64") - x)
    return squared.reshape(len(x), -1).mean(axis=1)


def anomaly_threshold(model, x_normal, quantile=0.99, batch_size=256):
    """The anomaly threshold: the ``quantile`` of the reconstruction errors of
    normal data (held-out normal data is best), so that about ``1 - quantile`` of
    normal samples are flagged.

    Args:
        model: a trained autoencoder.
        x_normal: normal samples.
        quantile: in (0, 1).
        batch_size: prediction batch size.

    Returns:
        A float.

    Example:

    >>> threshold = anomaly_threshold(model, x_validation, quantile=0.99)
    >>> flagged = detect_anomalies(model, x_test, threshold)
    """
    check_open_fraction("quantile", quantile)
    return float(np.quantile(reconstruction_error(model, x_normal, batch_size), quantile))


def detect_anomalies(model, x, threshold, batch_size=256):
    """Boolean NumPy array ``(n,)``: True where the reconstruction error exceeds
    ``threshold`` (from ``anomaly_threshold``)."""
    return reconstruction_error(model, x, batch_size) > threshold


def _flatten(input_shape):
    return [keras.layers.Flatten()] if len(input_shape) > 1 else []


def _reshape(input_shape):
    return [keras.layers.Reshape(input_shape)] if len(input_shape) > 1 else []


register_recipes(
    {
        "digits_autoencoder": {
            "builder": build_autoencoder,
            "summary": "Stacked autoencoder with tied weights for the offline 8x8 digits: "
            "64-32-16 codings and back, sigmoid reconstructions, MSE.",
            **dataset_arguments("digits_reconstruction", "input_shape"),
            "fit": {"epochs": 30, "batch_size": 32},
            "encoder_units": (32, 16),
            "tied_weights": True,
            "learning_rate": 3e-3,
        },
        "digits_conv_autoencoder": {
            "builder": build_conv_autoencoder,
            "summary": "Convolutional autoencoder for the offline 8x8 digits: stride-2 convs "
            "of 16 and 32 filters to 2x2x32 codings, transposed convs back.",
            **dataset_arguments("digits_reconstruction", "input_shape"),
            "fit": {"epochs": 30, "batch_size": 32},
            "filters": (16, 32),
            "learning_rate": 3e-3,
        },
    }
)
