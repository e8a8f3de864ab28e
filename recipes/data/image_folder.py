"""Image datasets stored as class folders (``<root>/<split>/<class>/<image>``): a
user's own images, or the offline CIFAR-10 JPEG copy.

A tree holds ``train/<class>/*`` and ``test/<class>/*``; the classes are the
sub-folders of ``train/`` in sorted order, and images may be JPEG, PNG, BMP or GIF
of any size, grey or colour. ``inspect_image_folder`` says what a tree holds
(classes, grey or colour, the first image's size); ``image_folder_dataset`` serves
a split as ``tf.data`` (TensorFlow's decoder and resize); ``image_folder_arrays``
decodes one into NumPy arrays with Pillow, without TensorFlow, for the JAX and
PyTorch backends. Every tenth image of each class of ``train/`` is the
``validation`` split, the others ``train``; ``train+validation`` is all of
``train/``. A file that is not an image is reported by name.

The archive ``cifar10-jpeg.tar.gz`` holds ``train/<class>/NNNN.jpg`` (5,000 per
class) and ``test/<class>/NNNN.jpg`` (1,000 per class). ``find_cifar10_jpeg``
finds it through ``data_dir=...``, ``$RECIPES_CIFAR10_JPEG`` (the archive or the
folder it unpacks to) or, when neither is set, as ``shared/data/cifar10-jpeg.tar.gz``
next to the working folder or to the package's checkout; an archive is unpacked
once into ``~/.cache/recipes``.

Example:

>>> folder = inspect_image_folder("path/to/my_images")
>>> folder.classes, folder.channels
(('cat', 'dog'), 3)
>>> x, y = image_folder_arrays(folder.root, "test", folder.classes, (64, 64))
"""

import os
import pathlib
import tarfile
from dataclasses import dataclass

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
CIFAR10_ENV = "RECIPES_CIFAR10_JPEG"
CIFAR10_ARCHIVE = "cifar10-jpeg.tar.gz"
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif")
SPLITS = ("train", "validation", "test", "train+validation")
# The first bytes of each format TensorFlow's decode_image reads.
_TAIL_BYTES = 1024  # where a whole JPEG has its end-of-image marker
_SIGNATURES = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a", b"BM")
_GREY_MODES = ("1", "L", "LA", "I", "I;16", "F")
_VALIDATION_EVERY = 10  # every 10th training image (per class) is validation
_SAMPLED_PER_CLASS = 3  # images per class opened to tell grey from colour

CIFAR10_ROUTES = (
    "The CIFAR-10 JPEG copy (cifar10-jpeg.tar.gz, or the folder holding its train/ "
    "and test/ class folders) is used when one is given: DATA_DIR=... for make "
    "(make tune, make train), --data-dir for python -m tuning and python -m recipes "
    f"train, data_dir=... in Python, or ${CIFAR10_ENV}; without one, "
    f"shared/data/{CIFAR10_ARCHIVE} next to the working folder or to the checkout."
)


@dataclass(frozen=True)
class ImageFolder:
    """What an image-folder tree holds.

    Attributes:
        root: the folder holding ``train/`` and ``test/``.
        classes: the class names, in label order.
        channels: 1 when every sampled image is grey, else 3.
        image_size: ``(height, width)`` of the first training image.
    """

    root: str
    classes: tuple
    channels: int
    image_size: tuple

    def describe(self):
        """One line: the classes, grey or colour, and where."""
        shown = ", ".join(self.classes[:4]) + (", ..." if len(self.classes) > 4 else "")
        colour = "grey" if self.channels == 1 else "colour"
        return f"{len(self.classes)} classes ({shown}), {colour} images, at {self.root}"


def default_cifar10_locations():
    """Where the CIFAR-10 copy is looked for when none is given:
    ``shared/data/cifar10-jpeg.tar.gz`` in the working folder and its parent, and in
    the folder holding the package (the checkout) and every folder above it (so
    that a copy next to the checkout is found from any working folder).

    Returns:
        A list of paths, without repeats.
    """
    working = pathlib.Path.cwd()
    checkout = pathlib.Path(__file__).resolve().parents[2]  # above recipes/data/
    folders = [working, working.parent, checkout, *checkout.parents]
    return list(dict.fromkeys(str(f / "shared" / "data" / CIFAR10_ARCHIVE) for f in folders))


