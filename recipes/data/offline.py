"""Offline datasets: made on the spot or bundled with scikit-learn, no network.

Each maker returns ``(x, y)`` NumPy arrays for one split. Splits are
``"train"``, ``"validation"`` and ``"test"``, disjoint and reproducible: the
same split always holds the same examples.
"""

import numpy as np

from recipes.checks import check_split

SPLITS = ("train", "validation", "test")
_SPLIT_SEEDS = {"train": 0, "validation": 1, "test": 2}

# Token ids of the toy sequence-to-sequence tasks (``copy`` and ``reverse``).
PAD, START, END = 0, 1, 2
FIRST_DIGIT = 3
SEQUENCE_VOCAB_SIZE = FIRST_DIGIT + 10
SHAPE_CLASSES = ("background", "circle", "square")


def _split_sizes(total, fractions=(0.7, 0.1, 0.2)):
    train = int(round(total * fractions[0]))
    validation = int(round(total * fractions[1]))
    return {"train": train, "validation": validation, "test": total - train - validation}


def digits(split="train"):
    """scikit-learn's 8x8 handwritten digits (1,797 images, 10 classes).

    Returns:
        ``x`` float32 of shape ``(n, 8, 8, 1)`` in ``[0, 1]`` and ``y`` int32
        labels; a fixed stratified-by-shuffle 70/10/20 split.
    """
    from sklearn.datasets import load_digits

    check_split(split, SPLITS)
    bunch = load_digits()
    x = (bunch.images / 16.0).astype("float32")[..., None]
    y = bunch.target.astype("int32")
    order = np.random.default_rng(0).permutation(len(y))
    sizes = _split_sizes(len(y))
    start = {"train": 0, "validation": sizes["train"]}.get(
        split, sizes["train"] + sizes["validation"]
    )
    index = order[start : start + sizes[split]]
    return x[index], y[index]


def moons(split="train", num_examples=None, noise=0.2):
    """Two interleaving half circles in 2-D (binary classification).

    Args:
        split: one of ``SPLITS``.
        num_examples: examples in the split (default 700/100/200).
        noise: standard deviation of the Gaussian noise.

    Returns:
        ``x`` float32 ``(n, 2)`` and ``y`` int32 in ``{0, 1}``.
    """
    from sklearn.datasets import make_moons

    check_split(split, SPLITS)
    n = num_examples or _split_sizes(1000)[split]
    x, y = make_moons(n, noise=noise, random_state=_SPLIT_SEEDS[split])
    return x.astype("float32"), y.astype("int32")


def shapes(split="train", num_examples=None, image_size=64, max_shapes=3):
    """Synthetic images of circles and squares with segmentation masks.

    Each RGB image has a noisy background and 1 to ``max_shapes`` shapes of random
    colours; the mask labels each pixel with its class in ``SHAPE_CLASSES``
    (0 background, 1 circle, 2 square; a later shape covers an earlier one).

    Args:
        split: one of ``SPLITS``.
        num_examples: images in the split (default 512/64/128).
        image_size: height and width in pixels (at least 16).
        max_shapes: the most shapes in one image.

    Returns:
        ``x`` float32 ``(n, size, size, 3)`` in ``[0, 1]`` and ``y`` int32 masks
        ``(n, size, size, 1)``.
    """
    check_split(split, SPLITS)
    if image_size < 16:
        raise ValueError(f"`image_size` must be >= 16. Received: image_size={image_size}")
    n = num_examples or {"train": 512, "validation": 64, "test": 128}[split]
    rng = np.random.default_rng(100 + _SPLIT_SEEDS[split])
    rows, cols = np.mgrid[0:image_size, 0:image_size]
    images = rng.uniform(0.0, 0.25, (n, image_size, image_size, 3)).astype("float32")
    masks = np.zeros((n, image_size, image_size), "int32")
    for i in range(n):
        for _ in range(rng.integers(1, max_shapes + 1)):
            kind = rng.integers(1, 3)
            radius = rng.uniform(0.08, 0.2) * image_size
            cy, cx = rng.uniform(radius, image_size - radius, size=2)
            if kind == 1:
                inside = (rows - cy) ** 2 + (cols - cx) ** 2 <= radius**2
            else:
                inside = (np.abs(rows - cy) <= radius) & (np.abs(cols - cx) <= radius)
            images[i][inside] = rng.uniform(0.4, 1.0, size=3)
            masks[i][inside] = kind
    return images, masks[..., None]


def sine(split="train", num_examples=None, window=32, noise=0.05):
    """Windows of noisy sine waves; the target is the next value.

    Every window has its own frequency, phase and amplitude, so a model must
    read the window to forecast.

    Returns:
        ``x`` float32 ``(n, window, 1)`` and ``y`` float32 ``(n, 1)``.
    """
    check_split(split, SPLITS)
    n = num_examples or _split_sizes(2000)[split]
    rng = np.random.default_rng(200 + _SPLIT_SEEDS[split])
    frequency = rng.uniform(0.05, 0.25, (n, 1))
    phase = rng.uniform(0, 2 * np.pi, (n, 1))
    amplitude = rng.uniform(0.5, 1.0, (n, 1))
    t = np.arange(window + 1)[None, :]
    series = amplitude * np.sin(2 * np.pi * frequency * t + phase)
    series += noise * rng.standard_normal(series.shape)
    series = series.astype("float32")
    return series[:, :window, None], series[:, window:]


def sequence_task(task, split="train", num_examples=None, min_length=10, max_length=20):
    """The toy sequence-to-sequence tasks ``copy`` and ``reverse``.

    Sources are random digit strings of ``min_length`` to ``max_length`` tokens
    (ids ``FIRST_DIGIT`` to ``FIRST_DIGIT + 9``), padded with ``PAD``. Targets
    are the same digits (``copy``) or reversed (``reverse``), framed as
    ``START ... END``; the decoder reads the target shifted right (teacher
    forcing) and predicts it shifted left.

    Returns:
        ``x`` a dict with ``encoder_inputs`` int32 ``(n, max_length)`` and
        ``decoder_inputs`` int32 ``(n, max_length + 1)``; ``y`` int32
        ``(n, max_length + 1)`` with ``PAD`` after ``END``.
    """
    if task not in ("copy", "reverse"):
        raise ValueError(f"`task` must be 'copy' or 'reverse'. Received: task={task!r}")
    check_split(split, SPLITS)
    if not 1 <= min_length <= max_length:
        raise ValueError(
            "Need 1 <= min_length <= max_length. Received: "
            f"min_length={min_length}, max_length={max_length}"
        )
    n = num_examples or {"train": 8000, "validation": 500, "test": 1000}[split]
    rng = np.random.default_rng(300 + _SPLIT_SEEDS[split] + (task == "reverse") * 10)
    lengths = rng.integers(min_length, max_length + 1, size=n)
    digits_ = rng.integers(FIRST_DIGIT, FIRST_DIGIT + 10, size=(n, max_length))
    source = np.where(np.arange(max_length)[None, :] < lengths[:, None], digits_, PAD)
    target = np.full((n, max_length + 2), PAD, "int32")
    target[:, 0] = START
    for i, length in enumerate(lengths):
        body = source[i, :length]
        target[i, 1 : length + 1] = body[::-1] if task == "reverse" else body
        target[i, length + 1] = END
    x = {
        "encoder_inputs": source.astype("int32"),
        "decoder_inputs": np.where(target[:, :-1] == END, PAD, target[:, :-1]),
    }
    return x, target[:, 1:]
