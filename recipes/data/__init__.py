"""Datasets for the recipes: ``load`` gives batched, prefetched ``tf.data``
pipelines; ``arrays`` gives NumPy arrays of the offline sets.

Offline sets (no network): ``digits``, ``moons``, ``shapes``, ``sine``, ``copy``,
``reverse``. Through tensorflow-datasets: ``mnist``, ``fashion_mnist``,
``cifar10``, ``cifar100``, ``imdb_reviews``, ``oxford_iiit_pet``; ``cifar10``
falls back to the local JPEG copy when tensorflow-datasets has none and cannot
download it (one line says so). From a local JPEG copy: ``cifar10_jpeg``. From
your own class folders (``train/<class>/*``, ``test/<class>/*``):
``image_folder`` with ``data_dir=...`` (see ``recipes.data.image_folder``).

Each dataset is a ``DatasetSpec`` in the ``DATASETS`` registry, carrying its own
loader; ``register_dataset`` adds one.

Example:

>>> from recipes import data
>>> train = data.load("digits", split="train", batch_size=32)
>>> x, y = data.arrays("moons", split="test")
>>> x.shape
(200, 2)

TensorFlow is imported only when a pipeline is made, so ``import recipes``
stays light on the JAX and PyTorch backends.
"""

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

from recipes.checks import check_finite, check_positive_int, check_same_length
from recipes.data import offline, tfds_sets
from recipes.data.offline import (
    END,
    FIRST_DIGIT,
    PAD,
    SEQUENCE_VOCAB_SIZE,
    SHAPE_CLASSES,
    SPLITS,
    START,
)
from recipes.registry import Registry

