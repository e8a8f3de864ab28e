"""GRU variants as recurrent cells for ``keras.layers.RNN``, and the recurrent
layers the model families build from them (``recurrent_layer``,
``recurrent_layers``).

Every cell here follows the gated recurrence of Cho et al. (2014), written as in
Dey and Salem (2017) and Zhou et al. (2016):

    z = sigmoid(gate pre-activation)           update gate
    r = sigmoid(gate pre-activation)           reset gate
    h_candidate = tanh(W x + U (r * h) + b)
    h_new = (1 - z) * h + z * h_candidate

The variants differ only in what the gates read (the input ``x``, the previous
state ``h``, a bias) and in how many gates there are:

| cell | gates | gate pre-activation | parameters (input m, units n) |
| --- | --- | --- | --- |
| ``MGUCell`` | one, ``f`` = ``z`` = ``r`` | ``W_f x + U_f h + b_f`` | ``2 (n m + n^2 + n)`` |
| ``GRU1Cell`` | ``z``, ``r`` | ``U h + b`` | ``n m + 3 n^2 + 3 n`` |
| ``GRU2Cell`` | ``z``, ``r`` | ``U h`` | ``n m + 3 n^2 + n`` |
| ``GRU3Cell`` | ``z``, ``r`` | ``b`` | ``n m + n^2 + 3 n`` |
| ``LayerNormGRUCell`` | ``z``, ``r`` | ``LN(W x) + LN(U h) + b`` | ``3 n m + 3 n^2 + 9 n`` |

(with ``use_bias=False`` the biases, ``n`` per bias vector, are left out.)

Speed: these cells run step by step in ``keras.layers.RNN`` (the generic loop),
several times slower than the fused cuDNN kernels behind ``keras.layers.GRU`` and
``keras.layers.LSTM`` on a GPU. Use them to study the variants; use the built-in
layers when speed matters. ``recurrent_layer("lstm"|"gru", ...)`` builds those
with the settings of their fused kernel (``tanh``/``sigmoid``, no recurrent
dropout, ``unroll=False``, biases, GRU ``reset_after=True``), which Keras uses on
an NVIDIA GPU: with TensorFlow also for padded (masked) batches, as long as the
padding is at the end; with JAX and PyTorch (Keras 3.15) only for unmasked
inputs. ``slow_recurrent_layers(model)`` lists the layers of a model that leave
the fast path, and why.

Example:

>>> layer = keras.layers.RNN(MGUCell(16), return_sequences=True)
>>> layer(np.zeros((2, 5, 3), "float32")).shape
(2, 5, 16)
"""

import keras
from keras import ops

from recipes.checks import check_cell, check_positive_int, check_positive_number


