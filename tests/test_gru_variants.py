"""GRU-variant cells: parameter counts from their equations, the equations
themselves (against NumPy), gates forced open or shut, training and saving."""

import keras
import numpy as np
import pytest

from recipes.layers import GRU1Cell, GRU2Cell, GRU3Cell, LayerNormGRUCell, MGUCell
from recipes.testing import run_layer_test

CELLS = {
    "mgu": MGUCell,
    "gru1": GRU1Cell,
    "gru2": GRU2Cell,
    "gru3": GRU3Cell,
    "layer_norm_gru": LayerNormGRUCell,
}


def expected_params(name, m, n, use_bias=True):
    """Parameter counts read off each cell's equations (input m, units n)."""
    b = n if use_bias else 0
    return {
        "mgu": 2 * (n * m + n * n + b),  # f and candidate: W, U, b each
        "gru1": n * m + 3 * n * n + 3 * b,  # candidate W, U, b; gates U_z, U_r, b_z, b_r
        "gru2": n * m + 3 * n * n + b,  # gates U_z, U_r only
        "gru3": n * m + n * n + 3 * n,  # gates b_z, b_r only
        "layer_norm_gru": 3 * n * m + 3 * n * n + 3 * b + 6 * n,  # + 6 n LN gains
    }[name]


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def layer_norm(a, gain, epsilon=1e-3):
    return gain * (a - a.mean(-1, keepdims=True)) / np.sqrt(a.var(-1, keepdims=True) + epsilon)


def reference(name, cell, x):
    """The cell's recurrence written out in NumPy from its equations."""
    w = {v.path.split("/")[-1]: keras.ops.convert_to_numpy(v) for v in cell.weights}
    n = cell.units
    h = np.zeros((x.shape[0], n))
    outputs = []
    for t in range(x.shape[1]):
        xt = x[:, t]
        if name == "mgu":
            z = r = sigmoid(
                xt @ w["gate_kernel"] + h @ w["gate_recurrent_kernel"] + w["gate_bias"]
            )
        elif name == "layer_norm_gru":
            gates = sigmoid(
                layer_norm(xt @ w["gate_kernel"], w["gate_input_gain"])
                + layer_norm(h @ w["gate_recurrent_kernel"], w["gate_state_gain"])
                + w["gate_bias"]
            )
            z, r = gates[:, :n], gates[:, n:]
        else:
            if name == "gru1":
                pre = h @ w["gate_recurrent_kernel"] + w["gate_bias"]
            elif name == "gru2":
                pre = h @ w["gate_recurrent_kernel"]
            else:
                pre = np.broadcast_to(w["gate_bias"], (len(h), 2 * n))
            z, r = sigmoid(pre[:, :n]), sigmoid(pre[:, n:])
        if name == "layer_norm_gru":
            candidate = np.tanh(
                layer_norm(xt @ w["kernel"], w["input_gain"])
                + layer_norm((r * h) @ w["recurrent_kernel"], w["state_gain"])
                + w["bias"]
            )
        else:
            candidate = np.tanh(xt @ w["kernel"] + (r * h) @ w["recurrent_kernel"] + w["bias"])
        h = (1 - z) * h + z * candidate
        outputs.append(h)
    return np.stack(outputs, axis=1)


def randomize(layer, seed=0):
    rng = np.random.default_rng(seed)
    layer.set_weights([rng.normal(0, 0.5, w.shape).astype("float32") for w in layer.get_weights()])


@pytest.mark.parametrize("name", list(CELLS))
@pytest.mark.parametrize("use_bias", [True, False])
def test_parameter_count_follows_the_equations(name, use_bias):
    if name == "gru3" and not use_bias:
        pytest.skip("GRU3's gates are only a bias (tested below to raise)")
    layer = keras.layers.RNN(CELLS[name](5, use_bias=use_bias))
    layer.build((None, 4, 3))
    assert layer.count_params() == expected_params(name, m=3, n=5, use_bias=use_bias)


