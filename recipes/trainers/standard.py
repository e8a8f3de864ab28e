"""The standard loop, the trainer of every preset that names none: build, ``fit``
on the dataset's training split with its validation split, evaluate once on the
test split, save.

With ``data_dir`` an image-classification preset trains on a user's class
folders (``train/<class>/*``, ``test/<class>/*``; validation carved from train):
the images are resized to the preset's input size, and its channels and number
of classes follow the folder (one line says so). On TensorFlow the images come
through ``tf.data``; on JAX and PyTorch as NumPy arrays decoded by Pillow.

Example:

>>> from recipes.trainers import get_trainer
>>> result = get_trainer("standard").train("digits_mlp", epochs=5, checkpoint_dir="ckpt")
>>> result.test_metrics["accuracy"]
0.9...
"""

import keras

from recipes.data import image_folder
from recipes.registry import build, get_recipe
from recipes.trainers import Trainer, register_trainer
from recipes.trainers.fitting import fit_test_save


def train_standard(request):
    """Builds the requested preset, trains it on its dataset and evaluates it once
    on test.

    The validation split drives the curves; the test split is used once, at the
    end. With ``output_dir`` the model (``model.keras``), the curves
    (``curves.png``, ``curves.csv``), ``metrics.json`` and the TensorBoard logs
    (``tensorboard/``) are written there, and the run is backed up in its
    ``backup/`` folder after every epoch, so that an interrupted run started again
    resumes after its last finished epoch (``recipes.trainers.fitting``). With
    ``checkpoint_dir`` the backup goes there instead, and
    ``keras.callbacks.ModelCheckpoint`` saves the model there after every epoch
    (``latest.keras``).

    Args:
        request: a ``TrainRequest`` (no options). Its ``data_dir`` may be a folder
            (or ``.tar.gz``) of ``train/<class>/*`` and ``test/<class>/*`` images
            to train an image-classification preset on, instead of its dataset
            (see ``fit_to_image_folder``). Batch size by default: the preset's,
            else 32.

    Returns:
        A ``TrainResult``; ``paths`` holds ``checkpoint`` with ``checkpoint_dir``.

    Example:

    >>> result = train_standard(TrainRequest("digits_mlp", epochs=5))
    """
    name, overrides = request.name, request.overrides
    dataset, epochs, batch_size = request.settings(default_batch_size=32)
    if dataset is None and request.data_dir is None:
        raise ValueError(f"Recipe {name!r} has no default dataset: pass dataset=...")
    with request.policy():
        keras.utils.set_random_seed(request.seed)
        if request.data_dir is None:
            train, validation, test = _splits(dataset, batch_size, request.seed)
        else:
            folder, overrides = fit_to_image_folder(name, request.data_dir, overrides)
            dataset = f"image folders at {folder.root}"
            train, validation, test = _folder_splits(folder, overrides, batch_size, request.seed)
        model = build(name, **overrides)
        return fit_test_save(
            request,
            model,
            train,
            validation,
            test,
            {"dataset": dataset, "batch_size": batch_size},
            epochs=epochs,
        )


def fit_to_image_folder(name, data_dir, overrides):
    """Fits image-classification preset ``name`` to the class folders at
    ``data_dir``: its input keeps the preset's height and width (the images are
    resized to them) and takes the folder's channels (1 grey, 3 colour);
    ``num_classes`` becomes the folder's class count unless ``overrides`` give
    one. Prints one line saying so.

    Args:
        name: a preset whose builder takes ``input_shape`` ``(height, width,
            channels)`` and ``num_classes``.
        data_dir: the tree (or its ``.tar.gz``).
        overrides: the builder arguments given.

    Returns:
        ``(ImageFolder, overrides with input_shape and num_classes)``.

    Raises:
        ValueError: ``name`` is not an image-classification preset, or an explicit
            ``num_classes`` is smaller than the folder's class count.

    Example:

    >>> folder, overrides = fit_to_image_folder("cifar10_lenet", "my_images", {})
    cifar10_lenet: 3 classes (cat, dog, fox), grey images, at my_images; ...
    """
    from recipes.training import check_label_range

    arguments = {**get_recipe(name).kwargs, **overrides}
    shape = arguments.get("input_shape")
    if shape is None or len(shape) != 3 or "num_classes" not in arguments:
        raise ValueError(
            f"`data_dir` (images in class folders) trains image-classification presets, "
            f"whose builder takes input_shape (height, width, channels) and num_classes; "
            f"{name} takes input_shape={shape}. Received: data_dir={data_dir!r}"
        )
    folder = image_folder.inspect_image_folder(data_dir)
    input_shape = (*tuple(shape)[:2], folder.channels)
    num_classes = overrides.get("num_classes", len(folder.classes))
    check_label_range(name, num_classes, (0, len(folder.classes) - 1), folder.root)
    print(
        f"{name}: {folder.describe()}; resized to {input_shape[0]}x{input_shape[1]}, "
        f"so input_shape={input_shape} and num_classes={num_classes}."
    )
    return folder, {**overrides, "input_shape": input_shape, "num_classes": num_classes}


def _splits(dataset, batch_size, seed):
    """The training (shuffled with ``seed``), validation and test pipelines, as
    ``fit``'s, its ``validation_data`` and ``evaluate``'s arguments."""
    from recipes import data

    splits = data.standard_splits(dataset)
    return (
        # The pipeline shuffles already (fit's default shuffle=True warns).
        {
            "x": data.load(dataset, splits["train"], batch_size=batch_size, seed=seed),
            "shuffle": False,
        },
        data.load(dataset, splits["validation"], batch_size=batch_size),
        {"x": data.load(dataset, splits["test"], batch_size=batch_size)},
    )


def _folder_splits(folder, overrides, batch_size, seed):
    """An image folder's splits as ``_splits`` gives them: ``tf.data`` pipelines on
    TensorFlow, NumPy arrays decoded by Pillow on the other backends."""
    from recipes import data

    size = tuple(overrides["input_shape"][:2])
    if keras.backend.backend() == "tensorflow":

        def load(split, **options):
            return data.load(
                "image_folder",
                split,
                batch_size=batch_size,
                data_dir=folder.root,
                image_size=size,
                **options,
            )

        return (
            {"x": load("train", seed=seed), "shuffle": False},
            load("validation"),
            {"x": load("test")},
        )
    train, validation, test = (
        image_folder.image_folder_arrays(folder.root, split, folder.classes, size, folder.channels)
        for split in ("train", "validation", "test")
    )
    return (
        {"x": train[0], "y": train[1], "batch_size": batch_size, "shuffle": True},
        validation,
        {"x": test[0], "y": test[1], "batch_size": batch_size},
    )


STANDARD = register_trainer(
    Trainer(
        "standard",
        train_standard,
        "build, fit on the training split with validation, test once, save",
        data_dir="image-classification presets: a folder (or .tar.gz) of train/<class>/* "
        "and test/<class>/* images, resized to the preset's input; channels and classes "
        "follow the folder",
    )
)
