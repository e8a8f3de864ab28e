"""The encoder-decoder transformer (reverse task, greedy decoding, causal and
padding masks at model level) and the encoder-only classifier."""

import keras
import numpy as np
import pytest

import recipes
from recipes import data
from recipes.losses.sequence import MaskedTokenAccuracy, exact_match
from recipes.models.transformer import greedy_decode
from recipes.text import encode_reviews, toy_reviews

MIN_LENGTH, MAX_LENGTH = 5, 7
TINY = dict(embed_dim=16, num_heads=2, feed_forward_dim=32, num_layers=1)


def run(model, x):
    """A direct call in inference mode (no graph to trace, unlike predict)."""
    return keras.ops.convert_to_numpy(model(x, training=False))


@pytest.fixture
def mixed_precision():
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy("float32")


@pytest.fixture(scope="module")
def reverse_model():
    """A small transformer trained on `reverse` with 5 to 7 digits (shared by tests)."""
    keras.utils.set_random_seed(0)
    x, y = data.arrays(
        "reverse", "train", num_examples=2000, min_length=MIN_LENGTH, max_length=MAX_LENGTH
    )
    model = recipes.build_transformer(
        input_shape=(MAX_LENGTH,),
        target_shape=(MAX_LENGTH + 1,),
        embed_dim=32,
        num_heads=2,
        feed_forward_dim=64,
        num_layers=1,
        dropout=0.0,
        learning_rate=5e-3,
    )
    history = model.fit(x, y, epochs=6, batch_size=64, verbose=0)
    return model, history.history


def transformer_params(
    v_in,
    v_out,
    d,
    f,
    encoder_layers,
    decoder_layers,
    norm_first=False,
    source_length=None,
    target_length=None,
):
    encoder_block = 4 * d * d + 4 * d + 2 * d * f + f + d + 4 * d
    decoder_block = 8 * d * d + 8 * d + 2 * d * f + f + d + 6 * d
    total = v_in * d + encoder_layers * encoder_block  # encoder
    total += v_out * d + decoder_layers * decoder_block + d * v_out + v_out  # decoder
    total += 4 * d if norm_first else 0  # final layer norms
    total += (source_length or 0) * d + (target_length or 0) * d  # learned positions
    return total


def test_reverse_task_learns_far_above_chance_with_greedy_decoding(reverse_model):
    model, history = reverse_model
    assert history["loss"][-1] < 0.3 * history["loss"][0]
    x, y = data.arrays(
        "reverse", "test", num_examples=200, min_length=MIN_LENGTH, max_length=MAX_LENGTH
    )
    generated = greedy_decode(model, x["encoder_inputs"])
    # Chance: 10 ** -5 for the shortest strings. A learned model gets most right.
    assert exact_match(generated, y) > 0.6
    assert np.all(generated[y == 0] == 0)  # padding after END, like the targets


def test_trained_transformer_round_trips_and_still_decodes(reverse_model, roundtrip):
    model, _ = reverse_model
    x, _ = data.arrays(
        "reverse", "test", num_examples=32, min_length=MIN_LENGTH, max_length=MAX_LENGTH
    )
    loaded = roundtrip(model, x)
    np.testing.assert_array_equal(
        greedy_decode(loaded, x["encoder_inputs"]), greedy_decode(model, x["encoder_inputs"])
    )


def test_decoder_is_causal_and_padding_does_not_matter(reverse_model):
    model, _ = reverse_model
    x, _ = data.arrays(
        "reverse", "test", num_examples=16, min_length=MIN_LENGTH, max_length=MAX_LENGTH
    )
    before = run(model, x)
    future = {**x, "decoder_inputs": x["decoder_inputs"].copy()}
    future["decoder_inputs"][:, 3:] = 7  # rewrite the future of positions 0..2
    after = run(model, future)
    np.testing.assert_allclose(after[:, :3], before[:, :3], atol=1e-5)
    assert not np.allclose(after[:, 3:], before[:, 3:], atol=1e-3)
    # An encoder token masked as padding cannot change the prediction.
    encoder = model.get_layer("encoder")
    decoder = model.get_layer("decoder")
    memory = run(encoder, x["encoder_inputs"])
    short = x["encoder_inputs"][:, -1] == 0
    noisy = memory.copy()
    noisy[short, -1] += 100.0
    outputs = [
        run(decoder, [x["decoder_inputs"], m, x["encoder_inputs"]]) for m in (memory, noisy)
    ]
    assert short.any()
    np.testing.assert_allclose(outputs[0], outputs[1], atol=1e-5)


def test_sequences_of_any_length_and_extra_padding_change_nothing():
    model = recipes.build_transformer(**TINY, dropout=0.0)  # (None,) inputs, sinusoidal
    x, _ = data.arrays("reverse", "test", num_examples=8, min_length=3, max_length=5)
    base = run(model, x)
    padded = {key: np.pad(value, ((0, 0), (0, 3))) for key, value in x.items()}
    longer = run(model, padded)
    np.testing.assert_allclose(longer[:, : base.shape[1]], base, atol=1e-5)