def test_variants_are_smaller_than_a_gru_in_the_documented_order():
    gru = keras.layers.GRU(16, reset_after=False)
    gru.build((None, 4, 8))
    counts = {name: expected_params(name, 8, 16) for name in CELLS}
    assert gru.count_params() == 3 * (16 * 8 + 16 * 16 + 16)
    assert counts["gru3"] < counts["gru2"] < counts["gru1"] < gru.count_params()
    assert counts["mgu"] == 2 * gru.count_params() // 3


@pytest.mark.parametrize("name", list(CELLS))
def test_cell_computes_its_equations(name):
    x = np.random.default_rng(1).normal(size=(3, 5, 4)).astype("float32")
    cell = CELLS[name](6)
    layer = keras.layers.RNN(cell, return_sequences=True)
    layer.build(x.shape)
    randomize(layer)
    actual = keras.ops.convert_to_numpy(layer(x))
    np.testing.assert_allclose(actual, reference(name, cell, x), atol=1e-4)


def _set(cell, **values):
    for variable in cell.weights:
        key = variable.path.split("/")[-1]
        if key in values:
            variable.assign(np.full(variable.shape, values[key], "float32"))


@pytest.mark.parametrize("name", ["mgu", "gru1", "gru3"])
def test_gates_forced_open_reduce_to_a_simple_rnn(name):
    """z = r = 1 (gate bias +40, gate kernels 0): h_t = tanh(W x_t + U h_{t-1} + b)."""
    x = np.random.default_rng(2).normal(size=(2, 6, 3)).astype("float32")
    layer = keras.layers.RNN(CELLS[name](4), return_sequences=True)
    layer.build(x.shape)
    randomize(layer)
    cell = layer.cell
    _set(cell, gate_bias=40.0, gate_kernel=0.0, gate_recurrent_kernel=0.0)
    simple = keras.layers.SimpleRNN(4, return_sequences=True)
    simple.build(x.shape)
    simple.set_weights(
        [keras.ops.convert_to_numpy(v) for v in (cell.kernel, cell.recurrent_kernel, cell.bias)]
    )
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(layer(x)), keras.ops.convert_to_numpy(simple(x)), atol=1e-5
    )


def test_gru2_with_zero_gate_weights_is_a_half_leaky_rnn():
    """GRU2's gates read only h: with U_z = U_r = 0 both are 1/2, so
    h_t = h/2 + tanh(W x + U h/2 + b)/2."""
    x = np.random.default_rng(3).normal(size=(2, 6, 3)).astype("float32")
    layer = keras.layers.RNN(GRU2Cell(4), return_sequences=True)
    layer.build(x.shape)
    randomize(layer)
    cell = layer.cell
    _set(cell, gate_recurrent_kernel=0.0)
    w, u, b = (
        keras.ops.convert_to_numpy(v) for v in (cell.kernel, cell.recurrent_kernel, cell.bias)
    )
    h, expected = np.zeros((2, 4)), []
    for t in range(6):
        h = 0.5 * h + 0.5 * np.tanh(x[:, t] @ w + (0.5 * h) @ u + b)
        expected.append(h)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(layer(x)), np.stack(expected, 1), atol=1e-5
    )


def test_layer_norm_gru_with_open_gates_is_a_layer_normalised_rnn():
    x = np.random.default_rng(4).normal(size=(2, 6, 3)).astype("float32")
    layer = keras.layers.RNN(LayerNormGRUCell(4), return_sequences=True)
    layer.build(x.shape)
    randomize(layer)
    cell = layer.cell
    _set(cell, gate_bias=40.0, gate_input_gain=0.0, gate_state_gain=0.0)
    w, u, b, gx, gh = (
        keras.ops.convert_to_numpy(v)
        for v in (
            cell.kernel,
            cell.recurrent_kernel,
            cell.bias,
            cell.gains["input"],
            cell.gains["state"],
        )
    )
    h, expected = np.zeros((2, 4)), []
    for t in range(6):
        h = np.tanh(layer_norm(x[:, t] @ w, gx) + layer_norm(h @ u, gh) + b)
        expected.append(h)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(layer(x)), np.stack(expected, 1), atol=1e-4
    )


