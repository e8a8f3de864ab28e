"""Encoder-decoder networks for sequence-to-sequence tasks (seeds 000 and 002),
with or without attention (Bahdanau et al. 2014; Luong et al. 2015).

Training uses teacher forcing: the decoder reads the target shifted right
(``START y1 y2 ...``) and predicts it shifted left (``y1 y2 ... END``), so a whole
batch trains in one parallel pass. Inference is ``Seq2Seq.generate``: greedy
decoding, one token at a time, each prediction fed back as the next input.
"""

import keras
import numpy as np
from keras import ops

from recipes.checks import (
    check_choice,
    check_id_batch,
    check_positive_int,
    check_rate,
    check_target_id,
)
from recipes.compiling import BuiltModel, clipped_optimizer
from recipes.data.offline import END, PAD, SEQUENCE_VOCAB_SIZE, START
from recipes.functional import FunctionalModel
from recipes.layers.additive_attention import BahdanauAttention, LuongAttention
from recipes.layers.recurrent import BUILT_IN_CELLS, CELLS, recurrent_layer
from recipes.losses.sequence import sequence_loss
from recipes.registry import register_builder, register_recipes

ATTENTIONS = (None, "bahdanau", "luong")


@keras.saving.register_keras_serializable(package="recipes")
class Seq2Seq(FunctionalModel):
    """Recurrent encoder-decoder, with optional attention, and greedy decoding.

    A functional model with two inputs, ``encoder_inputs`` ``(batch, steps)`` and
    ``decoder_inputs`` ``(batch, target_steps)`` (int token ids, 0 is padding), and
    one output: the next-token probabilities ``(batch, target_steps,
    target_vocab_size)``. The encoder's final state starts the decoder.

    With ``attention``, every decoder output ``s_t`` attends over the encoder
    outputs ``h_j`` (padding gets zero weight): ``context_t = sum_j a_tj h_j``,
    then ``tanh(W_c [context_t; s_t])`` feeds the softmax (Luong et al. 2015's
    attentional state). ``"bahdanau"`` scores with the additive network of
    Bahdanau et al. 2014 (``BahdanauAttention``), ``"luong"`` with the general
    bilinear score (``LuongAttention``). Both attend from the decoder's current
    output ``s_t``, as Luong et al. do; Bahdanau et al. attend from the previous
    state ``s_{t-1}`` and feed the context into the recurrent step, which needs
    a custom step loop. Here the decoder stays a fused ``LSTM``/``GRU`` layer and
    a whole target sequence trains in one parallel pass.

    Args:
        vocab_size: source vocabulary size (ids ``0..vocab_size - 1``).
        target_vocab_size: target vocabulary size (default ``vocab_size``).
        embedding_dim: width of both embeddings.
        units: state size of the encoder and decoder.
        cell: ``"lstm"``, ``"gru"``, ``"simple"`` or a GRU variant of
            ``recipes.layers`` (``"mgu"``, ``"gru1"``, ``"gru2"``, ``"gru3"``,
            ``"layer_norm_gru"``).
        attention: ``None``, ``"bahdanau"`` or ``"luong"``.
        attention_units: hidden width of the additive score (default ``units``).
        dropout: input dropout of the encoder and decoder (the same features
            dropped at every step).
        start_id: the token that starts decoding.
        end_id: the token that ends a sequence.
        name: model name.
        **kwargs: ``keras.Model`` arguments (``trainable``...).

    Example:

    >>> model = Seq2Seq(vocab_size=13, units=32, attention="bahdanau")
    >>> x, y = recipes.data.arrays("reverse", "test", num_examples=4)
    >>> model(x).shape
    (4, 21, 13)
    >>> tokens, weights = model.generate(x["encoder_inputs"], return_attention=True)
    """

    def __init__(
        self,
        vocab_size=SEQUENCE_VOCAB_SIZE,
        target_vocab_size=None,
        embedding_dim=32,
        units=64,
        cell="lstm",
        attention=None,
        attention_units=None,
        dropout=0.0,
        start_id=START,
        end_id=END,
        name="seq2seq",
        **kwargs,
    ):
        check_positive_int("vocab_size", vocab_size, minimum=2)
        target_vocab = check_positive_int(
            "target_vocab_size",
            vocab_size if target_vocab_size is None else target_vocab_size,
            minimum=2,
        )
        check_positive_int("embedding_dim", embedding_dim)
        check_positive_int("units", units)
        check_choice("cell", cell, CELLS)
        check_choice("attention", attention, ATTENTIONS)
        if attention_units is not None:
            check_positive_int("attention_units", attention_units)
        check_rate("dropout", dropout)
        check_target_id("start_id", start_id, target_vocab)
        check_target_id("end_id", end_id, target_vocab)
        # Built-in layers drop their inputs themselves; custom cells get a
        # SpatialDropout1D (the same features dropped at every step).
        built_in = cell in BUILT_IN_CELLS
        layer_dropout, spatial_dropout = (dropout, 0.0) if built_in else (0.0, dropout)

        encoder_inputs = keras.Input(shape=(None,), dtype="int32", name="encoder_inputs")
        decoder_inputs = keras.Input(shape=(None,), dtype="int32", name="decoder_inputs")
        source = keras.layers.Embedding(
            vocab_size, embedding_dim, mask_zero=True, name="encoder_embedding"
        )(encoder_inputs)
        target = keras.layers.Embedding(
            target_vocab, embedding_dim, mask_zero=True, name="decoder_embedding"
        )(decoder_inputs)
        if spatial_dropout:
            source = keras.layers.SpatialDropout1D(spatial_dropout, name="encoder_dropout")(source)
            target = keras.layers.SpatialDropout1D(spatial_dropout, name="decoder_dropout")(target)
        encoder = recurrent_layer(
            cell,
            units,
            return_sequences=True,
            return_state=True,
            dropout=layer_dropout,
            name="encoder",
        )
        encoder_outputs, *states = encoder(source)
        decoder = recurrent_layer(
            cell,
            units,
            return_sequences=True,
            return_state=True,
            dropout=layer_dropout,
            name="decoder",
        )
        hidden, *_ = decoder(target, initial_state=states)
        if attention is not None:
            hidden = _attend(
                _attention_layer(attention, attention_units or units),
                hidden,
                encoder_outputs,
                units,
            )[0]
        outputs = keras.layers.Dense(
            target_vocab, activation="softmax", dtype="float32", name="predictions"
        )(hidden)
        super().__init__(
            {"encoder_inputs": encoder_inputs, "decoder_inputs": decoder_inputs},
            outputs,
            arguments=locals(),
            name=name,
            **kwargs,
        )

    def generate(self, encoder_inputs, max_length=None, return_attention=False):
        """Greedy decoding: starts from ``start_id`` and feeds back the most
        likely token until every sequence has produced ``end_id`` or
        ``max_length`` tokens.

        Args:
            encoder_inputs: int token ids ``(batch, steps)``, 0-padded.
            max_length: the most tokens to produce (default ``2 * steps + 1``).
            return_attention: also return the attention weights (needs
                ``attention``).

        Returns:
            Int32 tokens ``(batch, length)``, ``end_id`` included and 0 after it;
            with ``return_attention``, also the weights ``(batch, length,
            steps)``: row ``t`` is where the decoder looked to produce token ``t``.
        """
        if return_attention and self.attention is None:
            raise ValueError(
                "`return_attention=True` needs a model built with attention. "
                f"Received: attention={self.attention!r}"
            )
        source = check_id_batch("encoder_inputs", encoder_inputs)
        max_length = max_length or 2 * source.shape[1] + 1
        check_positive_int("max_length", max_length)
        source_mask = ops.convert_to_tensor(source != PAD)
        embedded = self.get_layer("encoder_embedding")(ops.convert_to_tensor(source))
        values, *states = self.get_layer("encoder")(embedded, mask=source_mask)
        decoder_embedding = self.get_layer("decoder_embedding")
        decoder = self.get_layer("decoder")
        predictions = self.get_layer("predictions")
        batch = source.shape[0]
        token = np.full((batch, 1), self.start_id, "int32")
        tokens, weights = [], []
        finished = np.zeros(batch, bool)
        for _ in range(max_length):
            hidden, *states = decoder(
                decoder_embedding(ops.convert_to_tensor(token)), initial_state=states
            )
            if self.attention is not None:
                hidden, step_weights = _attend(
                    self, hidden, values, self.units, value_mask=source_mask
                )
                weights.append(ops.convert_to_numpy(step_weights)[:, 0])
            probabilities = ops.convert_to_numpy(predictions(hidden))[:, 0]
            token = probabilities.argmax(-1).astype("int32")[:, None]
            tokens.append(np.where(finished, PAD, token[:, 0]))
            finished |= token[:, 0] == self.end_id
            if finished.all():
                break
        tokens = np.stack(tokens, axis=1).astype("int32")
        if return_attention:
            return tokens, np.stack(weights, axis=1)
        return tokens


