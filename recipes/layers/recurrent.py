"""GRU variants as recurrent cells for ``keras.layers.RNN``.

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
layers when speed matters.

Example:

>>> layer = keras.layers.RNN(MGUCell(16), return_sequences=True)
>>> layer(np.zeros((2, 5, 3), "float32")).shape
(2, 5, 16)
"""

import keras
from keras import ops

from recipes.checks import check_positive_int


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


@keras.saving.register_keras_serializable(package="recipes")
class MGUCell(_GatedCell):
    __doc__ = (
        """Minimal gated unit (Zhou et al. 2016): one forget gate plays both GRU gates.

        f = sigmoid(W_f x + U_f h + b_f)
        h_candidate = tanh(W x + U (f * h) + b)
        h_new = (1 - f) * h + f * h_candidate

    Parameters: ``2 (n m + n^2 + n)`` for input width ``m`` and ``n`` units, two
    thirds of a GRU's.
"""
        + _CELL_ARGS
        + """
    Example:

    >>> layer = keras.layers.RNN(MGUCell(8))
    >>> layer(np.zeros((4, 10, 3), "float32")).shape
    (4, 8)
    >>> layer.count_params()  # 2 * (8 * 3 + 8 * 8 + 8)
    192
"""
    )

    num_gates = 1


@keras.saving.register_keras_serializable(package="recipes")
class GRU1Cell(_GatedCell):
    __doc__ = (
        """Dey and Salem's GRU1 (2017): the gates read the previous state and a bias.

        z = sigmoid(U_z h + b_z),  r = sigmoid(U_r h + b_r)
        h_candidate = tanh(W x + U (r * h) + b)
        h_new = (1 - z) * h + z * h_candidate

    Parameters: ``n m + 3 n^2 + 3 n`` (a GRU has ``3 n m + 3 n^2 + 3 n``).
"""
        + _CELL_ARGS
        + """
    Example:

    >>> layer = keras.layers.RNN(GRU1Cell(8))
    >>> layer(np.zeros((4, 10, 3), "float32")).shape
    (4, 8)
    >>> layer.count_params()  # 8 * 3 + 3 * 8 * 8 + 3 * 8
    240
"""
    )

    gates_read_input = False


@keras.saving.register_keras_serializable(package="recipes")
class GRU2Cell(_GatedCell):
    __doc__ = (
        """Dey and Salem's GRU2 (2017): the gates read the previous state only.

        z = sigmoid(U_z h),  r = sigmoid(U_r h)
        h_candidate = tanh(W x + U (r * h) + b)
        h_new = (1 - z) * h + z * h_candidate

    Parameters: ``n m + 3 n^2 + n``.
"""
        + _CELL_ARGS
        + """
    Example:

    >>> layer = keras.layers.RNN(GRU2Cell(8))
    >>> layer.build((None, 10, 3)); layer.count_params()  # 8 * 3 + 3 * 8 * 8 + 8
    224
"""
    )

    gates_read_input = False
    gates_have_bias = False


@keras.saving.register_keras_serializable(package="recipes")
class GRU3Cell(_GatedCell):
    __doc__ = (
        """Dey and Salem's GRU3 (2017): the gates are a learned bias only.

        z = sigmoid(b_z),  r = sigmoid(b_r)
        h_candidate = tanh(W x + U (r * h) + b)
        h_new = (1 - z) * h + z * h_candidate

    Each unit learns a fixed update rate and reset factor. Needs ``use_bias=True``.
    Parameters: ``n m + n^2 + 3 n``.
"""
        + _CELL_ARGS
        + """
    Example:

    >>> layer = keras.layers.RNN(GRU3Cell(8))
    >>> layer.build((None, 10, 3)); layer.count_params()  # 8 * 3 + 8 * 8 + 3 * 8
    112
"""
    )

    gates_read_input = False
    gates_read_state = False


@keras.saving.register_keras_serializable(package="recipes")
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

    Args:
        units: size of the state (and output), a positive int.
        epsilon: added to the variance, > 0.
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

    Example:

    >>> layer = keras.layers.RNN(LayerNormGRUCell(8))
    >>> layer(np.zeros((4, 10, 3), "float32")).shape
    (4, 8)
    >>> layer.count_params()  # 3 * 8 * 3 + 3 * 8 * 8 + 9 * 8
    336
    """

    def __init__(self, units, epsilon=1e-3, **kwargs):
        super().__init__(units, **kwargs)
        if not isinstance(epsilon, (int, float)) or epsilon <= 0:
            raise ValueError(f"`epsilon` must be a number > 0. Received: epsilon={epsilon!r}")
        self.epsilon = float(epsilon)

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
