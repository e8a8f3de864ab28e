"""Encoder-decoder attention layers and build_seq2seq: the attention weights,
parameter counts, masking, greedy decoding, and attention beating no attention on
the offline `reverse` task."""

import time

import keras
import numpy as np
import pytest

import recipes
from recipes import data
from recipes.compiling import optimizer_with_clipnorm
from recipes.layers import BahdanauAttention, LuongAttention
from recipes.losses.sequence import exact_match
from recipes.models.seq2seq import build_seq2seq
from recipes.testing import run_layer_test


def numpy(x):
    return keras.ops.convert_to_numpy(x)


def test_bahdanau_attention_is_the_additive_score_softmaxed_over_valid_steps():
    rng = np.random.default_rng(0)
    query = rng.normal(size=(2, 3, 4)).astype("float32")
    value = rng.normal(size=(2, 5, 6)).astype("float32")
    mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], bool)
    layer = BahdanauAttention(units=7)
    context, weights = layer(query, value, value_mask=mask)
    assert layer.count_params() == 7 * (4 + 6 + 2)
    wq, wk, b, v = (numpy(w) for w in layer.weights)
    scores = np.tanh((query @ wq)[:, :, None] + (value @ wk)[:, None] + b) @ v
    scores = np.where(mask[:, None], scores, -np.inf)
    expected = np.exp(scores - scores.max(-1, keepdims=True))
    expected /= expected.sum(-1, keepdims=True)
    np.testing.assert_allclose(numpy(weights), expected, atol=1e-5)
    np.testing.assert_allclose(numpy(context), expected @ value, atol=1e-5)
    assert np.all(numpy(weights)[0, :, 3:] == 0)
    # One decoder step at a time gives the same rows.
    step_context, step_weights = layer(query[:, 1], value, value_mask=mask)
    np.testing.assert_allclose(numpy(step_weights), expected[:, 1], atol=1e-5)
    assert step_context.shape == (2, 6)


@pytest.mark.parametrize("score, params", [("general", 6 * 4), ("dot", 0)])
def test_luong_attention_scores(score, params):
    rng = np.random.default_rng(1)
    query = rng.normal(size=(2, 3, 4)).astype("float32")
    value = rng.normal(size=(2, 5, 4 if score == "dot" else 6)).astype("float32")
    layer = LuongAttention(score=score)
    _, weights = layer(query, value)
    assert layer.count_params() == params
    keys = value if score == "dot" else value @ numpy(layer.kernel)
    scores = query @ keys.transpose(0, 2, 1)
    expected = np.exp(scores) / np.exp(scores).sum(-1, keepdims=True)
    np.testing.assert_allclose(numpy(weights), expected, atol=1e-5)


def test_attention_reads_the_padding_mask_of_an_embedding():
    tokens = keras.Input((None,), dtype="int32")
    values = keras.layers.Embedding(10, 4, mask_zero=True)(tokens)
    queries = keras.Input((2, 3))
    _, weights = BahdanauAttention(5)(queries, values)
    model = keras.Model([tokens, queries], weights)
    out = numpy(model([np.array([[4, 5, 0, 0]]), np.ones((1, 2, 3), "float32")]))
    assert np.all(out[..., 2:] == 0) and np.allclose(out.sum(-1), 1.0, atol=1e-6)


@pytest.mark.parametrize(
    "layer_cls, init_kwargs, value_width, params",
    [
        (BahdanauAttention, {"units": 8, "use_bias": False}, 6, 8 * (4 + 6 + 1)),
        (LuongAttention, {"score": "dot", "scale": True}, 4, 0),
        (LuongAttention, {"score": "general", "kernel_initializer": "he_normal"}, 6, 6 * 4),
    ],
    ids=["BahdanauAttention", "LuongAttention_dot", "LuongAttention_general"],
)
def test_attention_layer_harness(layer_cls, init_kwargs, value_width, params, tmp_path):
    """Build, call (context and weights, padded steps masked), parameter count,
    config round trip, safe-mode .keras round trip in a model holding the mask."""
    result = run_layer_test(
        layer_cls,
        init_kwargs,
        input_shape=[(2, 3, 4), (2, 5, value_width)],  # query, value
        call_kwargs={"value_mask": np.array([[1, 1, 1, 0, 0], [1] * 5], bool)},
        expected_output_shape=((2, 3, value_width), (2, 3, 5)),
        expected_num_params=params,
        directory=tmp_path,
    )
    assert np.all(result.outputs[1][0, :, 3:] == 0)


