"""Image datasets stored as class folders (``<root>/<split>/<class>/*.jpg``), such as
the offline CIFAR-10 JPEG copy.

The archive ``cifar10-jpeg.tar.gz`` holds ``train/<class>/NNNN.jpg`` (5,000 per
class) and ``test/<class>/NNNN.jpg`` (1,000 per class). ``load("cifar10_jpeg")``
finds it through ``data_dir=...`` or ``$RECIPES_CIFAR10_JPEG`` (the archive or the
folder it unpacks to), unpacks an archive once into ``~/.cache/recipes`` and serves
``train`` (90% of the training folder), ``validation`` (the other 10%) and ``test``.
"""

import os
import tarfile

import tensorflow as tf

from recipes.data.tfds_sets import DatasetNotAvailableError

CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog",
                   "horse", "ship", "truck")
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
        candidate = os.path.expanduser(candidate)
        if os.path.isdir(os.path.join(candidate, "train")):
            return candidate
        if os.path.isfile(candidate) and candidate.endswith((".tar.gz", ".tgz")):
            return _unpack(candidate)
    raise DatasetNotAvailableError(
        "The CIFAR-10 JPEG copy ('cifar10_jpeg') was not found. Pass data_dir=... or "
        "set RECIPES_CIFAR10_JPEG to cifar10-jpeg.tar.gz or to the folder holding its "
        "train/ and test/ class folders. Looked at: "
        f"{', '.join(filter(None, candidates))}."
    )


def _unpack(archive):
    target = os.path.join(os.path.expanduser("~/.cache/recipes"), "cifar10-jpeg")
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
    allowed = ("train", "validation", "test", "train+validation")
    if split not in allowed:
        raise ValueError(f"`split` must be one of {', '.join(allowed)}. Received: {split!r}")
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


def image_folder_dataset(root, split, class_names=CIFAR10_CLASSES):
    """Un-batched ``tf.data`` of ``(image float32 in [0, 1], label int32)``."""
    paths, labels = list_split(root, split, class_names)

    def decode(path, label):
        image = tf.io.decode_jpeg(tf.io.read_file(path), channels=3)
        return tf.cast(image, tf.float32) / 255.0, label

    dataset = tf.data.Dataset.from_tensor_slices((paths, tf.constant(labels, tf.int32)))
    return dataset.map(decode, num_parallel_calls=tf.data.AUTOTUNE), len(paths)