def test_parameter_count_matches_the_formula(reverse_model):
    model, _ = reverse_model  # post-norm, sinusoidal: 13 tokens, d = 32, f = 64, 1 + 1 blocks
    assert model.count_params() == transformer_params(13, 13, 32, 64, 1, 1)
    model = recipes.build_transformer(
        input_shape=(7,),
        target_shape=(8,),
        vocab_size=13,
        target_vocab_size=11,
        embed_dim=16,
        num_heads=4,
        feed_forward_dim=24,
        num_layers=2,
        num_decoder_layers=3,
        norm_first=True,
        positional="learned",
        compile=False,
    )
    assert model.count_params() == transformer_params(13, 11, 16, 24, 2, 3, True, 7, 8)
    assert model.output_shape == (None, 8, 11)


def test_masked_token_accuracy_skips_padding():
    metric = MaskedTokenAccuracy(ignore_class=0)
    y_true = np.array([[3, 4, 0, 0]])
    y_pred = keras.utils.to_categorical([[3, 9, 0, 0]], 13)
    metric.update_state(y_true, y_pred)
    assert float(metric.result()) == pytest.approx(0.5)  # not 3/4
    model = recipes.build_transformer(**TINY)
    assert model.loss.ignore_class == 0  # padded targets cost nothing


def test_transformer_classifier_learns_toy_sentiment(recipe_check):
    texts, labels = toy_reviews(num_examples=600, grammar="contrast", seed=0)
    ids = encode_reviews(texts)
    model = recipes.build_transformer_classifier(
        input_shape=ids.shape[1:],
        vocab_size=int(ids.max()) + 1,
        num_classes=1,
        **TINY,
        dropout=0.0,
        learning_rate=1e-2,
    )
    loaded = recipe_check(model, ids, labels, steps=25, factor=0.5)
    test_texts, test_labels = toy_reviews(num_examples=200, grammar="contrast", seed=1)
    predicted = run(loaded, encode_reviews(test_texts))[:, 0] > 0.5
    assert np.mean(predicted == test_labels) > 0.85


@pytest.mark.parametrize("pooling", ["mean", "first"])
def test_classifier_padding_is_ignored_and_param_count(pooling):
    model = recipes.build_transformer_classifier(
        input_shape=(None,),
        vocab_size=30,
        num_classes=3,
        positional="sinusoidal",
        pooling=pooling,
        compile=False,
        **TINY,
    )
    d, f = 16, 32
    assert model.count_params() == 30 * d + (4 * d * d + 4 * d + 2 * d * f + f + d + 4 * d) + (
        d * 3 + 3
    )
    ids = np.array([[1, 5, 7, 9, 0], [1, 4, 0, 0, 0]], "int32")
    base = run(model, ids)
    np.testing.assert_allclose(run(model, np.pad(ids, ((0, 0), (0, 4)))), base, atol=1e-5)
    np.testing.assert_allclose(base.sum(-1), 1.0, atol=1e-5)


def test_builders_run_under_mixed_precision(mixed_precision):
    # Also the pre-norm, learned-positions variant (the fixture model is post-norm).
    x, _ = data.arrays("reverse", "train", num_examples=32, min_length=3, max_length=5)
    model = recipes.build_transformer(
        input_shape=(5,), target_shape=(6,), **TINY, norm_first=True, positional="learned"
    )
    assert model.get_layer("encoder").get_layer("encoder_block_1").compute_dtype == "float16"
    assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
    probabilities = run(model, x)
    assert probabilities.dtype == np.float32
    np.testing.assert_allclose(probabilities.sum(-1), 1.0, atol=1e-3)
    assert greedy_decode(model, x["encoder_inputs"][:2]).shape == (2, 6)
    texts, labels = toy_reviews(num_examples=64, grammar="contrast", seed=0)
    classifier = recipes.build_transformer_classifier(
        input_shape=(16,), vocab_size=50, num_classes=1, **TINY
    )
    history = classifier.fit(encode_reviews(texts), labels, epochs=2, batch_size=64, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    assert run(classifier, encode_reviews(texts)).dtype == np.float32


@pytest.mark.parametrize(
    "builder, arguments, message",
    [
        ("build_transformer", {"embed_dim": 10, "num_heads": 4}, "divisible by `num_heads`"),
        ("build_transformer", {"positional": "rotary"}, "`positional` must be one of"),
        ("build_transformer", {"positional": "learned"}, "Learned positions need a known"),
        ("build_transformer", {"input_shape": (5, 2)}, "`input_shape` must have 1"),
        ("build_transformer", {"dropout": -0.1}, r"`dropout` must be in \[0, 1\)"),
        ("build_transformer", {"num_layers": 0}, "`num_layers` must be an integer >= 1"),
        ("build_transformer", {"activation": "elu"}, "`activation` must be one of"),
        ("build_transformer", {"norm_first": "yes"}, "`norm_first` must be True or False"),
        ("build_transformer", {"vocab_size": 1}, "`vocab_size` must be an integer >= 2"),
        ("build_transformer_classifier", {"pooling": "max"}, "`pooling` must be one of"),
        ("build_transformer_classifier", {"num_classes": 0}, "`num_classes` must be"),
        (
            "build_transformer_classifier",
            {"output_activation": "linear"},
            "`output_activation` must be one of",
        ),
    ],
)
def test_bad_arguments_raise_clear_errors(builder, arguments, message):
    with pytest.raises(ValueError, match=message):
        getattr(recipes, builder)(**arguments)


def test_greedy_decode_needs_a_length_for_free_length_models():
    model = recipes.build_transformer(**TINY)
    with pytest.raises(ValueError, match="pass `max_length`"):
        greedy_decode(model, np.array([[3, 4, 5]]))
