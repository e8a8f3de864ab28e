"""Argument checks shared by builders and layers: fail early, name the argument."""

import keras
import numpy as np


def check_choice(name, value, allowed):
    """Raises ``ValueError`` unless ``value`` is one of ``allowed``.

    Example:

    >>> check_choice("kind", "logistic", ("perceptron", "logistic"))
    'logistic'
    """
    if value not in allowed:
        raise ValueError(
            f"`{name}` must be one of {', '.join(map(repr, allowed))}. Received: {name}={value!r}"
        )
    return value


def check_positive_int(name, value, minimum=1):
    """Raises ``ValueError`` unless ``value`` is an int >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"`{name}` must be an integer >= {minimum}. Received: {name}={value!r}")
    return value


def check_rate(name, value):
    """Raises ``ValueError`` unless ``0 <= value < 1`` (dropout-like rates)."""
    if not isinstance(value, (int, float)) or not 0 <= value < 1:
        raise ValueError(f"`{name}` must be in [0, 1). Received: {name}={value!r}")
    return float(value)


def check_positive_number(name, value):
    """Raises ``ValueError`` unless ``value`` is a number > 0 (an epsilon, a
    scale); returns it as a float.

    Example:

    >>> check_positive_number("epsilon", 1e-3)
    0.001
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ValueError(f"`{name}` must be a number > 0. Received: {name}={value!r}")
    return float(value)


def check_non_negative(name, value):
    """Raises ``ValueError`` unless ``value`` is a number >= 0."""
    if not isinstance(value, (int, float)) or value < 0:
        raise ValueError(f"`{name}` must be a number >= 0. Received: {name}={value!r}")
    return float(value)


def check_shape(name, value, ndim=None):
    """Returns ``value`` as a tuple of positive ints (``None`` allowed for free
    dimensions), checking its rank when ``ndim`` (an int or a tuple of ints) is
    given."""
    try:
        shape = tuple(value)
    except TypeError:
        raise ValueError(
            f"`{name}` must be a tuple of dimensions. Received: {name}={value!r}"
        ) from None
    if not shape or any(d is not None and (not isinstance(d, int) or d < 1) for d in shape):
        raise ValueError(
            f"`{name}` must be a non-empty tuple of positive integers. Received: {name}={value!r}"
        )
    ranks = (ndim,) if isinstance(ndim, int) else ndim
    if ranks is not None and len(shape) not in ranks:
        raise ValueError(
            f"`{name}` must have {' or '.join(map(str, ranks))} dimension(s). "
            f"Received: {name}={value!r}"
        )
    return shape


def check_augment(augment):
    """Raises ``ValueError`` unless ``augment`` is ``None`` or a Keras layer (such
    as ``recipes.augment.build_augmentation(...)``); returns it."""
    if augment is not None and not isinstance(augment, keras.layers.Layer):
        raise ValueError(f"`augment` must be a Keras layer or None. Received: augment={augment!r}")
    return augment


def check_bool(name, value):
    """Raises ``ValueError`` unless ``value`` is ``True`` or ``False``; returns it.

    Example:

    >>> check_bool("norm_first", True)
    True
    """
    if not isinstance(value, bool):
        raise ValueError(f"`{name}` must be True or False. Received: {name}={value!r}")
    return value


def check_int_tuple(name, values):
    """Returns ``values`` as a tuple of ints >= 1 (empty allowed), naming the
    first bad entry as ``name[i]``.

    Example:

    >>> check_int_tuple("filters", [6, 16])
    (6, 16)
    """
    try:
        values = tuple(values)
    except TypeError:
        raise ValueError(
            f"`{name}` must be a tuple of integers. Received: {name}={values!r}"
        ) from None
    for i, value in enumerate(values):
        check_positive_int(f"{name}[{i}]", value)
    return values


def check_layer_widths(units, num_layers=None):
    """The width of each layer of a stack: ``units`` is one int (repeated
    ``num_layers`` times, default once) or a non-empty tuple of ints (whose
    length ``num_layers``, when given, must match).

    Example:

    >>> check_layer_widths(32, num_layers=2)
    (32, 32)
    """
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
    check_int_tuple("units", widths)
    if num_layers is not None and num_layers != len(widths):
        raise ValueError(
            "`num_layers` must match the length of `units` when both are given. "
            f"Received: units={units!r}, num_layers={num_layers!r}"
        )
    return widths