def _attention_layer(attention, units):
    if attention == "bahdanau":
        return BahdanauAttention(units, name="attention")
    return LuongAttention("general", name="attention")


def _attend(source, hidden, values, units, value_mask=None):
    """Attention and Luong's attentional state ``tanh(W_c [context; hidden])``.

    ``source`` is the attention layer (while building) or the model (when
    decoding), whose layers are then looked up by name.
    """
    if isinstance(source, keras.Model):
        attention = source.get_layer("attention")
        concatenate = source.get_layer("attention_concat")
        projection = source.get_layer("attention_projection")
        context, weights = attention(hidden, values, value_mask=value_mask)
    else:
        attention = source
        concatenate = keras.layers.Concatenate(name="attention_concat")
        projection = keras.layers.Dense(units, activation="tanh", name="attention_projection")
        context, weights = attention(hidden, values)
    return projection(concatenate([context, hidden])), weights


@register_builder(
    learning_rate=3e-3,
    loss=sequence_loss,
    metrics=["accuracy"],
    loss_doc="sparse categorical cross-entropy ignoring padding (id 0)",
    metrics_doc="token accuracy over the non-padded targets",
)
def build_seq2seq(
    vocab_size=SEQUENCE_VOCAB_SIZE,
    target_vocab_size=None,
    embedding_dim=32,
    units=64,
    cell="lstm",
    attention=None,
    attention_units=None,
    dropout=0.0,
    start_id=START,
    end_id=END,
    name="seq2seq",
    clipnorm=1.0,
):
    """Builds a recurrent encoder-decoder (``Seq2Seq``), optionally with attention.

    See ``Seq2Seq`` for the architecture. Fit it on ``({"encoder_inputs": ...,
    "decoder_inputs": ...}, targets)`` as the offline ``copy`` and ``reverse`` sets
    give them; decode with ``model.generate(encoder_inputs)``.

    Speed: with ``cell="lstm"`` or ``"gru"`` the encoder and decoder stay on the
    fused cuDNN path; ``"simple"`` and the GRU variants do not.

    Args:
        vocab_size: source vocabulary size (13 for ``copy``/``reverse``).
        target_vocab_size: target vocabulary size (default ``vocab_size``).
        embedding_dim: width of both embeddings.
        units: state size of the encoder and decoder.
        cell: ``"lstm"``, ``"gru"``, ``"simple"`` or a GRU variant name.
        attention: ``None``, ``"bahdanau"`` (additive) or ``"luong"`` (bilinear).
        attention_units: hidden width of the additive score (default ``units``).
        dropout: input dropout of the encoder and decoder.
        start_id: the token that starts decoding (``START`` = 1).
        end_id: the token that ends a sequence (``END`` = 2).
        name: model name.
        clipnorm: clip each gradient's norm to this (recurrent nets' gradients
            can explode); ``None`` or 0 turns clipping off, and an optimizer
            instance keeps its own clipping.

    Returns:
        A ``Seq2Seq`` (a functional ``keras.Model`` with ``generate``).

    Example:

    >>> model = build_seq2seq(attention="bahdanau", units=64)
    >>> x, y = recipes.data.arrays("reverse", "train", num_examples=2000)
    >>> model.fit(x, y, epochs=10, batch_size=64)
    >>> recipes.losses.exact_match(model.generate(x["encoder_inputs"]), y)
    """
    model = Seq2Seq.from_arguments(locals())
    return BuiltModel(model, make_optimizer=clipped_optimizer(clipnorm))


register_recipes(
    {
        "reverse_seq2seq": {
            "builder": build_seq2seq,
            "summary": "LSTM encoder-decoder without attention for the offline `reverse` task.",
            "dataset": "reverse",
            "fit": {"epochs": 20, "batch_size": 64},
            "units": 128,
        },
        "reverse_bahdanau": {
            "builder": build_seq2seq,
            "summary": "LSTM encoder-decoder with additive (Bahdanau) attention for the "
            "`reverse` task.",
            "dataset": "reverse",
            "fit": {"epochs": 20, "batch_size": 64},
            "units": 128,
            "attention": "bahdanau",
        },
    }
)
