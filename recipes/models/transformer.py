"""Transformers for sequences (seeds 000, 002 and 004; Vaswani et al. 2017): the
encoder-decoder for sequence to sequence, with greedy generation, and the
encoder-only text classifier."""

import math

import keras
import numpy as np
from keras import ops

from recipes.blocks import apply_transformer_encoder
from recipes.checks import (
    TRANSFORMER_ACTIVATIONS,
    check_choice,
    check_positive_int,
    check_sequence_length,
    check_shape,
    check_transformer_arguments,
)
from recipes.compiling import BuiltModel
from recipes.data import derived as _derived  # noqa: F401  (registers the derived sets)
from recipes.data.offline import END, PAD, SEQUENCE_VOCAB_SIZE, START
from recipes.heads import (
    HEAD_DOCS,
    apply_output_head,
    default_output_activation,
    head_model,
    output_dense,
)
from recipes.layers.attention import (
    LearnedPositionalEmbedding,
    PaddingMask,
    SelectToken,
    SinusoidalPositionalEmbedding,
    TransformerDecoderBlock,
)
from recipes.losses.sequence import MaskedTokenAccuracy, sequence_loss
from recipes.presets import dataset_arguments
from recipes.registry import register_builder, register_recipes
from recipes.text import REVIEW_VOCAB_SIZE

POSITIONAL = ("sinusoidal", "learned")
ACTIVATIONS = TRANSFORMER_ACTIVATIONS
POOLINGS = ("mean", "first")


def embed_tokens(tokens, vocab_size, embed_dim, positional, max_length, dropout, name):
    """Token embedding plus positions, then dropout: the ``(batch, length,
    embed_dim)`` input of the blocks. With sinusoidal positions the token
    vectors are multiplied by sqrt(embed_dim) first (Vaswani et al. 2017,
    section 3.4), so that the fixed +-1 encodings do not drown them."""
    x = keras.layers.Embedding(vocab_size, embed_dim, name=f"{name}_token_embedding")(tokens)
    if positional == "sinusoidal":
        x = keras.layers.Rescaling(math.sqrt(embed_dim), name=f"{name}_embedding_scale")(x)
        x = SinusoidalPositionalEmbedding(name=f"{name}_position_embedding")(x)
    else:
        x = LearnedPositionalEmbedding(max_length, name=f"{name}_position_embedding")(x)
    if dropout:
        x = keras.layers.Dropout(dropout, name=f"{name}_embedding_dropout")(x)
    return x


