"""Attention and transformer layers (seeds 000, 002 and 004; Vaswani et al. 2017).

``ScaledDotProductAttention`` is the course formula, softmax(QK^T / sqrt(d_k)) V,
with padding and causal masks. ``MultiHeadAttention`` projects queries, keys and
values into several heads and runs that formula in each; its weights have the same
shapes and order as ``keras.layers.MultiHeadAttention`` (a test checks that both
compute the same thing), and it adds what the recipes need: the softmax always in
float32 (mixed precision), exact zeros on masked positions, weights on request.
The encoder and decoder blocks, positional embeddings and small helpers
(``PaddingMask``, ``SelectToken``, ``ClassToken``) build the transformer, BERT and
ViT recipes.

Masks are explicit boolean tensors, True where a position is real:
``padding_mask`` is ``(batch, keys)``, ``attention_mask`` is ``(batch, queries,
keys)``. A masked key gets a weight of exactly 0, so its value cannot change the
output; a query with no visible key gets all-zero weights and a zero output.
"""

import math

import keras
from keras import ops

from recipes.checks import (
    TRANSFORMER_ACTIVATIONS,
    check_bool,
    check_choice,
    check_positive_int,
    check_positive_number,
    check_rate,
    check_seed,
    check_sequence_shape,
)

_LARGE_NEGATIVE = -1e9  # added to masked scores, in float32 (the softmax's dtype)


def _offset_seed(seed, offset):
    return None if seed is None else seed + offset


def _expand_to_rank(mask, rank):
    """Inserts axes after the batch axis until ``mask`` has ``rank`` axes, so that
    a ``(batch, ..., keys)`` mask broadcasts over heads."""
    while len(mask.shape) < rank:
        mask = ops.expand_dims(mask, 1)
    return mask


def causal_mask(query_length, key_length):
    """Boolean ``(query_length, key_length)`` mask, True where key j <= query i.

    Example:

    >>> causal_mask(3, 3)  # lower triangle
    """
    rows = ops.expand_dims(ops.arange(query_length), 1)
    cols = ops.expand_dims(ops.arange(key_length), 0)
    return ops.greater_equal(rows, cols)