@pytest.mark.parametrize("name", ["mgu", "gru1", "gru3", "layer_norm_gru"])
def test_gates_forced_shut_keep_the_initial_state(name):
    """z = 0 (gate bias -40, gate kernels 0): h_t = h_{t-1} = 0 whatever the input.
    (GRU2's gates have no bias to force.)"""
    x = np.random.default_rng(5).normal(size=(2, 6, 3)).astype("float32")
    layer = keras.layers.RNN(CELLS[name](4), return_sequences=True)
    layer.build(x.shape)
    randomize(layer)
    _set(layer.cell, gate_bias=-40.0, gate_kernel=0.0, gate_recurrent_kernel=0.0)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(layer(x)), 0.0, atol=1e-6)


def test_every_variant_trains_and_round_trips(tmp_path):
    """One model with a branch per cell (one traced training function for all
    five, which keeps the test fast): each branch must get gradients, the loss
    must fall, and the model must load back with safe_mode=True."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 6, 2)).astype("float32")
    y = (x[:, :, 0].sum(1) > 0).astype("int32")
    inputs = keras.Input((6, 2))
    branches = [keras.layers.RNN(cls(4), name=name)(inputs) for name, cls in CELLS.items()]
    outputs = keras.layers.Dense(2, activation="softmax")(keras.layers.Concatenate()(branches))
    model = keras.Model(inputs, outputs)
    model.compile(keras.optimizers.Adam(0.02), "sparse_categorical_crossentropy")
    before = [keras.ops.convert_to_numpy(w).copy() for w in model.trainable_weights]
    losses = model.fit(x, y, batch_size=64, epochs=15, verbose=0, shuffle=False).history["loss"]
    assert losses[-1] < 0.9 * losses[0], losses
    changed = {
        w.path.split("/")[0]
        for w, b in zip(model.trainable_weights, before)
        if not np.allclose(keras.ops.convert_to_numpy(w), b)
    }
    assert set(CELLS) <= changed
    model.save(tmp_path / "cells.keras")
    loaded = keras.saving.load_model(tmp_path / "cells.keras", safe_mode=True)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(loaded(x)), keras.ops.convert_to_numpy(model(x)), atol=1e-5
    )
    for name, cls in CELLS.items():
        assert isinstance(loaded.get_layer(name).cell, cls)


@pytest.mark.parametrize("name", list(CELLS))
def test_layer_harness(name, tmp_path):
    """In a keras.layers.RNN: build, call, parameter count, config round trip (the
    cell's config nested in the RNN's), same outputs from the clone, safe-mode
    .keras round trip."""
    cell = CELLS[name](7, activation="relu", use_bias=True, name="cell")
    result = run_layer_test(
        keras.layers.RNN,
        {"cell": cell, "return_sequences": True},
        input_shape=(2, 5, 3),
        expected_output_shape=(2, 5, 7),
        expected_num_params=expected_params(name, m=3, n=7),
        directory=tmp_path,
    )
    clone = result.clone.cell
    assert type(clone) is CELLS[name] and clone.get_config() == cell.get_config()
    assert clone.units == 7 and clone.activation is keras.activations.relu
    assert type(result.loaded.layers[-1].cell) is CELLS[name]


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: MGUCell(0), "`units` must be an integer >= 1"),
        (lambda: GRU3Cell(4, use_bias=False), "needs use_bias=True"),
        (lambda: LayerNormGRUCell(4, epsilon=0), "`epsilon` must be a number > 0"),
    ],
)
def test_bad_arguments_raise(make, message):
    with pytest.raises(ValueError, match=message):
        make()
