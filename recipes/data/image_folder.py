"""Image datasets stored as class folders (``<root>/<split>/<class>/*.jpg``), such as
the offline CIFAR-10 JPEG copy.

Any such tree works with ``find_image_folder`` and ``image_folder_arrays``: the
classes are the sub-folders of ``train/`` in sorted order, and images may be JPEG,
PNG, BMP or GIF of any size (``image_size`` resizes them). ``load_image_data``
gives a classification set's training and test images as NumPy arrays, from such
a tree or from tensorflow-datasets (the trainers that hold data in memory use it).

The archive ``cifar10-jpeg.tar.gz`` holds ``train/<class>/NNNN.jpg`` (5,000 per
class) and ``test/<class>/NNNN.jpg`` (1,000 per class). ``load("cifar10_jpeg")``
finds it through ``data_dir=...`` or ``$RECIPES_CIFAR10_JPEG`` (the archive or the
folder it unpacks to), unpacks an archive once into ``~/.cache/recipes`` and serves
``train`` (90% of the training folder), ``validation`` (the other 10%) and ``test``.
"""

import os
import tarfile

import numpy as np
from PIL import Image

from recipes.checks import check_split
from recipes.data import DatasetNotAvailableError

CIFAR10_CLASSES = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)
_ARCHIVE_CANDIDATES = ("../shared/data/cifar10-jpeg.tar.gz", "shared/data/cifar10-jpeg.tar.gz")
_VALIDATION_EVERY = 10  # every 10th training image (per class) is validation


def find_cifar10_jpeg(data_dir=None):
    """Returns the folder holding ``train/`` and ``test/`` class folders, unpacking
    the archive on first use.

    Raises:
        DatasetNotAvailableError: neither ``data_dir``, ``$RECIPES_CIFAR10_JPEG`` nor
            a ``shared/data`` copy next to the working folder holds it.
    """
    candidates = [data_dir, os.environ.get("RECIPES_CIFAR10_JPEG"), *_ARCHIVE_CANDIDATES]
    for candidate in filter(None, candidates):
        root = _as_root(os.path.expanduser(candidate))
        if root:
            return root
    raise DatasetNotAvailableError(
        "The CIFAR-10 JPEG copy ('cifar10_jpeg') was not found. Pass data_dir=... or "
        "set RECIPES_CIFAR10_JPEG to cifar10-jpeg.tar.gz or to the folder holding its "
        "train/ and test/ class folders. Looked at: "
        f"{', '.join(filter(None, candidates))}."
    )


def find_image_folder(data_dir):
    """Returns the folder holding ``train/<class>/`` and ``test/<class>/`` image
    folders: ``data_dir`` itself, or the ``.tar.gz`` archive ``data_dir`` unpacked
    once into ``~/.cache/recipes`` (an archive whose tree sits in one top folder
    works too).

    Raises:
        DatasetNotAvailableError: ``data_dir`` is neither such a folder nor such an
            archive.

    Example:

    >>> root = find_image_folder("path/to/cifar10-jpeg.tar.gz")
    >>> list_classes(root)[:2]
    ('airplane', 'automobile')
    """
    root = _as_root(os.path.expanduser(str(data_dir)))
    if root and os.path.isdir(os.path.join(root, "test")):
        return root
    raise DatasetNotAvailableError(
        f"No image class folders at data_dir={str(data_dir)!r}: it must be a folder "
        "(or a .tar.gz archive of one) holding train/<class>/<image> and "
        "test/<class>/<image>, e.g. train/cat/0001.jpg."
    )


def list_classes(root):
    """The class names of an image-folder tree: the sub-folders of ``<root>/train``,
    sorted (label ``i`` is the ``i``-th name)."""
    folder = os.path.join(root, "train")
    classes = sorted(d for d in os.listdir(folder) if os.path.isdir(os.path.join(folder, d)))
    if not classes:
        raise DatasetNotAvailableError(f"{folder} holds no class folders.")
    return tuple(classes)


def _as_root(candidate):
    """``candidate`` when it holds ``train/``, its unpacked copy when it is an
    archive, else ``None``."""
    if os.path.isfile(candidate) and candidate.endswith((".tar.gz", ".tgz")):
        candidate = _unpack(candidate)
        inner = [
            os.path.join(candidate, d) for d in os.listdir(candidate) if not d.startswith(".")
        ]
        if len(inner) == 1 and os.path.isdir(os.path.join(inner[0], "train")):
            candidate = inner[0]
    return candidate if os.path.isdir(os.path.join(candidate, "train")) else None


def _unpack(archive):
    stem = os.path.basename(archive).removesuffix(".tar.gz").removesuffix(".tgz")
    target = os.path.join(os.path.expanduser("~/.cache/recipes"), stem)
    done = os.path.join(target, ".unpacked")
    if not os.path.exists(done):
        os.makedirs(target, exist_ok=True)
        with tarfile.open(archive) as handle:
            handle.extractall(target, filter="data")
        open(done, "w").close()
    return target


def list_split(root, split, class_names=CIFAR10_CLASSES):
    """Returns ``(paths, labels)`` of a split, in a fixed order.

    Args:
        root: folder with ``train/`` and ``test/``.
        split: ``"train"``, ``"validation"``, ``"test"`` or ``"train+validation"``.
        class_names: class folder names in label order.
    """
    check_split(split, ("train", "validation", "test", "train+validation"))
    folder = "test" if split == "test" else "train"
    paths, labels = [], []
    for label, name in enumerate(class_names):
        files = sorted(os.listdir(os.path.join(root, folder, name)))
        for index, file in enumerate(files):
            is_validation = index % _VALIDATION_EVERY == 0
            if split == "train" and is_validation or split == "validation" and not is_validation:
                continue
            paths.append(os.path.join(root, folder, name, file))
            labels.append(label)
    return paths, labels


