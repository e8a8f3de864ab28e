"""Recurrent language model (seed 000): embedding, recurrent layers, softmax over
the vocabulary; perplexity as its metric and temperature sampling of text.

    x_t = E w_t,   h_t = RNN(h_{t-1}, x_t),   p(w_{t+1} | w_1..w_t) = softmax(W h_t + b)
"""

import keras
import numpy as np
from keras import ops

from recipes.checks import (
    check_choice,
    check_id_batch,
    check_non_negative,
    check_positive_int,
    check_prompt,
    check_rate,
)
from recipes.compiling import BuiltModel, clipped_optimizer
from recipes.data import derived as _derived  # noqa: F401  (registers the derived sets)
from recipes.functional import FunctionalModel
from recipes.heads import output_dense
from recipes.layers.recurrent import CELLS, recurrent_layers
from recipes.losses.sequence import Perplexity, sequence_loss
from recipes.registry import register_builder, register_recipes
from recipes.text import REVIEW_VOCAB_SIZE


def next_token_data(sequences):
    """Inputs and targets for next-token prediction: ``x = ids[:, :-1]``,
    ``y = ids[:, 1:]`` (0 stays padding in both).

    Example:

    >>> next_token_data(np.array([[5, 6, 7, 0]]))
    (array([[5, 6, 7]]), array([[6, 7, 0]]))
    """
    sequences = check_id_batch("sequences", sequences, min_steps=2)
    return sequences[:, :-1], sequences[:, 1:]


@keras.saving.register_keras_serializable(package="recipes")
class LanguageModel(FunctionalModel):
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
        outputs = output_dense(vocab_size, "softmax")(x)
        super().__init__(inputs, outputs, arguments=locals(), name=name, **kwargs)

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
        check_non_negative("temperature", temperature)
        tokens = check_prompt(prompt)
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


@register_builder(
    learning_rate=3e-3,
    loss=sequence_loss,
    metrics=lambda: [Perplexity(), "accuracy"],
    loss_doc="sparse categorical cross-entropy ignoring padding",
    metrics_doc="``Perplexity`` and accuracy",
)
def build_language_model(
    vocab_size=10_000,
    embedding_dim=64,
    units=128,
    num_layers=1,
    cell="lstm",
    dropout=0.0,
    name="language_model",
    clipnorm=1.0,
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
        clipnorm: clip each gradient's norm to this; ``None`` or 0: no clipping
            (an optimizer instance keeps its own clipping).

    Returns:
        A ``LanguageModel`` (a functional ``keras.Model`` with ``generate``).

    Example:

    >>> model = build_language_model(vocab_size=40, units=32)
    >>> x, y = next_token_data(ids)
    >>> model.fit(x, y, epochs=5)
    >>> model.generate([2, 7], num_tokens=6, temperature=0.5, seed=0)
    """
    model = LanguageModel.from_arguments(locals())
    return BuiltModel(model, make_optimizer=clipped_optimizer(clipnorm))


register_recipes(
    {
        "reviews_language_model": {
            "builder": build_language_model,
            "summary": "LSTM language model (32-D embedding, 64 units) of the offline toy "
            "reviews' words; perplexity, generate().",
            "dataset": "toy_review_next_ids",
            "fit": {"epochs": 10, "batch_size": 64},
            "vocab_size": REVIEW_VOCAB_SIZE,
            "embedding_dim": 32,
            "units": 64,
        },
    }
)