def find_cifar10_jpeg(data_dir=None):
    """Returns the folder holding the CIFAR-10 copy's ``train/`` and ``test/`` class
    folders, unpacking the archive on first use.

    A given location (``data_dir``, else ``$RECIPES_CIFAR10_JPEG``) must hold the
    copy; only when none is given are ``default_cifar10_locations()`` searched.

    Args:
        data_dir: the archive or its unpacked folder, or ``None``.

    Raises:
        DatasetNotAvailableError: the given location holds no copy, or none is given
            and no default location holds one; the message names every route.

    Example:

    >>> find_cifar10_jpeg("../shared/data/cifar10-jpeg.tar.gz")
    '/root/.cache/recipes/cifar10-jpeg'
    """
    for origin, value in (("data_dir", data_dir), (CIFAR10_ENV, os.environ.get(CIFAR10_ENV))):
        if value:
            root = _as_root(os.path.expanduser(str(value)))
            if root:
                return root
            raise DatasetNotAvailableError(
                f"No CIFAR-10 JPEG copy at {origin}={str(value)!r}. {CIFAR10_ROUTES}"
            )
    candidates = default_cifar10_locations()
    for candidate in candidates:
        root = _as_root(candidate)
        if root:
            return root
    raise DatasetNotAvailableError(
        f"The CIFAR-10 JPEG copy was not found (looked at {', '.join(candidates)}). "
        f"{CIFAR10_ROUTES}"
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


def inspect_image_folder(data_dir):
    """Finds an image-folder tree and says what it holds, opening only a few images.

    Args:
        data_dir: the tree, or a ``.tar.gz`` archive of it (see ``find_image_folder``).

    Returns:
        An ``ImageFolder``.

    Raises:
        DatasetNotAvailableError: no tree at ``data_dir``, or ``train/`` holds no
            class folders or no images.
        ValueError: a sampled file is not an image (the message names it).

    Example:

    >>> inspect_image_folder("path/to/tree").describe()
    '2 classes (cat, dog), colour images, at path/to/tree'
    """
    root = find_image_folder(data_dir)
    classes = list_classes(root)
    sampled = [
        path
        for name in classes
        for path in _image_files(os.path.join(root, "train", name))[:_SAMPLED_PER_CLASS]
    ]
    if not sampled:
        raise DatasetNotAvailableError(
            f"{os.path.join(root, 'train')} holds no images ({', '.join(IMAGE_EXTENSIONS)})."
        )
    modes, sizes = [], []
    for path in sampled:
        with _open_image(path) as image:
            modes.append(image.mode)
            sizes.append(image.size)
    channels = 1 if all(mode in _GREY_MODES for mode in modes) else 3
    return ImageFolder(root, classes, channels, (sizes[0][1], sizes[0][0]))


def list_classes(root):
    """The class names of an image-folder tree: the sub-folders of ``<root>/train``,
    sorted (label ``i`` is the ``i``-th name)."""
    folder = os.path.join(root, "train")
    classes = sorted(
        d
        for d in os.listdir(folder)
        if os.path.isdir(os.path.join(folder, d)) and not d.startswith(".")
    )
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


def _image_files(folder):
    """The image files of a class folder, sorted (other files and hidden ones skipped)."""
    return sorted(
        os.path.join(folder, f)
        for f in os.listdir(folder)
        if f.lower().endswith(IMAGE_EXTENSIONS) and not f.startswith(".")
    )


def list_split(root, split, class_names=CIFAR10_CLASSES):
    """Returns ``(paths, labels)`` of a split, in a fixed order.

    Args:
        root: folder with ``train/`` and ``test/``.
        split: one of ``SPLITS``.
        class_names: class folder names in label order.

    Raises:
        DatasetNotAvailableError: a class folder is missing, or the split holds
            no image.
    """
    check_split(split, SPLITS)
    folder = "test" if split == "test" else "train"
    paths, labels = [], []
    for label, name in enumerate(class_names):
        class_folder = os.path.join(root, folder, name)
        if not os.path.isdir(class_folder):
            raise DatasetNotAvailableError(
                f"{class_folder} is missing: {folder}/ must hold the class folders of "
                f"train/ ({', '.join(class_names)})."
            )
        for index, path in enumerate(_image_files(class_folder)):
            is_validation = index % _VALIDATION_EVERY == 0
            if split == "train" and is_validation or split == "validation" and not is_validation:
                continue
            paths.append(path)
            labels.append(label)
    if not paths:
        raise DatasetNotAvailableError(
            f"The {split!r} split of {root} holds no image (validation is every "
            f"{_VALIDATION_EVERY}th image of each class of train/, counting from the first)."
        )
    return paths, labels


def check_image_files(paths):
    """Raises ``ValueError`` naming the files of ``paths`` that are not whole
    images: their first bytes are not those of a JPEG, PNG, GIF or BMP, or a JPEG
    lacks its end-of-image marker, a PNG its ``IEND`` chunk (a truncated file).
    Reads a few bytes at each end of each file; decodes nothing.

    Example:

    >>> check_image_files(["notes.jpg"])
    Traceback (most recent call last):
    ValueError: Not an image (JPEG, PNG, GIF or BMP): notes.jpg. ...
    """
    strangers, truncated = [], []
    for path in paths:
        with open(path, "rb") as handle:
            head = handle.read(8)
            if not head.startswith(_SIGNATURES):
                strangers.append(path)
            elif _is_truncated(handle, head):
                truncated.append(path)
    for bad, what in (
        (strangers, "Not an image (JPEG, PNG, GIF or BMP)"),
        (truncated, "Truncated image"),
    ):
        if bad:
            shown = ", ".join(bad[:5]) + (f" and {len(bad) - 5} more" if len(bad) > 5 else "")
            raise ValueError(
                f"{what}: {shown}. Remove or replace {'it' if len(bad) == 1 else 'them'}."
            )


def _is_truncated(handle, head):
    """True when the open image file whose first bytes are ``head`` ends early: a
    JPEG without its end-of-image marker (``FF D9``) in its last kilobyte, a PNG
    without its ``IEND`` chunk in its last bytes."""
    handle.seek(0, os.SEEK_END)
    handle.seek(max(handle.tell() - _TAIL_BYTES, 0))
    tail = handle.read()
    if head.startswith(b"\xff\xd8\xff"):
        return b"\xff\xd9" not in tail
    if head.startswith(b"\x89PNG"):
        return b"IEND" not in tail[-32:]
    return False


def image_folder_dataset(root, split, class_names=CIFAR10_CLASSES, image_size=None, channels=3):
    """Un-batched ``tf.data`` of ``(image float32 in [0, 1], label int32)``, decoded
    and resized by TensorFlow (as ``keras.utils.image_dataset_from_directory``
    does, on this module's fixed splits).

    Args:
        root: folder with ``train/`` and ``test/``.
        split: see ``list_split``.
        class_names: class folder names in label order.
        image_size: ``(height, width)`` to resize every image to (bilinear), or
            ``None`` to keep the stored size.
        channels: 3 (colour; grey images are repeated) or 1 (grey).

    Returns:
        ``(dataset, number of images)``.

    Raises:
        ValueError: a file is not an image (named).
    """
    import tensorflow as tf

    paths, labels = list_split(root, split, class_names)
    check_image_files(paths)

    def decode(path, label):
        image = tf.io.decode_image(
            tf.io.read_file(path), channels=channels, expand_animations=False
        )
        image = tf.cast(image, tf.float32) / 255.0
        if image_size is not None:
            image = tf.image.resize(image, image_size)
        return image, label

    dataset = tf.data.Dataset.from_tensor_slices((paths, tf.constant(labels, tf.int32)))
    return dataset.map(decode, num_parallel_calls=tf.data.AUTOTUNE), len(paths)


def image_folder_arrays(root, split, class_names, image_size, channels=3):
    """Decodes a split of an image-folder tree into NumPy arrays (with Pillow; no
    TensorFlow needed).

    Args:
        root: folder with ``train/`` and ``test/`` (see ``find_image_folder``).
        split: see ``list_split``; ``"train+validation"`` is every training image.
        class_names: class folder names in label order (see ``list_classes``).
        image_size: ``(height, width)`` of the returned images; others are resized
            (bilinear).
        channels: 3 (colour) or 1 (grey).

    Returns:
        ``x`` float32 ``(n, height, width, channels)`` in ``[0, 1]`` and ``y`` int32
        ``(n,)``.

    Raises:
        ValueError: a file cannot be read as an image (named).

    Example:

    >>> root = find_image_folder("path/to/tree")
    >>> x, y = image_folder_arrays(root, "test", list_classes(root), (32, 32))
    """
    paths, labels = list_split(root, split, class_names)
    height, width = image_size
    mode = "L" if channels == 1 else "RGB"
    pixels = np.empty((len(paths), height, width, channels), np.uint8)
    for index, path in enumerate(paths):
        with _open_image(path) as image:
            try:
                if image.mode != mode:
                    image = image.convert(mode)
                if image.size != (width, height):
                    image = image.resize((width, height), Image.Resampling.BILINEAR)
                pixels[index] = np.asarray(image).reshape(height, width, channels)
            except OSError as error:  # a truncated or corrupt file
                raise ValueError(f"Cannot read the image {path}: {error}") from error
    x = pixels.astype(np.float32)
    x /= 255.0
    return x, np.asarray(labels, np.int32)


def _open_image(path):
    """``PIL.Image.open(path)``, a file that is no image raising ``ValueError`` naming it."""
    try:
        return Image.open(path)
    except OSError as error:
        raise ValueError(f"Cannot read the image {path}: {error}") from error


_announced = set()


def announce_cifar10_copy(root):
    """Prints, once per process, that tensorflow-datasets' CIFAR-10 is replaced by
    the JPEG copy at ``root``."""
    if root not in _announced:
        _announced.add(root)
        print(
            "tensorflow-datasets has no cifar10 here and cannot download it; using the "
            f"JPEG copy at {root} instead."
        )


def cifar10_copy_after(error):
    """The JPEG copy's folder, when tensorflow-datasets failed with ``error``.

    Raises:
        DatasetNotAvailableError: no copy either; the message holds ``error``'s and
            names the JPEG routes.
    """
    try:
        root = find_cifar10_jpeg()
    except DatasetNotAvailableError as jpeg_error:
        raise DatasetNotAvailableError(
            f"{error}\nThe JPEG copy is not there either: {jpeg_error}"
        ) from error
    announce_cifar10_copy(root)
    return root


def load_image_data(dataset="cifar10", data_dir=None, image_size=(32, 32)):
    """Training and test images of a classification set, as NumPy arrays.

    Sources, in order: ``data_dir``, any folder (or ``.tar.gz``) of
    ``train/<class>/*`` and ``test/<class>/*`` images; else tensorflow-datasets'
    ``dataset``; for ``"cifar10"`` when tfds has no copy and cannot download it,
    the JPEG copy that ``find_cifar10_jpeg`` finds, with a line saying so. Image
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
            root = cifar10_copy_after(error)
    classes = list_classes(root)
    x_train, y_train = image_folder_arrays(root, "train+validation", classes, tuple(image_size))
    x_test, y_test = image_folder_arrays(root, "test", classes, tuple(image_size))
    return x_train, y_train, x_test, y_test, f"image folders at {root} ({len(classes)} classes)"


def _tfds_arrays(dataset):
    """Every training and test example of a tfds set, as NumPy arrays (from
    tensorflow-datasets only: no fallback to the JPEG copy here)."""
    from recipes import data
    from recipes.data import tfds_sets

    spec, arrays = data.get_spec(dataset), []
    for split in ("train", "test"):
        examples, _ = tfds_sets.load_images(spec, split)
        batches = list(examples.batch(10_000))
        arrays += [
            np.concatenate([np.asarray(x) for x, _ in batches]),
            np.concatenate([np.asarray(y) for _, y in batches]),
        ]
    return (*arrays, f"tensorflow-datasets {dataset!r}")
