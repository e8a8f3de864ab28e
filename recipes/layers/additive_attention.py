"""Encoder-decoder attention that returns its weights: additive (Bahdanau et al.
2014) and multiplicative (Luong et al. 2015) scores.

Both layers take a query (decoder states) and values (encoder outputs), score
every value against every query, turn the scores into weights with a softmax over
the valid (unmasked) values, and return the weighted sum of the values (the
context) together with the weights, so that they can be drawn as a heatmap.
"""

import keras
from keras import ops

from recipes.checks import check_choice, check_positive_int


class _EncoderDecoderAttention(keras.layers.Layer):
    """Masking, softmax and the weighted sum; subclasses give ``_scores``."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def _check_shapes(self, query_shape, value_shape):
        if len(query_shape) not in (2, 3) or len(value_shape) != 3:
            raise ValueError(
                f"{type(self).__name__} needs a query of shape (batch, features) or "
                "(batch, query_steps, features) and values of shape (batch, steps, "
                f"features). Received: query_shape={query_shape}, "
                f"value_shape={value_shape}"
            )
        if query_shape[-1] is None or value_shape[-1] is None:
            raise ValueError(
                f"{type(self).__name__} needs known feature axes. Received: "
                f"query_shape={query_shape}, value_shape={value_shape}"
            )

    def call(self, query, value, query_mask=None, value_mask=None):
        single_step = len(query.shape) == 2
        if single_step:
            query = query[:, None, :]
        scores = self._scores(query, value)  # (batch, query_steps, value_steps)
        if value_mask is not None:
            valid = ops.cast(value_mask, "bool")[:, None, :]
            half = keras.backend.standardize_dtype(scores.dtype) == "float16"
            floor = -3e4 if half else -1e9  # very negative, yet finite in the dtype
            scores = ops.where(valid, scores, ops.full_like(scores, floor))
        weights = ops.softmax(scores, axis=-1)
        context = ops.matmul(weights, value)
        if single_step:
            return context[:, 0], weights[:, 0]
        return context, weights

    def compute_mask(self, query, previous_mask=None):
        return [previous_mask, previous_mask]

    def compute_output_shape(self, query_shape, value_shape):
        steps = tuple(query_shape[1:-1])
        return (
            (query_shape[0], *steps, value_shape[-1]),
            (query_shape[0], *steps, value_shape[1]),
        )


_CALL_DOC = """
    Call arguments:
        query: decoder states, ``(batch, query_steps, query_features)`` or one
            step ``(batch, query_features)``.
        value: encoder outputs, ``(batch, steps, value_features)``.
        query_mask: optional ``(batch, query_steps)``; passed on to the outputs.
        value_mask: optional boolean ``(batch, steps)``: False marks padding,
            which gets zero weight. Both masks are read from Keras masks when the
            inputs carry them (``Embedding(mask_zero=True)`` upstream).

    Returns:
        ``(context, weights)``: ``context`` ``(batch, query_steps, value_features)``
        is the weighted sum of the values, ``weights`` ``(batch, query_steps,
        steps)`` sum to 1 over the valid steps (the query-step axis is absent for
        a one-step query).
"""


@keras.saving.register_keras_serializable(package="recipes")
class BahdanauAttention(_EncoderDecoderAttention):
    __doc__ = (
        """Additive attention of Bahdanau, Cho and Bengio (2014).

    Each decoder state ``s`` scores each encoder output ``h_j`` with a one-hidden-
    layer network, ``score(s, h_j) = v . tanh(W_q s + W_k h_j + b)``; the weights
    are the softmax of the scores over ``j`` and the context is
    ``sum_j weight_j h_j``. Unlike ``keras.layers.AdditiveAttention``, which
    expects projected inputs, the projections ``W_q``, ``W_k`` and ``v`` are
    learned here and the weights are always returned.

    Parameters: ``units * (query_features + value_features + 2)`` (with bias; the
    ``+ 2`` is ``b`` and ``v``).

    Args:
        units: width of the hidden scoring layer.
        use_bias: add ``b`` inside the ``tanh``.
        kernel_initializer: initializer of ``W_q``, ``W_k`` and ``v``.
        **kwargs: ``Layer`` arguments (``name``, ``dtype``...).
