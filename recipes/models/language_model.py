"""Recurrent language model (seed 000): embedding, recurrent layers, softmax over
the vocabulary; perplexity as its metric and temperature sampling of text.

    x_t = E w_t,   h_t = RNN(h_{t-1}, x_t),   p(w_{t+1} | w_1..w_t) = softmax(W h_t + b)
"""

import keras
import numpy as np
from keras import ops

from recipes.checks import check_choice, check_positive_int, check_rate
from recipes.compiling import compile_recipe
from recipes.models.rnn import CELLS, recurrent_layers
from recipes.models.seq2seq import optimizer_with_clipnorm, sequence_loss
from recipes.registry import register_builder


@keras.saving.register_keras_serializable(package="recipes")
class Perplexity(keras.metrics.Metric):
    """Perplexity, ``exp`` of the mean cross-entropy per predicted token.

    A model that spreads its probability evenly over ``V`` words has perplexity
    ``V``; a perfect model has 1. Targets equal to ``ignore_class`` (padding)
    are left out.

    Args:
        ignore_class: the target id to leave out (``None``: keep all).
        name: metric name.
        **kwargs: ``Metric`` arguments (``dtype``).

    Example:

    >>> metric = Perplexity()
    >>> metric.update_state(np.array([[1, 0]]), np.full((1, 2, 4), 0.25))
    >>> float(metric.result())  # uniform over 4 words
    4.0
    """

    def __init__(self, ignore_class=0, name="perplexity", **kwargs):
        super().__init__(name=name, **kwargs)
        self.ignore_class = ignore_class
        self.total = self.add_variable(shape=(), initializer="zeros", name="total")
        self.count = self.add_variable(shape=(), initializer="zeros", name="count")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = ops.cast(y_true, "int32")
        y_pred = ops.convert_to_tensor(y_pred)
        losses = keras.losses.sparse_categorical_crossentropy(y_true, y_pred)
        weights = ops.ones_like(losses)
        if self.ignore_class is not None:
            weights = weights * ops.cast(ops.not_equal(y_true, self.ignore_class), losses.dtype)
        if sample_weight is not None:
            weights = weights * ops.cast(
                ops.broadcast_to(sample_weight, ops.shape(weights)), losses.dtype
            )
        self.total.assign_add(ops.cast(ops.sum(losses * weights), self.dtype))
        self.count.assign_add(ops.cast(ops.sum(weights), self.dtype))

    def result(self):
        return ops.exp(ops.divide_no_nan(self.total, self.count))

    def get_config(self):
        return {**super().get_config(), "ignore_class": self.ignore_class}


def next_token_data(sequences):
    """Inputs and targets for next-token prediction: ``x = ids[:, :-1]``,
    ``y = ids[:, 1:]`` (0 stays padding in both).

    Example:

    >>> next_token_data(np.array([[5, 6, 7, 0]]))
    (array([[5, 6, 7]]), array([[6, 7, 0]]))
    """
    sequences = np.asarray(sequences)
    if sequences.ndim != 2 or sequences.shape[1] < 2:
        raise ValueError(
            "`sequences` must be int ids of shape (batch, steps >= 2). "
            f"Received shape: {sequences.shape}"
        )
    return sequences[:, :-1], sequences[:, 1:]


