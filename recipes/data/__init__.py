"""Datasets for the recipes: ``load`` gives batched, prefetched ``tf.data``
pipelines; ``arrays`` gives NumPy arrays of the offline sets.

Offline sets (no network): ``digits``, ``moons``, ``shapes``, ``sine``, ``copy``,
``reverse``. Through tensorflow-datasets: ``mnist``, ``fashion_mnist``,
``cifar10``, ``cifar100``, ``imdb_reviews``, ``oxford_iiit_pet``. From a local
JPEG copy: ``cifar10_jpeg`` (see ``recipes.data.image_folder``).

Example:

>>> from recipes import data
>>> train = data.load("digits", split="train", batch_size=32)
>>> x, y = data.arrays("moons", split="test")
>>> x.shape
(200, 2)

TensorFlow is imported only when a pipeline is made, so ``import recipes``
stays light on the JAX and PyTorch backends.
"""

from dataclasses import dataclass
from functools import partial

from recipes.data import offline
from recipes.data.offline import (
    END,
    FIRST_DIGIT,
    PAD,
    SEQUENCE_VOCAB_SIZE,
    SHAPE_CLASSES,
    SPLITS,
    START,
)

__all__ = [
    "DatasetSpec",
    "DatasetNotAvailableError",
    "array_batches",
    "arrays",
    "get_spec",
    "list_datasets",
    "load",
    "standard_splits",
    "to_dataset",
    "END",
    "FIRST_DIGIT",
    "PAD",
    "SEQUENCE_VOCAB_SIZE",
    "SHAPE_CLASSES",
    "SPLITS",
    "START",
]


class DatasetNotAvailableError(RuntimeError):
    """A dataset is not on disk and cannot be downloaded (tensorflow-datasets), or a
    local copy (an image folder) is not where it was looked for."""


@dataclass(frozen=True)
class DatasetSpec:
    """What a dataset holds.

    Attributes:
        name: the name ``load`` takes.
        task: ``"classification"``, ``"segmentation"``, ``"regression"``,
            ``"seq2seq"`` or ``"text_classification"``.
        input_shape: shape of one input (``None`` for raw text or dict inputs).
        num_classes: classes (or output width; vocabulary size for seq2seq).
        offline: True when no download is ever needed.
        summary: one line.
    """

    name: str
    task: str
    input_shape: tuple | None
    num_classes: int
    offline: bool
    summary: str


_SPECS = {
    spec.name: spec
    for spec in (
        DatasetSpec(
            "digits",
            "classification",
            (8, 8, 1),
            10,
            True,
            "scikit-learn's 8x8 handwritten digits, 1,797 images",
        ),
        DatasetSpec(
            "moons",
            "classification",
            (2,),
            2,
            True,
            "two interleaving half circles in 2-D (binary)",
        ),
        DatasetSpec(
            "shapes",
            "segmentation",
            (64, 64, 3),
            3,
            True,
            "synthetic circles and squares with segmentation masks",
        ),
        DatasetSpec(
            "sine", "regression", (32, 1), 1, True, "noisy sine windows; predict the next value"
        ),
        DatasetSpec(
            "copy", "seq2seq", None, SEQUENCE_VOCAB_SIZE, True, "copy a string of 10-20 digits"
        ),
        DatasetSpec(
            "reverse",
            "seq2seq",
            None,
            SEQUENCE_VOCAB_SIZE,
            True,
            "reverse a string of 10-20 digits",
        ),
        DatasetSpec(
            "mnist", "classification", (28, 28, 1), 10, False, "MNIST handwritten digits (tfds)"
        ),
        DatasetSpec(
            "fashion_mnist",
            "classification",
            (28, 28, 1),
            10,
            False,
            "Fashion-MNIST clothing images (tfds)",
        ),
        DatasetSpec(
            "cifar10",
            "classification",
            (32, 32, 3),
            10,
            False,
            "CIFAR-10 32x32 colour images, 10 classes (tfds)",
        ),
        DatasetSpec(
            "cifar10_jpeg",
            "classification",
            (32, 32, 3),
            10,
            False,
            "CIFAR-10 from the JPEG class-folder copy (no tfds, no network)",
        ),
        DatasetSpec(
            "cifar100",
            "classification",
            (32, 32, 3),
            100,
            False,
            "CIFAR-100 32x32 colour images, 100 classes (tfds)",
        ),
        DatasetSpec(
            "imdb_reviews",
            "text_classification",
            None,
            2,
            False,
            "IMDB movie reviews as raw text, positive/negative (tfds)",
        ),
        DatasetSpec(
            "oxford_iiit_pet",
            "segmentation",
            (128, 128, 3),
            3,
            False,
            "Oxford-IIIT pets with pet/background/border masks (tfds)",
        ),
    )
}