def check_tagged_tuples(name, values, forms):
    """Returns ``values`` as a tuple of ``(tag, *ints)`` tuples, each tag a key
    of ``forms`` followed by one int >= 1 per name in ``forms[tag]``.

    Example:

    >>> forms = {"inception": ("filters_1x1", "filters_3x3"), "downsample": ("filters_3x3",)}
    >>> check_tagged_tuples("modules", [("downsample", 80)], forms)
    (('downsample', 80),)
    """
    shapes = " or ".join(f"({', '.join((repr(tag), *names))})" for tag, names in forms.items())
    checked = []
    for i, value in enumerate(tuple(values)):
        value = tuple(value) if isinstance(value, (tuple, list)) else (value,)
        if not value or value[0] not in forms or len(value) != 1 + len(forms[value[0]]):
            raise ValueError(f"`{name}[{i}]` must be {shapes}. Received: {value!r}")
        for j, width in enumerate(value[1:], start=1):
            check_positive_int(f"{name}[{i}][{j}]", width)
        checked.append(value)
    return tuple(checked)


def check_sides_divisible(input_shape, factor, reason, known=False):
    """Raises ``ValueError`` unless the height and width of an ``(height, width,
    channels)`` shape divide by ``factor`` (free ``None`` sides pass unless
    ``known``). ``reason`` says what the factor is, e.g. ``"8 (3 poolings)"``.

    Example:

    >>> check_sides_divisible((30, 32, 3), 4, "4 (2 poolings)")
    Traceback (most recent call last):
    ValueError: `input_shape` height and width must be divisible by 4 (2 poolings)...
    """
    sides = tuple(input_shape)[:2]
    must = "known and divisible" if known else "divisible"
    if (known and None in sides) or any(side is not None and side % factor for side in sides):
        raise ValueError(
            f"`input_shape` height and width must be {must} by {reason}. "
            f"Received: input_shape={input_shape!r}"
        )
    return input_shape


def check_depth_form(depth, step, context=""):
    """Raises ``ValueError`` unless ``depth`` is ``step * n + 2`` for an int
    ``n >= 1`` (a stem, ``n`` stages of ``step`` layers and a head); returns it.

    Example:

    >>> check_depth_form(20, 6, " for block='basic'")
    20
    """
    if (
        isinstance(depth, bool)
        or not isinstance(depth, int)
        or depth < step + 2
        or (depth - 2) % step
    ):
        examples = ", ".join(str(step * n + 2) for n in (1, 3, 5, 7, 9, 18))
        raise ValueError(
            f"`depth` must be {step}n+2{context} (e.g. {examples}). Received: depth={depth!r}"
        )
    return depth


def check_cell(cell, names):
    """Returns ``cell`` if it is one of ``names`` (recurrent cell names such as
    ``recipes.layers.recurrent.CELLS``) or a callable ``units -> cell`` (a cell
    class such as ``recipes.layers.MGUCell``); a cell instance is refused, so
    that each layer gets its own cell.

    Example:

    >>> check_cell("gru", ("lstm", "gru"))
    'gru'
    """
    if isinstance(cell, str):
        return check_choice("cell", cell, names)
    if isinstance(cell, keras.layers.Layer) or not callable(cell):
        raise ValueError(
            f"`cell` must be one of {', '.join(map(repr, names))} or a cell class (a "
            "callable taking `units`, e.g. recipes.layers.MGUCell), not a cell "
            f"instance, so that each layer gets its own cell. Received: cell={cell!r}"
        )
    return cell


def check_token_ids(sequences, vocab_size, name="sequences"):
    """Returns ``sequences`` as a NumPy int array ``(texts, steps)`` whose ids
    lie in ``[0, vocab_size)`` (0 is padding).

    Example:

    >>> check_token_ids([[2, 3, 0]], vocab_size=5).shape
    (1, 3)
    """
    sequences = np.asarray(sequences)
    if sequences.ndim != 2 or not np.issubdtype(sequences.dtype, np.integer):
        raise ValueError(
            f"`{name}` must be int token ids of shape (texts, steps), 0 for padding. "
            f"Received: shape {sequences.shape}, dtype {sequences.dtype}"
        )
    if sequences.size and (sequences.min() < 0 or sequences.max() >= vocab_size):
        raise ValueError(
            f"Token ids must lie in [0, vocab_size={vocab_size}). Received ids "
            f"from {sequences.min()} to {sequences.max()}"
        )
    return sequences


TRANSFORMER_ACTIVATIONS = ("relu", "gelu", "swish", "tanh")


def check_transformer_arguments(
    embed_dim, num_heads, feed_forward_dim, num_layers, dropout, activation, norm_first=False
):
    """Checks the arguments of a stack of transformer blocks: positive sizes,
    ``embed_dim`` divisible by ``num_heads``, a dropout rate, one of
    ``TRANSFORMER_ACTIVATIONS`` and a boolean ``norm_first``.

    Example:

    >>> check_transformer_arguments(10, 4, 32, 2, 0.1, "gelu")
    Traceback (most recent call last):
    ValueError: `embed_dim` must be divisible by `num_heads`...
    """
    check_positive_int("embed_dim", embed_dim)
    check_positive_int("num_heads", num_heads)
    if embed_dim % num_heads:
        raise ValueError(
            f"`embed_dim` must be divisible by `num_heads`. Received: embed_dim={embed_dim}, "
            f"num_heads={num_heads}"
        )
    check_positive_int("feed_forward_dim", feed_forward_dim)
    check_positive_int("num_layers", num_layers)
    check_rate("dropout", dropout)
    check_choice("activation", activation, TRANSFORMER_ACTIVATIONS)
    check_bool("norm_first", norm_first)