@keras.saving.register_keras_serializable(package="recipes")
class LanguageModel(keras.Model):
    """Recurrent language model over token ids (0 is padding), with ``generate``.

    Args:
        vocab_size: number of token ids.
        embedding_dim: embedding width.
        units: state size of each recurrent layer.
        num_layers: stacked recurrent layers.
        cell: ``"lstm"``, ``"gru"``, ``"simple"`` or a GRU variant name.
        dropout: input dropout of every recurrent layer and before the softmax.
        name: model name.
        **kwargs: ``keras.Model`` arguments (``trainable``...).

    Example:

    >>> model = LanguageModel(vocab_size=50, units=32)
    >>> model(np.array([[2, 5, 7]])).shape
    (1, 3, 50)
    """

    def __init__(
        self,
        vocab_size=10_000,
        embedding_dim=64,
        units=128,
        num_layers=1,
        cell="lstm",
        dropout=0.0,
        name="language_model",
        **kwargs,
    ):
        check_positive_int("vocab_size", vocab_size, minimum=2)
        check_positive_int("embedding_dim", embedding_dim)
        check_positive_int("units", units)
        check_positive_int("num_layers", num_layers)
        check_choice("cell", cell, CELLS)
        check_rate("dropout", dropout)
        inputs = keras.Input(shape=(None,), dtype="int32", name="tokens")
        x = keras.layers.Embedding(vocab_size, embedding_dim, mask_zero=True, name="embedding")(
            inputs
        )
        for layer in recurrent_layers(
            cell, (units,) * num_layers, return_sequences=True, dropout=dropout
        ):
            x = layer(x)
        if dropout:
            x = keras.layers.Dropout(dropout, name="output_dropout")(x)
        outputs = keras.layers.Dense(
            vocab_size, activation="softmax", dtype="float32", name="predictions"
        )(x)
        super().__init__(inputs=inputs, outputs=outputs, name=name, **kwargs)
        self.vocab_size = vocab_size
        self.embedding_dim = embedding_dim
        self.units = units
        self.num_layers = num_layers
        self.cell = cell
        self.dropout = dropout

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "vocab_size": self.vocab_size,
            "embedding_dim": self.embedding_dim,
            "units": self.units,
            "num_layers": self.num_layers,
            "cell": self.cell,
            "dropout": self.dropout,
        }

    def generate(self, prompt, num_tokens, temperature=1.0, seed=None, exclude=(0,)):
        """Samples ``num_tokens`` tokens after ``prompt``, one at a time.

        Each step reads the whole sequence so far and draws the next token from
        ``softmax(log(p) / temperature)``: temperatures below 1 sharpen the
        distribution (0 is greedy, always the most likely token), above 1
        flatten it.

        Args:
            prompt: a list of token ids (or ``(batch, steps)`` ids), no padding.
            num_tokens: how many tokens to add.
            temperature: a number >= 0.
            seed: seed of the sampler, for repeatable samples.
            exclude: ids never sampled (default: padding).

        Returns:
            Int32 ids ``(batch, steps + num_tokens)`` (one row for a flat prompt).
        """
        check_positive_int("num_tokens", num_tokens)
        if not isinstance(temperature, (int, float)) or temperature < 0:
            raise ValueError(
                f"`temperature` must be a number >= 0. Received: temperature={temperature!r}"
            )
        tokens = np.asarray(prompt, "int32")
        tokens = tokens[None] if tokens.ndim == 1 else tokens
        if tokens.ndim != 2 or tokens.shape[1] < 1:
            raise ValueError(f"`prompt` must hold at least one token id. Received: {prompt!r}")
        rng = np.random.default_rng(seed)
        for _ in range(num_tokens):
            probabilities = ops.convert_to_numpy(self(tokens, training=False))[:, -1]
            probabilities = probabilities.astype("float64")
            probabilities[:, list(exclude)] = 0.0
            if temperature == 0:
                following = probabilities.argmax(-1)
            else:
                logits = np.log(np.maximum(probabilities, 1e-30)) / temperature
                logits[:, list(exclude)] = -np.inf
                weights = np.exp(logits - logits.max(-1, keepdims=True))
                weights /= weights.sum(-1, keepdims=True)
                following = np.array([rng.choice(len(row), p=row) for row in weights])
            tokens = np.concatenate([tokens, following[:, None].astype("int32")], axis=1)
        return tokens


@register_builder
def build_language_model(
    vocab_size=10_000,
    embedding_dim=64,
    units=128,
    num_layers=1,
    cell="lstm",
    dropout=0.0,
    name="language_model",
    compile=True,
    optimizer="adam",
    learning_rate=3e-3,
    clipnorm=1.0,
    loss=None,
    metrics=None,
):
    """Builds a recurrent language model (``LanguageModel``) that predicts each
    next token; ``evaluate`` reports its perplexity.

    Train it on ``recipes.models.language_model.next_token_data(ids)``; sample with
    ``model.generate(prompt_ids, num_tokens, temperature=0.8)``.

    Speed: ``cell="lstm"``/``"gru"`` keep the fused cuDNN path.

    Args:
        vocab_size: number of token ids (id 0 is padding).
        embedding_dim: embedding width.
        units: state size of each recurrent layer.
        num_layers: stacked recurrent layers.
        cell: ``"lstm"``, ``"gru"``, ``"simple"`` or a GRU variant name.
        dropout: input dropout of each recurrent layer and before the softmax.
        name: model name.
        compile: compile with the defaults below (False: return uncompiled).
        optimizer: optimizer name, config or instance (an instance keeps its own
            clipping).
        learning_rate: learning rate (or schedule).
        clipnorm: clip each gradient's norm to this; ``None`` or 0: no clipping.
        loss: default: sparse categorical cross-entropy ignoring padding.
        metrics: default: ``Perplexity`` and accuracy.

    Returns:
        A ``LanguageModel`` (a functional ``keras.Model`` with ``generate``).

    Example:

    >>> model = build_language_model(vocab_size=40, units=32)
    >>> x, y = next_token_data(ids)
    >>> model.fit(x, y, epochs=5)
    >>> model.generate([2, 7], num_tokens=6, temperature=0.5, seed=0)
    """
    model = LanguageModel(
        vocab_size=vocab_size,
        embedding_dim=embedding_dim,
        units=units,
        num_layers=num_layers,
        cell=cell,
        dropout=dropout,
        name=name,
    )
    return compile_recipe(
        model,
        compile=compile,
        optimizer=optimizer_with_clipnorm(optimizer, clipnorm),
        learning_rate=learning_rate,
        loss=loss or sequence_loss(),
        metrics=[Perplexity(), "accuracy"] if metrics is None else metrics,
    )