_OFFLINE_MAKERS = {
    "digits": offline.digits,
    "moons": offline.moons,
    "shapes": offline.shapes,
    "sine": offline.sine,
    "copy": partial(offline.sequence_task, "copy"),
    "reverse": partial(offline.sequence_task, "reverse"),
}


def list_datasets(offline_only=False):
    """Returns the sorted names ``load`` accepts (only offline ones if asked)."""
    return sorted(n for n, s in _SPECS.items() if s.offline or not offline_only)


def get_spec(name):
    """Returns the ``DatasetSpec`` of ``name``; unknown names raise ``ValueError``."""
    if name not in _SPECS:
        raise ValueError(
            f"Unknown dataset {name!r}. Known datasets: {', '.join(list_datasets())}."
        )
    return _SPECS[name]


def standard_splits(name):
    """The ``split`` strings for training, validation and test of a dataset.

    Offline sets have the three splits; for tfds sets the validation split is the
    last 10% of tfds' training split (``imdb_reviews`` and ``oxford_iiit_pet``
    included) and the test split is tfds' own.

    Example:

    >>> standard_splits("mnist")
    {'train': 'train[:90%]', 'validation': 'train[90%:]', 'test': 'test'}
    """
    if get_spec(name).offline or name == "cifar10_jpeg":
        return {split: split for split in SPLITS}
    return {"train": "train[:90%]", "validation": "train[90%:]", "test": "test"}


def arrays(name, split="train", **options):
    """Returns ``(x, y)`` NumPy arrays of an offline dataset's split.

    Args:
        name: one of ``list_datasets(offline_only=True)``.
        split: ``"train"``, ``"validation"`` or ``"test"``.
        **options: the maker's options, e.g. ``num_examples=200`` or
            ``image_size=32`` for ``shapes`` (see ``recipes.data.offline``).
    """
    if not get_spec(name).offline:
        raise ValueError(
            f"arrays() serves offline datasets only; use load({name!r}, ...) for "
            f"tensorflow-datasets ones. Offline: {', '.join(_OFFLINE_MAKERS)}."
        )
    return _OFFLINE_MAKERS[name](split=split, **options)


def to_dataset(x, y, batch_size=32, shuffle=False, seed=0, cache=True, repeat=False):
    """Turns arrays (or a dict of arrays) into a batched, prefetched ``tf.data``.

    Args:
        x: inputs, an array or a dict of arrays.
        y: targets.
        batch_size: examples per batch.
        shuffle: reshuffle every epoch (with a buffer holding the whole set).
        seed: shuffle seed.
        cache: cache the examples in memory.
        repeat: repeat forever (for ``steps_per_epoch``-style training).
    """
    import tensorflow as tf

    dataset = tf.data.Dataset.from_tensor_slices((x, y))
    return _finish(dataset, batch_size, shuffle, seed, cache, repeat, len(y))


