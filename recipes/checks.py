"""Argument checks shared by builders and layers: fail early, name the argument."""

import keras


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