"""
        + _CALL_DOC
        + """
    Example:

    >>> attention = BahdanauAttention(units=16)
    >>> context, weights = attention(np.ones((2, 7, 8)), np.ones((2, 5, 6)))
    >>> context.shape, weights.shape
    ((2, 7, 6), (2, 7, 5))
"""
    )

    def __init__(self, units, use_bias=True, kernel_initializer="glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        self.units = check_positive_int("units", units)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)

    def build(self, query_shape, value_shape):
        self._check_shapes(query_shape, value_shape)
        init = self.kernel_initializer
        self.query_kernel = self.add_weight(
            shape=(query_shape[-1], self.units), initializer=init, name="query_kernel"
        )
        self.value_kernel = self.add_weight(
            shape=(value_shape[-1], self.units), initializer=init, name="value_kernel"
        )
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(shape=(self.units,), initializer="zeros", name="bias")
        self.score_vector = self.add_weight(
            shape=(self.units,), initializer=init, name="score_vector"
        )

    def _scores(self, query, value):
        hidden = (
            ops.matmul(query, self.query_kernel)[:, :, None, :]
            + ops.matmul(value, self.value_kernel)[:, None, :, :]
        )
        if self.bias is not None:
            hidden = hidden + self.bias
        return ops.sum(ops.tanh(hidden) * self.score_vector, axis=-1)

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "use_bias": self.use_bias,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
        }


@keras.saving.register_keras_serializable(package="recipes")
class LuongAttention(_EncoderDecoderAttention):
    __doc__ = (
        """Multiplicative attention of Luong, Pham and Manning (2015).

    ``score(s, h_j) = s . W h_j`` (``score="general"``, with a learned ``W`` of
    shape ``(value_features, query_features)``) or ``s . h_j`` (``score="dot"``,
    no weights; query and values must have the same width). With ``scale=True``
    the scores are divided by the square root of the query width, as in
    scaled dot-product attention.

    Args:
        score: ``"general"`` or ``"dot"``.
        scale: divide the scores by ``sqrt(query_features)``.
        kernel_initializer: initializer of ``W`` (``"general"`` only).
        **kwargs: ``Layer`` arguments (``name``, ``dtype``...).
"""
        + _CALL_DOC
        + """
    Example:

    >>> attention = LuongAttention()
    >>> context, weights = attention(np.ones((2, 8)), np.ones((2, 5, 6)))
    >>> context.shape, weights.shape
    ((2, 6), (2, 5))
"""
    )

    def __init__(
        self, score="general", scale=False, kernel_initializer="glorot_uniform", **kwargs
    ):
        super().__init__(**kwargs)
        self.score = check_choice("score", score, ("general", "dot"))
        self.scale = bool(scale)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)

    def build(self, query_shape, value_shape):
        self._check_shapes(query_shape, value_shape)
        self.kernel = None
        if self.score == "general":
            self.kernel = self.add_weight(
                shape=(value_shape[-1], query_shape[-1]),
                initializer=self.kernel_initializer,
                name="kernel",
            )
        elif query_shape[-1] != value_shape[-1]:
            raise ValueError(
                "LuongAttention(score='dot') needs queries and values of the same "
                f"width. Received: query_shape={query_shape}, value_shape={value_shape}"
            )

    def _scores(self, query, value):
        keys = value if self.kernel is None else ops.matmul(value, self.kernel)
        scores = ops.matmul(query, ops.transpose(keys, (0, 2, 1)))
        if self.scale:
            scores = scores / ops.sqrt(ops.cast(ops.shape(query)[-1], scores.dtype))
        return scores

    def get_config(self):
        return {
            **super().get_config(),
            "score": self.score,
            "scale": self.scale,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
        }
