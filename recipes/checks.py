"""Every argument check of the package: fail early, name the argument.

Builders, layers, losses and tools check their arguments with these functions,
which raise ``ValueError("`x` must be ... Received: x=...")`` and return the value
(normalised where it helps, e.g. a tuple). Four sections: values (choices,
numbers, flags, objects), shapes and layer sizes, data (samples, labels, token
ids, splits), and the rules of the model families (arguments that must agree).

Example:

>>> filters = check_layer_sizes("filters", [32, 64])
>>> check_choice("pooling", "max", ("max", "average"))
'max'
"""

import keras
import numpy as np

# -- Values: choices, numbers, flags and objects ----------------------------------------


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


# The output activations of models that generate samples (autoencoders, GANs,
# pix2pix): data in [0, 1], in [-1, 1], or real values.
SAMPLE_ACTIVATIONS = ("sigmoid", "tanh", "linear")


def check_sample_activation(output_activation):
    """Raises ``ValueError`` unless ``output_activation`` is one of
    ``SAMPLE_ACTIVATIONS``, the output activations of models that generate
    samples: ``"sigmoid"`` for data in [0, 1], ``"tanh"`` for [-1, 1],
    ``"linear"`` for real values.

    Example:

    >>> check_sample_activation("softmax")
    Traceback (most recent call last):
    ValueError: `output_activation` must be one of 'sigmoid', 'tanh', 'linear'. ...
    """
    return check_choice("output_activation", output_activation, SAMPLE_ACTIVATIONS)


def check_bool(name, value):
    """Raises ``ValueError`` unless ``value`` is ``True`` or ``False``; returns it.

    Example:

    >>> check_bool("norm_first", True)
    True
    """
    if not isinstance(value, bool):
        raise ValueError(f"`{name}` must be True or False. Received: {name}={value!r}")
    return value


