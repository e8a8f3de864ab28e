"""Recurrent networks (seeds 000, 002 and 004): SimpleRNN, LSTM, GRU or a GRU
variant; sequence-to-vector, sequence-to-sequence and vector-to-sequence; stacked
(deep) and bidirectional.

Speed: ``cell="lstm"`` and ``cell="gru"`` build ``keras.layers.LSTM`` / ``GRU``
with the settings of their fused cuDNN kernel (``tanh``/``sigmoid``, no recurrent
dropout, ``unroll=False``, biases, GRU ``reset_after=True``), which Keras uses on
an NVIDIA GPU: with TensorFlow also for padded (masked) batches, as long as the
padding is at the end; with JAX and PyTorch (Keras 3.15) only for unmasked
inputs. ``recurrent_dropout > 0`` and every other cell run the step-by-step loop
instead: correct, but several times slower on a GPU.
``slow_recurrent_layers(model)`` lists the layers of a model that leave the fast
path, and why.
"""

import keras

from recipes.checks import check_choice, check_positive_int, check_rate, check_shape
from recipes.compiling import compile_recipe
from recipes.heads import OUTPUT_ACTIVATIONS, default_loss_and_metrics
from recipes.layers.recurrent import GRU_VARIANT_CELLS
from recipes.registry import register_builder, register_recipe

BUILT_IN_CELLS = ("simple", "lstm", "gru")
CELLS = (*BUILT_IN_CELLS, *GRU_VARIANT_CELLS)
MODES = ("seq2vec", "seq2seq", "vec2seq")
REPRESENTATIONS = ("token", "sentence")
_BUILT_IN_LAYERS = {
    "simple": keras.layers.SimpleRNN,
    "lstm": keras.layers.LSTM,
    "gru": keras.layers.GRU,
}


def check_cell(cell):
    """Returns ``cell`` if it is a name in ``CELLS`` or a callable ``units -> cell``
    (a cell class such as ``recipes.layers.MGUCell``); raises ``ValueError``
    otherwise."""
    if isinstance(cell, str):
        return check_choice("cell", cell, CELLS)
    if isinstance(cell, keras.layers.Layer) or not callable(cell):
        raise ValueError(
            f"`cell` must be one of {', '.join(map(repr, CELLS))} or a cell class (a "
            "callable taking `units`, e.g. recipes.layers.MGUCell), not a cell "
            f"instance, so that each layer gets its own cell. Received: cell={cell!r}"
        )
    return cell


def num_states(cell):
    """How many state tensors a layer of ``cell`` carries: 2 for LSTM, else 1."""
    return 2 if cell == "lstm" else 1


def cudnn_lstm_supported():
    """False where Keras' fused cuDNN LSTM fails rather than falling back: on the
    JAX backend under a bfloat16 policy (``mixed_bfloat16``), whose cuDNN RNN
    kernel (``jax.experimental.rnn``) has no bfloat16 version; on a GPU it stops
    compilation with "Unknown output type bfloat16" (JAX 0.11, Keras 3.15).
    ``recurrent_layer`` then builds the LSTM with ``use_cudnn=False``.
    """
    return not (
        keras.backend.backend() == "jax"
        and keras.config.dtype_policy().compute_dtype == "bfloat16"
    )


def recurrent_layer(
    cell,
    units,
    return_sequences=False,
    return_state=False,
    dropout=0.0,
    recurrent_dropout=0.0,
    go_backwards=False,
    name=None,
):
    """One recurrent layer of ``cell`` with ``units`` units.

    Built-in cells give ``keras.layers.SimpleRNN``/``LSTM``/``GRU`` on their
    default (fused-kernel) settings; other cells give ``keras.layers.RNN`` around
    the cell. ``dropout`` is the layers' own input dropout (the same mask at every
    step) and needs a built-in cell, as does ``recurrent_dropout`` (which leaves
    the fused path); ``recurrent_layers`` handles dropout for custom cells.

    Args:
        cell: a name from ``CELLS`` or a cell class (see ``check_cell``).
        units: state size.
        return_sequences: output every step rather than the last.
        return_state: also return the final state(s).
        dropout: input dropout rate (built-in cells).
        recurrent_dropout: recurrent dropout rate (built-in cells).
        go_backwards: read the sequence backwards.
        name: layer name.

    Example:

    >>> recurrent_layer("gru", 32, return_sequences=True)
    <GRU ...>
    """
    check_cell(cell)
    check_positive_int("units", units)
    options = dict(
        return_sequences=return_sequences,
        return_state=return_state,
        go_backwards=go_backwards,
        name=name,
    )
    if isinstance(cell, str) and cell in _BUILT_IN_LAYERS:
        if cell == "lstm" and not cudnn_lstm_supported():
            options["use_cudnn"] = False
        return _BUILT_IN_LAYERS[cell](
            units, dropout=dropout, recurrent_dropout=recurrent_dropout, **options
        )
    if dropout or recurrent_dropout:
        raise ValueError(
            "`dropout` and `recurrent_dropout` inside the layer need a built-in cell "
            f"('simple', 'lstm', 'gru'). Received: cell={cell!r}, dropout={dropout!r}, "
            f"recurrent_dropout={recurrent_dropout!r}"
        )
    instance = GRU_VARIANT_CELLS[cell](units) if isinstance(cell, str) else cell(units)
    if not hasattr(instance, "state_size"):
        raise ValueError(
            f"`cell` must make a recurrent cell (a layer with `state_size`). "
            f"Received: cell={cell!r}, which made {instance!r}"
        )
    return keras.layers.RNN(instance, **options)