def check_sequence_length(name, shape, positional):
    """The length of a ``(length,)`` shape; learned positions need it known.

    Example:

    >>> check_sequence_length("input_shape", (None,), "sinusoidal") is None
    True
    """
    if positional == "learned" and shape[0] is None:
        raise ValueError(
            f"Learned positions need a known sequence length: give `{name}` as "
            f"(length,), or use positional='sinusoidal'. Received: {name}={shape}"
        )
    return shape[0]


def check_number(name, value, low=0.0, high=float("inf"), low_open=True):
    """Returns ``value`` as a float, raising ``ValueError`` unless it is a number
    in ``(low, high)`` (``[low, high)`` when ``low_open`` is False).

    Example:

    >>> check_number("label_smoothing", 0.2, 0.0, 1.0, low_open=False)
    0.2
    """
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not ((low < value if low_open else low <= value) and value < high)
    ):
        bracket = "(" if low_open else "["
        raise ValueError(
            f"`{name}` must be a number in {bracket}{low:g}, {high:g}). Received: {name}={value!r}"
        )
    return float(value)


def check_per_channel(name, value, channels):
    """Returns ``value`` as a tuple of ``channels`` numbers (one per input channel,
    such as a normalisation mean).

    Example:

    >>> check_per_channel("mean", [0.5, 0.5, 0.5], channels=3)
    (0.5, 0.5, 0.5)
    """
    values = tuple(value) if isinstance(value, (tuple, list)) else None
    if (
        values is None
        or len(values) != channels
        or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
    ):
        raise ValueError(
            f"`{name}` must be {channels} numbers, one per input channel. "
            f"Received: {name}={value!r}"
        )
    return values


def check_layer_sizes(name, values):
    """Returns the widths (or filter counts) of a stack of layers as a non-empty
    tuple of ints >= 1, naming the first bad entry as ``name[i]``.

    Example:

    >>> check_layer_sizes("generator_units", [256, 512])
    (256, 512)
    """
    values = check_int_tuple(name, values)
    if not values:
        raise ValueError(
            f"`{name}` must hold at least one width (or filter count), one per layer. "
            f"Received: {name}={values!r}"
        )
    return values


def check_known_shape(name, value, ndim=None):
    """``check_shape`` for shapes that must be fully known (no ``None``), such as
    the samples a generative model draws.

    Example:

    >>> check_known_shape("input_shape", [28, 28, 1], ndim=3)
    (28, 28, 1)
    """
    shape = check_shape(name, value, ndim=ndim)
    if None in shape:
        raise ValueError(f"`{name}` must be fully known (no None). Received: {name}={value!r}")
    return shape


def check_keys(name, value, keys, what="key"):
    """Returns ``value`` as a dict whose keys are among ``keys`` (``None`` gives
    an empty dict), such as per-head loss weights of a model with several heads.

    Args:
        name: the argument's name.
        value: ``None`` or a dict.
        keys: the allowed keys.
        what: what a key names, for the error (``"head"``...).

    Example:

    >>> check_keys("loss_weights", {"label": 0.5}, ("label", "domain"), what="head")
    {'label': 0.5}
    """
    if value is None:
        return {}
    allowed = f"{', '.join(map(repr, keys))} (or some of them)"
    if not isinstance(value, dict):
        raise ValueError(
            f"`{name}` must be a dict with keys {allowed}. Received: {name}={value!r}"
        )
    unknown = sorted(map(repr, set(value) - set(keys)))
    if unknown:
        raise ValueError(
            f"`{name}` names unknown {what}(s) {', '.join(unknown)}: `{name}` must be a dict "
            f"with keys {allowed}. Received: {name}={value!r}"
        )
    return dict(value)


def check_fraction(name, value):
    """Returns ``value`` as a float, raising ``ValueError`` unless it is a number
    in ``[0, 1]`` (a probability or a share).

    Example:

    >>> check_fraction("negation", 0.5)
    0.5
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise ValueError(f"`{name}` must be in [0, 1]. Received: {name}={value!r}")
    return float(value)


def check_no_sample_weight(sample_weight, model):
    """Raises ``ValueError`` if ``sample_weight`` is given: the models that compute
    their own loss (VAE, GANs, flows) do not weight samples. Called from their
    ``compute_loss``; ``model`` names the model in the message.

    Example:

    >>> check_no_sample_weight(None, "VAE")
    """
    if sample_weight is not None:
        raise ValueError(
            f"A {model} does not support `sample_weight` or `class_weight` in fit or "
            "evaluate: its loss averages over the batch."
        )
