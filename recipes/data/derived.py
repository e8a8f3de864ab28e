"""Offline sets derived from the offline makers and the toy reviews, shaped for the
families whose inputs or targets are not one image and its label: autoencoders
(the input is the target), multitask heads, domain adaptation, image-to-image
translation, and the toy reviews as word ids for classifiers, language models and
word2vec.

Importing this module registers the sets in ``recipes.data.DATASETS``; each is an
offline set (``recipes.data.arrays`` serves it, the standard loop trains on it),
with ``num_examples`` where its source takes one.

Example:

>>> from recipes import data
>>> x, y = data.arrays("digits_reconstruction", "test")
>>> bool((x == y).all())
True
>>> x, y = data.arrays("moons_domains", "train", num_examples=100)
>>> sorted(y)
['domain', 'label']
"""

import numpy as np

from recipes.data import _offline, offline  # the package's own registration
from recipes.text import REVIEW_LENGTH, REVIEW_VOCAB_SIZE, encode_reviews, toy_reviews

# The target domain of ``moons_domains``: the moons turned by this angle.
DOMAIN_ANGLE = 35.0
# The skip-gram examples of ``toy_review_skipgrams``: context words on each side of a
# word, and random words scored against each true one.
SKIPGRAM_WINDOW = 2
SKIPGRAM_NEGATIVES = 4


def digits_reconstruction(split="train"):
    """The offline digits as their own targets, for autoencoders.

    Returns:
        ``x`` float32 ``(n, 8, 8, 1)`` in ``[0, 1]`` and ``y``, the same array.
    """
    x, _ = offline.digits(split)
    return x, x


def digits_multitask(split="train"):
    """The offline digits with two targets: the digit and whether it is odd.

    Returns:
        ``x`` float32 ``(n, 8, 8, 1)`` and ``y`` a dict with ``digit`` int32 in
        ``[0, 10)`` and ``parity`` int32 (1 for odd digits).
    """
    x, y = offline.digits(split)
    return x, {"digit": y, "parity": y % 2}


def moons_domains(split="train", num_examples=None, angle=DOMAIN_ANGLE):
    """Two domains of the moons, for domain adaptation: the source is the moons,
    the target the moons turned by ``angle`` degrees.

    The training split stacks labelled source samples and target samples whose
    labels are hidden (``-1``, which ``build_dann``'s label loss skips), shuffled
    together; the validation and test splits hold target samples with their true
    labels, so their label accuracy is the adaptation's.

    Args:
        split: one of ``recipes.data.SPLITS``.
        num_examples: samples of each domain in the split (default: the moons').
        angle: the turn of the target domain, in degrees.

    Returns:
        ``x`` float32 ``(n, 2)`` and ``y`` a dict with ``label`` (int32, ``-1``
        where hidden) and ``domain`` (int32, 0 source, 1 target).
    """
    radians = np.radians(angle)
    turn = np.array([[np.cos(radians), -np.sin(radians)], [np.sin(radians), np.cos(radians)]])
    # The target's own draw: the moons of another split, turned.
    num_examples = num_examples or len(offline.moons(split)[1])
    other = {"train": "test", "validation": "train", "test": "validation"}[split]
    x_target, y_target = offline.moons(other, num_examples=num_examples)
    x_target = (x_target @ turn.T).astype("float32")
    if split != "train":
        return x_target, {"label": y_target, "domain": np.ones(len(y_target), "int32")}
    x_source, y_source = offline.moons(split, num_examples=num_examples)
    x = np.concatenate([x_source, x_target])
    labels = np.concatenate([y_source, np.full(len(x_target), -1, "int32")])
    domains = np.repeat(np.array([0, 1], "int32"), [len(x_source), len(x_target)])
    order = np.random.default_rng(0).permutation(len(x))
    return x[order], {"label": labels[order], "domain": domains[order]}


def shapes_label_maps(split="train", num_examples=None, image_size=64):
    """The offline shapes as an image-to-image task: each image and its label
    map, the mask one-hot in three channels (background, circle, square).

    Returns:
        ``x`` float32 ``(n, size, size, 3)`` and ``y`` float32 ``(n, size, size,
        3)`` in ``{0, 1}``.
    """
    images, masks = offline.shapes(split, num_examples=num_examples, image_size=image_size)
    classes = len(offline.SHAPE_CLASSES)
    return images, np.eye(classes, dtype="float32")[masks[..., 0]]


def review_ids(split="train", num_examples=None):
    """The toy reviews of the ``"contrast"`` grammar as word ids
    (``recipes.text.encode_reviews``: ``[CLS] words [SEP]``, padded to
    ``REVIEW_LENGTH``), with their sentiment.

    Returns:
        ``x`` int32 ``(n, REVIEW_LENGTH)`` and ``y`` int32 (1 positive).
    """
    texts, labels = toy_reviews(split, num_examples=num_examples, grammar="contrast")
    return encode_reviews(texts), labels


def review_next_ids(split="train", num_examples=None):
    """The toy reviews for next-word prediction: ``x = ids[:, :-1]``,
    ``y = ids[:, 1:]`` (0 is padding in both).

    Returns:
        ``x`` and ``y`` int32 ``(n, REVIEW_LENGTH - 1)``.
    """
    ids, _ = review_ids(split, num_examples)
    return ids[:, :-1], ids[:, 1:]


def review_skipgrams(split="train", num_examples=None):
    """Skip-gram examples of the toy reviews' words (window of
    ``SKIPGRAM_WINDOW``, ``SKIPGRAM_NEGATIVES`` negatives), for word2vec.

    Returns:
        ``x`` a dict with ``words`` int32 ``(pairs,)`` and ``candidates``
        ``(pairs, 1 + SKIPGRAM_NEGATIVES)``; ``y`` float32 of the candidates'
        shape, 1 for the true context word and 0 for the negatives.
    """
    from recipes.models.word2vec import skipgram_examples

    ids, _ = review_ids(split, num_examples)
    return skipgram_examples(
        ids,
        REVIEW_VOCAB_SIZE,
        window_size=SKIPGRAM_WINDOW,
        negative_samples=SKIPGRAM_NEGATIVES,
        seed=offline.SPLITS.index(split),
    )


_offline(
    "digits_reconstruction",
    "reconstruction",
    (8, 8, 1),
    64,
    "the offline 8x8 digits as their own targets (autoencoders)",
    digits_reconstruction,
)
_offline(
    "digits_multitask",
    "multitask",
    (8, 8, 1),
    10,
    "the offline 8x8 digits with two targets: the digit and its parity",
    digits_multitask,
)
_offline(
    "moons_domains",
    "domain_adaptation",
    (2,),
    2,
    f"labelled moons and unlabelled moons turned by {DOMAIN_ANGLE:g} degrees (DANN)",
    moons_domains,
)
_offline(
    "shapes_label_maps",
    "image_translation",
    (64, 64, 3),
    3,
    "the offline shapes and their one-hot label maps (image-to-image)",
    shapes_label_maps,
)
_offline(
    "toy_review_ids",
    "text_classification",
    (REVIEW_LENGTH,),
    2,
    "the toy reviews (contrast grammar) as word ids, positive/negative",
    review_ids,
)
_offline(
    "toy_review_next_ids",
    "language_modeling",
    (REVIEW_LENGTH - 1,),
    REVIEW_VOCAB_SIZE,
    "the toy reviews as word ids, each predicting the next",
    review_next_ids,
)
_offline(
    "toy_review_skipgrams",
    "word2vec",
    None,
    REVIEW_VOCAB_SIZE,
    "skip-gram pairs of the toy reviews' words with negative samples",
    review_skipgrams,
)