def recurrent_layers(
    cell,
    units,
    return_sequences,
    bidirectional=False,
    dropout=0.0,
    recurrent_dropout=0.0,
    name="recurrent",
):
    """The layers of a stacked (deep) recurrent network, in order.

    Every layer but the last returns sequences; the last returns sequences when
    ``return_sequences``. For custom cells, ``dropout`` becomes a
    ``SpatialDropout1D`` before each layer, which drops the same input features
    at every step, as the built-in layers' own ``dropout`` does.

    Args:
        cell: see ``recurrent_layer``.
        units: a tuple, one width per layer.
        return_sequences: whether the last layer returns every step.
        bidirectional: wrap each layer in ``keras.layers.Bidirectional``
            (outputs of both directions concatenated).
        dropout: input dropout rate of every layer.
        recurrent_dropout: recurrent dropout rate (built-in cells only).
        name: prefix of the layer names, ``{name}_1``, ``{name}_2``...

    Returns:
        A list of layers to apply one after the other.

    Example:

    >>> [layer.name for layer in recurrent_layers("mgu", (8, 8), False, dropout=0.1)]
    ['recurrent_dropout_1', 'recurrent_1', 'recurrent_dropout_2', 'recurrent_2']
    """
    check_cell(cell)
    built_in = isinstance(cell, str) and cell in _BUILT_IN_LAYERS
    if recurrent_dropout and not built_in:
        raise ValueError(
            "`recurrent_dropout` needs a built-in cell ('simple', 'lstm', 'gru'). "
            f"Received: cell={cell!r}, recurrent_dropout={recurrent_dropout!r}"
        )
    layers = []
    for i, width in enumerate(units, start=1):
        if dropout and not built_in:
            layers.append(keras.layers.SpatialDropout1D(dropout, name=f"{name}_dropout_{i}"))
        layer = recurrent_layer(
            cell,
            width,
            return_sequences=return_sequences or i < len(units),
            dropout=dropout if built_in else 0.0,
            recurrent_dropout=recurrent_dropout,
            name=None if bidirectional else f"{name}_{i}",
        )
        if bidirectional:
            layer = keras.layers.Bidirectional(layer, name=f"{name}_{i}")
        layers.append(layer)
    return layers


def slow_recurrent_layers(model):
    """Lists the recurrent layers of ``model`` that cannot use the fused cuDNN
    kernel, with the reason.

    Returns:
        A dict, layer name to reason; empty when every ``LSTM``/``GRU`` is on the
        fast path and there is no other recurrent layer.

    Example:

    >>> slow_recurrent_layers(build_rnn(cell="lstm"))
    {}
    >>> slow_recurrent_layers(build_rnn(cell="mgu"))
    {'recurrent_1': 'custom cell MGUCell runs the step-by-step loop'}
    """
    slow = {}
    for layer in _flatten_layers(model):
        # Both directions of a Bidirectional share one configuration.
        inner = layer.forward_layer if isinstance(layer, keras.layers.Bidirectional) else layer
        if isinstance(inner, keras.layers.RNN):
            reason = _slow_reason(inner)
            if reason:
                slow[layer.name] = reason
    return slow


def _flatten_layers(model):
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            yield from _flatten_layers(layer)
        else:
            yield layer


