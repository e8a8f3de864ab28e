"""Data augmentation for the builders' ``augment=`` argument (seeds 001 and 004).

``build_augmentation`` returns a ``keras.Sequential`` of the jittable layers of
``recipes.layers.augmentation``: random flips, rotation, zoom, translation and the
pad-and-crop of CIFAR training. Put inside a model it runs only in training, on the
accelerator, and keeps the model XLA-compilable (Keras's own ``RandomCrop``,
``RandomRotation``, ``RandomZoom`` and ``RandomTranslation`` would turn
``jit_compile`` off for the whole model).

Example:

>>> import recipes
>>> from recipes.augment import build_augmentation
>>> augment = build_augmentation(flip="horizontal", rotation=0.05, crop=2, seed=0)
>>> model = recipes.build("digits_p4cnn", augment=augment)
"""

import keras

from recipes.checks import check_choice, check_positive_int
from recipes.layers.augmentation import (
    FILL_MODES,
    FLIP_MODES,
    RandomAffine,
    RandomFlip,
    RandomPadCrop,
)

__all__ = ["build_augmentation"]


def build_augmentation(
    flip=None,
    rotation=0.0,
    zoom=0.0,
    translation=0.0,
    crop=0,
    fill_mode="reflect",
    seed=None,
    name="augmentation",
):
    """Builds a random augmentation stack that is the identity at inference.

    Args:
        flip: ``None``, ``"horizontal"``, ``"vertical"`` or
            ``"horizontal_and_vertical"``.
        rotation: largest rotation as a fraction of a full turn (0.05 is 18
            degrees), in [0, 0.5).
        zoom: largest relative change of scale, in [0, 1).
        translation: largest shift as a fraction of the image size, in [0, 1).
        crop: pad by this many pixels and crop back to the input size at a random
            place (0: no crop).
        fill_mode: how rotation, zoom and translation fill points from outside the
            image: ``"reflect"``, ``"nearest"`` or ``"constant"`` (zeros).
        seed: base seed; layer ``i`` gets ``seed + i`` (``None``: random seeds).
        name: name of the returned ``Sequential``.

    Returns:
        A ``keras.Sequential`` of ``RandomFlip``, ``RandomAffine`` and
        ``RandomPadCrop`` layers (those asked for, in that order).

    Raises:
        ValueError: an argument is out of range, or nothing was asked for.

    Example:

    >>> augment = build_augmentation(flip="horizontal", crop=4, seed=0)
    >>> [layer.name for layer in augment.layers]
    ['random_flip', 'random_pad_crop']
    """
    if flip is not None:
        check_choice("flip", flip, FLIP_MODES)
    check_choice("fill_mode", fill_mode, FILL_MODES)
    check_positive_int("crop", crop, minimum=0)

    def layer_seed(index):
        return None if seed is None else seed + index

    layers = []
    if flip is not None:
        layers.append(RandomFlip(flip, seed=layer_seed(len(layers)), name="random_flip"))
    if rotation or zoom or translation:
        layers.append(
            RandomAffine(
                rotation=rotation,
                zoom=zoom,
                translation=translation,
                fill_mode=fill_mode,
                seed=layer_seed(len(layers)),
                name="random_affine",
            )
        )
    if crop:
        layers.append(RandomPadCrop(crop, seed=layer_seed(len(layers)), name="random_pad_crop"))
    if not layers:
        raise ValueError(
            "build_augmentation was asked for nothing: pass `flip`, `rotation`, `zoom`, "
            "`translation` or `crop`."
        )
    return keras.Sequential(layers, name=name)