@keras.saving.register_keras_serializable(package="recipes")
class ScaledDotProductAttention(keras.layers.Layer):
    """Scaled dot-product attention: softmax(Q K^T / sqrt(d_k)) V.

    Vaswani et al. 2017, "Attention is all you need", eq. 1 (seed 004). Inputs are
    already projected: ``query`` is ``(..., m, d_k)``, ``key`` ``(..., n, d_k)``,
    ``value`` ``(..., n, d_v)``; leading axes (batch, heads) broadcast. The scores
    are computed in the layer's dtype, then masked and normalised in float32 (a
    max-subtracted softmax), so ``mixed_float16`` neither overflows nor loses the
    masks. Masked keys get a weight of exactly 0.

    Args:
        causal: when True, query i only sees keys j <= i (a decoder's mask).
        dropout: dropout rate on the attention weights during training.
        seed: seed of the dropout.
        **kwargs: ``Layer`` arguments (``name``, ``dtype``...).

    Call arguments:
        query: ``(..., m, d_k)`` tensor.
        value: ``(..., n, d_v)`` tensor.
        key: ``(..., n, d_k)`` tensor; defaults to ``value``.
        padding_mask: boolean ``(batch, n)``, True for real (non-padded) keys.
        attention_mask: boolean ``(batch, m, n)`` (or broadcastable), True where
            query i may attend to key j.
        training: whether dropout is active.
        return_attention_scores: also return the float32 weights ``(..., m, n)``.

    Returns:
        ``(..., m, d_v)``, or ``(outputs, weights)`` with
        ``return_attention_scores=True``.

    Example:

    >>> layer = ScaledDotProductAttention(causal=True)
    >>> q = np.random.rand(2, 5, 8).astype("float32")
    >>> out, weights = layer(q, q, return_attention_scores=True)
    >>> out.shape, weights.shape
    ((2, 5, 8), (2, 5, 5))
    """

    def __init__(self, causal=False, dropout=0.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.causal = check_bool("causal", causal)
        self.dropout = check_rate("dropout", dropout)
        self.seed = check_seed(seed)
        self.seed_generator = keras.random.SeedGenerator(seed) if self.dropout else None

    def call(
        self,
        query,
        value,
        key=None,
        padding_mask=None,
        attention_mask=None,
        training=None,
        return_attention_scores=False,
    ):
        key = value if key is None else key
        depth = query.shape[-1]
        scale = ops.cast(1.0 / math.sqrt(depth), query.dtype)
        scores = ops.matmul(ops.multiply(query, scale), ops.swapaxes(key, -1, -2))
        scores = ops.cast(scores, "float32")
        mask = self._combined_mask(query, key, padding_mask, attention_mask, len(scores.shape))
        if mask is not None:
            scores = ops.where(mask, scores, _LARGE_NEGATIVE)
        weights = ops.softmax(scores, axis=-1)
        if mask is not None:
            # Exact zeros, also in rows where every key is masked.
            weights = ops.where(mask, weights, 0.0)
        used = weights
        if training and self.dropout:
            used = keras.random.dropout(weights, self.dropout, seed=self.seed_generator)
        outputs = ops.matmul(ops.cast(used, value.dtype), value)
        if return_attention_scores:
            return outputs, weights
        return outputs

    def _combined_mask(self, query, key, padding_mask, attention_mask, rank):
        mask = None
        if padding_mask is not None:
            mask = _expand_to_rank(ops.expand_dims(ops.cast(padding_mask, "bool"), -2), rank)
        if attention_mask is not None:
            extra = _expand_to_rank(ops.cast(attention_mask, "bool"), rank)
            mask = extra if mask is None else ops.logical_and(mask, extra)
        if self.causal:
            extra = causal_mask(ops.shape(query)[-2], ops.shape(key)[-2])
            mask = extra if mask is None else ops.logical_and(mask, extra)
        return mask

    def get_config(self):
        return {
            **super().get_config(),
            "causal": self.causal,
            "dropout": self.dropout,
            "seed": self.seed,
        }


@keras.saving.register_keras_serializable(package="recipes")
class MultiHeadAttention(keras.layers.Layer):
    """Multi-head attention built on ``ScaledDotProductAttention``.

    Vaswani et al. 2017, section 3.2.2 (seed 004): queries, keys and values are
    projected into ``num_heads`` heads of ``key_dim`` (``value_dim``) features,
    each head attends on its own, and the heads are concatenated and projected
    back. Self-attention: call with the query only; cross-attention: pass
    ``value`` (and ``key``). The projections have the shapes and order of
    ``keras.layers.MultiHeadAttention``'s, so weights copy across; with
    ``h * key_dim == d`` the layer holds ``4 * d * d + 4 * d`` parameters.

    Args:
        num_heads: number of heads.
        key_dim: size of each head for queries and keys.
        value_dim: size of each head for values; defaults to ``key_dim``.
        output_dim: width of the output; defaults to the query's last axis.
        dropout: dropout rate on the attention weights.
        use_bias: whether the projections have biases.
        causal: mask future keys (decoder self-attention).
        kernel_initializer: initializer of the projection kernels.
        bias_initializer: initializer of the projection biases.
        seed: seed of the dropout.
        **kwargs: ``Layer`` arguments.

    Call arguments:
        query: ``(batch, m, d_q)``.
        value: ``(batch, n, d_v)``; defaults to ``query`` (self-attention).
        key: ``(batch, n, d_k)``; defaults to ``value``.
        padding_mask: boolean ``(batch, n)``, True for real keys.
        attention_mask: boolean ``(batch, m, n)``.
        training: whether dropout is active.
        return_attention_scores: also return the weights ``(batch, heads, m, n)``.

    Returns:
        ``(batch, m, output_dim)``, or ``(outputs, weights)``.

    Example:

    >>> layer = MultiHeadAttention(num_heads=2, key_dim=4)
    >>> x = np.random.rand(3, 6, 8).astype("float32")
    >>> layer(x).shape
    (3, 6, 8)
    >>> layer.count_params()  # 4 * 8 * 8 + 4 * 8
    288
    """

    def __init__(
        self,
        num_heads,
        key_dim,
        value_dim=None,
        output_dim=None,
        dropout=0.0,
        use_bias=True,
        causal=False,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.num_heads = check_positive_int("num_heads", num_heads)
        self.key_dim = check_positive_int("key_dim", key_dim)
        self.value_dim = check_positive_int("value_dim", value_dim or key_dim)
        if output_dim is not None:
            check_positive_int("output_dim", output_dim)
        self.output_dim = output_dim
        self.dropout = check_rate("dropout", dropout)
        self.use_bias = bool(use_bias)
        self.causal = check_bool("causal", causal)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.seed = check_seed(seed)

    def _projection(self, equation, output_shape, bias_axes, name):
        return keras.layers.EinsumDense(
            equation,
            output_shape=output_shape,
            bias_axes=bias_axes if self.use_bias else None,
            kernel_initializer=self.kernel_initializer.__class__.from_config(
                self.kernel_initializer.get_config()
            ),
            bias_initializer=self.bias_initializer.__class__.from_config(
                self.bias_initializer.get_config()
            ),
            dtype=self.dtype_policy,
            name=name,
        )

    def build(
        self,
        query_shape,
        value_shape=None,
        key_shape=None,
        padding_mask_shape=None,
        attention_mask_shape=None,
    ):
        value_shape = query_shape if value_shape is None else value_shape
        key_shape = value_shape if key_shape is None else key_shape
        for argument, shape in (
            ("query", query_shape),
            ("value", value_shape),
            ("key", key_shape),
        ):
            if len(shape) != 3 or shape[-1] is None:
                raise ValueError(
                    f"`{argument}` must be (batch, length, features) with known features. "
                    f"Received: {argument}.shape={shape}"
                )
        heads = self.num_heads
        self.query_dense = self._projection(
            "abc,cde->abde", (None, heads, self.key_dim), "de", "query"
        )
        self.query_dense.build(query_shape)
        self.key_dense = self._projection(
            "abc,cde->abde", (None, heads, self.key_dim), "de", "key"
        )
        self.key_dense.build(key_shape)
        self.value_dense = self._projection(
            "abc,cde->abde", (None, heads, self.value_dim), "de", "value"
        )
        self.value_dense.build(value_shape)
        self.attention = ScaledDotProductAttention(
            causal=self.causal,
            dropout=self.dropout,
            seed=self.seed,
            dtype=self.dtype_policy,
            name="scaled_dot_product_attention",
        )
        out = self.output_dim or query_shape[-1]
        self.output_dense = self._projection("abcd,cde->abe", (None, out), "e", "attention_output")
        self.output_dense.build((query_shape[0], query_shape[1], heads, self.value_dim))

    def call(
        self,
        query,
        value=None,
        key=None,
        padding_mask=None,
        attention_mask=None,
        training=None,
        return_attention_scores=False,
    ):
        value = query if value is None else value
        key = value if key is None else key
        # (batch, length, heads, dim) -> (batch, heads, length, dim)
        q = ops.transpose(self.query_dense(query), (0, 2, 1, 3))
        k = ops.transpose(self.key_dense(key), (0, 2, 1, 3))
        v = ops.transpose(self.value_dense(value), (0, 2, 1, 3))
        outputs, weights = self.attention(
            q,
            v,
            k,
            padding_mask=padding_mask,
            attention_mask=attention_mask,
            training=training,
            return_attention_scores=True,
        )
        outputs = self.output_dense(ops.transpose(outputs, (0, 2, 1, 3)))
        if return_attention_scores:
            return outputs, weights
        return outputs

    def get_config(self):
        return {
            **super().get_config(),
            "num_heads": self.num_heads,
            "key_dim": self.key_dim,
            "value_dim": self.value_dim,
            "output_dim": self.output_dim,
            "dropout": self.dropout,
            "use_bias": self.use_bias,
            "causal": self.causal,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "bias_initializer": keras.initializers.serialize(self.bias_initializer),
            "seed": self.seed,
        }


@keras.saving.register_keras_serializable(package="recipes")
class SinusoidalPositionalEmbedding(keras.layers.Layer):
    """Adds the fixed sinusoidal position encodings of Vaswani et al. 2017.

    PE(pos, 2i) = sin(pos / w^(2i/d)), PE(pos, 2i+1) = cos(pos / w^(2i/d)), with
    ``w = max_wavelength`` and ``d`` the feature width. No weights; any length.

    Args:
        max_wavelength: the base ``w`` (10,000 in the paper).
        **kwargs: ``Layer`` arguments.

    Call arguments:
        inputs: ``(batch, length, d)`` embeddings.

    Returns:
        ``inputs + PE[:length]``, same shape and dtype.

    Example:

    >>> layer = SinusoidalPositionalEmbedding()
    >>> layer(np.zeros((1, 4, 6), "float32"))[0, 1, 0]  # sin(1)
    0.84147
    """

    def __init__(self, max_wavelength=10000.0, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(max_wavelength, (int, float)) or max_wavelength <= 1:
            raise ValueError(
                "`max_wavelength` must be a number > 1. Received: "
                f"max_wavelength={max_wavelength!r}"
            )
        self.max_wavelength = float(max_wavelength)
        self.supports_masking = True

    def build(self, input_shape):
        check_sequence_shape(type(self).__name__, input_shape)

    def encoding(self, length, depth):
        """The ``(length, depth)`` float32 table of encodings."""
        positions = ops.expand_dims(ops.cast(ops.arange(length), "float32"), 1)
        index = ops.arange(depth)
        exponents = ops.cast(2 * (index // 2), "float32") / float(depth)
        angles = positions / ops.power(self.max_wavelength, exponents)
        return ops.where(ops.equal(index % 2, 0), ops.sin(angles), ops.cos(angles))

    def call(self, inputs):
        table = self.encoding(ops.shape(inputs)[1], inputs.shape[-1])
        return inputs + ops.cast(table, inputs.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "max_wavelength": self.max_wavelength}


@keras.saving.register_keras_serializable(package="recipes")
class LearnedPositionalEmbedding(keras.layers.Layer):
    """Adds a learned vector per position (BERT, ViT): ``max_length * d`` weights.

    Args:
        max_length: the longest sequence the table covers.
        initializer: initializer of the table.
        **kwargs: ``Layer`` arguments.

    Call arguments:
        inputs: ``(batch, length, d)`` embeddings with ``length <= max_length``.

    Returns:
        ``inputs + table[:length]``.

    Example:

    >>> layer = LearnedPositionalEmbedding(max_length=10)
    >>> layer(np.zeros((2, 7, 4), "float32")).shape
    (2, 7, 4)
    >>> layer.count_params()
    40
    """

    def __init__(self, max_length, initializer="glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        self.max_length = check_positive_int("max_length", max_length)
        self.initializer = keras.initializers.get(initializer)
        self.supports_masking = True

    def build(self, input_shape):
        check_sequence_shape(type(self).__name__, input_shape)
        if input_shape[1] is not None and input_shape[1] > self.max_length:
            raise ValueError(
                f"Sequences of length {input_shape[1]} are longer than the table: "
                f"max_length={self.max_length}."
            )
        self.embeddings = self.add_weight(
            shape=(self.max_length, input_shape[-1]),
            initializer=self.initializer,
            name="embeddings",
        )

    def call(self, inputs):
        length = ops.shape(inputs)[1]
        embeddings = ops.convert_to_tensor(self.embeddings)
        table = ops.slice(embeddings, (0, 0), (length, inputs.shape[-1]))
        return inputs + ops.cast(table, inputs.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {
            **super().get_config(),
            "max_length": self.max_length,
            "initializer": keras.initializers.serialize(self.initializer),
        }


@keras.saving.register_keras_serializable(package="recipes")
class PaddingMask(keras.layers.Layer):
    """Boolean mask of token ids: True for real tokens, False for ``pad_id``.

    Args:
        pad_id: the padding token id.
        **kwargs: ``Layer`` arguments.

    Example:

    >>> PaddingMask()(np.array([[5, 7, 0, 0]]))
    [[True, True, False, False]]
    """

    def __init__(self, pad_id=0, **kwargs):
        super().__init__(**kwargs)
        self.pad_id = check_positive_int("pad_id", pad_id, minimum=0)

    def call(self, inputs):
        return ops.not_equal(inputs, ops.cast(self.pad_id, inputs.dtype))

    def compute_output_spec(self, inputs):
        return keras.KerasTensor(inputs.shape, dtype="bool")

    def get_config(self):
        return {**super().get_config(), "pad_id": self.pad_id}


@keras.saving.register_keras_serializable(package="recipes")
class SelectToken(keras.layers.Layer):
    """Picks one position of a sequence: ``inputs[:, index, :]`` (the [CLS] token
    of BERT or ViT).

    Args:
        index: the position to keep.
        **kwargs: ``Layer`` arguments.

    Example:

    >>> SelectToken(0)(np.zeros((2, 5, 8), "float32")).shape
    (2, 8)
    """

    def __init__(self, index=0, **kwargs):
        super().__init__(**kwargs)
        self.index = check_positive_int("index", index, minimum=0)

    def call(self, inputs):
        return inputs[:, self.index, :]

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[-1])

    def get_config(self):
        return {**super().get_config(), "index": self.index}


@keras.saving.register_keras_serializable(package="recipes")
class ClassToken(keras.layers.Layer):
    """Prepends a learned [CLS] vector to a sequence (ViT, Dosovitskiy et al. 2021).

    Args:
        initializer: initializer of the token.
        **kwargs: ``Layer`` arguments.

    Call arguments:
        inputs: ``(batch, length, d)``.

    Returns:
        ``(batch, length + 1, d)``, the class token first.

    Example:

    >>> ClassToken()(np.zeros((2, 16, 8), "float32")).shape
    (2, 17, 8)
    """

    def __init__(self, initializer="zeros", **kwargs):
        super().__init__(**kwargs)
        self.initializer = keras.initializers.get(initializer)

    def build(self, input_shape):
        check_sequence_shape(type(self).__name__, input_shape)
        self.token = self.add_weight(
            shape=(1, 1, input_shape[-1]), initializer=self.initializer, name="token"
        )

    def call(self, inputs):
        batch = ops.shape(inputs)[0]
        token = ops.broadcast_to(ops.cast(self.token, inputs.dtype), (batch, 1, inputs.shape[-1]))
        return ops.concatenate([token, inputs], axis=1)

    def compute_output_shape(self, input_shape):
        length = None if input_shape[1] is None else input_shape[1] + 1
        return (input_shape[0], length, input_shape[-1])

    def get_config(self):
        return {
            **super().get_config(),
            "initializer": keras.initializers.serialize(self.initializer),
        }


_BLOCK_ARGS = """    Args:
        num_heads: attention heads.
        feed_forward_dim: width of the feed-forward hidden layer.
        dropout: dropout rate on the attention weights and on each sub-layer's
            output.
        activation: feed-forward activation: ``"relu"``, ``"gelu"``, ``"swish"``
            or ``"tanh"``.
        norm_first: pre-norm (True) or post-norm (False).
        key_dim: size of each head; defaults to ``d // num_heads``.
        epsilon: layer normalisation epsilon.
        kernel_initializer: initializer of every kernel.
        seed: seed of the dropouts.
        **kwargs: ``Layer`` arguments.
"""
"""The arguments of ``TransformerEncoderBlock`` and ``TransformerDecoderBlock``,
documented once for both docstrings."""


class _TransformerBlock(keras.layers.Layer):
    """Shared arguments, checks and pieces of the encoder and decoder blocks."""

    def __init__(
        self,
        num_heads,
        feed_forward_dim,
        dropout=0.0,
        activation="relu",
        norm_first=False,
        key_dim=None,
        epsilon=1e-6,
        kernel_initializer="glorot_uniform",
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.num_heads = check_positive_int("num_heads", num_heads)
        self.feed_forward_dim = check_positive_int("feed_forward_dim", feed_forward_dim)
        self.dropout = check_rate("dropout", dropout)
        self.activation = check_choice("activation", activation, TRANSFORMER_ACTIVATIONS)
        self.norm_first = check_bool("norm_first", norm_first)
        if key_dim is not None:
            check_positive_int("key_dim", key_dim)
        self.key_dim = key_dim
        self.epsilon = check_positive_number("epsilon", epsilon)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.seed = check_seed(seed)

    def _model_dim(self, inputs_shape):
        check_sequence_shape(type(self).__name__, inputs_shape)
        width = inputs_shape[-1]
        if self.key_dim is None and width % self.num_heads:
            raise ValueError(
                f"The feature width ({width}) must be divisible by `num_heads` "
                f"({self.num_heads}), or pass `key_dim`."
            )
        return width, self.key_dim or width // self.num_heads

    def _initializer(self):
        return self.kernel_initializer.__class__.from_config(self.kernel_initializer.get_config())

    def _attention(self, key_dim, causal, offset, name):
        return MultiHeadAttention(
            self.num_heads,
            key_dim,
            dropout=self.dropout,
            causal=causal,
            kernel_initializer=self._initializer(),
            seed=_offset_seed(self.seed, offset),
            dtype=self.dtype_policy,
            name=name,
        )

    def _norm(self, name):
        return keras.layers.LayerNormalization(
            epsilon=self.epsilon, dtype=self.dtype_policy, name=name
        )

    def _dropout(self, offset, name):
        return keras.layers.Dropout(
            self.dropout, seed=_offset_seed(self.seed, offset), dtype=self.dtype_policy, name=name
        )

    def _build_attention(self, kind, key_dim, causal, offset, query_shape, value_shape=None):
        """The ``{kind}_attention`` sub-layer with its norm and dropout (seeds
        ``offset`` and ``offset + 1``), built for ``query_shape`` (and
        ``value_shape``, cross-attention)."""
        name = f"{kind}_attention"
        setattr(self, name, self._attention(key_dim, causal, offset, name))
        getattr(self, name).build(query_shape, value_shape)
        setattr(self, f"{name}_norm", self._norm(f"{name}_norm"))
        getattr(self, f"{name}_norm").build(query_shape)
        setattr(self, f"{name}_dropout", self._dropout(offset + 1, f"{name}_dropout"))

    def _attend(self, kind, x, training, **attention_arguments):
        """The residual ``{kind}_attention`` sub-layer on ``x``: ``(outputs, weights)``."""
        attention = getattr(self, f"{kind}_attention")
        return self._residual(
            x,
            getattr(self, f"{kind}_attention_norm"),
            getattr(self, f"{kind}_attention_dropout"),
            lambda h: attention(
                h, training=training, return_attention_scores=True, **attention_arguments
            ),
            training,
        )

    def _build_feed_forward(self, inputs_shape, width, offset):
        self.feed_forward_inner = keras.layers.Dense(
            self.feed_forward_dim,
            activation=self.activation,
            kernel_initializer=self._initializer(),
            dtype=self.dtype_policy,
            name="feed_forward_inner",
        )
        self.feed_forward_inner.build(inputs_shape)
        self.feed_forward_outer = keras.layers.Dense(
            width,
            kernel_initializer=self._initializer(),
            dtype=self.dtype_policy,
            name="feed_forward_outer",
        )
        self.feed_forward_outer.build((*inputs_shape[:-1], self.feed_forward_dim))
        self.feed_forward_norm = self._norm("feed_forward_norm")
        self.feed_forward_norm.build(inputs_shape)
        self.feed_forward_dropout = self._dropout(offset, "feed_forward_dropout")

    def _residual(self, x, norm, dropout, sublayer, training):
        """``x + Dropout(sublayer(LN(x)))`` (pre-norm) or ``LN(x + Dropout(sublayer(x)))``
        (post-norm). ``sublayer`` returns ``(outputs, weights)``."""
        outputs, weights = sublayer(norm(x) if self.norm_first else x)
        outputs = x + dropout(outputs, training=training)
        return (outputs if self.norm_first else norm(outputs)), weights

    def _feed_forward(self, x, weights, training, return_attention_scores):
        """The residual feed-forward sub-layer on ``x``, the block's last: its
        outputs, with the attention ``weights`` when asked."""

        def network(h):
            return self.feed_forward_outer(self.feed_forward_inner(h)), None

        outputs, _ = self._residual(
            x, self.feed_forward_norm, self.feed_forward_dropout, network, training
        )
        return (outputs, weights) if return_attention_scores else outputs

    def get_config(self):
        return {
            **super().get_config(),
            "num_heads": self.num_heads,
            "feed_forward_dim": self.feed_forward_dim,
            "dropout": self.dropout,
            "activation": self.activation,
            "norm_first": self.norm_first,
            "key_dim": self.key_dim,
            "epsilon": self.epsilon,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "seed": self.seed,
        }


@keras.saving.register_keras_serializable(package="recipes")
class TransformerEncoderBlock(_TransformerBlock):
    __doc__ = (
        """One transformer encoder layer: self-attention, then a feed-forward network.

    Vaswani et al. 2017 (seed 004). Each sub-layer is wrapped in a residual
    connection with dropout and layer normalisation: post-norm
    ``LN(x + sublayer(x))`` as in the paper and BERT, or pre-norm
    ``x + sublayer(LN(x))`` (``norm_first=True``, as in ViT and GPT-2, which
    trains deeper stacks without warm-up). The feed-forward network is
    ``Dense(feed_forward_dim, activation) -> Dense(d)``. With ``d`` features and
    ``f = feed_forward_dim`` (and ``num_heads * key_dim == d``) the block holds
    ``4d^2 + 4d`` (attention) ``+ 2df + f + d`` (feed-forward) ``+ 4d`` (two
    layer norms) parameters.

"""
        + _BLOCK_ARGS
        + """
    Call arguments:
        inputs: ``(batch, length, d)``.
        padding_mask: boolean ``(batch, length)``, True for real tokens.
        attention_mask: boolean ``(batch, length, length)``.
        training: whether dropout is active.
        return_attention_scores: also return the weights ``(batch, heads, length,
            length)``.

    Returns:
        ``(batch, length, d)``, or ``(outputs, weights)``.

    Example:

    >>> block = TransformerEncoderBlock(num_heads=2, feed_forward_dim=32)
    >>> x = np.random.rand(4, 10, 16).astype("float32")
    >>> block(x, padding_mask=np.arange(10)[None, :] < 7).shape
    (4, 10, 16)
"""
    )

    def build(self, inputs_shape, padding_mask_shape=None, attention_mask_shape=None):
        width, key_dim = self._model_dim(inputs_shape)
        self._build_attention("self", key_dim, False, 0, inputs_shape)
        self._build_feed_forward(inputs_shape, width, 2)

    def call(
        self,
        inputs,
        padding_mask=None,
        attention_mask=None,
        training=None,
        return_attention_scores=False,
    ):
        x, weights = self._attend(
            "self", inputs, training, padding_mask=padding_mask, attention_mask=attention_mask
        )
        return self._feed_forward(x, weights, training, return_attention_scores)


@keras.saving.register_keras_serializable(package="recipes")
class TransformerDecoderBlock(_TransformerBlock):
    __doc__ = (
        """One transformer decoder layer: causal self-attention, cross-attention to
    the encoder's outputs, then a feed-forward network.

    Vaswani et al. 2017 (seed 004). The self-attention is causal: position i
    only sees positions <= i, so the decoder can be trained on whole target
    sequences (teacher forcing) and run one token at a time. Called without
    ``encoder_outputs`` when first built, the block has no cross-attention (a
    decoder-only, GPT-style block). Residuals, norms and dropout as in
    ``TransformerEncoderBlock``; with cross-attention it holds
    ``8d^2 + 8d + 2df + f + d + 6d`` parameters.

"""
        + _BLOCK_ARGS
        + """
    Call arguments:
        inputs: ``(batch, target_length, d)`` decoder inputs.
        encoder_outputs: ``(batch, source_length, d_e)``.
        decoder_padding_mask: boolean ``(batch, target_length)``.
        encoder_padding_mask: boolean ``(batch, source_length)``.
        training: whether dropout is active.
        return_attention_scores: also return a dict of weights,
            ``{"self_attention": ..., "cross_attention": ...}``.

    Returns:
        ``(batch, target_length, d)``, or ``(outputs, weights)``.

    Example:

    >>> block = TransformerDecoderBlock(num_heads=2, feed_forward_dim=32)
    >>> target = np.random.rand(4, 6, 16).astype("float32")
    >>> source = np.random.rand(4, 9, 16).astype("float32")
    >>> block(target, source).shape
    (4, 6, 16)
"""
    )

    def build(
        self,
        inputs_shape,
        encoder_outputs_shape=None,
        decoder_padding_mask_shape=None,
        encoder_padding_mask_shape=None,
    ):
        width, key_dim = self._model_dim(inputs_shape)
        self._build_attention("self", key_dim, True, 0, inputs_shape)
        self.cross_attention = None
        if encoder_outputs_shape is not None:
            self._build_attention("cross", key_dim, False, 2, inputs_shape, encoder_outputs_shape)
        self._build_feed_forward(inputs_shape, width, 4)

    def call(
        self,
        inputs,
        encoder_outputs=None,
        decoder_padding_mask=None,
        encoder_padding_mask=None,
        training=None,
        return_attention_scores=False,
    ):
        if (encoder_outputs is None) != (self.cross_attention is None):
            raise ValueError(
                "Call the decoder block with `encoder_outputs` if and only if it was "
                f"built with them (cross-attention: {self.cross_attention is not None})."
            )
        weights = {}
        x, weights["self_attention"] = self._attend(
            "self", inputs, training, padding_mask=decoder_padding_mask
        )
        if self.cross_attention is not None:
            x, weights["cross_attention"] = self._attend(
                "cross", x, training, value=encoder_outputs, padding_mask=encoder_padding_mask
            )
        return self._feed_forward(x, weights, training, return_attention_scores)
