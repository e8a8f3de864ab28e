"""Attention layers: the formula, masks that really mask, equality with Keras'
MultiHeadAttention, parameter counts, positional embeddings, encoder and decoder
blocks, serialisation and mixed precision."""

import keras
import numpy as np
import pytest

from recipes.layers import (
    ClassToken,
    LearnedPositionalEmbedding,
    MultiHeadAttention,
    PaddingMask,
    ScaledDotProductAttention,
    SelectToken,
    SinusoidalPositionalEmbedding,
    TransformerDecoderBlock,
    TransformerEncoderBlock,
)
from recipes.testing import run_layer_test

pytestmark = [pytest.mark.backends, pytest.mark.smoke]

RNG = np.random.default_rng(0)


def _numpy(x, dtype=None):
    """A tensor of any backend as a NumPy array (PyTorch's detached)."""
    return np.asarray(keras.ops.convert_to_numpy(x), dtype)


def normal(*shape):
    return RNG.normal(size=shape).astype("float32")


@pytest.fixture
def mixed_precision():
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy("float32")


def reference_attention(q, k, v, mask=None):
    scores = q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1])
    if mask is not None:
        scores = np.where(mask, scores, -np.inf)
    scores = scores - scores.max(-1, keepdims=True)
    weights = np.exp(scores)
    weights /= weights.sum(-1, keepdims=True)
    return weights @ v, weights


def test_scaled_dot_product_attention_is_the_formula_and_rows_sum_to_one():
    q, k, v = normal(2, 3, 5, 8), normal(2, 3, 7, 8), normal(2, 3, 7, 4)  # (batch, heads, ...)
    outputs, weights = ScaledDotProductAttention()(q, v, k, return_attention_scores=True)
    expected_outputs, expected_weights = reference_attention(q, k, v)
    np.testing.assert_allclose(weights, expected_weights, atol=1e-5)
    np.testing.assert_allclose(outputs, expected_outputs, atol=1e-5)
    np.testing.assert_allclose(_numpy(weights).sum(-1), 1.0, atol=1e-5)
    assert _numpy(weights).dtype == np.float32


def test_padded_keys_get_zero_weight_and_their_values_do_not_matter():
    q, k, v = normal(2, 4, 8), normal(2, 6, 8), normal(2, 6, 3)
    padding = np.array([[1, 1, 1, 0, 0, 0], [1, 1, 1, 1, 1, 0]], bool)
    layer = ScaledDotProductAttention()
    outputs, weights = layer(q, v, k, padding_mask=padding, return_attention_scores=True)
    weights = _numpy(weights)
    assert np.all(weights[~np.broadcast_to(padding[:, None, :], weights.shape)] == 0.0)
    np.testing.assert_allclose(weights.sum(-1), 1.0, atol=1e-5)
    k2, v2 = k.copy(), v.copy()
    k2[~padding], v2[~padding] = 1e3, -1e3  # change the padded positions only
    np.testing.assert_array_equal(outputs, layer(q, v2, k2, padding_mask=padding))
    expected, _ = reference_attention(q, k, v, padding[:, None, :])
    np.testing.assert_allclose(outputs, expected, atol=1e-5)


def test_causal_mask_hides_the_future():
    x = normal(2, 6, 8)
    layer = ScaledDotProductAttention(causal=True)
    outputs, weights = layer(x, x, return_attention_scores=True)
    weights = _numpy(weights)
    assert np.all(weights[:, np.triu_indices(6, k=1)[0], np.triu_indices(6, k=1)[1]] == 0.0)
    np.testing.assert_allclose(weights.sum(-1), 1.0, atol=1e-5)
    changed = x.copy()
    changed[:, 4:] = 100.0  # the future of positions 0..3
    np.testing.assert_array_equal(_numpy(outputs)[:, :4], _numpy(layer(changed, changed))[:, :4])
    assert not np.allclose(_numpy(outputs)[:, 4:], _numpy(layer(changed, changed))[:, 4:])