def _slow_reason(layer):
    if type(layer) is keras.layers.RNN:
        return f"custom cell {type(layer.cell).__name__} runs the step-by-step loop"
    if not isinstance(layer, (keras.layers.LSTM, keras.layers.GRU)):
        return f"{type(layer).__name__} has no fused kernel"
    cell = layer.cell
    reasons = []
    if keras.activations.serialize(cell.activation) != "tanh":
        reasons.append("activation is not tanh")
    if keras.activations.serialize(cell.recurrent_activation) != "sigmoid":
        reasons.append("recurrent_activation is not sigmoid")
    if layer.recurrent_dropout:
        reasons.append("recurrent_dropout > 0")
    if layer.unroll:
        reasons.append("unroll=True")
    if not cell.use_bias:
        reasons.append("use_bias=False")
    if isinstance(layer, keras.layers.GRU) and not cell.reset_after:
        reasons.append("reset_after=False")
    if layer.use_cudnn is False:
        reasons.append("use_cudnn=False")
    return ", ".join(reasons)


def _units_per_layer(units, num_layers):
    if isinstance(units, int) and not isinstance(units, bool):
        check_positive_int("units", units)
        return (units,) * check_positive_int("num_layers", 1 if num_layers is None else num_layers)
    try:
        widths = tuple(units)
    except TypeError:
        raise ValueError(
            f"`units` must be a positive int or a tuple of them. Received: units={units!r}"
        ) from None
    if not widths:
        raise ValueError(f"`units` must not be empty. Received: units={units!r}")
    for i, width in enumerate(widths):
        check_positive_int(f"units[{i}]", width)
    if num_layers is not None and num_layers != len(widths):
        raise ValueError(
            "`num_layers` must match the length of `units` when both are given. "
            f"Received: units={units!r}, num_layers={num_layers!r}"
        )
    return widths


@register_builder
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
    compile=True,
    optimizer="adam",
    learning_rate=1e-3,
    loss=None,
    metrics=None,
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
    (see ``slow_recurrent_layers``).

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
        output_activation: one of ``recipes.models.mlp.OUTPUT_ACTIVATIONS``;
            default softmax for ``num_classes > 1``, else linear (regression).
        name: model name.
        compile: compile with the defaults below (False: return uncompiled).
        optimizer: optimizer name, config or instance.
        learning_rate: learning rate (or schedule) of the optimizer.
        loss: defaults to the loss that suits ``output_activation``.
        metrics: defaults to accuracy for classifiers, MAE for regressors.

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
    check_cell(cell)
    widths = _units_per_layer(units, num_layers)
    check_positive_int("num_classes", num_classes)
    input_shape = check_shape(
        "input_shape", input_shape, ndim=1 if mode == "vec2seq" or vocab_size else 2
    )
    representation = representation or ("sentence" if mode == "seq2vec" else "token")
    check_choice("representation", representation, REPRESENTATIONS)
    if representation == "sentence" and mode != "seq2vec":
        raise ValueError(
            "`representation='sentence'` (the last states) needs mode='seq2vec'. "
            f"Received: mode={mode!r}, representation={representation!r}"
        )
    check_rate("dropout", dropout)
    check_rate("recurrent_dropout", recurrent_dropout)
    if vocab_size is not None:
        check_positive_int("vocab_size", vocab_size, minimum=2)
        check_positive_int("embedding_dim", embedding_dim)
        if mode == "vec2seq":
            raise ValueError(
                "`vocab_size` (token inputs) needs mode 'seq2vec' or "
                f"'seq2seq'. Received: mode={mode!r}"
            )
    if mask_value is not None and (vocab_size is not None or mode == "vec2seq"):
        raise ValueError(
            "`mask_value` applies to float sequences (no vocab_size, mode 'seq2vec' or "
            f"'seq2seq'). Received: mask_value={mask_value!r}, mode={mode!r}, "
            f"vocab_size={vocab_size!r}"
        )
    if (output_length is None) == (mode == "vec2seq"):
        raise ValueError(
            "`output_length` is required with mode='vec2seq' and only there. "
            f"Received: mode={mode!r}, output_length={output_length!r}"
        )
    if output_length is not None:
        check_positive_int("output_length", output_length)
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
    model.add(
        keras.layers.Dense(
            num_classes, activation=output_activation, dtype="float32", name="predictions"
        )
    )
    default_loss, default_metrics = default_loss_and_metrics(output_activation)
    return compile_recipe(
        model,
        compile=compile,
        optimizer=optimizer,
        learning_rate=learning_rate,
        loss=loss or default_loss,
        metrics=default_metrics if metrics is None else metrics,
    )


register_recipe(
    "sine_lstm",
    build_rnn,
    "Sequence-to-vector LSTM forecasting the next value of the offline sine windows.",
    dataset="sine",
    fit={"epochs": 20, "batch_size": 64},
    input_shape=(32, 1),
    num_classes=1,
    cell="lstm",
    units=32,
    learning_rate=3e-3,
)