def test_attention_bad_arguments_raise():
    with pytest.raises(ValueError, match="`units` must be an integer >= 1"):
        BahdanauAttention(0)
    with pytest.raises(ValueError, match="`score` must be one of"):
        LuongAttention("concat")
    with pytest.raises(ValueError, match="same width"):
        LuongAttention("dot")(np.ones((1, 2, 3)), np.ones((1, 4, 5)))


def seq2seq_params(attention, cell="lstm", vocab=13, embedding=8, units=16):
    gates = {"lstm": 4, "gru": 3}[cell]
    extra_bias = units if cell == "gru" else 0  # GRU reset_after: a second bias
    rnn = gates * units * (embedding + units + 1) + gates * extra_bias
    total = 2 * vocab * embedding + 2 * rnn + units * vocab + vocab
    if attention == "bahdanau":
        total += units * (units + units + 2)
    elif attention == "luong":
        total += units * units
    if attention:
        total += 2 * units * units + units  # tanh(W_c [context; state])
    return total


@pytest.mark.parametrize("attention", [None, "bahdanau", "luong"])
@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_seq2seq_shapes_and_parameter_counts(attention, cell):
    model = build_seq2seq(attention=attention, cell=cell, embedding_dim=8, units=16, compile=False)
    x, _ = data.arrays("reverse", "test", num_examples=3, min_length=3, max_length=6)
    assert model(x).shape == (3, 7, 13)
    assert model.count_params() == seq2seq_params(attention, cell)


def test_encoder_padding_changes_nothing():
    model = build_seq2seq(attention="bahdanau", embedding_dim=8, units=16, compile=False)
    x, _ = data.arrays("reverse", "test", num_examples=4, min_length=3, max_length=6)
    wider = dict(x, encoder_inputs=np.pad(x["encoder_inputs"], ((0, 0), (0, 5))))
    np.testing.assert_allclose(numpy(model(wider)), numpy(model(x)), atol=1e-5)
    tokens, weights = model.generate(wider["encoder_inputs"], max_length=4, return_attention=True)
    lengths = (x["encoder_inputs"] != 0).sum(1)
    for row, length in zip(weights, lengths):
        assert np.all(row[:, length:] == 0)
        np.testing.assert_allclose(row.sum(-1), 1.0, atol=1e-5)


def test_default_loss_ignores_padding_and_clipnorm_defaults_to_one():
    model = build_seq2seq(units=8, embedding_dim=4)
    assert model.optimizer.clipnorm == 1.0
    assert model.loss.ignore_class == 0
    assert build_seq2seq(units=8, clipnorm=None).optimizer.clipnorm is None
    adam = keras.optimizers.Adam(clipvalue=0.5)
    assert optimizer_with_clipnorm(adam, 1.0) is adam
    assert (
        optimizer_with_clipnorm({"class_name": "sgd", "config": {"clipnorm": 5.0}}, 1.0)["config"][
            "clipnorm"
        ]
        == 5.0
    )


def test_exact_match_compares_up_to_the_end_token():
    targets = np.array([[5, 6, 2, 0], [7, 2, 0, 0], [8, 9, 2, 0]])
    predicted = np.array([[5, 6, 2, 0, 0], [7, 3, 2, 0, 0], [8, 9, 9, 9, 9]])
    assert exact_match(predicted, targets) == pytest.approx(1 / 3)
    assert exact_match(targets, targets) == 1.0


