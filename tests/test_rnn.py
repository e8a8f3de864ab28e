"""build_rnn: every cell and mode, bidirectional representations, masking, the
fused-kernel settings, training and saving."""

import keras
import numpy as np
import pytest

import recipes
from recipes.layers import MGUCell
from recipes.layers.recurrent import CELLS, recurrent_layer, slow_recurrent_layers
from recipes.models.rnn import build_rnn
from recipes.testing import fit_steps

pytestmark = pytest.mark.backends


def cell_params(cell, m, n):
    """Parameters of one recurrent layer (input width m, n units)."""
    return {
        "simple": n * (m + n + 1),
        "lstm": 4 * n * (m + n + 1),
        "gru": 3 * n * (m + n + 2),  # reset_after=True: two bias vectors
        "mgu": 2 * (n * m + n * n + n),
        "gru1": n * m + 3 * n * n + 3 * n,
        "gru2": n * m + 3 * n * n + n,
        "gru3": n * m + n * n + 3 * n,
        "layer_norm_gru": 3 * n * m + 3 * n * n + 9 * n,
    }[cell]


def expected_count(cell, m, widths, bidirectional, num_classes):
    directions = 2 if bidirectional else 1
    total = 0
    for width in widths:
        total += directions * cell_params(cell, m, width)
        m = directions * width
    return total + m * num_classes + num_classes


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("mode", ["seq2vec", "seq2seq", "vec2seq"])
def test_every_cell_and_mode_has_its_shape_and_parameter_count(cell, mode):
    bidirectional = mode != "vec2seq"
    vec = mode == "vec2seq"
    model = build_rnn(
        input_shape=(5,) if vec else (None, 3),
        num_classes=4,
        cell=cell,
        mode=mode,
        units=(6, 5),
        bidirectional=bidirectional,
        output_length=7 if vec else None,
        compile=False,
    )
    expected_shape = {"seq2vec": (None, 4), "seq2seq": (None, None, 4), "vec2seq": (None, 7, 4)}[
        mode
    ]
    assert model.output_shape == expected_shape
    assert model.count_params() == expected_count(cell, 5 if vec else 3, (6, 5), bidirectional, 4)


def test_token_inputs_add_an_embedding():
    model = build_rnn(
        input_shape=(None,),
        vocab_size=30,
        embedding_dim=8,
        num_classes=2,
        cell="gru",
        units=4,
        compile=False,
    )
    assert model.count_params() == 30 * 8 + expected_count("gru", 8, (4,), False, 2)
    assert model.get_layer("embedding").mask_zero


def test_sentence_representation_is_the_last_state_of_each_direction():
    """Seed 002: token representation = both directions' outputs at every step;
    sentence representation = forward's last output and backward's first."""
    x = np.random.default_rng(0).normal(size=(3, 6, 2)).astype("float32")
    token = build_rnn(
        input_shape=(6, 2), mode="seq2seq", units=4, bidirectional=True, compile=False
    )
    sentence = build_rnn(
        input_shape=(6, 2),
        mode="seq2vec",
        units=4,
        bidirectional=True,
        representation="sentence",
        compile=False,
    )
    sentence.get_layer("recurrent_1").set_weights(token.get_layer("recurrent_1").get_weights())
    steps = keras.ops.convert_to_numpy(token.get_layer("recurrent_1")(x))
    last = keras.ops.convert_to_numpy(sentence.get_layer("recurrent_1")(x))
    assert steps.shape == (3, 6, 8) and last.shape == (3, 8)
    np.testing.assert_allclose(last[:, :4], steps[:, -1, :4], atol=1e-6)
    np.testing.assert_allclose(last[:, 4:], steps[:, 0, 4:], atol=1e-6)
    pooled = build_rnn(
        input_shape=(6, 2), units=4, bidirectional=True, representation="token", compile=False
    )
    assert pooled.get_layer("pooling") is not None