def array_batches(x, y, batch_size, seed=0):
    """Endless ``(x, y)`` batches of in-memory arrays, for ``fit(...,
    steps_per_epoch=len(y) // batch_size)``: a new shuffle every epoch, the last
    partial batch dropped (every batch has the compiled shape). Plain NumPy, so it
    needs no TensorFlow and runs on every backend.

    Args:
        x: inputs, an array.
        y: targets, an array as long as ``x``.
        batch_size: examples per batch, at most ``len(y)``.
        seed: seed of the shuffles.

    Example:

    >>> batches = array_batches(x_train, y_train, batch_size=256)
    >>> model.fit(batches, epochs=5, steps_per_epoch=len(y_train) // 256)
    """
    import numpy as np

    if not 1 <= batch_size <= len(y) or len(x) != len(y):
        raise ValueError(
            "`batch_size` must be between 1 and the number of examples, and `x` and "
            f"`y` equally long. Received: batch_size={batch_size}, len(x)={len(x)}, "
            f"len(y)={len(y)}"
        )
    random = np.random.default_rng(seed)
    steps = len(y) // batch_size
    while True:
        order = random.permutation(len(y))
        for step in range(steps):
            # Sorted, each batch is gathered in memory order (the set is shuffled
            # across batches; the order within a batch does not matter).
            index = np.sort(order[step * batch_size : (step + 1) * batch_size])
            yield x[index], y[index]


def load(
    name,
    split="train",
    batch_size=32,
    shuffle=None,
    seed=0,
    cache=True,
    repeat=False,
    download=None,
    data_dir=None,
    image_size=None,
    **options,
):
    """Loads a dataset as a batched, prefetched ``tf.data.Dataset``.

    Images come as float32 in ``[0, 1]``, labels as int32; see ``get_spec``
    for each dataset's shapes.

    Args:
        name: one of ``list_datasets()``.
        split: ``"train"``, ``"validation"`` or ``"test"`` for offline sets; any
            tfds split string (``"train[:90%]"``) for tfds ones.
        batch_size: examples per batch.
        shuffle: reshuffle each epoch; defaults to True for ``"train"`` splits.
        seed: shuffle seed.
        cache: cache decoded examples in memory.
        repeat: repeat forever.
        download: tfds sets only: allow a download when missing (default:
            yes unless ``RECIPES_DOWNLOAD=0``).
        data_dir: tfds sets: the data folder (default ``$TFDS_DATA_DIR``);
            ``cifar10_jpeg``: the archive or its unpacked folder.
        image_size: ``oxford_iiit_pet`` and ``shapes``: output height and width.
        **options: offline makers' options (``num_examples``...).

    Raises:
        DatasetNotAvailableError: a tfds dataset is missing and cannot be fetched.

    Example:

    >>> train = load("mnist", split="train[:90%]", batch_size=64)
    """
    spec = get_spec(name)
    if shuffle is None:
        shuffle = str(split).startswith("train")
    if spec.offline:
        if image_size is not None:
            options["image_size"] = image_size
        x, y = arrays(name, split, **options)
        return to_dataset(x, y, batch_size, shuffle, seed, cache, repeat)
    if options:
        raise TypeError(f"Unknown option(s) for {name!r}: {', '.join(options)}")
    if name == "cifar10_jpeg":
        from recipes.data import image_folder

        root = image_folder.find_cifar10_jpeg(data_dir)
        dataset, size = image_folder.image_folder_dataset(root, split)
        return _finish(dataset, batch_size, shuffle, seed, cache, repeat, size)
    return _load_tfds(
        spec, split, batch_size, shuffle, seed, cache, repeat, download, data_dir, image_size
    )


def _load_tfds(
    spec, split, batch_size, shuffle, seed, cache, repeat, download, data_dir, image_size
):
    import tensorflow as tf

    from recipes.data import tfds_sets

    supervised = spec.name != "oxford_iiit_pet"
    dataset = tfds_sets.load_tfds(spec.name, split, download, data_dir, supervised)
    if spec.name == "oxford_iiit_pet":
        size = tuple(image_size or spec.input_shape[:2])
        convert = tfds_sets.pet_example(size)
    elif spec.name == "imdb_reviews":
        convert = tfds_sets.text_example
    else:
        convert = tfds_sets.scale_image
    dataset = dataset.map(convert, num_parallel_calls=tf.data.AUTOTUNE)
    return _finish(dataset, batch_size, shuffle, seed, cache, repeat, 10_000)


def _finish(dataset, batch_size, shuffle, seed, cache, repeat, buffer_size):
    import tensorflow as tf

    if cache:
        dataset = dataset.cache()
    if shuffle:
        dataset = dataset.shuffle(buffer_size, seed=seed, reshuffle_each_iteration=True)
    if repeat:
        dataset = dataset.repeat()
    return dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE)