@register_builder(
    loss_doc="sparse cross-entropy ignoring ``pad_id``",
    metrics_doc="``[MaskedTokenAccuracy(pad_id)]``",
)
def build_transformer(
    input_shape=(None,),
    target_shape=(None,),
    vocab_size=SEQUENCE_VOCAB_SIZE,
    target_vocab_size=None,
    embed_dim=64,
    num_heads=4,
    feed_forward_dim=128,
    num_layers=2,
    num_decoder_layers=None,
    dropout=0.1,
    activation="relu",
    norm_first=False,
    positional="sinusoidal",
    pad_id=PAD,
    name="transformer",
):
    """Builds the encoder-decoder transformer of Vaswani et al. 2017 (seed 004).

    The model takes ``{"encoder_inputs": (batch, source_length),
    "decoder_inputs": (batch, target_length)}`` token ids (``pad_id`` pads both;
    the decoder reads the target shifted right, starting with ``START``) and
    returns float32 probabilities ``(batch, target_length, target_vocab_size)``
    of the next target token: the format of ``recipes.data.arrays("reverse")``.
    The encoder and decoder are nested models named ``"encoder"`` and
    ``"decoder"`` so that ``greedy_decode`` encodes once and decodes token by
    token. Padding is masked everywhere and the decoder's self-attention is
    causal.

    Args:
        input_shape: ``(source_length,)``; ``(None,)`` for any length
            (sinusoidal positions only).
        target_shape: ``(target_length,)`` of the decoder inputs, or ``(None,)``.
        vocab_size: source vocabulary size (token ids ``0 .. vocab_size - 1``).
        target_vocab_size: target vocabulary size; defaults to ``vocab_size``.
        embed_dim: model width ``d_model``.
        num_heads: attention heads (must divide ``embed_dim``).
        feed_forward_dim: hidden width of each feed-forward network.
        num_layers: encoder blocks.
        num_decoder_layers: decoder blocks; defaults to ``num_layers``.
        dropout: dropout rate in the embeddings and every block.
        activation: feed-forward activation (``ACTIVATIONS``).
        norm_first: pre-norm blocks (with a final layer norm) instead of post-norm.
        positional: ``"sinusoidal"`` (fixed, any length) or ``"learned"``.
        pad_id: the padding token id.
        name: model name.

    Returns:
        A functional ``keras.Model``.

    Example:

    >>> from recipes import data
    >>> x, y = data.arrays("reverse", "train", num_examples=2000, min_length=5,
    ...                    max_length=8)
    >>> model = build_transformer(input_shape=(8,), target_shape=(9,), embed_dim=32)
    >>> model.fit(x, y, epochs=20, batch_size=64)
    >>> greedy_decode(model, x["encoder_inputs"][:2])
    """
    input_shape = check_shape("input_shape", input_shape, ndim=1)
    target_shape = check_shape("target_shape", target_shape, ndim=1)
    check_positive_int("vocab_size", vocab_size, minimum=2)
    target_vocab_size = target_vocab_size or vocab_size
    check_positive_int("target_vocab_size", target_vocab_size, minimum=2)
    check_transformer_arguments(
        embed_dim, num_heads, feed_forward_dim, num_layers, dropout, activation, norm_first
    )
    check_choice("positional", positional, POSITIONAL)
    num_decoder_layers = num_decoder_layers or num_layers
    check_positive_int("num_decoder_layers", num_decoder_layers)
    check_positive_int("pad_id", pad_id, minimum=0)
    source_length = check_sequence_length("input_shape", input_shape, positional)
    target_length = check_sequence_length("target_shape", target_shape, positional)
    block_arguments = (num_heads, feed_forward_dim, dropout, activation, norm_first)

    # Encoder: source tokens -> contextual vectors.
    source = keras.Input(shape=input_shape, dtype="int32", name="source_tokens")
    source_mask = PaddingMask(pad_id, name="source_padding_mask")(source)
    x = embed_tokens(source, vocab_size, embed_dim, positional, source_length, dropout, "source")
    x = apply_transformer_encoder(x, num_layers, *block_arguments, padding_mask=source_mask)
    encoder = keras.Model(source, x, name="encoder")

    # Decoder: target so far + encoder outputs -> next-token probabilities.
    target = keras.Input(shape=target_shape, dtype="int32", name="target_tokens")
    memory = keras.Input(shape=(input_shape[0], embed_dim), name="encoder_outputs")
    memory_tokens = keras.Input(shape=input_shape, dtype="int32", name="memory_tokens")
    target_mask = PaddingMask(pad_id, name="target_padding_mask")(target)
    memory_mask = PaddingMask(pad_id, name="memory_padding_mask")(memory_tokens)
    y = embed_tokens(
        target, target_vocab_size, embed_dim, positional, target_length, dropout, "target"
    )
    for i in range(1, num_decoder_layers + 1):
        y = TransformerDecoderBlock(*block_arguments, name=f"decoder_block_{i}")(
            y, memory, decoder_padding_mask=target_mask, encoder_padding_mask=memory_mask
        )
    if norm_first:
        y = keras.layers.LayerNormalization(epsilon=1e-6, name="decoder_norm")(y)
    probabilities = output_dense(target_vocab_size, "softmax")(y)
    decoder = keras.Model([target, memory, memory_tokens], probabilities, name="decoder")

    encoder_inputs = keras.Input(shape=input_shape, dtype="int32", name="encoder_inputs")
    decoder_inputs = keras.Input(shape=target_shape, dtype="int32", name="decoder_inputs")
    outputs = decoder([decoder_inputs, encoder(encoder_inputs), encoder_inputs])
    model = keras.Model(
        {"encoder_inputs": encoder_inputs, "decoder_inputs": decoder_inputs}, outputs, name=name
    )
    return BuiltModel(model, loss=sequence_loss(pad_id), metrics=[MaskedTokenAccuracy(pad_id)])