def test_attention_beats_no_attention_on_reverse(tmp_path):
    """Equal budget (same data, epochs, units, seeds); greedy decoding, exact match.

    Lengths 5-8 keep the test fast on 2 CPU cores; `examples/reverse_attention.py`
    runs the 10-20 lengths of the dataset's default."""
    x, y = data.arrays("reverse", "train", num_examples=2048, min_length=5, max_length=8)
    x_test, y_test = data.arrays("reverse", "test", num_examples=300, min_length=5, max_length=8)
    scores, models = {}, {}
    start = time.perf_counter()
    for attention in (None, "bahdanau"):
        keras.utils.set_random_seed(0)
        model = build_seq2seq(attention=attention, embedding_dim=16, units=32)
        model.fit(x, y, epochs=10, batch_size=64, verbose=0)
        scores[attention] = exact_match(model.generate(x_test["encoder_inputs"]), y_test)
        models[attention] = model
    seconds = time.perf_counter() - start
    print(f"exact match: {scores} in {seconds:.0f} s")
    assert scores["bahdanau"] >= 0.8, scores
    assert scores["bahdanau"] - scores[None] >= 0.3, scores

    model = models["bahdanau"]
    tokens = model.generate(x_test["encoder_inputs"][:32])
    # Greedy decoding agrees with the teacher-forced pass fed its own outputs.
    fed = np.concatenate([np.ones((32, 1), "int32"), tokens[:, :-1]], axis=1)
    forced = numpy(
        model({"encoder_inputs": x_test["encoder_inputs"][:32], "decoder_inputs": fed})
    ).argmax(-1)
    valid = np.cumsum(tokens == 2, axis=1) - (tokens == 2) == 0  # up to the first END
    np.testing.assert_array_equal(forced[valid], tokens[valid])
    # Save and load with safe_mode: same predictions, same decoding.
    path = tmp_path / "reverse.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_allclose(numpy(loaded(x_test)), numpy(model(x_test)), atol=1e-5)
    np.testing.assert_array_equal(loaded.generate(x_test["encoder_inputs"][:32]), tokens)
    assert loaded.optimizer.clipnorm == 1.0


def test_luong_seq2seq_with_a_custom_cell_trains_and_round_trips(recipe_check):
    x, y = data.arrays("copy", "train", num_examples=64, min_length=3, max_length=5)
    model = build_seq2seq(
        attention="luong", cell="mgu", embedding_dim=8, units=16, dropout=0.1, learning_rate=0.01
    )
    loaded = recipe_check(model, x, y, steps=15)
    np.testing.assert_array_equal(
        loaded.generate(x["encoder_inputs"][:8]), model.generate(x["encoder_inputs"][:8])
    )


def test_reverse_presets_build():
    plain = recipes.build("reverse_seq2seq", compile=False)
    attention = recipes.build("reverse_bahdanau", compile=False)
    assert plain.attention is None and attention.attention == "bahdanau"
    assert plain.units == attention.units == 128


@pytest.mark.parametrize(
    "arguments, message",
    [
        ({"attention": "additive"}, "`attention` must be one of"),
        ({"cell": "transformer"}, "`cell` must be one of"),
        ({"units": -1}, "`units` must be an integer >= 1"),
        ({"end_id": 13}, "`end_id` must be a target token id below"),
        ({"dropout": 2}, "`dropout` must be in"),
        ({"clipnorm": -1.0}, "`clipnorm` must be a number >= 0"),
    ],
)
def test_bad_arguments_raise_early(arguments, message):
    with pytest.raises(ValueError, match=message):
        build_seq2seq(**arguments)


def test_generate_needs_attention_for_weights():
    model = build_seq2seq(units=8, embedding_dim=4, compile=False)
    with pytest.raises(ValueError, match="needs a model built with attention"):
        model.generate(np.array([[3, 4]]), return_attention=True)


def test_plot_attention_writes_a_heatmap_png(tmp_path):
    from recipes.plots import plot_attention

    weights = np.eye(4)[::-1]
    path = plot_attention(
        weights,
        str(tmp_path / "attention.png"),
        source_tokens=list("abcd"),
        target_tokens=list("dcba"),
        title="reverse",
    )
    with open(path, "rb") as handle:
        assert handle.read(8) == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="must be a non-empty"):
        plot_attention(np.ones(3), str(tmp_path / "bad.png"))
    with pytest.raises(ValueError, match="`source_tokens` needs 4 labels"):
        plot_attention(weights, str(tmp_path / "bad.png"), source_tokens=["a"])
