"""Hand-written plain-Keras references, one per benchmarked recipe.

Each function builds the architecture of a recipe the way a skilled user would write
it from scratch: stock ``keras.layers`` in a ``Sequential`` or functional model,
compiled with the recipe's optimizer, loss and metrics, ``jit_compile=True`` and
``steps_per_execution``. Architecture arguments carry the same names and defaults
as the recipe's preset, so ``--quick`` overrides apply to both sides. The VAE and
RealNVP compute their own loss, so their references are small ``keras.Model``
subclasses (no stock layer does it), still written from scratch.

The benchmark checks that each reference has exactly the recipe's parameter count.
"""

import math

import keras
import numpy as np
from keras import layers, ops


def compile_reference(model, optimizer, loss=None, metrics=(), steps_per_execution=32):
    """Compiles ``model`` as a performance-minded user would: XLA on and several
    steps per execution.

    Args:
        model: the ``keras.Model``.
        optimizer: a ``keras.optimizers.Optimizer`` instance.
        loss: a Keras loss, or ``None`` for models that compute their own.
        metrics: Keras metrics.
        steps_per_execution: training steps per compiled call.

    Returns:
        ``model``.

    Example:

    >>> model = compile_reference(keras.Sequential([keras.layers.Dense(1)]),
    ...                           keras.optimizers.SGD(0.1), "mse")
    """
    model.compile(
        optimizer=optimizer,
        loss=loss,
        metrics=list(metrics),
        jit_compile=True,
        steps_per_execution=steps_per_execution,
    )
    return model


def _classifier_output(num_classes, **kwargs):
    # float32 probabilities, as the mixed-precision guide advises.
    return layers.Dense(num_classes, activation="softmax", dtype="float32", **kwargs)


def mlp(
    input_shape=(28, 28, 1),
    num_classes=10,
    hidden_units=(64, 32),
    learning_rate=0.01,
    steps_per_execution=32,
):
    """``mnist_mlp``: flatten, ReLU dense layers, softmax; SGD.

    Example:

    >>> mlp().count_params()
    52650
    """
    model = keras.Sequential(
        [
            keras.Input(input_shape),
            layers.Flatten(),
            *[layers.Dense(units, activation="relu") for units in hidden_units],
            _classifier_output(num_classes),
        ]
    )
    return compile_reference(
        model,
        keras.optimizers.SGD(learning_rate),
        "sparse_categorical_crossentropy",
        ["accuracy"],
        steps_per_execution,
    )


def vgg(
    input_shape=(32, 32, 3),
    num_classes=10,
    blocks=((32, 64), (128, 128), (256, 256)),
    dense_units=(1024, 512),
    dropout=0.05,
    steps_per_execution=32,
):
    """``cifar10_vgg``: blocks of 3x3 convolutions (batch norm after the first of
    each), max-pooling, dropout, dense layers; Adam.

    Example:

    >>> vgg().count_params()
    5853002
    """
    stack = [keras.Input(input_shape)]
    for block in blocks:
        for i, width in enumerate(block):
            stack.append(layers.Conv2D(width, 3, padding="same"))
            if i == 0:
                stack.append(layers.BatchNormalization(momentum=0.9))
            stack.append(layers.ReLU())
        stack.append(layers.MaxPooling2D(2))
    stack += [layers.Dropout(dropout), layers.Flatten()]
    stack += [layers.Dense(units, activation="relu") for units in dense_units]
    stack += [layers.Dropout(dropout), _classifier_output(num_classes)]
    return compile_reference(
        keras.Sequential(stack),
        keras.optimizers.Adam(1e-3),
        "sparse_categorical_crossentropy",
        ["accuracy"],
        steps_per_execution,
    )


def _conv_bn(x, filters, kernel_size=3, strides=1, l2=0.0, relu=True):
    x = layers.Conv2D(
        filters,
        kernel_size,
        strides=strides,
        padding="same",
        use_bias=False,
        kernel_initializer="he_normal",
        kernel_regularizer=keras.regularizers.L2(l2) if l2 else None,
    )(x)
    x = layers.BatchNormalization(momentum=0.9, epsilon=1e-5)(x)
    return layers.ReLU()(x) if relu else x