def image_folder_dataset(root, split, class_names=CIFAR10_CLASSES, image_size=None):
    """Un-batched ``tf.data`` of ``(image float32 in [0, 1], label int32)``.

    Args:
        root: folder with ``train/`` and ``test/``.
        split: see ``list_split``.
        class_names: class folder names in label order.
        image_size: ``(height, width)`` to resize every image to (bilinear), or
            ``None`` to keep the stored size.

    Returns:
        ``(dataset, number of images)``.
    """
    import tensorflow as tf

    paths, labels = list_split(root, split, class_names)

    def decode(path, label):
        image = tf.io.decode_image(tf.io.read_file(path), channels=3, expand_animations=False)
        image = tf.cast(image, tf.float32) / 255.0
        if image_size is not None:
            image = tf.image.resize(image, image_size)
        return image, label

    dataset = tf.data.Dataset.from_tensor_slices((paths, tf.constant(labels, tf.int32)))
    return dataset.map(decode, num_parallel_calls=tf.data.AUTOTUNE), len(paths)


def image_folder_arrays(root, split, class_names, image_size):
    """Decodes a split of an image-folder tree into NumPy arrays (with Pillow; no
    TensorFlow needed).

    Args:
        root: folder with ``train/`` and ``test/`` (see ``find_image_folder``).
        split: see ``list_split``; ``"train+validation"`` is every training image.
        class_names: class folder names in label order (see ``list_classes``).
        image_size: ``(height, width)`` of the returned images; others are resized
            (bilinear).

    Returns:
        ``x`` float32 ``(n, height, width, 3)`` in ``[0, 1]`` and ``y`` int32 ``(n,)``.

    Example:

    >>> root = find_image_folder("path/to/tree")
    >>> x, y = image_folder_arrays(root, "test", list_classes(root), (32, 32))
    """
    paths, labels = list_split(root, split, class_names)
    height, width = image_size
    pixels = np.empty((len(paths), height, width, 3), np.uint8)

    for index, path in enumerate(paths):
        with Image.open(path) as image:
            if image.mode != "RGB":
                image = image.convert("RGB")
            if image.size != (width, height):
                image = image.resize((width, height), Image.Resampling.BILINEAR)
            pixels[index] = np.asarray(image)
    x = pixels.astype(np.float32)
    x /= 255.0
    return x, np.asarray(labels, np.int32)


def load_image_data(dataset="cifar10", data_dir=None, image_size=(32, 32)):
    """Training and test images of a classification set, as NumPy arrays.

    Sources, in order: ``data_dir``, any folder (or ``.tar.gz``) of
    ``train/<class>/*`` and ``test/<class>/*`` images; else tensorflow-datasets'
    ``dataset``; for ``"cifar10"`` when tfds has no copy and cannot download it,
    the JPEG copy that ``data.load("cifar10_jpeg")`` finds (``RECIPES_CIFAR10_JPEG``
    or ``shared/data/cifar10-jpeg.tar.gz``), with a message saying so. Image
    folders are decoded with Pillow: no TensorFlow is needed.

    Args:
        dataset: ``"cifar10"``, ``"cifar10_jpeg"``, ``"cifar100"``... (ignored
            with ``data_dir``).
        data_dir: an image-folder tree or its archive.
        image_size: ``(height, width)`` of the returned images (image folders are
            resized to it).

    Returns:
        ``(x_train, y_train, x_test, y_test, source)``: float32 images in
        ``[0, 1]``, int32 labels, and a line naming where they came from.

    Raises:
        DatasetNotAvailableError: no source holds the data.

    Example:

    >>> x_train, y_train, x_test, y_test, source = load_image_data(data_dir="path/to/tree")
    """
    if data_dir is not None:
        root = find_image_folder(data_dir)
    elif dataset == "cifar10_jpeg":
        root = find_cifar10_jpeg()
    elif dataset != "cifar10":
        return _tfds_arrays(dataset)
    else:
        try:
            return _tfds_arrays(dataset)
        except DatasetNotAvailableError as error:
            try:
                root = find_cifar10_jpeg()
            except DatasetNotAvailableError as jpeg_error:
                raise DatasetNotAvailableError(
                    f"{error}\nThe JPEG copy is not there either: {jpeg_error}"
                ) from error
        print(
            f"tensorflow-datasets has no cifar10 here and cannot download it; using the "
            f"JPEG copy at {root} instead (set DATA_DIR=... for another image folder)."
        )
    classes = list_classes(root)
    x_train, y_train = image_folder_arrays(root, "train+validation", classes, tuple(image_size))
    x_test, y_test = image_folder_arrays(root, "test", classes, tuple(image_size))
    return x_train, y_train, x_test, y_test, f"image folders at {root} ({len(classes)} classes)"


def _tfds_arrays(dataset):
    """Every training and test example of a tfds set, as NumPy arrays."""
    from recipes import data

    arrays = []
    for split in ("train", "test"):
        batches = list(data.load(dataset, split, batch_size=10_000, shuffle=False, cache=False))
        arrays += [
            np.concatenate([np.asarray(x) for x, _ in batches]),
            np.concatenate([np.asarray(y) for _, y in batches]),
        ]
    return (*arrays, f"tensorflow-datasets {dataset!r}")