@pytest.mark.parametrize("cell", ["lstm", "mgu"])
def test_padded_steps_change_nothing(cell):
    """The same 4 tokens padded to 6 or 9 steps give, at the valid steps, the
    outputs of the unpadded sequence, in both directions."""
    tokens = np.array([[5, 3, 9, 2]])
    padded6 = np.pad(tokens, ((0, 0), (0, 2)))
    padded9 = np.pad(tokens, ((0, 0), (0, 5)))
    per_step = build_rnn(
        input_shape=(None,),
        vocab_size=12,
        mode="seq2seq",
        cell=cell,
        units=(4, 4),
        bidirectional=True,
        num_classes=3,
        compile=False,
    )
    vector = build_rnn(
        input_shape=(None,),
        vocab_size=12,
        cell=cell,
        units=4,
        bidirectional=True,
        num_classes=3,
        compile=False,
    )
    for model in (per_step, vector):
        reference = keras.ops.convert_to_numpy(model(tokens))
        for padded in (padded6, padded9):
            out = keras.ops.convert_to_numpy(model(padded))
            valid = out[:, :4] if model is per_step else out
            np.testing.assert_allclose(valid, reference, atol=1e-5)


def test_mask_value_masks_float_padding_and_the_check_can_fail():
    x = np.random.default_rng(1).normal(size=(2, 5, 3)).astype("float32")
    padded = np.concatenate([x, np.zeros((2, 3, 3), "float32")], axis=1)
    masked = build_rnn(
        input_shape=(None, 3),
        mode="seq2seq",
        units=4,
        bidirectional=True,
        mask_value=0.0,
        compile=False,
    )
    unmasked = build_rnn(
        input_shape=(None, 3), mode="seq2seq", units=4, bidirectional=True, compile=False
    )
    rng = np.random.default_rng(2)  # non-zero biases, so that zeros move the state
    weights = [rng.normal(0, 0.5, w.shape).astype("float32") for w in masked.get_weights()]
    masked.set_weights(weights)
    unmasked.set_weights(weights)
    reference = keras.ops.convert_to_numpy(masked(x))
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(masked(padded))[:, :5], reference, atol=1e-5
    )
    # Without the mask the backward direction reads the zeros first: outputs differ.
    assert not np.allclose(
        keras.ops.convert_to_numpy(unmasked(padded))[:, :5], reference, atol=1e-3
    )


def test_default_lstm_and_gru_stay_on_the_fused_kernel_path():
    for cell in ("lstm", "gru"):
        model = build_rnn(
            input_shape=(None,),
            vocab_size=20,
            cell=cell,
            units=(8, 8),
            bidirectional=True,
            dropout=0.2,
            compile=False,
        )
        assert slow_recurrent_layers(model) == {}
        layer = model.get_layer("recurrent_1").forward_layer
        assert layer.activation is keras.activations.tanh
        assert layer.recurrent_activation is keras.activations.sigmoid
        assert layer.recurrent_dropout == 0 and not layer.unroll and layer.use_bias
        assert layer.dropout == 0.2
        if cell == "gru":
            assert layer.cell.reset_after
    slow = slow_recurrent_layers(build_rnn(cell="lstm", recurrent_dropout=0.1, compile=False))
    assert slow == {"recurrent_1": "recurrent_dropout > 0"}
    assert "MGUCell" in slow_recurrent_layers(build_rnn(cell="mgu", compile=False))["recurrent_1"]
    assert (
        "SimpleRNN"
        in slow_recurrent_layers(build_rnn(cell="simple", compile=False))["recurrent_1"]
    )


@pytest.mark.parametrize("backend", ["jax", "tensorflow", "torch"])
def test_lstm_leaves_cudnn_only_where_cudnn_would_fail(backend, monkeypatch):
    monkeypatch.setattr(keras.backend, "backend", lambda: backend)
    with recipes.precision("mixed_bfloat16"):
        lstm, gru = recurrent_layer("lstm", 4), recurrent_layer("gru", 4)
    assert lstm.use_cudnn == ("auto" if backend != "jax" else False)
    assert gru.use_cudnn == "auto"
    with recipes.precision("mixed_float16"):
        assert recurrent_layer("lstm", 4).use_cudnn == "auto"
    assert recurrent_layer("lstm", 4).use_cudnn == "auto"


def test_custom_cells_get_spatial_dropout_and_accept_a_class():
    model = build_rnn(
        input_shape=(None, 3), cell=MGUCell, units=(4, 4), dropout=0.25, compile=False
    )
    dropouts = [
        layer for layer in model.layers if isinstance(layer, keras.layers.SpatialDropout1D)
    ]
    assert [layer.rate for layer in dropouts] == [0.25, 0.25]
    assert isinstance(model.get_layer("recurrent_2").cell, MGUCell)


