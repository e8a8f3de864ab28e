"""Layer stacks that several model families build from: the inputs with their
augmentation and centre crop, a shared dense trunk, a stack of transformer
encoder blocks.

Each function returns layers or applies them to a tensor; none compiles or
chooses a loss (that is ``recipes.heads`` and ``recipes.compiling``).
"""

import keras

from recipes.checks import check_augment, check_int_tuple
from recipes.layers.attention import TransformerEncoderBlock


def input_layers(input_shape, augment=None, crop=None):
    """The first entries of a model over samples of ``input_shape``: the input,
    then the augmentation (active in training only) and the centre crop.

    Args:
        input_shape: the shape of one sample (checked by the caller).
        augment: ``None`` or a Keras layer, e.g.
            ``recipes.augment.build_augmentation(flip="horizontal", crop=4)``.
        crop: ``None``, or ``(height, width)`` or one int (see ``center_crop``).

    Returns:
        A list: ``keras.Input`` named ``"inputs"``, then the layers to apply.

    Example:

    >>> model = keras.Sequential(input_layers((32, 32, 3), crop=28), name="cnn")
    """
    check_augment(augment)
    cropping = center_crop(input_shape, crop)
    inputs = keras.Input(shape=input_shape, name="inputs")
    return [inputs, *(layer for layer in (augment, cropping) if layer is not None)]


def apply_input_layers(input_shape, augment=None, crop=None):
    """``input_layers`` for a functional model: the input and the tensor after
    the augmentation and crop.

    Returns:
        ``(inputs, x)``.

    Example:

    >>> inputs, x = apply_input_layers((32, 32, 3), augment)
    """
    inputs, *layers = input_layers(input_shape, augment, crop)
    x = inputs
    for layer in layers:
        x = layer(x)
    return inputs, x


def center_crop(input_shape, crop):
    """A ``Cropping2D`` layer named ``"crop"`` that keeps the central ``crop``
    pixels of ``(height, width, channels)`` inputs, or ``None`` when ``crop`` is
    ``None``. ``crop`` is ``(height, width)`` or one int for a square."""
    if crop is None:
        return None
    size = (crop, crop) if isinstance(crop, int) and not isinstance(crop, bool) else crop
    image = tuple(input_shape)
    try:
        size = tuple(size)
        valid = len(size) == 2 and all(isinstance(d, int) and d >= 1 for d in size)
    except TypeError:
        valid = False
    if not valid:
        raise ValueError(
            f"`crop` must be None, an int or a (height, width) pair. Received: crop={crop!r}"
        )
    if len(image) != 3 or None in image[:2] or size[0] > image[0] or size[1] > image[1]:
        raise ValueError(
            "`crop` needs image inputs (height, width, channels) at least as large as "
            f"the crop. Received: crop={crop!r}, input_shape={input_shape!r}"
        )
    margins = [(total - kept) for total, kept in zip(image[:2], size)]
    return keras.layers.Cropping2D(
        tuple((margin // 2, margin - margin // 2) for margin in margins), name="crop"
    )


def apply_trunk(trunk, inputs, activation, prefix="trunk"):
    """Applies a shared trunk to ``inputs`` and returns flat features (the part
    that the heads of a multitask or domain-adversarial model share).

    Args:
        trunk: a tuple of Dense widths (``f"{prefix}_dense_{i}"`` layers with
            ``activation``, after a flatten for inputs of rank > 1), or a Keras
            layer or model called as it is.
        inputs: the input tensor.
        activation: the Dense layers' activation.
        prefix: the argument's name in errors, and the layers' name prefix.

    Returns:
        A ``(batch, features)`` tensor.

    Example:

    >>> features = apply_trunk((64,), keras.Input((8, 8, 1)), "relu")
    >>> features.shape
    (None, 64)
    """
    if isinstance(trunk, keras.layers.Layer):
        features = trunk(inputs)
    else:
        if isinstance(trunk, str) or not hasattr(trunk, "__iter__"):
            raise ValueError(
                f"`{prefix}` must be a tuple of hidden widths or a Keras layer/model. "
                f"Received: {prefix}={trunk!r}"
            )
        widths = check_int_tuple(prefix, trunk)
        features = inputs
        if len(inputs.shape) > 2:
            features = keras.layers.Flatten(name=f"{prefix}_flatten")(features)
        for i, width in enumerate(widths, start=1):
            features = keras.layers.Dense(
                width, activation=activation, name=f"{prefix}_dense_{i}"
            )(features)
    if len(features.shape) > 2:
        features = keras.layers.Flatten(name=f"{prefix}_features")(features)
    return features


def apply_transformer_encoder(
    x,
    num_layers,
    num_heads,
    feed_forward_dim,
    dropout=0.0,
    activation="relu",
    norm_first=False,
    padding_mask=None,
    return_attention_scores=False,
    name="encoder",
):
    """``num_layers`` transformer encoder blocks (``{name}_block_1``...), then
    with pre-norm blocks the final layer norm (``{name}_norm``).

    Args:
        x: ``(batch, length, width)`` embeddings.
        num_layers: number of blocks.
        num_heads: attention heads.
        feed_forward_dim: hidden width of each feed-forward network.
        dropout: dropout rate in every block.
        activation: feed-forward activation.
        norm_first: pre-norm blocks and a final layer norm (True) or post-norm.
        padding_mask: ``None`` or boolean ``(batch, length)``, True for tokens.
        return_attention_scores: the blocks also output their attention weights
            (in the graph, as ``block.output[1]``), e.g. for attention maps.
        name: prefix of the layer names.

    Returns:
        The ``(batch, length, width)`` outputs.

    Example:

    >>> x = apply_transformer_encoder(embeddings, 2, num_heads=4, feed_forward_dim=128)
    """
    for i in range(1, num_layers + 1):
        block = TransformerEncoderBlock(
            num_heads, feed_forward_dim, dropout, activation, norm_first, name=f"{name}_block_{i}"
        )
        outputs = block(
            x, padding_mask=padding_mask, return_attention_scores=return_attention_scores
        )
        x = outputs[0] if return_attention_scores else outputs
    if norm_first:
        x = keras.layers.LayerNormalization(epsilon=1e-6, name=f"{name}_norm")(x)
    return x