def check_positive_int(name, value, minimum=1):
    """Raises ``ValueError`` unless ``value`` is an int >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"`{name}` must be an integer >= {minimum}. Received: {name}={value!r}")
    return value


def check_integer(name, value, minimum=1):
    """Returns ``value``, raising ``ValueError`` unless it is an int or a NumPy int
    (as scikit-learn's parameter grids give them) >= ``minimum``.

    Example:

    >>> check_integer("epochs", np.int64(5))
    np.int64(5)
    """
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"`{name}` must be an integer >= {minimum}. Received: {name}={value!r}")
    return value


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


def check_rate(name, value):
    """Raises ``ValueError`` unless ``0 <= value < 1`` (dropout-like rates)."""
    if not isinstance(value, (int, float)) or not 0 <= value < 1:
        raise ValueError(f"`{name}` must be in [0, 1). Received: {name}={value!r}")
    return float(value)


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


def check_open_fraction(name, value):
    """Returns ``value`` as a float, raising ``ValueError`` unless it is a number
    in ``(0, 1)`` (a quantile, a share strictly between none and all).

    Example:

    >>> check_open_fraction("quantile", 0.99)
    0.99
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1:
        raise ValueError(f"`{name}` must be in (0, 1). Received: {name}={value!r}")
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
    """Raises ``ValueError`` unless ``value`` is a number >= 0 (not a bool);
    returns it as a float."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ValueError(f"`{name}` must be a number >= 0. Received: {name}={value!r}")
    return float(value)


def check_seed(seed):
    """Returns ``seed``, raising ``ValueError`` unless it is ``None`` or an int (a
    layer's random seed, kept in its config).

    Example:

    >>> check_seed(1.5)
    Traceback (most recent call last):
    ValueError: `seed` must be None or an int. Received: seed=1.5
    """
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise ValueError(f"`seed` must be None or an int. Received: seed={seed!r}")
    return seed


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


def check_unset(arguments, reason):
    """Raises ``ValueError`` if any of ``arguments`` (a dict name -> value) is not
    ``None``: ``reason`` says where their values come from instead.

    Example:

    >>> check_unset({"embed_dim": 64, "num_layers": None}, "The encoder sets them")
    Traceback (most recent call last):
    ValueError: The encoder sets them: leave embed_dim as None.
    """
    given = sorted(key for key, value in arguments.items() if value is not None)
    if given:
        raise ValueError(f"{reason}: leave {', '.join(given)} as None.")


LAYER_OR_MODEL = "a Keras layer or model"
"""What ``check_instance(name, value, keras.layers.Layer, LAYER_OR_MODEL)`` asks for."""


def check_instance(name, value, types, what):
    """Returns ``value``, raising ``ValueError`` unless it is an instance of
    ``types``; ``what`` says what it must be, for the message.

    Example:

    >>> check_instance("encoder", "dense", keras.layers.Layer, LAYER_OR_MODEL)
    Traceback (most recent call last):
    ValueError: `encoder` must be a Keras layer or model. Received: encoder='dense'
    """
    if not isinstance(value, types):
        raise ValueError(f"`{name}` must be {what}. Received: {name}={value!r}")
    return value


def check_callable(name, value):
    """Returns ``value``, raising ``ValueError`` unless it is callable (a schedule,
    a builder...).

    Example:

    >>> check_callable("schedule", 0.1)
    Traceback (most recent call last):
    ValueError: `schedule` must be callable. Received: schedule=0.1
    """
    if not callable(value):
        raise ValueError(f"`{name}` must be callable. Received: {name}={value!r}")
    return value


def check_activation_name(activation):
    """Returns ``activation``, raising ``ValueError`` unless it is the name of a
    Keras activation (a name keeps a layer's config plain).

    Example:

    >>> check_activation_name("relu")
    'relu'
    """
    if not isinstance(activation, str):
        raise ValueError(
            f"`activation` must be an activation name. Received: activation={activation!r}"
        )
    keras.activations.get(activation)  # raises on unknown names
    return activation


def check_augment(augment):
    """Raises ``ValueError`` unless ``augment`` is ``None`` or a Keras layer (such
    as ``recipes.augment.build_augmentation(...)``); returns it."""
    if augment is not None and not isinstance(augment, keras.layers.Layer):
        raise ValueError(f"`augment` must be a Keras layer or None. Received: augment={augment!r}")
    return augment


# -- Shapes and layer sizes -------------------------------------------------------------


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


def check_positive_ints(name, values):
    """Returns ``values`` as a non-empty tuple of positive ints, one message for any
    fault (the widths of a fixed design, such as airbench's conv groups).

    Example:

    >>> check_positive_ints("widths", [64, 256, 256])
    (64, 256, 256)
    """
    if (
        not isinstance(values, (tuple, list))
        or not values
        or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in values)
    ):
        raise ValueError(
            f"`{name}` must be a non-empty tuple of positive integers. Received: {name}={values!r}"
        )
    return tuple(values)


def check_nested_sizes(name, values):
    """Returns ``values`` as a non-empty tuple of non-empty tuples of ints >= 1
    (the layer widths of each block of a network), naming a bad entry as
    ``name[i][j]``.

    Example:

    >>> check_nested_sizes("blocks", [[32, 64], [128]])
    ((32, 64), (128,))
    """
    nested = tuple(check_int_tuple(f"{name}[{i}]", block) for i, block in enumerate(values))
    if not nested or not all(nested):
        raise ValueError(
            f"`{name}` must be a non-empty tuple of non-empty tuples. Received: {name}={nested!r}"
        )
    return nested


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


def check_layer_indices(name, values, num_layers):
    """Returns ``values`` as a tuple of 1-based layer indices, each an int from 1 to
    ``num_layers`` (the layers followed by a pooling, say).

    Example:

    >>> check_layer_indices("pool_after", [2], num_layers=6)
    (2,)
    """
    values = tuple(values)
    for i, layer in enumerate(values):
        if not isinstance(layer, int) or not 1 <= layer <= num_layers:
            raise ValueError(
                f"`{name}[{i}]` must be a layer index from 1 to {num_layers}. "
                f"Received: {name}={values}"
            )
    return values


def check_per_channel(name, value, channels, positive=False):
    """Returns ``value`` as a tuple of ``channels`` numbers (one per input channel,
    such as a normalisation mean), each > 0 when ``positive`` (a standard
    deviation).

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
    if positive and min(values) <= 0:
        raise ValueError(f"`{name}` must be > 0. Received: {name}={value!r}")
    return values


def check_sides_divisible(input_shape, factor, reason, known=False, name="input_shape"):
    """Raises ``ValueError`` unless the height and width of an ``(height, width,
    channels)`` shape divide by ``factor`` (free ``None`` sides pass unless
    ``known``). ``reason`` says what the factor is, e.g. ``"8 (3 poolings)"``;
    ``name`` names the shape's argument.

    Example:

    >>> check_sides_divisible((30, 32, 3), 4, "4 (2 poolings)")
    Traceback (most recent call last):
    ValueError: `input_shape` height and width must be divisible by 4 (2 poolings)...
    """
    sides = tuple(input_shape)[:2]
    must = "known and divisible" if known else "divisible"
    if (known and None in sides) or any(side is not None and side % factor for side in sides):
        raise ValueError(
            f"`{name}` height and width must be {must} by {reason}. "
            f"Received: {name}={input_shape!r}"
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


def check_map_sizes(input_shape, num_layers, kernel_size, padding, pool_after):
    """Raises ``ValueError`` unless, through ``num_layers`` convolutions of
    ``kernel_size`` (``padding`` ``"valid"`` or ``"same"``) with a 2x2 max-pooling
    after the layers of ``pool_after``, every map of an ``(height, width,
    channels)`` input stays non-empty and has even sides where it is pooled (in a
    rotation-equivariant network an odd map would be pooled differently once
    turned, breaking the invariance). Free ``None`` sides pass.

    Example:

    >>> check_map_sizes((9, 9, 1), 2, 3, "valid", pool_after=(1,))
    Traceback (most recent call last):
    ValueError: With input_shape=(9, 9, 1) the map after layer 1 is (7, 7)...
    """
    sizes = list(input_shape[:2])
    for layer in range(1, num_layers + 1):
        if padding == "valid":
            sizes = [None if s is None else s - kernel_size + 1 for s in sizes]
        if any(s is not None and s < 1 for s in sizes):
            raise ValueError(
                f"`input_shape` {input_shape} is too small: layer {layer} of "
                f"{num_layers} with kernel_size={kernel_size} and padding='{padding}' "
                "leaves no pixel."
            )
        if layer in pool_after:
            if any(s is not None and s % 2 for s in sizes):
                raise ValueError(
                    f"With input_shape={input_shape} the map after layer {layer} is "
                    f"{tuple(sizes)}: max-pooling needs even sides to stay rotation "
                    "invariant. Change `input_shape`, `padding` or `pool_after`."
                )
            sizes = [None if s is None else s // 2 for s in sizes]


def check_whitening_side(input_shape, kernel, poolings):
    """The smallest side of an ``(height, width, channels)`` image after the
    "valid" ``kernel x kernel`` whitening convolution of an airbench-style network,
    raising ``ValueError`` unless it survives ``poolings`` halvings (one per conv
    group of ``widths``).

    Example:

    >>> check_whitening_side((32, 32, 3), kernel=2, poolings=3)
    31
    """
    smallest = min(input_shape[:2]) - kernel + 1
    if smallest < 2**poolings:
        raise ValueError(
            f"`input_shape` {input_shape} is too small: after the {kernel}x{kernel} "
            f"whitening convolution its sides must be >= 2**len(widths) = "
            f"{2**poolings} for {poolings} poolings."
        )
    return smallest


def check_shift(name, value, limit):
    """Returns ``value``, raising ``ValueError`` unless it is an int in ``[0, limit)``
    (a shift in pixels).

    Example:

    >>> check_shift("translate", 2, limit=15)
    2
    """
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < limit:
        raise ValueError(
            f"`{name}` must be an integer in [0, {limit}) (pixels). Received: {name}={value!r}"
        )
    return value


def check_sequence_shape(layer, input_shape):
    """Raises ``ValueError`` unless ``input_shape`` is ``(batch, length,
    features)`` with known features (what a sequence layer builds its weights
    for); ``layer`` names the layer in the message.

    Example:

    >>> check_sequence_shape("ClassToken", (None, 16))
    Traceback (most recent call last):
    ValueError: ClassToken needs (batch, length, features) inputs with known features...
    """
    if len(input_shape) != 3 or input_shape[-1] is None:
        raise ValueError(
            f"{layer} needs (batch, length, features) inputs with known features. "
            f"Received: input_shape={input_shape}"
        )


def check_squeezable(factor, input_shape):
    """Raises ``ValueError`` unless ``input_shape`` is that of images ``(batch,
    height, width, channels)`` whose free or known sides divide by ``factor``
    (what ``recipes.layers.Squeeze`` folds into the channels).

    Example:

    >>> check_squeezable(2, (None, 5, 4, 3))
    Traceback (most recent call last):
    ValueError: Squeeze needs a height and width divisible by factor=2...
    """
    if len(input_shape) != 4:
        raise ValueError(
            "Squeeze expects images (batch, height, width, channels). "
            f"Received: input_shape={tuple(input_shape)}"
        )
    if any(side is not None and side % factor for side in input_shape[1:3]):
        raise ValueError(
            f"Squeeze needs a height and width divisible by factor={factor}. "
            f"Received: input_shape={tuple(input_shape)}"
        )


def check_unsqueezable(factor, input_shape):
    """Raises ``ValueError`` unless ``input_shape`` is that of images ``(batch,
    height, width, channels)`` whose channels divide by ``factor ** 2`` (what
    ``recipes.layers.Unsqueeze`` spreads over space).

    Example:

    >>> check_unsqueezable(2, (None, 4, 4, 6))
    Traceback (most recent call last):
    ValueError: Unsqueeze needs channels divisible by factor**2 = 4...
    """
    if len(input_shape) != 4:
        raise ValueError(
            "Unsqueeze expects images (batch, height, width, channels). "
            f"Received: input_shape={tuple(input_shape)}"
        )
    channels = input_shape[-1]
    if channels is not None and channels % (factor * factor):
        raise ValueError(
            f"Unsqueeze needs channels divisible by factor**2 = {factor * factor}. "
            f"Received: input_shape={tuple(input_shape)}"
        )


def check_event_shape(event_shape, num_scales):
    """Returns the shape of one sample of a normalizing flow as a tuple: fully
    known, ``(features,)`` with at least 2 features (a coupling transforms half of
    them) or ``(height, width, channels)`` with sides divisible by
    ``2 ** num_scales`` (one halving per squeeze).

    Example:

    >>> check_event_shape((6, 6, 1), num_scales=2)
    Traceback (most recent call last):
    ValueError: `event_shape` height and width must be divisible by 2**num_scales = 4...
    """
    event_shape = check_known_shape("event_shape", event_shape, ndim=(1, 3))
    if len(event_shape) == 1 and event_shape[0] < 2:
        raise ValueError(
            f"A flow on vectors needs at least 2 features. Received: event_shape={event_shape}"
        )
    if len(event_shape) == 3:
        factor = 2**num_scales
        check_sides_divisible(event_shape, factor, f"2**num_scales = {factor}", name="event_shape")
    return event_shape


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


def check_known_length(name, shape):
    """Returns the length of a ``(length,)`` shape, raising ``ValueError`` when it
    is ``None``: learned positions need to know how many there are.

    Example:

    >>> check_known_length("input_shape", (None,))
    Traceback (most recent call last):
    ValueError: Learned positions need a known length: give `input_shape` as (length,)...
    """
    if shape[0] is None:
        raise ValueError(
            f"Learned positions need a known length: give `{name}` as (length,). "
            f"Received: {name}={shape}"
        )
    return shape[0]


# -- Data: samples, labels, token ids, splits -------------------------------------------


def check_samples(name, x):
    """Returns ``x`` as a NumPy array holding one or more samples (``ndim >= 2``:
    samples first).

    Example:

    >>> check_samples("x", np.zeros((3, 4))).shape
    (3, 4)
    """
    x = np.asarray(x)
    if x.ndim < 2 or len(x) == 0:
        raise ValueError(
            f"`{name}` must be a non-empty batch of samples. Received shape: {x.shape}"
        )
    return x


def check_same_length(first, second, names=("x", "y")):
    """Raises ``ValueError`` unless two arrays (samples and their labels, say)
    have the same length; ``names`` names them in the message.

    Example:

    >>> check_same_length(np.zeros(3), np.zeros(2))
    Traceback (most recent call last):
    ValueError: `x` and `y` must have the same length. Received: 3 and 2
    """
    if len(first) != len(second):
        raise ValueError(
            f"`{names[0]}` and `{names[1]}` must have the same length. "
            f"Received: {len(first)} and {len(second)}"
        )


def check_finite(name, values):
    """Raises ``ValueError`` if a floating-point NumPy array holds NaN or infinite
    values (anything else passes); returns ``values``.

    Example:

    >>> check_finite("x", np.array([1.0, np.nan]))
    Traceback (most recent call last):
    ValueError: `x` must hold finite numbers: 1 NaN or infinite value(s)...
    """
    if isinstance(values, np.ndarray) and np.issubdtype(values.dtype, np.floating):
        bad = np.argwhere(~np.isfinite(values))
        if len(bad):
            raise ValueError(
                f"`{name}` must hold finite numbers: {len(bad)} NaN or infinite value(s), "
                f"the first at index {tuple(map(int, bad[0]))}. "
                f"Received: {name} of shape {values.shape}"
            )
    return values


def check_same_sample_shape(first, second, names=("x", "y")):
    """Raises ``ValueError`` unless two batches of samples have the same shape
    past their first axis; ``names`` names them in the message.

    Example:

    >>> check_same_sample_shape(np.zeros((3, 2)), np.zeros((5, 4)), ("x_source", "x_target"))
    Traceback (most recent call last):
    ValueError: `x_source` and `x_target` must have the same sample shape...
    """
    if first.shape[1:] != second.shape[1:]:
        raise ValueError(
            f"`{names[0]}` and `{names[1]}` must have the same sample shape. Received: "
            f"{first.shape[1:]} and {second.shape[1:]}"
        )


def check_class_labels(labels, num_classes, num_samples=None):
    """Returns ``labels`` as a flat int32 NumPy array of one or more class ids in
    ``[0, num_classes)``, ``num_samples`` of them when given (the classes a
    conditional generator is asked for).

    Example:

    >>> check_class_labels([3, 3, 7], num_classes=10)
    array([3, 3, 7], dtype=int32)
    """
    labels = np.asarray(labels, "int32").reshape(-1)
    if num_samples is not None and num_samples != len(labels):
        raise ValueError(
            f"`num_samples` ({num_samples}) must equal the number of labels ({len(labels)})."
        )
    if labels.size == 0 or labels.min() < 0 or labels.max() >= num_classes:
        raise ValueError(f"`labels` must be class ids in [0, {num_classes}). Received: {labels}")
    return labels


def check_token_ids(sequences, vocab_size, name="sequences", require_tokens=False):
    """Returns ``sequences`` as a NumPy int array ``(texts, steps)`` whose ids
    lie in ``[0, vocab_size)`` (0 is padding), holding at least one token (not
    all padding) when ``require_tokens``.

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
    if require_tokens and not sequences.any():
        raise ValueError(f"`{name}` hold no token (all padding).")
    return sequences


def check_id_batch(name, ids, min_steps=None):
    """Returns ``ids`` as a NumPy array of shape ``(batch, steps)`` (token ids),
    with at least ``min_steps`` steps when given.

    Example:

    >>> check_id_batch("sequences", [[5, 6, 7]], min_steps=2).shape
    (1, 3)
    """
    ids = np.asarray(ids)
    if ids.ndim != 2 or (min_steps is not None and ids.shape[1] < min_steps):
        steps = "steps" if min_steps is None else f"steps >= {min_steps}"
        raise ValueError(
            f"`{name}` must be int ids of shape (batch, {steps}). Received shape: {ids.shape}"
        )
    return ids


def check_prompt(prompt):
    """Returns a generation prompt (a list of token ids, or ``(batch, steps)`` ids)
    as an int32 array ``(batch, steps)`` holding at least one token per row.

    Example:

    >>> check_prompt([3, 4]).shape
    (1, 2)
    """
    tokens = np.asarray(prompt, "int32")
    tokens = tokens[None] if tokens.ndim == 1 else tokens
    if tokens.ndim != 2 or tokens.shape[1] < 1:
        raise ValueError(f"`prompt` must hold at least one token id. Received: {prompt!r}")
    return tokens


def check_vocabulary(vocabulary, vocab_size):
    """Returns ``vocabulary`` as a list of ``vocab_size`` strings, the word of
    each id.

    Example:

    >>> check_vocabulary(["", "[UNK]", "cat"], vocab_size=3)
    ['', '[UNK]', 'cat']
    """
    vocabulary = [str(word) for word in vocabulary]
    if len(vocabulary) != vocab_size:
        raise ValueError(
            f"`vocabulary` must name each of the {vocab_size} ids. Received "
            f"{len(vocabulary)} words."
        )
    return vocabulary


def check_target_id(name, value, vocab_size):
    """Returns ``value``, raising ``ValueError`` unless it is a token id in
    ``[1, vocab_size)`` (a decoder's start or end token).

    Example:

    >>> check_target_id("end_id", 13, vocab_size=13)
    Traceback (most recent call last):
    ValueError: `end_id` must be a target token id below target_vocab_size=13...
    """
    check_positive_int(name, value)
    if value >= vocab_size:
        raise ValueError(
            f"`{name}` must be a target token id below target_vocab_size="
            f"{vocab_size}. Received: {name}={value!r}"
        )
    return value


def check_split(split, splits):
    """Returns ``split``, raising ``ValueError`` unless it is one of ``splits`` (a
    dataset's split names).

    Example:

    >>> check_split("dev", ("train", "validation", "test"))
    Traceback (most recent call last):
    ValueError: `split` must be one of train, validation, test. Received: split='dev'
    """
    if split not in splits:
        raise ValueError(f"`split` must be one of {', '.join(splits)}. Received: split={split!r}")
    return split


def check_clip_range(clip_range):
    """Returns ``clip_range`` as ``None`` or a ``(low, high)`` pair of floats with
    ``low < high`` (the range that inputs are clipped to).

    Example:

    >>> check_clip_range([0, 1])
    (0.0, 1.0)
    """
    if clip_range is None:
        return None
    try:
        low, high = (float(v) for v in clip_range)
    except (TypeError, ValueError):
        raise ValueError(
            f"`clip_range` must be None or a (low, high) pair. Received: clip_range={clip_range!r}"
        ) from None
    if not low < high:
        raise ValueError(f"`clip_range` must have low < high. Received: clip_range={clip_range!r}")
    return (low, high)


def check_masking_rates(rate, mask_rate, random_rate):
    """Raises ``ValueError`` unless the rates of BERT's masking are fractions in
    ``[0, 1]``: ``rate`` of the tokens chosen, ``mask_rate`` of those masked and
    ``random_rate`` replaced at random, with ``mask_rate + random_rate <= 1``.

    Example:

    >>> check_masking_rates(0.15, 0.8, 0.3)
    Traceback (most recent call last):
    ValueError: `mask_rate + random_rate` must be <= 1...
    """
    check_fraction("rate", rate)
    check_fraction("mask_rate", mask_rate)
    check_fraction("random_rate", random_rate)
    if mask_rate + random_rate > 1:
        raise ValueError(
            "`mask_rate + random_rate` must be <= 1. Received: "
            f"mask_rate={mask_rate}, random_rate={random_rate}"
        )


def check_episode_classes(index, n_way, k_shot, n_query):
    """Raises ``ValueError`` unless N-way K-shot episodes can be drawn from
    classes whose samples are ``index`` (class -> sample indices): at least
    ``n_way`` classes, each with ``k_shot + n_query`` samples.

    Example:

    >>> check_episode_classes({0: [0, 1], 1: [2]}, n_way=2, k_shot=1, n_query=1)
    Traceback (most recent call last):
    ValueError: `k_shot + n_query` = 2 samples are needed per class; classes [1] have fewer.
    """
    if len(index) < n_way:
        raise ValueError(
            f"`n_way` must be at most the number of classes ({len(index)}). "
            f"Received: n_way={n_way}"
        )
    needed = k_shot + n_query
    short = [c for c, samples in index.items() if len(samples) < needed]
    if short:
        raise ValueError(
            f"`k_shot + n_query` = {needed} samples are needed per class; classes "
            f"{short} have fewer."
        )


# -- The rules of model families --------------------------------------------------------


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


def check_resnet_depth(depth, variant, block, step):
    """The depth of a residual network: 9 for ``variant="resnet9"`` (which has its
    own blocks: ``depth`` must be None or 9 and ``block`` ``"basic"``), else
    ``depth`` itself (``None``: the builder's default), of the form ``step * n + 2``.

    Example:

    >>> check_resnet_depth(None, "resnet9", "basic", step=6)
    9
    """
    if variant == "resnet9" and block != "basic":
        raise ValueError(
            f"variant='resnet9' has its own blocks; leave `block` 'basic'. Received: "
            f"block={block!r}"
        )
    if variant == "resnet9":
        if depth not in (None, 9):
            raise ValueError(
                f"variant='resnet9' has depth 9; leave `depth` None. Received: depth={depth!r}"
            )
        return 9
    if depth is not None:
        check_depth_form(depth, step, f" for block={block!r}")
    return depth


def check_linear_kind(kind, num_classes, margin):
    """The ``num_classes`` and ``margin`` of a linear model of ``kind``
    (``"perceptron"``, ``"logistic"``, ``"softmax"`` or ``"linear"``), defaults
    filled in: 2 classes (1 target for ``"linear"``), exactly 2 for
    ``"logistic"``, and a hinge margin >= 0 (default 1.0) for the perceptron only.

    Example:

    >>> check_linear_kind("perceptron", None, None)
    (2, 1.0)
    """
    if num_classes is None:
        num_classes = 1 if kind == "linear" else 2
    check_positive_int("num_classes", num_classes, minimum=1 if kind == "linear" else 2)
    if kind == "logistic" and num_classes != 2:
        raise ValueError(
            "kind='logistic' is binary: `num_classes` must be 2 (use kind='softmax' "
            f"for more classes). Received: num_classes={num_classes!r}"
        )
    if margin is not None and kind != "perceptron":
        raise ValueError(
            f"`margin` is the perceptron's hinge margin; leave it None for kind={kind!r}. "
            f"Received: margin={margin!r}"
        )
    return num_classes, 1.0 if margin is None else check_non_negative("margin", margin)


def check_rnn_mode(mode, representation, vocab_size, mask_value, output_length):
    """Raises ``ValueError`` unless a recurrent network's other arguments suit its
    ``mode`` (``"seq2vec"``, ``"seq2seq"`` or ``"vec2seq"``): the ``"sentence"``
    representation (the last states) and token inputs (``vocab_size``) need a
    sequence in, ``mask_value`` needs float sequences in, and ``output_length``
    (an int >= 1) goes with ``"vec2seq"`` and only there.

    Example:

    >>> check_rnn_mode("vec2seq", "token", None, None, output_length=None)
    Traceback (most recent call last):
    ValueError: `output_length` is required with mode='vec2seq' and only there...
    """
    if representation == "sentence" and mode != "seq2vec":
        raise ValueError(
            "`representation='sentence'` (the last states) needs mode='seq2vec'. "
            f"Received: mode={mode!r}, representation={representation!r}"
        )
    if vocab_size is not None and mode == "vec2seq":
        raise ValueError(
            "`vocab_size` (token inputs) needs mode 'seq2vec' or 'seq2seq'. "
            f"Received: mode={mode!r}"
        )
    if mask_value is not None and (vocab_size is not None or mode == "vec2seq"):
        raise ValueError(
            "`mask_value` applies to float sequences (no vocab_size, mode 'seq2vec' or "
            f"'seq2seq'). Received: mask_value={mask_value!r}, mode={mode!r}, "
            f"vocab_size={vocab_size!r}"
        )
    if (output_length is None) == (mode == "vec2seq"):
        raise ValueError(
            "`output_length` is required with mode='vec2seq' and only there. "
            f"Received: mode={mode!r}, output_length={output_length!r}"
        )
    if output_length is not None:
        check_positive_int("output_length", output_length)


def check_text_input(sequence_length):
    """Raises ``ValueError`` unless a model may read raw strings (``text_input=True``):
    its ``TextVectorization`` layer needs the TensorFlow backend and a
    ``sequence_length``.

    Example:

    >>> check_text_input(sequence_length=None)
    Traceback (most recent call last):
    ValueError: `text_input=True` needs a `sequence_length`.
    """
    if keras.backend.backend() != "tensorflow":
        raise ValueError(
            "`text_input=True` (strings inside the model) needs the TensorFlow "
            f"backend; this is {keras.backend.backend()!r}. Vectorize with "
            "recipes.text.vectorize and feed token ids instead."
        )
    if sequence_length is None:
        raise ValueError("`text_input=True` needs a `sequence_length`.")


def check_observation_std(observation_std, reconstruction):
    """Raises ``ValueError`` unless ``observation_std`` (the standard deviation of
    a Gaussian likelihood) is ``None`` or a number > 0 given with
    ``reconstruction="gaussian"``.

    Example:

    >>> check_observation_std(0.2, "bernoulli")
    Traceback (most recent call last):
    ValueError: `observation_std` applies to reconstruction='gaussian' only...
    """
    if observation_std is None:
        return
    if (
        isinstance(observation_std, bool)
        or not isinstance(observation_std, (int, float))
        or (observation_std <= 0)
    ):
        raise ValueError(
            "`observation_std` must be None or a number > 0. "
            f"Received: observation_std={observation_std!r}"
        )
    if reconstruction != "gaussian":
        raise ValueError(
            "`observation_std` applies to reconstruction='gaussian' only. "
            f"Received: observation_std={observation_std!r}, reconstruction={reconstruction!r}"
        )


INPUT_NOISES = (None, "gaussian", "dropout")


def check_input_noise(noise, noise_level):
    """Returns ``noise_level`` as a float, raising ``ValueError`` unless ``noise``
    is one of ``INPUT_NOISES`` (a denoising autoencoder's input noise) and
    ``noise_level`` suits it: a standard deviation > 0 for ``"gaussian"``, a rate
    in (0, 1) for ``"dropout"``, any number >= 0 for ``None``.

    Example:

    >>> check_input_noise("dropout", 0.2)
    0.2
    """
    check_choice("noise", noise, INPUT_NOISES)
    noise_level = check_non_negative("noise_level", noise_level)
    if noise == "gaussian" and noise_level == 0:
        raise ValueError(
            "`noise_level` (the noise's standard deviation) must be > 0 with "
            f"noise='gaussian'. Received: noise_level={noise_level}"
        )
    if noise == "dropout" and not 0 < noise_level < 1:
        raise ValueError(
            "`noise_level` (the dropout rate) must be in (0, 1) with noise='dropout'. "
            f"Received: noise_level={noise_level}"
        )
    return noise_level


HEAD_SPEC_KEYS = ("units", "activation", "hidden_units")


def check_head_specs(heads):
    """Returns the heads of a model with several outputs as ``name -> {"units",
    "activation", "hidden_units"}``: ``heads`` is a dict of two or more
    ``name -> spec``, a spec an int (the units) or a dict with ``units`` and
    optional ``activation`` (one of ``recipes.heads.OUTPUT_ACTIVATIONS``; by
    default the one that suits the units) and ``hidden_units``.

    Example:

    >>> check_head_specs({"digit": 10, "parity": 1})["parity"]
    {'units': 1, 'activation': 'sigmoid', 'hidden_units': ()}
    """
    from recipes.heads import OUTPUT_ACTIVATIONS, default_output_activation  # heads imports us

    if not isinstance(heads, dict) or len(heads) < 2:
        raise ValueError(
            "`heads` must be a dict of two or more `name -> spec` entries. "
            f"Received: heads={heads!r}"
        )
    checked = {}
    for head, spec in heads.items():
        if not isinstance(head, str) or not head.isidentifier():
            raise ValueError(
                f"`heads` keys must be names (identifiers). Received: heads key {head!r}"
            )
        if isinstance(spec, int) and not isinstance(spec, bool):
            spec = {"units": spec}
        if not isinstance(spec, dict) or "units" not in spec:
            raise ValueError(
                f"`heads[{head!r}]` must be an int or a dict with 'units'. Received: {spec!r}"
            )
        check_keys(f"heads[{head!r}]", spec, HEAD_SPEC_KEYS)
        units = check_positive_int(f"heads[{head!r}]['units']", spec["units"])
        activation = spec.get("activation") or default_output_activation(units)
        check_choice(f"heads[{head!r}]['activation']", activation, OUTPUT_ACTIVATIONS)
        hidden = check_int_tuple(f"heads[{head!r}]['hidden_units']", spec.get("hidden_units", ()))
        checked[head] = {"units": units, "activation": activation, "hidden_units": hidden}
    return checked


def check_flips_only(augment):
    """Returns the layers of a segmentation model's ``augment`` (a
    ``recipes.layers.RandomFlip`` or a ``Sequential`` of them), raising
    ``ValueError`` if it holds anything else: the model can undo a flip exactly on
    its predicted mask, while a rotation, zoom, translation or crop would move the
    image away from its true mask.

    Example:

    >>> check_flips_only(build_augmentation(flip="horizontal", rotation=0.1))
    Traceback (most recent call last):
    ValueError: build_unet's `augment` may hold only recipes flips...
    """
    from recipes.layers.augmentation import RandomFlip  # it imports this module

    layers = augment.layers if isinstance(augment, keras.Sequential) else [augment]
    others = [type(layer).__name__ for layer in layers if not isinstance(layer, RandomFlip)]
    if others or not layers:
        raise ValueError(
            "build_unet's `augment` may hold only recipes flips (e.g. "
            "build_augmentation(flip='horizontal_and_vertical')): the model flips the "
            "image and flips its predicted mask back, which is exact. Rotation, zoom, "
            "translation and crops would move the image away from its true mask; apply "
            "them to (image, mask) pairs in the data pipeline instead. Received layers: "
            f"{', '.join(others) or 'none'}"
        )
    return layers


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
