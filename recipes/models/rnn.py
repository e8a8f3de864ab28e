"""Recurrent networks (seeds 000, 002 and 004): SimpleRNN, LSTM, GRU or a GRU
variant; sequence-to-vector, sequence-to-sequence and vector-to-sequence; stacked
(deep) and bidirectional.

Speed: ``cell="lstm"`` and ``cell="gru"`` build ``keras.layers.LSTM`` / ``GRU``
with the settings of their fused cuDNN kernel; ``recurrent_dropout > 0`` and
every other cell run the step-by-step loop instead: correct, but several times
slower on a GPU. ``recipes.layers.recurrent.slow_recurrent_layers(model)`` lists
the layers of a model that leave the fast path, and why.
"""

import keras

from recipes.checks import (
    check_cell,
    check_choice,
    check_layer_widths,
    check_positive_int,
    check_rate,
    check_rnn_mode,
    check_shape,
)
from recipes.heads import HEAD_DOCS, OUTPUT_ACTIVATIONS, head_model, output_dense
from recipes.layers.recurrent import CELLS, recurrent_layers
from recipes.presets import dataset_arguments
from recipes.registry import register_builder, register_recipes

MODES = ("seq2vec", "seq2seq", "vec2seq")
REPRESENTATIONS = ("token", "sentence")


@register_builder(**HEAD_DOCS)
def build_rnn(
    input_shape=(None, 1),
    num_classes=1,
    cell="lstm",
    mode="seq2vec",
    units=32,
    num_layers=None,
    bidirectional=False,
    representation=None,
    dropout=0.0,
    recurrent_dropout=0.0,
    vocab_size=None,
    embedding_dim=32,
    mask_value=None,
    output_length=None,
    output_activation=None,
    name="rnn",
):
    """Builds a (deep, optionally bidirectional) recurrent network as a
    ``keras.Sequential`` stack.

    Modes (seed 000):

    - ``"seq2vec"``: a sequence in, one output (e.g. a sentiment, a forecast).
    - ``"seq2seq"``: one output per input step (e.g. tagging, per-step regression).
    - ``"vec2seq"``: a vector in (repeated at every step), a sequence of
      ``output_length`` outputs out.

    Representations (seed 002): ``"token"`` keeps every step's output
    (concatenated over the two directions when ``bidirectional``);
    ``"sentence"`` keeps the last state of each direction, concatenated. In
    ``seq2vec`` mode token representations are averaged over the valid steps.

    Masking: with ``vocab_size`` (token inputs), id 0 is padding; with
    ``mask_value``, steps whose features all equal it are padding. Padded steps
    change nothing: the states skip them and the outputs at valid steps are those
    of the unpadded sequence.

    Speed: ``cell="lstm"``/``"gru"`` keep Keras' fused cuDNN path;
    ``recurrent_dropout > 0`` and ``cell="simple"`` or any custom cell leave it
    (see ``recipes.layers.recurrent.slow_recurrent_layers``).

    Args:
        input_shape: ``(steps, features)`` for float sequences, ``(steps,)`` for
            token ids (with ``vocab_size``), ``(features,)`` for ``vec2seq``.
            ``steps`` may be ``None``.
        num_classes: width of the output layer (classes, or regression targets
            with ``output_activation="linear"``).
        cell: ``"simple"``, ``"lstm"``, ``"gru"``, a GRU variant of
            ``recipes.layers`` (``"mgu"``, ``"gru1"``, ``"gru2"``, ``"gru3"``,
            ``"layer_norm_gru"``) or a cell class (a callable taking ``units``).
        mode: one of ``MODES``.
        units: state size of every layer, or a tuple with one width per layer.
        num_layers: number of stacked layers (default 1, or ``len(units)``).
        bidirectional: read the sequence in both directions (two RNNs with their
            own weights).
        representation: ``"token"`` or ``"sentence"``; default ``"sentence"`` for
            ``seq2vec``, ``"token"`` for the others (which allow only that).
        dropout: input dropout of every recurrent layer (same mask at each step).
        recurrent_dropout: dropout on the recurrent state (built-in cells only;
            leaves the fused path).
        vocab_size: when given, inputs are int token ids embedded by an
            ``Embedding(vocab_size, embedding_dim, mask_zero=True)``.
        embedding_dim: embedding width for token inputs.
        mask_value: for float sequences, the feature value that marks padding
            (a ``Masking`` layer); ``None`` means no padding.
        output_length: number of output steps (``vec2seq`` only).
        output_activation: one of ``recipes.heads.OUTPUT_ACTIVATIONS``;
            default softmax for ``num_classes > 1``, else linear (regression).
        name: model name.

    Returns:
        A ``keras.Sequential`` model.

    Example:

    >>> model = build_rnn(input_shape=(None,), vocab_size=100, num_classes=2,
    ...                   cell="gru", units=16, bidirectional=True)
    >>> model.output_shape
    (None, 2)
    >>> build_rnn(input_shape=(None, 3), mode="seq2seq", units=(8, 8)).output_shape
    (None, None, 1)
    """
    check_choice("mode", mode, MODES)
    check_cell(cell, CELLS)
    widths = check_layer_widths(units, num_layers)
    check_positive_int("num_classes", num_classes)
    input_shape = check_shape(
        "input_shape", input_shape, ndim=1 if mode == "vec2seq" or vocab_size else 2
    )
    representation = representation or ("sentence" if mode == "seq2vec" else "token")
    check_choice("representation", representation, REPRESENTATIONS)
    check_rate("dropout", dropout)
    check_rate("recurrent_dropout", recurrent_dropout)
    if vocab_size is not None:
        check_positive_int("vocab_size", vocab_size, minimum=2)
        check_positive_int("embedding_dim", embedding_dim)
    check_rnn_mode(mode, representation, vocab_size, mask_value, output_length)
    output_activation = output_activation or ("softmax" if num_classes > 1 else "linear")
    check_choice("output_activation", output_activation, OUTPUT_ACTIVATIONS)

    model = keras.Sequential(name=name)
    model.add(
        keras.Input(shape=input_shape, dtype="int32" if vocab_size else "float32", name="inputs")
    )
    if vocab_size:
        model.add(
            keras.layers.Embedding(vocab_size, embedding_dim, mask_zero=True, name="embedding")
        )
    elif mask_value is not None:
        model.add(keras.layers.Masking(mask_value, name="masking"))
    if mode == "vec2seq":
        model.add(keras.layers.RepeatVector(output_length, name="repeat"))
    for layer in recurrent_layers(
        cell,
        widths,
        return_sequences=representation == "token",
        bidirectional=bidirectional,
        dropout=dropout,
        recurrent_dropout=recurrent_dropout,
    ):
        model.add(layer)
    if mode == "seq2vec" and representation == "token":
        model.add(keras.layers.GlobalAveragePooling1D(name="pooling"))
    model.add(output_dense(num_classes, output_activation))
    return head_model(model, output_activation)


register_recipes(
    {
        "sine_lstm": {
            "builder": build_rnn,
            "summary": "Sequence-to-vector LSTM forecasting the next value of the offline sine "
            "windows.",
            **dataset_arguments("sine"),
            "fit": {"epochs": 20, "batch_size": 64},
            "cell": "lstm",
            "units": 32,
            "learning_rate": 3e-3,
        },
    }
)