def greedy_decode(
    model, encoder_inputs, max_length=None, start_id=START, end_id=END, pad_id=PAD, batch_size=256
):
    """Generates target sequences with a ``build_transformer`` model, one token at
    a time, always taking the most probable token.

    For each batch the encoder runs once; the decoder then runs up to
    ``max_length`` times on the tokens generated so far (the causal mask makes
    the padded future harmless), called directly rather than through
    ``predict``, so that nothing is traced for a few steps. A sequence stops at
    ``end_id``; later positions hold ``pad_id``. The result
    has the layout of the targets ``y`` of ``recipes.data.arrays("reverse")``
    (the ``END`` included), ready for ``recipes.losses.exact_match``.

    Args:
        model: a model from ``build_transformer`` (or loaded from its ``.keras``).
        encoder_inputs: int array ``(n, source_length)``.
        max_length: tokens to generate; defaults to the model's target length.
        start_id: first decoder input token.
        end_id: the token that ends a sequence.
        pad_id: the padding token id.
        batch_size: batch size of the model calls.

    Returns:
        int32 array ``(n, max_length)``.
    """
    encoder = model.get_layer("encoder")
    decoder = model.get_layer("decoder")
    encoder_inputs = np.asarray(encoder_inputs, dtype="int32")
    max_length = max_length or decoder.inputs[0].shape[1]
    if max_length is None:
        raise ValueError("The model has no fixed target length: pass `max_length`.")
    generated = np.full((len(encoder_inputs), max_length), pad_id, "int32")
    for first in range(0, len(encoder_inputs), batch_size):
        source = encoder_inputs[first : first + batch_size]
        generated[first : first + len(source)] = _greedy_batch(
            encoder, decoder, source, max_length, start_id, end_id, pad_id
        )
    return generated


def _greedy_batch(encoder, decoder, source, max_length, start_id, end_id, pad_id):
    # Direct (eager) calls: no graph to trace for a handful of steps.
    source_tensor = ops.convert_to_tensor(source)
    memory = encoder(source_tensor, training=False)
    tokens = np.full((len(source), max_length), pad_id, "int32")
    tokens[:, 0] = start_id
    generated = np.full((len(source), max_length), pad_id, "int32")
    finished = np.zeros(len(source), bool)
    for step in range(max_length):
        probabilities = ops.convert_to_numpy(
            decoder([ops.convert_to_tensor(tokens), memory, source_tensor], training=False)[
                :, step
            ]
        )
        chosen = np.where(finished, pad_id, probabilities.argmax(axis=-1)).astype("int32")
        generated[:, step] = chosen
        finished |= chosen == end_id
        if step + 1 < max_length:
            tokens[:, step + 1] = np.where(finished, pad_id, chosen)
        if finished.all():
            break
    return generated