def test_masks_combine_and_a_query_that_sees_nothing_gets_zeros():
    q, v = normal(1, 3, 4), normal(1, 3, 4)
    attention_mask = np.array([[[1, 0, 1], [0, 0, 0], [1, 1, 1]]], bool)
    padding = np.array([[1, 1, 0]], bool)
    outputs, weights = ScaledDotProductAttention(causal=True)(
        q, v, padding_mask=padding, attention_mask=attention_mask, return_attention_scores=True
    )
    allowed = attention_mask & padding[:, None, :] & np.tril(np.ones((3, 3), bool))
    weights = _numpy(weights)
    assert np.all(weights[~allowed] == 0.0)
    np.testing.assert_array_equal(weights[0, 1], 0.0)  # row 1 sees nothing
    np.testing.assert_array_equal(_numpy(outputs)[0, 1], 0.0)
    np.testing.assert_allclose(weights[0, [0, 2]].sum(-1), 1.0, atol=1e-6)


def test_attention_dropout_only_in_training_and_rescales():
    layer = ScaledDotProductAttention(dropout=0.5, seed=3)
    q, v = normal(4, 10, 8), np.ones((4, 10, 1), "float32")
    np.testing.assert_allclose(layer(q, v, q), 1.0, atol=1e-5)  # inference: weights sum to 1
    trained = _numpy(layer(q, v, q, training=True))
    assert not np.allclose(trained, 1.0)
    assert abs(trained.mean() - 1.0) < 0.25  # inverted dropout keeps the mean


def _copied_keras_mha(num_heads, key_dim, query, value, causal=False, **kwargs):
    theirs = keras.layers.MultiHeadAttention(num_heads, key_dim, **kwargs)
    # Asking for the scores keeps Keras on its einsum path: its fused path on JAX
    # (keras 3.15) reshapes the output to the query's shape and so fails when
    # value_dim != key_dim.
    theirs(query, value, return_attention_scores=True)
    ours = MultiHeadAttention(num_heads, key_dim, causal=causal, **kwargs)
    ours(query, value)
    ours.set_weights(theirs.get_weights())
    return ours, theirs


def test_multi_head_attention_computes_what_keras_multi_head_attention_computes():
    x, memory = normal(2, 5, 16), normal(2, 7, 12)
    padding = np.array([[1] * 4 + [0] * 3, [1] * 7], bool)
    ours, theirs = _copied_keras_mha(4, 3, x, memory, value_dim=5)
    out, weights = ours(x, memory, padding_mask=padding, return_attention_scores=True)
    expected, expected_weights = theirs(
        x,
        memory,
        attention_mask=np.repeat(padding[:, None, :], 5, axis=1),
        return_attention_scores=True,
    )
    np.testing.assert_allclose(_numpy(out), _numpy(expected), atol=1e-5)
    np.testing.assert_allclose(_numpy(weights), _numpy(expected_weights), atol=1e-6)
    causal, theirs = _copied_keras_mha(2, 8, x, x, causal=True)
    np.testing.assert_allclose(
        _numpy(causal(x)), _numpy(theirs(x, x, use_causal_mask=True)), atol=1e-5
    )


@pytest.mark.parametrize(
    "heads, key_dim, value_dim, output_dim, query_width, value_width",
    [(4, 4, None, None, 16, 16), (2, 3, 5, None, 8, 6), (3, 4, 2, 10, 7, 9)],
)
def test_multi_head_attention_parameter_count(
    heads, key_dim, value_dim, output_dim, query_width, value_width
):
    layer = MultiHeadAttention(heads, key_dim, value_dim=value_dim, output_dim=output_dim)
    layer(normal(1, 3, query_width), normal(1, 4, value_width))
    value_dim = value_dim or key_dim
    output_dim = output_dim or query_width
    expected = (
        (query_width + 1) * heads * key_dim  # query projection and bias
        + (value_width + 1) * heads * key_dim  # key
        + (value_width + 1) * heads * value_dim  # value
        + heads * value_dim * output_dim
        + output_dim  # output projection
    )
    assert layer.count_params() == expected
    if heads * key_dim == query_width == value_width and value_dim == key_dim:
        assert expected == 4 * query_width**2 + 4 * query_width


