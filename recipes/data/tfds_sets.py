"""Real datasets through tensorflow-datasets, with a clear error when they are absent.

tfds downloads a dataset the first time it is asked for. Without network it would
retry for minutes and then surface an internal traceback; here a missing dataset
raises ``DatasetNotAvailableError`` at once, naming the dataset, the data folder
and how to fetch it.

``load_images``, ``load_pets`` and ``load_text`` are the loaders the dataset
entries of ``recipes.data`` carry. TensorFlow is imported only when one runs.
"""

import os
import socket

_PROBE_HOST = ("storage.googleapis.com", 443)
_SHUFFLE_BUFFER = 10_000


def data_dir(explicit=None):
    """The tfds data folder: ``explicit``, else ``$TFDS_DATA_DIR``, else
    ``~/tensorflow_datasets``."""
    return os.path.expanduser(
        explicit or os.environ.get("TFDS_DATA_DIR") or "~/tensorflow_datasets"
    )


def network_available(timeout=3.0):
    """True when the tfds download servers answer within ``timeout`` seconds."""
    try:
        socket.create_connection(_PROBE_HOST, timeout=timeout).close()
        return True
    except OSError:
        return False


def download_allowed(download=None):
    """Whether ``load`` may download: ``download`` if given, else
    ``$RECIPES_DOWNLOAD`` ("0" forbids), else yes."""
    if download is not None:
        return bool(download)
    return os.environ.get("RECIPES_DOWNLOAD", "1").lower() not in ("0", "false", "no")


def missing_dataset_message(name, folder, reason):
    """The error text for a dataset that is neither on disk nor downloadable."""
    return (
        f"The tensorflow-datasets dataset {name!r} is not in the data folder "
        f"{folder} and {reason}.\n"
        "To fix it, either:\n"
        f'  - on a machine with network, run: python -c "import tensorflow_datasets '
        f"as tfds; tfds.builder('{name}', data_dir='{folder}').download_and_prepare()\"\n"
        f"    then copy {os.path.join(folder, name)} to this machine's data folder;\n"
        "  - or point TFDS_DATA_DIR (or data_dir=...) at a folder that holds it.\n"
        "Offline datasets that need no download: digits, moons, shapes, sine, copy, "
        "reverse."
    )


def load_tfds(name, split, download=None, data_dir_=None, as_supervised=True):
    """Returns the un-batched ``tf.data.Dataset`` of a tfds split.

    Args:
        name: tfds name, e.g. ``"mnist"``.
        split: any tfds split string (``"train"``, ``"test"``, ``"train[:90%]"``).
        download: allow a download when missing (see ``download_allowed``).
        data_dir_: the data folder (see ``data_dir``).
        as_supervised: yield ``(input, label)`` pairs rather than feature dicts.

    Raises:
        DatasetNotAvailableError: the dataset is missing and cannot be fetched.
    """
    import tensorflow_datasets as tfds

    from recipes.data import DatasetNotAvailableError

    folder = data_dir(data_dir_)
    builder = tfds.builder(name, data_dir=folder)
    try:
        return builder.as_dataset(split=split, as_supervised=as_supervised)
    except AssertionError:  # tfds' way of saying "not prepared"
        pass
    if not download_allowed(download):
        raise DatasetNotAvailableError(
            missing_dataset_message(
                name, folder, "downloads are off (download=False or RECIPES_DOWNLOAD=0)"
            )
        )
    if not network_available():
        raise DatasetNotAvailableError(
            missing_dataset_message(name, folder, "there is no network to download it")
        )
    try:
        builder.download_and_prepare()
    except Exception as error:  # any failure of tfds' download becomes one clear error
        raise DatasetNotAvailableError(
            missing_dataset_message(name, folder, f"its download failed ({error!r})")
        ) from error
    return builder.as_dataset(split=split, as_supervised=as_supervised)


def load_images(spec, split, download=None, data_dir=None, image_size=None):
    """The loader of a tfds image classification set (``mnist``, ``cifar10``...).

    Args:
        spec: the set's ``recipes.data.DatasetSpec`` (its ``name`` is tfds').
        split: any tfds split string.
        download: allow a download when missing (see ``download_allowed``).
        data_dir: the data folder (see ``data_dir``).
        image_size: unused (the images keep tfds' size).

    Returns:
        ``(un-batched tf.data.Dataset of (image in [0, 1], int32 label), shuffle
        buffer size)``.
    """
    return _mapped(spec.name, split, download, data_dir, True, scale_image)


def load_pets(spec, split, download=None, data_dir=None, image_size=None):
    """The loader of ``oxford_iiit_pet``: ``(image, mask)`` pairs resized to
    ``image_size`` (default: the spec's input shape); see ``pet_example``.

    Returns:
        ``(un-batched tf.data.Dataset, shuffle buffer size)``.
    """
    convert = pet_example(tuple(image_size or spec.input_shape[:2]))
    return _mapped(spec.name, split, download, data_dir, False, convert)


def load_text(spec, split, download=None, data_dir=None, image_size=None):
    """The loader of a tfds text classification set (``imdb_reviews``): raw
    strings and int32 labels.

    Returns:
        ``(un-batched tf.data.Dataset, shuffle buffer size)``.
    """
    return _mapped(spec.name, split, download, data_dir, True, text_example)


def _mapped(name, split, download, folder, as_supervised, convert):
    import tensorflow as tf

    dataset = load_tfds(name, split, download, folder, as_supervised)
    return dataset.map(convert, num_parallel_calls=tf.data.AUTOTUNE), _SHUFFLE_BUFFER


def scale_image(image, label):
    """uint8 image to float32 in ``[0, 1]``; label to int32."""
    import tensorflow as tf

    return tf.cast(image, tf.float32) / 255.0, tf.cast(label, tf.int32)


def pet_example(image_size):
    """Maps an ``oxford_iiit_pet`` example to ``(image, mask)``: the image resized
    to ``image_size`` in ``[0, 1]``, the mask to classes 0 pet, 1 background,
    2 border (tfds stores them as 1, 2, 3)."""

    import tensorflow as tf

    def convert(example):
        image = tf.image.resize(example["image"], image_size) / 255.0
        mask = tf.image.resize(example["segmentation_mask"], image_size, method="nearest")
        return image, tf.cast(mask, tf.int32) - 1

    return convert


def text_example(text, label):
    """imdb_reviews: keep the raw string; label to int32."""
    import tensorflow as tf

    return text, tf.cast(label, tf.int32)