def first_token_repeated(n, seed):
    """Sequences of 4 to 7 tokens (ids 1 to 5, then padding 0) labelled 1 when the
    last real token repeats the first one: the label needs both ends. Half the rows
    are made to repeat, so the classes are about even; labels are read from the
    padded rows."""
    rng = np.random.default_rng(seed)
    x = rng.integers(1, 6, size=(n, 7))
    lengths = rng.integers(4, 8, size=n)
    rows = np.arange(n)
    repeat = rng.random(n) < 0.5
    x[rows[repeat], lengths[repeat] - 1] = x[rows[repeat], 0]
    x[np.arange(7) >= lengths[:, None]] = 0
    return x, (x[:, 0] == x[rows, lengths - 1]).astype("int32")


def test_bidirectional_lstm_classifier_learns_and_round_trips(roundtrip):
    """Is the first token repeated at the end? The baseline is the best constant
    prediction, the class prior, which the output bias alone reaches: the trained
    model must fit the training set well below the prior's loss and beat the
    majority class on new sequences."""
    x, y = first_token_repeated(96, seed=0)
    prior = y.mean()
    prior_loss = -(prior * np.log(prior) + (1 - prior) * np.log(1 - prior))
    model = build_rnn(
        input_shape=(None,),
        vocab_size=6,
        embedding_dim=8,
        num_classes=2,
        cell="lstm",
        units=8,
        bidirectional=True,
        learning_rate=0.05,
    )
    before, after = fit_steps(model, x, y, steps=20)
    assert after < 0.75 * prior_loss and after < 0.9 * before, (before, after, prior_loss)
    x_test, y_test = first_token_repeated(200, seed=1)
    majority = max(y_test.mean(), 1 - y_test.mean())
    accuracy = model.evaluate(x_test, y_test, verbose=0, return_dict=True)["accuracy"]
    assert accuracy > majority + 0.05, (accuracy, majority)
    roundtrip(model, x)


def test_stacked_gru_vec2seq_learns_and_round_trips(recipe_check):
    """vec2seq: from (amplitude, frequency) to 8 samples of the sine wave."""
    rng = np.random.default_rng(0)
    x = rng.uniform(0.5, 1.5, size=(64, 2)).astype("float32")
    t = np.arange(8)[None, :, None]
    y = (x[:, None, :1] * np.sin(x[:, None, 1:] * t)).astype("float32")
    model = build_rnn(
        input_shape=(2,),
        mode="vec2seq",
        output_length=8,
        cell="gru",
        units=(8, 8),
        learning_rate=0.02,
    )
    assert model.loss == "mean_squared_error"
    recipe_check(model, x, y, steps=20, factor=0.8)


def test_sine_lstm_preset_builds_with_its_documented_shape():
    model = recipes.build("sine_lstm", compile=False)
    assert model.input_shape == (None, 32, 1) and model.output_shape == (None, 1)
    assert model.count_params() == 4 * 32 * (1 + 32 + 1) + 33


@pytest.mark.parametrize(
    "arguments, message",
    [
        ({"mode": "vec"}, "`mode` must be one of"),
        ({"cell": "transformer"}, "`cell` must be one of"),
        ({"cell": MGUCell(4)}, "not a cell instance"),
        ({"mode": "seq2seq", "representation": "sentence"}, "needs mode='seq2vec'"),
        ({"representation": "word"}, "`representation` must be one of"),
        ({"cell": "mgu", "recurrent_dropout": 0.1}, "`recurrent_dropout` needs a built-in"),
        ({"mode": "vec2seq", "input_shape": (3,)}, "`output_length` is required"),
        ({"units": (4, 4), "num_layers": 3}, "`num_layers` must match"),
        ({"units": 0}, "`units` must be an integer >= 1"),
        ({"dropout": 1.0}, "`dropout` must be in"),
        ({"input_shape": (None, 3), "vocab_size": 10}, "must have 1 dimension"),
        ({"input_shape": (None,), "vocab_size": 10, "mask_value": 0.0}, "`mask_value` applies"),
    ],
)
def test_bad_arguments_raise_early(arguments, message):
    with pytest.raises(ValueError, match=message):
        build_rnn(**arguments)