class _GatedCell(keras.layers.Layer):
    """The shared gated recurrence; subclasses say what the gates read.

    Class attributes:
        num_gates: 1 (one gate is both update and reset gate) or 2.
        gates_read_input, gates_read_state, gates_have_bias: the terms of the
            gate pre-activation.
    """

    num_gates = 2
    gates_read_input = True
    gates_read_state = True
    gates_have_bias = True

    def __init__(
        self,
        units,
        activation="tanh",
        recurrent_activation="sigmoid",
        use_bias=True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.units = check_positive_int("units", units)
        self.activation = keras.activations.get(activation)
        self.recurrent_activation = keras.activations.get(recurrent_activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.recurrent_initializer = keras.initializers.get(recurrent_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        if not (self.gates_read_input or self.gates_read_state or self._gate_bias_used):
            raise ValueError(
                f"{type(self).__name__}'s gates read only a bias: it needs use_bias=True. "
                f"Received: use_bias={use_bias!r}"
            )
        self.state_size = self.units
        self.output_size = self.units

    @property
    def _gate_bias_used(self):
        return self.gates_have_bias and self.use_bias

    def build(self, input_shape):
        input_dim = input_shape[-1]
        if input_dim is None:
            raise ValueError(
                f"{type(self).__name__} needs a known feature axis (the last). "
                f"Received: input_shape={input_shape}"
            )
        n, gates = self.units, self.num_gates * self.units
        self.kernel = self.add_weight(
            shape=(input_dim, n), initializer=self.kernel_initializer, name="kernel"
        )
        self.recurrent_kernel = self.add_weight(
            shape=(n, n), initializer=self.recurrent_initializer, name="recurrent_kernel"
        )
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(shape=(n,), initializer=self.bias_initializer, name="bias")
        self.gate_kernel = self.gate_recurrent_kernel = self.gate_bias = None
        if self.gates_read_input:
            self.gate_kernel = self.add_weight(
                shape=(input_dim, gates),
                initializer=self.kernel_initializer,
                name="gate_kernel",
            )
        if self.gates_read_state:
            self.gate_recurrent_kernel = self.add_weight(
                shape=(n, gates),
                initializer=self.recurrent_initializer,
                name="gate_recurrent_kernel",
            )
        if self._gate_bias_used:
            self.gate_bias = self.add_weight(
                shape=(gates,), initializer=self.bias_initializer, name="gate_bias"
            )

    def _normalize(self, values, which):
        """Hook on each pre-activation term (``which`` names it); identity here."""
        return values

    def _gate_values(self, inputs, state):
        terms = []
        if self.gate_kernel is not None:
            terms.append(self._normalize(ops.matmul(inputs, self.gate_kernel), "gate_input"))
        if self.gate_recurrent_kernel is not None:
            terms.append(
                self._normalize(ops.matmul(state, self.gate_recurrent_kernel), "gate_state")
            )
        if self.gate_bias is not None:
            if terms:
                terms.append(self.gate_bias)
            else:  # gates from the bias alone: one value per unit, for every example
                batch = ops.zeros_like(state[:, :1])
                terms.append(batch + self.gate_bias[None, :])
        gates = terms[0]
        for term in terms[1:]:
            gates = gates + term
        gates = self.recurrent_activation(gates)
        if self.num_gates == 1:
            return gates, gates
        return gates[:, : self.units], gates[:, self.units :]

    def call(self, inputs, states, training=False):
        state = states[0] if isinstance(states, (list, tuple)) else states
        update, reset = self._gate_values(inputs, state)
        candidate = self._normalize(ops.matmul(inputs, self.kernel), "input") + self._normalize(
            ops.matmul(reset * state, self.recurrent_kernel), "state"
        )
        if self.bias is not None:
            candidate = candidate + self.bias
        candidate = self.activation(candidate)
        new_state = (1.0 - update) * state + update * candidate
        return new_state, [new_state]

    def get_initial_state(self, batch_size=None):
        return [ops.zeros((batch_size, self.units), dtype=self.compute_dtype)]

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "activation": keras.activations.serialize(self.activation),
            "recurrent_activation": keras.activations.serialize(self.recurrent_activation),
            "use_bias": self.use_bias,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "recurrent_initializer": keras.initializers.serialize(self.recurrent_initializer),
            "bias_initializer": keras.initializers.serialize(self.bias_initializer),
        }


_CELL_ARGS = """
    Args:
        units: size of the state (and output), a positive int.
        activation: activation of the candidate state (default ``tanh``).
        recurrent_activation: activation of the gates (default ``sigmoid``).
        use_bias: add the bias vectors.
        kernel_initializer: initializer of the input kernels.
        recurrent_initializer: initializer of the recurrent kernels.
        bias_initializer: initializer of the biases.
        **kwargs: ``Layer`` arguments (``name``, ``dtype``...).

    Call arguments:
        inputs: one time step, ``(batch, features)``.
        states: ``[h]``, the previous state ``(batch, units)``.

    Returns:
        ``(h_new, [h_new])``: the output and the new state.

    Speed: a custom cell runs in ``keras.layers.RNN``'s step-by-step loop, not in
    the fused cuDNN kernel of ``keras.layers.GRU``.
"""


def _with_cell_args(**extra_args):
    """A class decorator: puts the arguments, call arguments and returns that
    every gated cell shares (``_CELL_ARGS``) into the class's docstring, before
    its example, with ``extra_args`` (name to description) after ``units``."""

    def decorate(cls):
        args = _CELL_ARGS
        for key, text in extra_args.items():
            args = args.replace(
                "        activation:", f"        {key}: {text}\n        activation:"
            )
        head, example = cls.__doc__.split("\n    Example:", 1)
        cls.__doc__ = f"{head}{args}\n    Example:{example}"
        return cls

    return decorate


@keras.saving.register_keras_serializable(package="recipes")
@_with_cell_args()
class MGUCell(_GatedCell):
    """Minimal gated unit (Zhou et al. 2016): one forget gate plays both GRU gates.

        f = sigmoid(W_f x + U_f h + b_f)
        h_candidate = tanh(W x + U (f * h) + b)
        h_new = (1 - f) * h + f * h_candidate

    Parameters: ``2 (n m + n^2 + n)`` for input width ``m`` and ``n`` units, two
    thirds of a GRU's.

    Example:

    >>> layer = keras.layers.RNN(MGUCell(8))
    >>> layer(np.zeros((4, 10, 3), "float32")).shape
    (4, 8)
    >>> layer.count_params()  # 2 * (8 * 3 + 8 * 8 + 8)
    192
    """

    num_gates = 1


@keras.saving.register_keras_serializable(package="recipes")
@_with_cell_args()
class GRU1Cell(_GatedCell):
    """Dey and Salem's GRU1 (2017): the gates read the previous state and a bias.

        z = sigmoid(U_z h + b_z),  r = sigmoid(U_r h + b_r)
        h_candidate = tanh(W x + U (r * h) + b)
        h_new = (1 - z) * h + z * h_candidate

    Parameters: ``n m + 3 n^2 + 3 n`` (a GRU has ``3 n m + 3 n^2 + 3 n``).

    Example:

    >>> layer = keras.layers.RNN(GRU1Cell(8))
    >>> layer(np.zeros((4, 10, 3), "float32")).shape
    (4, 8)
    >>> layer.count_params()  # 8 * 3 + 3 * 8 * 8 + 3 * 8
    240
    """

    gates_read_input = False


@keras.saving.register_keras_serializable(package="recipes")
@_with_cell_args()
class GRU2Cell(_GatedCell):
    """Dey and Salem's GRU2 (2017): the gates read the previous state only.

        z = sigmoid(U_z h),  r = sigmoid(U_r h)
        h_candidate = tanh(W x + U (r * h) + b)
        h_new = (1 - z) * h + z * h_candidate

    Parameters: ``n m + 3 n^2 + n``.

    Example:

    >>> layer = keras.layers.RNN(GRU2Cell(8))
    >>> layer.build((None, 10, 3)); layer.count_params()  # 8 * 3 + 3 * 8 * 8 + 8
    224
    """

    gates_read_input = False
    gates_have_bias = False


@keras.saving.register_keras_serializable(package="recipes")
@_with_cell_args()
class GRU3Cell(_GatedCell):
    """Dey and Salem's GRU3 (2017): the gates are a learned bias only.

        z = sigmoid(b_z),  r = sigmoid(b_r)
        h_candidate = tanh(W x + U (r * h) + b)
        h_new = (1 - z) * h + z * h_candidate

    Each unit learns a fixed update rate and reset factor. Needs ``use_bias=True``.
    Parameters: ``n m + n^2 + 3 n``.

    Example:

    >>> layer = keras.layers.RNN(GRU3Cell(8))
    >>> layer.build((None, 10, 3)); layer.count_params()  # 8 * 3 + 8 * 8 + 3 * 8
    112
    """

    gates_read_input = False
    gates_read_state = False


@keras.saving.register_keras_serializable(package="recipes")
@_with_cell_args(epsilon="added to the variance, > 0.")
class LayerNormGRUCell(_GatedCell):
    """GRU with layer normalisation (Ba, Kiros and Hinton 2016, as for their LSTM).

    The input and recurrent terms are layer-normalised separately before they are
    summed, which keeps the pre-activations at a fixed scale along the sequence:

        [z, r] = sigmoid(LN(W_g x) + LN(U_g h) + b_g)
        h_candidate = tanh(LN(W x) + LN(U (r * h)) + b)
        h_new = (1 - z) * h + z * h_candidate

    ``LN(a) = gain * (a - mean(a)) / sqrt(var(a) + epsilon)`` over the features of
    each term (both gates together for the gate terms), with a learned gain per
    feature (initialised to 1) and no shift: the bias ``b`` already shifts.
    Parameters: ``3 n m + 3 n^2 + 9 n`` (``6 n`` of them gains).

    Example:

    >>> layer = keras.layers.RNN(LayerNormGRUCell(8))
    >>> layer(np.zeros((4, 10, 3), "float32")).shape
    (4, 8)
    >>> layer.count_params()  # 3 * 8 * 3 + 3 * 8 * 8 + 9 * 8
    336
    """

    def __init__(self, units, epsilon=1e-3, **kwargs):
        super().__init__(units, **kwargs)
        self.epsilon = check_positive_number("epsilon", epsilon)

    def build(self, input_shape):
        super().build(input_shape)
        gates = self.num_gates * self.units
        self.gains = {
            which: self.add_weight(shape=(width,), initializer="ones", name=f"{which}_gain")
            for which, width in (
                ("gate_input", gates),
                ("gate_state", gates),
                ("input", self.units),
                ("state", self.units),
            )
        }

    def _normalize(self, values, which):
        mean = ops.mean(values, axis=-1, keepdims=True)
        variance = ops.var(values, axis=-1, keepdims=True)
        return self.gains[which] * (values - mean) * ops.rsqrt(variance + self.epsilon)

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon}


GRU_VARIANT_CELLS = {
    "mgu": MGUCell,
    "gru1": GRU1Cell,
    "gru2": GRU2Cell,
    "gru3": GRU3Cell,
    "layer_norm_gru": LayerNormGRUCell,
}
"""The custom cells by the short names ``build_rnn(cell=...)`` accepts."""

BUILT_IN_CELLS = ("simple", "lstm", "gru")
CELLS = (*BUILT_IN_CELLS, *GRU_VARIANT_CELLS)
"""Every cell name ``recurrent_layer`` accepts: the built-in layers, then the GRU
variants."""
_BUILT_IN_LAYERS = {
    "simple": keras.layers.SimpleRNN,
    "lstm": keras.layers.LSTM,
    "gru": keras.layers.GRU,
}


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
        cell: a name from ``CELLS`` or a cell class (see
            ``recipes.checks.check_cell``).
        units: state size.
        return_sequences: output every step rather than the last.
        return_state: also return the final state(s).
        dropout: input dropout rate (built-in cells).
        recurrent_dropout: recurrent dropout rate (built-in cells).
        go_backwards: read the sequence backwards.
        name: layer name.

    Returns:
        A Keras recurrent layer.

    Example:

    >>> recurrent_layer("gru", 32, return_sequences=True)
    <GRU ...>
    """
    check_cell(cell, CELLS)
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
    check_cell(cell, CELLS)
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

    Args:
        model: a ``keras.Model`` (nested models are searched too).

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