def resnet(
    input_shape=(32, 32, 3), num_classes=10, depth=20, filters=16, l2=1e-4, steps_per_execution=32
):
    """``cifar10_resnet20``: He et al.'s CIFAR ResNet with basic blocks and 1x1
    projection shortcuts; Adam, L2 on every kernel.

    Example:

    >>> resnet(depth=20).count_params()
    274042
    """
    inputs = keras.Input(input_shape)
    x = _conv_bn(inputs, filters, l2=l2)
    for stage in range(3):
        width = filters * 2**stage
        for block in range((depth - 2) // 6):
            strides = 2 if stage and not block else 1
            shortcut = x
            if strides != 1 or x.shape[-1] != width:
                shortcut = _conv_bn(x, width, 1, strides, l2, relu=False)
            y = _conv_bn(x, width, strides=strides, l2=l2)
            y = _conv_bn(y, width, l2=l2, relu=False)
            x = layers.ReLU()(layers.Add()([shortcut, y]))
    x = layers.GlobalAveragePooling2D()(x)
    outputs = _classifier_output(num_classes, kernel_regularizer=keras.regularizers.L2(l2))(x)
    return compile_reference(
        keras.Model(inputs, outputs),
        keras.optimizers.Adam(1e-3),
        "sparse_categorical_crossentropy",
        ["accuracy"],
        steps_per_execution,
    )


def resnet9(input_shape=(32, 32, 3), num_classes=10, filters=64, l2=5e-4, steps_per_execution=32):
    """``cifar10_resnet9``: Page's DAWNBench ResNet-9 (prep, three pooled layers,
    two residuals, global max-pooling); Adam, L2 on every kernel.

    Example:

    >>> resnet9().count_params()
    6577610
    """

    def unit(x, width, pool=False):
        x = _conv_bn(x, width, l2=l2)
        return layers.MaxPooling2D(2)(x) if pool else x

    def residual(x, width):
        return layers.Add()([x, unit(unit(x, width), width)])

    inputs = keras.Input(input_shape)
    x = unit(inputs, filters)
    x = residual(unit(x, 2 * filters, pool=True), 2 * filters)
    x = unit(x, 4 * filters, pool=True)
    x = residual(unit(x, 8 * filters, pool=True), 8 * filters)
    x = layers.GlobalMaxPooling2D()(x)
    outputs = _classifier_output(num_classes, kernel_regularizer=keras.regularizers.L2(l2))(x)
    return compile_reference(
        keras.Model(inputs, outputs),
        keras.optimizers.Adam(1e-3),
        "sparse_categorical_crossentropy",
        ["accuracy"],
        steps_per_execution,
    )


def unet(input_shape=(64, 64, 3), num_classes=3, depth=3, filters=16, steps_per_execution=32):
    """``shapes_unet``: Ronneberger's U-Net with batch norm and transposed
    convolutions; Adam, pixel accuracy and mean IoU.

    Example:

    >>> unet().output_shape
    (None, 64, 64, 3)
    """

    def conv_block(x, width):
        for _ in range(2):
            x = layers.Conv2D(
                width, 3, padding="same", use_bias=False, kernel_initializer="he_normal"
            )(x)
            x = layers.ReLU()(layers.BatchNormalization(momentum=0.9)(x))
        return x

    inputs = keras.Input(input_shape)
    x, skips = inputs, []
    for level in range(depth):
        skips.append(conv_block(x, filters * 2**level))
        x = layers.MaxPooling2D(2)(skips[-1])
    x = conv_block(x, filters * 2**depth)
    for level in reversed(range(depth)):
        x = layers.Conv2DTranspose(
            filters * 2**level, 2, strides=2, kernel_initializer="he_normal"
        )(x)
        x = conv_block(layers.Concatenate()([x, skips[level]]), filters * 2**level)
    outputs = layers.Conv2D(num_classes, 1, activation="softmax", dtype="float32")(x)
    metrics = ["accuracy", keras.metrics.MeanIoU(num_classes, sparse_y_pred=False)]
    return compile_reference(
        keras.Model(inputs, outputs),
        keras.optimizers.Adam(1e-3),
        "sparse_categorical_crossentropy",
        metrics,
        steps_per_execution,
    )


def seq2seq(vocab_size=13, embedding_dim=32, units=128, steps_per_execution=32):
    """``reverse_seq2seq``: LSTM encoder whose final state starts an LSTM decoder
    (teacher forcing); Adam with ``clipnorm=1.0``, loss ignoring padding.

    Example:

    >>> seq2seq().count_params()
    167373
    """
    encoder_inputs = keras.Input((None,), dtype="int32", name="encoder_inputs")
    decoder_inputs = keras.Input((None,), dtype="int32", name="decoder_inputs")
    # JAX's cuDNN LSTM has no bfloat16 kernel: a user training under mixed_bfloat16
    # on JAX must turn it off (the recipe does the same).
    bfloat16_on_jax = (
        keras.backend.backend() == "jax"
        and keras.config.dtype_policy().compute_dtype == "bfloat16"
    )
    use_cudnn = False if bfloat16_on_jax else "auto"
    source = layers.Embedding(vocab_size, embedding_dim, mask_zero=True)(encoder_inputs)
    _, *state = layers.LSTM(units, return_state=True, use_cudnn=use_cudnn)(source)
    target = layers.Embedding(vocab_size, embedding_dim, mask_zero=True)(decoder_inputs)
    hidden = layers.LSTM(units, return_sequences=True, use_cudnn=use_cudnn)(
        target, initial_state=state
    )
    outputs = _classifier_output(vocab_size)(hidden)
    model = keras.Model(
        {"encoder_inputs": encoder_inputs, "decoder_inputs": decoder_inputs}, outputs
    )
    return compile_reference(
        model,
        keras.optimizers.Adam(3e-3, clipnorm=1.0),
        keras.losses.SparseCategoricalCrossentropy(ignore_class=0),
        ["accuracy"],
        steps_per_execution,
    )


def transformer_classifier(
    input_shape=(128,),
    vocab_size=20000,
    num_classes=2,
    embed_dim=64,
    num_heads=4,
    feed_forward_dim=128,
    num_layers=2,
    dropout=0.1,
    steps_per_execution=32,
):
    """``build_transformer_classifier``: token and learned position embeddings,
    post-norm encoder blocks of ``keras.layers.MultiHeadAttention`` with the
    padding masked, masked mean pooling; Adam.

    Example:

    >>> transformer_classifier().count_params()
    1355266
    """
    (length,) = input_shape
    tokens = keras.Input(input_shape, dtype="int32")
    mask = ops.not_equal(tokens, 0)
    positions = ops.zeros_like(tokens) + ops.arange(length, dtype="int32")
    x = layers.Embedding(vocab_size, embed_dim)(tokens) + layers.Embedding(length, embed_dim)(
        positions
    )
    x = layers.Dropout(dropout)(x)
    for _ in range(num_layers):
        attended = layers.MultiHeadAttention(num_heads, embed_dim // num_heads, dropout=dropout)(
            x, x, attention_mask=ops.expand_dims(mask, 1)
        )
        x = layers.LayerNormalization(epsilon=1e-6)(x + layers.Dropout(dropout)(attended))
        hidden = layers.Dense(feed_forward_dim, activation="relu")(x)
        x = layers.LayerNormalization(epsilon=1e-6)(
            x + layers.Dropout(dropout)(layers.Dense(embed_dim)(hidden))
        )
    x = layers.Dropout(dropout)(layers.GlobalAveragePooling1D()(x, mask=mask))
    outputs = _classifier_output(num_classes)(x)
    return compile_reference(
        keras.Model(tokens, outputs),
        keras.optimizers.Adam(1e-3),
        "sparse_categorical_crossentropy",
        ["accuracy"],
        steps_per_execution,
    )


class PlainVAE(keras.Model):
    """A dense VAE as written by hand: the KL term is added in ``call``, the
    Bernoulli reconstruction NLL in ``compute_loss``, and both are reported as
    metrics with ``keras.metrics.Mean`` trackers, as in the keras.io VAE example
    (the recipe reports them too).

    Args:
        input_shape: shape of one sample.
        latent_dim: size of the codings.
        hidden_units: encoder widths (the decoder mirrors them).
        **kwargs: ``keras.Model`` arguments.

    Example:

    >>> model = PlainVAE((28, 28, 1), 2, (256, 128))
    >>> model(np.zeros((4, 28, 28, 1), "float32")).shape
    (4, 28, 28, 1)
    """

    def __init__(self, input_shape, latent_dim, hidden_units, **kwargs):
        super().__init__(**kwargs)
        self.encoder = keras.Sequential(
            [layers.Flatten(), *[layers.Dense(u, activation="relu") for u in hidden_units]]
        )
        self.z_mean = layers.Dense(latent_dim)
        self.z_log_var = layers.Dense(latent_dim)
        self.decoder = keras.Sequential(
            [
                *[layers.Dense(u, activation="relu") for u in reversed(hidden_units)],
                layers.Dense(math.prod(input_shape), activation="sigmoid", dtype="float32"),
                layers.Reshape(input_shape, dtype="float32"),
            ]
        )
        self.noise = keras.random.SeedGenerator(0)
        self.reconstruction_tracker = keras.metrics.Mean(name="reconstruction_loss")
        self.kl_tracker = keras.metrics.Mean(name="kl_loss")

    def call(self, x, training=False):
        hidden = self.encoder(x)
        z_mean, z_log_var = self.z_mean(hidden), self.z_log_var(hidden)
        kl = 0.5 * ops.sum(ops.exp(z_log_var) + ops.square(z_mean) - 1.0 - z_log_var, axis=-1)
        self.add_loss(ops.mean(kl))
        z = z_mean
        if training:
            noise = keras.random.normal(ops.shape(z_mean), dtype=z_mean.dtype, seed=self.noise)
            z = z_mean + ops.exp(0.5 * z_log_var) * noise
        return self.decoder(z)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        terms = ops.binary_crossentropy(ops.cast(x, y_pred.dtype), y_pred)
        nll = ops.mean(ops.sum(ops.reshape(terms, (ops.shape(terms)[0], -1)), axis=-1))
        kl = sum(self.losses)  # the model's only added loss
        self.reconstruction_tracker.update_state(nll)
        self.kl_tracker.update_state(kl)
        return nll + kl


def vae(input_shape=(28, 28, 1), latent_dim=2, hidden_units=(256, 128), steps_per_execution=32):
    """``mnist_vae``: ``PlainVAE``, built and compiled with Adam.

    Example:

    >>> vae().count_params()
    469268
    """
    model = PlainVAE(input_shape, latent_dim, hidden_units)
    model(np.zeros((1, *input_shape), "float32"))  # builds every layer
    return compile_reference(
        model, keras.optimizers.Adam(1e-3), steps_per_execution=steps_per_execution
    )


class PlainRealNVP(keras.Model):
    """A RealNVP flow on vectors as written by hand: alternating checkerboard
    affine couplings, each an MLP giving a tanh-bounded log-scale (times a learned
    per-feature scale) and a shift; ``call`` returns ``log p(x)``.

    Args:
        features: size of one sample.
        num_couplings: number of coupling layers.
        hidden_units: width of each coupling's MLP.
        num_hidden: hidden layers of each MLP.
        **kwargs: ``keras.Model`` arguments.

    Example:

    >>> flow = PlainRealNVP(2, 8, 64, 2)
    >>> flow(np.zeros((5, 2), "float32")).shape
    (5,)
    """

    def __init__(self, features, num_couplings, hidden_units, num_hidden, **kwargs):
        super().__init__(**kwargs)
        self.features = features
        self.masks = [
            (np.arange(features) % 2 == i % 2).astype("float32") for i in range(num_couplings)
        ]
        self.networks = [
            keras.Sequential(
                [
                    *[layers.Dense(hidden_units, activation="relu") for _ in range(num_hidden)],
                    layers.Dense(2 * features, kernel_initializer="zeros"),
                ]
            )
            for _ in range(num_couplings)
        ]
        self.scales = [
            self.add_weight(shape=(features,), initializer="ones", name=f"scale_{i}")
            for i in range(num_couplings)
        ]

    def call(self, x):
        log_det = 0.0
        for mask, network, scale in zip(self.masks, self.networks, self.scales):
            kept = x * mask
            raw_log_scale, shift = ops.split(network(kept), 2, axis=-1)
            log_scale = scale * ops.tanh(raw_log_scale) * (1.0 - mask)
            x = kept + (1.0 - mask) * x * ops.exp(log_scale) + shift * (1.0 - mask)
            log_det = log_det + ops.sum(log_scale, axis=-1)
        log_normal = -0.5 * ops.sum(ops.square(x), axis=-1)
        return log_normal - 0.5 * self.features * math.log(2 * math.pi) + log_det

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        return -ops.mean(y_pred)


def realnvp(
    input_shape=(2,), num_couplings=8, hidden_units=64, num_hidden=2, steps_per_execution=32
):
    """``moons_realnvp``: ``PlainRealNVP``, built and compiled with Adam (2e-3).

    Example:

    >>> realnvp().count_params()
    36912
    """
    model = PlainRealNVP(input_shape[0], num_couplings, hidden_units, num_hidden)
    model(np.zeros((1, *input_shape), "float32"))  # builds every layer
    return compile_reference(
        model, keras.optimizers.Adam(2e-3), steps_per_execution=steps_per_execution
    )