@register_builder(**HEAD_DOCS)
def build_transformer_classifier(
    input_shape=(128,),
    vocab_size=20000,
    num_classes=2,
    embed_dim=64,
    num_heads=4,
    feed_forward_dim=128,
    num_layers=2,
    dropout=0.1,
    activation="relu",
    norm_first=False,
    positional="learned",
    pooling="mean",
    pad_id=0,
    output_activation=None,
    name="transformer_classifier",
):
    """Builds an encoder-only transformer that classifies token sequences.

    Token ids -> embedding + positions -> ``num_layers`` encoder blocks (padding
    masked) -> pooling -> dropout -> ``Dense(num_classes)`` in float32. The
    pooling is the masked mean over real tokens (``"mean"``) or the first token
    (``"first"``, for a leading [CLS]).

    Args:
        input_shape: ``(sequence_length,)``; ``(None,)`` with sinusoidal positions.
        vocab_size: vocabulary size.
        num_classes: classes; 1 gives one sigmoid output (binary).
        embed_dim: model width.
        num_heads: attention heads (must divide ``embed_dim``).
        feed_forward_dim: hidden width of each feed-forward network.
        num_layers: encoder blocks.
        dropout: dropout rate.
        activation: feed-forward activation (``ACTIVATIONS``).
        norm_first: pre-norm blocks (with a final layer norm).
        positional: ``"learned"`` or ``"sinusoidal"``.
        pooling: one of ``POOLINGS``.
        pad_id: the padding token id.
        output_activation: ``"softmax"``/``"sigmoid"``; defaults from
            ``num_classes``.
        name: model name.

    Returns:
        A functional ``keras.Model``.

    Example:

    >>> model = build_transformer_classifier(input_shape=(16,), vocab_size=50,
    ...                                      num_classes=1, embed_dim=32)
    >>> model.output_shape
    (None, 1)
    """
    input_shape = check_shape("input_shape", input_shape, ndim=1)
    check_positive_int("vocab_size", vocab_size, minimum=2)
    check_positive_int("num_classes", num_classes)
    check_transformer_arguments(
        embed_dim, num_heads, feed_forward_dim, num_layers, dropout, activation, norm_first
    )
    check_choice("positional", positional, POSITIONAL)
    check_choice("pooling", pooling, POOLINGS)
    check_positive_int("pad_id", pad_id, minimum=0)
    output_activation = output_activation or default_output_activation(num_classes)
    check_choice("output_activation", output_activation, ("softmax", "sigmoid"))
    length = check_sequence_length("input_shape", input_shape, positional)

    tokens = keras.Input(shape=input_shape, dtype="int32", name="tokens")
    mask = PaddingMask(pad_id, name="padding_mask")(tokens)
    x = embed_tokens(tokens, vocab_size, embed_dim, positional, length, dropout, "token")
    block_arguments = (num_heads, feed_forward_dim, dropout, activation, norm_first)
    x = apply_transformer_encoder(x, num_layers, *block_arguments, padding_mask=mask)
    if pooling == "mean":
        x = keras.layers.GlobalAveragePooling1D(name="pooling")(x, mask=mask)
    else:
        x = SelectToken(0, name="pooling")(x)
    outputs = apply_output_head(x, num_classes, output_activation, dropout)
    return head_model(keras.Model(tokens, outputs, name=name), output_activation)


register_recipes(
    {
        "reverse_transformer": {
            "builder": build_transformer,
            "summary": "Encoder-decoder transformer for the offline `reverse` task "
            "(10-20 digits).",
            "dataset": "reverse",
            "fit": {"epochs": 20, "batch_size": 64},
            "input_shape": (20,),
            "target_shape": (21,),
            "embed_dim": 64,
            "num_heads": 4,
            "feed_forward_dim": 128,
            "num_layers": 2,
        },
        "reviews_transformer": {
            "builder": build_transformer_classifier,
            "summary": "Encoder-only transformer (1 block of width 32, 2 heads, mean pooling) "
            "classifying the offline toy reviews' sentiment from word ids.",
            **dataset_arguments("toy_review_ids"),
            "fit": {"epochs": 10, "batch_size": 64},
            "vocab_size": REVIEW_VOCAB_SIZE,
            "embed_dim": 32,
            "num_heads": 2,
            "feed_forward_dim": 64,
            "num_layers": 1,
        },
    }
)