def test_sinusoidal_positions_follow_the_formula_at_any_length():
    layer = SinusoidalPositionalEmbedding()
    for length, depth in ((5, 6), (23, 7)):
        encoded = _numpy(layer(np.zeros((2, length, depth), "float32")))[0]
        pos = np.arange(length)[:, None]
        rates = 1.0 / 10000 ** ((2 * (np.arange(depth) // 2)) / depth)
        expected = np.where(np.arange(depth) % 2 == 0, np.sin(pos * rates), np.cos(pos * rates))
        np.testing.assert_allclose(encoded, expected, atol=1e-5)
    assert layer.count_params() == 0
    x = normal(1, 4, 6)
    np.testing.assert_allclose(layer(x) - layer(np.zeros_like(x)), x, atol=1e-6)


def test_learned_positions_have_one_vector_per_position():
    layer = LearnedPositionalEmbedding(max_length=10)
    x = normal(2, 7, 4)
    out = _numpy(layer(x))
    assert layer.count_params() == 10 * 4
    np.testing.assert_allclose(
        out - x, np.broadcast_to(_numpy(layer.embeddings)[:7], (2, 7, 4)), atol=1e-6
    )
    with pytest.raises(ValueError, match="longer than the table"):
        LearnedPositionalEmbedding(max_length=5)(normal(1, 6, 4))


def encoder_block_params(d, f):
    return (4 * d * d + 4 * d) + (2 * d * f + f + d) + 4 * d


def test_encoder_block_parameter_count_and_padding():
    d, f = 16, 24
    block = TransformerEncoderBlock(num_heads=4, feed_forward_dim=f)
    x = normal(2, 6, d)
    padding = np.array([[1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1]], bool)
    outputs, weights = block(x, padding_mask=padding, return_attention_scores=True)
    assert block.count_params() == encoder_block_params(d, f)
    assert _numpy(weights).shape == (2, 4, 6, 6)
    assert np.all(_numpy(weights)[0, :, :, 4:] == 0.0)
    changed = x.copy()
    changed[0, 4:] = 50.0
    np.testing.assert_allclose(
        _numpy(block(changed, padding_mask=padding))[0, :4], _numpy(outputs)[0, :4], atol=1e-5
    )


def test_post_norm_ends_on_a_layer_norm_and_pre_norm_does_not():
    x = 3.0 * normal(2, 5, 16) + 1.0
    post = _numpy(TransformerEncoderBlock(2, 32, norm_first=False)(x))
    pre = _numpy(TransformerEncoderBlock(2, 32, norm_first=True)(x))
    np.testing.assert_allclose(post.mean(-1), 0.0, atol=1e-4)  # LN(x + F(x)) with gamma 1
    np.testing.assert_allclose(post.std(-1), 1.0, atol=1e-2)
    assert np.abs(pre.mean(-1)).max() > 0.1  # x + F(LN(x)) keeps the residual's offset


def test_decoder_block_is_causal_masks_the_encoder_padding_and_counts_parameters():
    d, f = 16, 24
    block = TransformerDecoderBlock(num_heads=2, feed_forward_dim=f)
    target, memory = normal(2, 5, d), normal(2, 7, d)
    padding = np.array([[1] * 5 + [0] * 2, [1] * 7], bool)
    outputs, weights = block(
        target, memory, encoder_padding_mask=padding, return_attention_scores=True
    )
    assert block.count_params() == 8 * d * d + 8 * d + 2 * d * f + f + d + 6 * d
    self_weights = _numpy(weights["self_attention"])
    assert np.all(self_weights[..., np.triu_indices(5, 1)[0], np.triu_indices(5, 1)[1]] == 0)
    assert np.all(_numpy(weights["cross_attention"])[0, :, :, 5:] == 0.0)
    future, padded = target.copy(), memory.copy()
    future[:, 3:] = -20.0
    padded[0, 5:] = 20.0
    np.testing.assert_allclose(
        _numpy(block(future, padded, encoder_padding_mask=padding))[:, :3],
        _numpy(outputs)[:, :3],
        atol=1e-5,
    )
    decoder_only = TransformerDecoderBlock(num_heads=2, feed_forward_dim=f)
    decoder_only(target)
    assert decoder_only.count_params() == encoder_block_params(d, f)
    with pytest.raises(ValueError, match="if and only if"):
        decoder_only(target, memory)


def test_token_helpers():
    mask = _numpy(PaddingMask(pad_id=0)(np.array([[4, 7, 0, 0]])))
    np.testing.assert_array_equal(mask, [[True, True, False, False]])
    x = normal(2, 5, 3)
    np.testing.assert_array_equal(SelectToken(2)(x), x[:, 2])
    token = ClassToken(initializer="ones")
    out = _numpy(token(x))
    assert out.shape == (2, 6, 3) and token.count_params() == 3
    np.testing.assert_array_equal(out[:, 0], 1.0)
    np.testing.assert_array_equal(out[:, 1:], x)


PADDING_5 = np.array([[1, 1, 1, 0, 0], [1] * 5], bool)
PADDING_6 = np.array([[1, 1, 1, 1, 0, 0], [1] * 6], bool)
PADDING_7 = np.array([[1] * 5 + [0] * 2, [1] * 7], bool)
# Every layer with options off their defaults, through recipes.testing.run_layer_test:
# build and call, output shapes, config round trip (also through the registered
# name), same outputs from a clone given the same weights, and a safe-mode .keras
# round trip in a model whose inputs include the masks.
LAYER_CASES = {
    "ScaledDotProductAttention": dict(
        layer_cls=ScaledDotProductAttention,
        init_kwargs=dict(causal=True, dropout=0.1, seed=2),
        input_shape=[(2, 5, 8), (2, 5, 4), (2, 5, 8)],  # query, value, key
        call_kwargs=dict(padding_mask=PADDING_5, return_attention_scores=True),
        expected_output_shape=((2, 5, 4), (2, 5, 5)),
        expected_num_params=0,
    ),
    "MultiHeadAttention": dict(
        layer_cls=MultiHeadAttention,
        init_kwargs=dict(num_heads=2, key_dim=4, value_dim=3, output_dim=6, dropout=0.2),
        input_shape=[(2, 6, 7), (2, 5, 9)],  # query, value
        call_kwargs=dict(padding_mask=PADDING_5),
        expected_output_shape=(2, 6, 6),
        # query (7 + 1) 2 4, key (9 + 1) 2 4, value (9 + 1) 2 3, output 2 3 6 + 6
        expected_num_params=64 + 80 + 60 + 42,
    ),
    "MultiHeadAttention_causal": dict(
        layer_cls=MultiHeadAttention,
        init_kwargs=dict(num_heads=2, key_dim=4, causal=True, seed=1),
        input_shape=(2, 6, 8),
        call_kwargs=dict(padding_mask=PADDING_6),
        expected_output_shape=(2, 6, 8),
        expected_num_params=4 * 8 * 8 + 4 * 8,
    ),
    "SinusoidalPositionalEmbedding": dict(
        layer_cls=SinusoidalPositionalEmbedding,
        init_kwargs=dict(max_wavelength=500.0),
        input_shape=(2, 6, 8),
        expected_output_shape=(2, 6, 8),
        expected_num_params=0,
    ),
    "LearnedPositionalEmbedding": dict(
        layer_cls=LearnedPositionalEmbedding,
        init_kwargs=dict(max_length=12, initializer="zeros"),
        input_shape=(2, 6, 8),
        expected_output_shape=(2, 6, 8),
        expected_num_params=12 * 8,
    ),
    "PaddingMask": dict(
        layer_cls=PaddingMask,
        init_kwargs=dict(pad_id=3),
        input_data=np.array([[4, 7, 3, 3], [3, 1, 2, 5]], "int32"),
        expected_output_shape=(2, 4),
        expected_output_dtype="bool",
    ),
    "SelectToken": dict(
        layer_cls=SelectToken,
        init_kwargs=dict(index=1),
        input_shape=(2, 5, 3),
        expected_output_shape=(2, 3),
    ),
    "ClassToken": dict(
        layer_cls=ClassToken,
        init_kwargs=dict(initializer="random_normal"),
        input_shape=(2, 5, 3),
        expected_output_shape=(2, 6, 3),
        expected_num_params=3,
    ),
    "TransformerEncoderBlock": dict(
        layer_cls=TransformerEncoderBlock,
        init_kwargs=dict(
            num_heads=2,
            feed_forward_dim=8,
            dropout=0.1,
            activation="gelu",
            norm_first=True,
            seed=4,
        ),
        input_shape=(2, 6, 8),
        call_kwargs=dict(padding_mask=PADDING_6),
        expected_output_shape=(2, 6, 8),
        expected_num_params=encoder_block_params(8, 8),
    ),
    "TransformerDecoderBlock": dict(
        layer_cls=TransformerDecoderBlock,
        init_kwargs=dict(
            num_heads=2,
            feed_forward_dim=8,
            dropout=0.1,
            key_dim=3,
            epsilon=1e-5,
            norm_first=True,
            seed=5,
        ),
        input_shape=[(2, 5, 8), (2, 7, 8)],  # target, encoder outputs
        call_kwargs=dict(
            decoder_padding_mask=PADDING_5,
            encoder_padding_mask=PADDING_7,
            return_attention_scores=True,
        ),
        expected_output_shape=(
            (2, 5, 8),
            {"self_attention": (2, 2, 5, 5), "cross_attention": (2, 2, 5, 7)},
        ),
    ),
}


@pytest.mark.parametrize("case", LAYER_CASES)
def test_layer_harness(case, tmp_path):
    arguments = LAYER_CASES[case]
    random = "dropout" in arguments["init_kwargs"]
    result = run_layer_test(**arguments, training=random, directory=tmp_path)
    if random:  # dropout acts in training only
        training = keras.tree.flatten(result.training_outputs)[0]
        assert not np.allclose(training, keras.tree.flatten(result.outputs)[0])


def test_mixed_precision_softmax_is_float32_stable_and_still_masks(mixed_precision):
    layer = ScaledDotProductAttention()
    assert layer.compute_dtype == "float16"
    q = np.full((1, 3, 16), 40.0, "float16")  # scores 6400: exp() overflows float16
    k = q.copy()
    k[0, 1] = -40.0
    v = normal(1, 3, 2).astype("float16")
    outputs, weights = layer(
        q, v, k, padding_mask=np.array([[1, 1, 0]], bool), return_attention_scores=True
    )
    weights = _numpy(weights)
    assert weights.dtype == np.float32 and np.isfinite(weights).all()
    np.testing.assert_allclose(weights[0, :, 0], 1.0)  # the one large score wins
    assert np.all(weights[0, :, 2] == 0.0)  # -1e9 would not fit float16: masked anyway
    assert np.isfinite(_numpy(outputs, "float32")).all()
    block = TransformerEncoderBlock(2, 16)
    out = block(normal(2, 4, 8), padding_mask=np.ones((2, 4), bool))
    assert block.self_attention.query_dense.compute_dtype == "float16"
    assert np.isfinite(_numpy(out, "float32")).all()


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: ScaledDotProductAttention(dropout=1.0), "`dropout` must be in"),
        (lambda: ScaledDotProductAttention(causal="yes"), "`causal` must be True or False"),
        (lambda: MultiHeadAttention(0, 4), "`num_heads` must be an integer >= 1"),
        (lambda: MultiHeadAttention(2, 4, seed=1.5), "`seed` must be None or an int"),
        (lambda: SinusoidalPositionalEmbedding(max_wavelength=1), "`max_wavelength` must"),
        (lambda: LearnedPositionalEmbedding(0), "`max_length` must be an integer >= 1"),
        (lambda: TransformerEncoderBlock(2, 8, activation="softplus"), "`activation` must"),
        (lambda: TransformerEncoderBlock(2, 8, norm_first=1), "`norm_first` must be True"),
        (lambda: TransformerDecoderBlock(2, 0), "`feed_forward_dim` must be an integer"),
        (lambda: TransformerEncoderBlock(3, 8)(normal(1, 4, 8)), "divisible by `num_heads`"),
        (lambda: PaddingMask(pad_id=-1), "`pad_id` must be an integer >= 0"),
    ],
)
def test_bad_arguments_raise_clear_errors(make, message):
    with pytest.raises(ValueError, match=message):
        make()