__all__ = [
    "DATASETS",
    "DatasetSpec",
    "DatasetNotAvailableError",
    "array_batches",
    "arrays",
    "get_spec",
    "list_datasets",
    "load",
    "register_dataset",
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

# The splits of the offline sets and of tfds' sets (validation: the last 10% of
# tfds' training split; test: tfds' own).
OWN_SPLITS = {split: split for split in SPLITS}
TFDS_SPLITS = {"train": "train[:90%]", "validation": "train[90%:]", "test": "test"}


class DatasetNotAvailableError(RuntimeError):
    """A dataset is not on disk and cannot be downloaded (tensorflow-datasets), or a
    local copy (an image folder) is not where it was looked for."""


@dataclass(frozen=True)
class DatasetSpec:
    """What a dataset holds, and how it is loaded.

    Attributes:
        name: the name ``load`` takes.
        task: ``"classification"``, ``"segmentation"``, ``"regression"``,
            ``"seq2seq"`` or ``"text_classification"``.
        input_shape: shape of one input (``None`` for raw text or dict inputs).
        num_classes: classes (or output width; vocabulary size for seq2seq).
        summary: one line.
        loader: ``loader(spec, split, download=None, data_dir=None,
            image_size=None, **options)`` returning ``(un-batched tf.data.Dataset,
            shuffle buffer size)``; ``load`` batches what it returns.
        arrays: for offline sets, the NumPy maker ``arrays(split=..., **options)
            -> (x, y)`` (see ``recipes.data.offline``); ``None`` otherwise.
        splits: the ``split`` strings of training, validation and test.
    """

    name: str
    task: str
    input_shape: tuple | None
    num_classes: int
    summary: str
    loader: Callable
    arrays: Callable | None = None
    splits: dict = field(default_factory=lambda: dict(OWN_SPLITS))

    @property
    def offline(self):
        """True when no download is ever needed (the set is made from NumPy arrays)."""
        return self.arrays is not None


DATASETS = Registry("dataset")


def register_dataset(spec):
    """Adds a ``DatasetSpec`` to the datasets ``load`` serves.

    Args:
        spec: the ``DatasetSpec``; its ``name`` must be new.

    Returns:
        ``spec``.

    Example:

    >>> register_dataset(DatasetSpec("noise", "regression", (4,), 1, "random inputs",
    ...                              load_arrays, arrays=make_noise))
    """
    return DATASETS.register(spec.name, spec)


def list_datasets(offline_only=False):
    """Returns the sorted names ``load`` accepts (only offline ones if asked)."""
    return [n for n in DATASETS.names() if DATASETS.get(n).offline or not offline_only]


def get_spec(name):
    """Returns the ``DatasetSpec`` of ``name``; unknown names raise a ``ValueError``
    naming the closest known ones."""
    return DATASETS.get(name)


def standard_splits(name):
    """The ``split`` strings for training, validation and test of a dataset.

    Offline sets and ``cifar10_jpeg`` have the three splits; for tfds sets the
    validation split is the last 10% of tfds' training split (``imdb_reviews``
    and ``oxford_iiit_pet`` included) and the test split is tfds' own.

    Example:

    >>> standard_splits("mnist")
    {'train': 'train[:90%]', 'validation': 'train[90%:]', 'test': 'test'}
    """
    return dict(get_spec(name).splits)


def arrays(name, split="train", **options):
    """Returns ``(x, y)`` NumPy arrays of an offline dataset's split.

    Args:
        name: one of ``list_datasets(offline_only=True)``.
        split: ``"train"``, ``"validation"`` or ``"test"``.
        **options: the maker's options, e.g. ``num_examples=200`` or
            ``image_size=32`` for ``shapes`` (see ``recipes.data.offline``).
    """
    spec = get_spec(name)
    if spec.arrays is None:
        raise ValueError(
            f"arrays() serves offline datasets only; use load({name!r}, ...) for "
            f"tensorflow-datasets ones. Offline: {', '.join(list_datasets(True))}."
        )
    return spec.arrays(split=split, **options)


def load_arrays(spec, split, download=None, data_dir=None, image_size=None, **options):
    """The loader of an offline set: its ``arrays`` maker's split as a ``tf.data``.

    Args:
        spec: the set's ``DatasetSpec``.
        split: ``"train"``, ``"validation"`` or ``"test"``.
        download: unused (nothing to download).
        data_dir: unused.
        image_size: passed to the maker as ``image_size`` when given (``shapes``).
        **options: the maker's options.

    Returns:
        ``(un-batched tf.data.Dataset, number of examples)``.
    """
    if image_size is not None:
        options["image_size"] = image_size
    x, y = spec.arrays(split=split, **options)
    return _slices(x, y), len(y)


def load_cifar10_jpeg(spec, split, download=None, data_dir=None, image_size=None):
    """The loader of ``cifar10_jpeg``: the JPEG class folders that
    ``recipes.data.image_folder.find_cifar10_jpeg`` finds (``data_dir`` first).

    Returns:
        ``(un-batched tf.data.Dataset, number of images)``.
    """
    from recipes.data import image_folder

    root = image_folder.find_cifar10_jpeg(data_dir)
    return image_folder.image_folder_dataset(root, split, image_size=image_size)


# tfds' CIFAR-10 split strings and the JPEG copy's splits that hold the same images.
CIFAR10_COPY_SPLITS = {
    "train[:90%]": "train",
    "train[90%:]": "validation",
    "test": "test",
    "train": "train+validation",
    "train[:90%]+train[90%:]": "train+validation",
}


def load_cifar10(spec, split, download=None, data_dir=None, image_size=None):
    """The loader of ``cifar10``: tensorflow-datasets' copy, else (none on disk and
    no download) the JPEG copy that ``image_folder.find_cifar10_jpeg`` finds, with a
    line saying so; its splits stand for tfds' (``CIFAR10_COPY_SPLITS``).

    Args:
        spec: the ``cifar10`` spec.
        split: a tfds split string, one of ``CIFAR10_COPY_SPLITS`` for the copy.
        download: allow tfds to download when missing.
        data_dir: tfds' data folder.
        image_size: unused (32x32).

    Returns:
        ``(un-batched tf.data.Dataset, shuffle buffer size)``.

    Raises:
        DatasetNotAvailableError: neither tfds nor a JPEG copy has CIFAR-10; the
            message names ``TFDS_DATA_DIR`` and the JPEG copy's routes.
    """
    from recipes.data import image_folder

    try:
        return tfds_sets.load_images(spec, split, download, data_dir)
    except DatasetNotAvailableError as error:
        root = image_folder.cifar10_copy_after(error)
    if split not in CIFAR10_COPY_SPLITS:
        raise ValueError(
            f"`split` must be one of {', '.join(CIFAR10_COPY_SPLITS)} to read CIFAR-10 "
            f"from the JPEG copy at {root}. Received: split={split!r}"
        )
    return image_folder.image_folder_dataset(root, CIFAR10_COPY_SPLITS[split])


def load_image_folder(spec, split, download=None, data_dir=None, image_size=None):
    """The loader of ``image_folder``: a user's class-folder tree at ``data_dir``
    (``train/<class>/*``, ``test/<class>/*``; see ``recipes.data.image_folder``),
    grey when all its sampled images are, else colour.

    Args:
        spec: the ``image_folder`` spec.
        split: ``"train"``, ``"validation"``, ``"test"`` or ``"train+validation"``.
        download: unused.
        data_dir: the tree, or a ``.tar.gz`` archive of it.
        image_size: ``(height, width)`` to resize to (default: the first image's).

    Returns:
        ``(un-batched tf.data.Dataset, number of images)``.
    """
    from recipes.data import image_folder

    if data_dir is None:
        raise ValueError(
            "`data_dir` must name a folder of train/<class>/* and test/<class>/* images "
            "for the 'image_folder' dataset. Received: data_dir=None"
        )
    folder = image_folder.inspect_image_folder(data_dir)
    return image_folder.image_folder_dataset(
        folder.root,
        split,
        folder.classes,
        tuple(image_size or folder.image_size),
        folder.channels,
    )


def to_dataset(x, y, batch_size=32, shuffle=False, seed=0, cache=True, repeat=False):
    """Turns arrays (or a dict of arrays) into a batched, prefetched ``tf.data``.

    Args:
        x: inputs, an array or a dict of arrays.
        y: targets, an array or a dict of arrays, as long as ``x``.
        batch_size: examples per batch.
        shuffle: reshuffle every epoch (with a buffer holding the whole set).
        seed: shuffle seed.
        cache: cache the examples in memory.
        repeat: repeat forever (for ``steps_per_epoch``-style training).

    Raises:
        ValueError: ``batch_size`` below 1, arrays of different lengths, or NaN
            or infinite values in a floating-point array (named).
    """
    check_positive_int("batch_size", batch_size)
    named = [
        *(x.items() if isinstance(x, dict) else [("x", x)]),
        *(y.items() if isinstance(y, dict) else [("y", y)]),
    ]
    for key, values in named:
        check_same_length(named[0][1], check_finite(key, values), (named[0][0], key))
    return _finish(_slices(x, y), batch_size, shuffle, seed, cache, repeat, len(named[0][1]))


def array_batches(x, y, batch_size, seed=0, alternate_flips=False):
    """Endless ``(x, y)`` batches of in-memory arrays, for ``fit(...,
    steps_per_epoch=len(y) // batch_size)``: a new shuffle every epoch, the last
    partial batch dropped (every batch has the compiled shape). Plain NumPy, so it
    needs no TensorFlow and runs on every backend. ``x`` may also be a backend
    tensor (``keras.ops.convert_to_tensor(x)``): it then stays on its device (a
    GPU's memory, say) and each batch is gathered there, with no copy from the
    host.

    With ``alternate_flips`` (airbench94's flips, for images ``(n, height, width,
    channels)``), each image is mirrored left-right at random once, and every
    image is mirrored again on every other epoch: each image alternates between
    its two orientations from one epoch to the next, so any two epochs in a row
    see both. Each batch flips its images as it is gathered.

    Args:
        x: inputs, a NumPy array or a backend tensor.
        y: targets, a NumPy array as long as ``x``.
        batch_size: examples per batch, at most ``len(y)``.
        seed: seed of the shuffles (and of the first flips).
        alternate_flips: airbench94's alternating flips.

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
    if alternate_flips and np.ndim(x) != 4:
        raise ValueError(
            "`alternate_flips` flips images (n, height, width, channels). "
            f"Received: x.shape={np.shape(x)}"
        )
    random = np.random.default_rng(seed)
    mirrored = random.random(len(y)) < 0.5 if alternate_flips else None
    steps = len(y) // batch_size
    for epoch in itertools.count():
        order = random.permutation(len(y))
        for step in range(steps):
            # Sorted, each batch is gathered in memory order (the set is shuffled
            # across batches; the order within a batch does not matter).
            index = np.sort(order[step * batch_size : (step + 1) * batch_size])
            flip = mirrored[index] != bool(epoch % 2) if alternate_flips else None
            yield _gather(x, index, flip), y[index]


def _gather(x, index, flip=None):
    """``x[index]``, the images where ``flip`` is true mirrored: in NumPy for an
    array, on the tensor's device for a backend tensor."""
    import numpy as np

    if isinstance(x, np.ndarray):
        images = x[index]
        if flip is not None:
            images[flip] = images[flip, :, ::-1]
        return images
    from keras import ops

    images = ops.take(x, index, axis=0)
    if flip is None:
        return images
    return ops.where(flip[:, None, None, None], ops.flip(images, axis=2), images)


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
            ``cifar10_jpeg``: the archive or its unpacked folder;
            ``image_folder``: the class-folder tree (or its ``.tar.gz``).
        image_size: ``oxford_iiit_pet``, ``cifar10_jpeg``, ``image_folder`` and
            ``shapes``: output height and width.
        **options: offline makers' options (``num_examples``...).

    Raises:
        DatasetNotAvailableError: a tfds dataset is missing and cannot be fetched
            (for ``cifar10``: and no JPEG copy is found either).
        ValueError: a bad argument (``batch_size=0``...), or a file of an image
            folder that is not an image (named).

    Example:

    >>> train = load("mnist", split="train[:90%]", batch_size=64)
    """
    spec = get_spec(name)
    check_positive_int("batch_size", batch_size)
    if shuffle is None:
        shuffle = str(split).startswith("train")
    if options and spec.arrays is None:
        raise TypeError(f"Unknown option(s) for {name!r}: {', '.join(options)}")
    dataset, buffer_size = spec.loader(
        spec, split, download=download, data_dir=data_dir, image_size=image_size, **options
    )
    return _finish(dataset, batch_size, shuffle, seed, cache, repeat, buffer_size)


def _slices(x, y):
    import tensorflow as tf

    return tf.data.Dataset.from_tensor_slices((x, y))


def _finish(dataset, batch_size, shuffle, seed, cache, repeat, buffer_size):
    import tensorflow as tf

    if cache:
        dataset = dataset.cache()
    if shuffle:
        dataset = dataset.shuffle(buffer_size, seed=seed, reshuffle_each_iteration=True)
    if repeat:
        dataset = dataset.repeat()
    return dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def _offline(name, task, input_shape, num_classes, summary, arrays):
    """Registers an offline set: its NumPy maker ``arrays`` and its own splits."""
    spec = DatasetSpec(name, task, input_shape, num_classes, summary, load_arrays, arrays=arrays)
    return register_dataset(spec)


def _tfds(name, task, input_shape, num_classes, summary, loader=tfds_sets.load_images):
    """Registers a tensorflow-datasets set, served by ``loader`` with ``TFDS_SPLITS``."""
    spec = DatasetSpec(name, task, input_shape, num_classes, summary, loader, splits=TFDS_SPLITS)
    return register_dataset(spec)


_offline(
    "digits",
    "classification",
    (8, 8, 1),
    10,
    "scikit-learn's 8x8 handwritten digits, 1,797 images",
    offline.digits,
)
_offline(
    "moons",
    "classification",
    (2,),
    2,
    "two interleaving half circles in 2-D (binary)",
    offline.moons,
)
_offline(
    "shapes",
    "segmentation",
    (64, 64, 3),
    3,
    "synthetic circles and squares with segmentation masks",
    offline.shapes,
)
_offline(
    "sine", "regression", (32, 1), 1, "noisy sine windows; predict the next value", offline.sine
)
for _task in ("copy", "reverse"):
    _offline(
        _task,
        "seq2seq",
        None,
        SEQUENCE_VOCAB_SIZE,
        f"{_task} a string of 10-20 digits",
        partial(offline.sequence_task, _task),
    )
_tfds("mnist", "classification", (28, 28, 1), 10, "MNIST handwritten digits (tfds)")
_tfds("fashion_mnist", "classification", (28, 28, 1), 10, "Fashion-MNIST clothing images (tfds)")
_tfds(
    "cifar10",
    "classification",
    (32, 32, 3),
    10,
    "CIFAR-10 32x32 colour images, 10 classes (tfds, else the JPEG copy)",
    load_cifar10,
)
register_dataset(
    DatasetSpec(
        "image_folder",
        "classification",
        None,
        0,
        "your own images: data_dir=... holding train/<class>/* and test/<class>/* "
        "(any size, grey or colour, any number of classes)",
        load_image_folder,
    )
)
register_dataset(
    DatasetSpec(
        "cifar10_jpeg",
        "classification",
        (32, 32, 3),
        10,
        "CIFAR-10 from the JPEG class-folder copy (no tfds, no network)",
        load_cifar10_jpeg,
    )
)
_tfds(
    "cifar100",
    "classification",
    (32, 32, 3),
    100,
    "CIFAR-100 32x32 colour images, 100 classes (tfds)",
)
_tfds(
    "imdb_reviews",
    "text_classification",
    None,
    2,
    "IMDB movie reviews as raw text, positive/negative (tfds)",
    tfds_sets.load_text,
)
_tfds(
    "oxford_iiit_pet",
    "segmentation",
    (128, 128, 3),
    3,
    "Oxford-IIIT pets with pet/background/border masks (tfds)",
    tfds_sets.load_pets,
)
