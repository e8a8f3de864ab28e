"""Layer stacks that several model families build from (a centre crop, ...).

Each function returns layers or applies them to a tensor; none compiles or
chooses a loss (that is ``recipes.heads`` and ``recipes.compiling``).
"""

import keras


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
