"""Train a preset on its dataset, end to end: check, build, fit, evaluate, save.

``train_recipe`` checks first (``check_training``: the preset, the arguments, the
dataset and its labels), then hands the preset to its trainer
(``recipes.trainers``): the standard loop, or the trainer the preset names
(``cifar10_fast``: ``"airbench"``).

Example:

>>> from recipes.training import train_recipe
>>> result = train_recipe("digits_mlp", output_dir="runs/digits_mlp")
>>> result.test_metrics["accuracy"]
0.97...
"""

import shutil

import keras
import numpy as np

from recipes import data
from recipes.checks import check_positive_int
from recipes.distribute import data_parallel_plan, process_folders, start_processes
from recipes.registry import build, get_recipe
from recipes.trainers import TrainResult, get_trainer
from recipes.trainers.fitting import backup_folder

__all__ = ["TrainResult", "check_label_range", "check_training", "train_recipe"]

# Dataset tasks whose integer targets are class indices (labels or mask values).
_LABELLED_TASKS = ("classification", "segmentation")


def train_recipe(
    name,
    output_dir=None,
    epochs=None,
    batch_size=None,
    dataset=None,
    seed=0,
    verbose=2,
    callbacks=(),
    data_dir=None,
    checkpoint_dir=None,
    distribution=None,
    precision_policy=None,
    restart=False,
    distribute="auto",
    **overrides,
):
    """Trains preset ``name`` with its trainer and evaluates it once on test.

    Presets that name no trainer get the standard loop
    (``recipes.trainers.standard``): ``fit`` on the training split, the validation
    split driving the curves, the test split used once at the end. With
    ``output_dir`` the model (``model.keras``), the curves (``curves.png``,
    ``curves.csv``), ``metrics.json`` and the TensorBoard logs (``tensorboard/``)
    are written there, and the run is backed up in ``backup/`` after every epoch:
    the same call after a kill resumes after the last finished epoch
    (``recipes.trainers.fitting`` says what comes back; the trainers that fit
    through it resume, ``airbench`` and ``dqn`` start again).

    Args:
        name: a preset from ``recipes.list_recipes()``.
        output_dir: folder for the outputs, or ``None`` to write nothing.
        epochs: default: the preset's.
        batch_size: default: the preset's.
        dataset: default: the preset's dataset.
        seed: seeds Keras, NumPy and Python for a repeatable run.
        verbose: ``fit``'s verbosity.
        callbacks: more Keras callbacks.
        data_dir: a folder to read the data from, for trainers that read one
            (``cifar10_fast``: an image-folder tree).
        checkpoint_dir: a folder for checkpoints during training
            (``latest.keras``) and the backup to resume from (default: the backup
            goes to ``output_dir``).
        distribution: a strategy, Keras distribution or context manager to train
            in (see ``recipes.trainers.distribution_scope``); it overrides
            ``distribute``.
        precision_policy: one of ``recipes.precision.PRECISIONS``; default: the
            trainer's (float32 for the standard loop).
        restart: start afresh: the backup of an unfinished run is deleted first.
        distribute: ``"auto"``: with several local devices, train data-parallel
            over all of them (``recipes.distribute``; the global batch is the
            preset's times the number of devices unless ``batch_size`` is
            given; one printed line says what was chosen); with several
            processes named by ``KERAS_DISTRIBUTION_NUM_PROCESSES`` (JAX), the
            devices of all of them, only process 0 writing ``output_dir`` and
            ``checkpoint_dir`` (``recipes.distribute.process_folders``);
            ``"none"``: one device.
        **overrides: the trainer's options (``cifar10_fast``: ``tta``, ``runs``...)
            and builder arguments, e.g. ``dropout=0.2``.

    Returns:
        A ``TrainResult``.

    Raises:
        ValueError, TypeError, DatasetNotAvailableError: ``epochs`` or
            ``batch_size`` below 1, or what ``check_training`` finds, before any
            training.
    """
    for key, value in (("epochs", epochs), ("batch_size", batch_size)):
        if value is not None:
            check_positive_int(key, value)
    check_training(name, dataset, data_dir, build_model=False, **overrides)
    if distribution is None:
        distribution, batch_size = data_parallel_plan(name, distribute, batch_size)
    output_dir, checkpoint_dir = process_folders(output_dir, checkpoint_dir)
    if restart:
        backup = backup_folder(checkpoint_dir, output_dir)
        if backup:
            shutil.rmtree(backup, ignore_errors=True)
    trainer = get_trainer(get_recipe(name).trainer)
    options = {key: overrides.pop(key) for key in list(overrides) if key in trainer.options}
    return trainer.train(
        name,
        options=options,
        overrides=overrides,
        dataset=dataset,
        data_dir=data_dir,
        callbacks=callbacks,
        distribution=distribution,
        checkpoint_dir=checkpoint_dir,
        output_dir=output_dir,
        epochs=epochs,
        batch_size=batch_size,
        seed=seed,
        verbose=verbose,
        precision_policy=precision_policy,
    )


def check_training(
    name, dataset=None, data_dir=None, build_model=True, distribute="auto", **overrides
):
    """Checks, before any training, that preset ``name`` can train as asked.

    The preset and its trainer exist; a ``data_dir`` is one the trainer reads and
    holds image class folders; otherwise the dataset loads (an offline set's
    training split, or one example of another's) and its labels lie in ``[0,
    num_classes)`` of the builder's ``num_classes``; with ``build_model`` the
    model builds with ``overrides`` (then the Keras session is cleared).

    Args:
        name: a preset from ``recipes.list_recipes()``.
        dataset: default: the preset's dataset.
        data_dir: an image-folder tree, for trainers that read one.
        build_model: also build the model (``python -m recipes train`` does).
        distribute: with ``build_model``, ``"auto"`` joins the other processes
            of a multi-host run first (JAX's first computation must come after),
            ``"none"`` trains alone (see ``recipes.distribute.start_processes``).
        **overrides: the trainer's options and builder arguments, as
            ``train_recipe`` takes them.

    Raises:
        ValueError: an unknown preset, a bad argument, a ``data_dir`` the trainer
            does not read, samples of another shape than the preset's
            ``input_shape``, labels outside the class range, a file that is not an
            image.
        TypeError: an argument the builder does not take.
        DatasetNotAvailableError: the dataset (or image folder) is not there.

    Example:

    >>> check_training("digits_mlp", num_classes=5)
    Traceback (most recent call last):
    ValueError: The labels of 'digits' run from 0 to 9, outside [0, 5) ...
    """
    recipe = get_recipe(name)
    trainer = get_trainer(recipe.trainer)
    arguments = {key: value for key, value in overrides.items() if key not in trainer.options}
    if data_dir is not None:
        if trainer.data_dir is None:
            raise ValueError(
                f"{name} trains with the {trainer.name!r} trainer, which reads datasets by "
                f"name, not from a folder. Received: data_dir={data_dir!r}"
            )
        from recipes.data.image_folder import inspect_image_folder

        inspect_image_folder(data_dir)
    elif (dataset or recipe.dataset) is not None:
        _check_dataset(name, dataset or recipe.dataset, {**recipe.kwargs, **arguments})
    if build_model:
        start_processes(distribute)  # a multi-host run joins before JAX's first computation
        build(name, **arguments)
        keras.backend.clear_session()


def check_label_range(name, num_classes, labels, dataset):
    """Raises ``ValueError`` unless the integer ``labels`` lie in ``[0,
    num_classes)`` (``{0, 1}`` for a one-unit binary head, ``num_classes=1``).

    Args:
        name: the preset (for the message).
        num_classes: the builder's ``num_classes``.
        labels: an integer array (or the lowest and highest label).
        dataset: the dataset's name or folder (for the message).

    Example:

    >>> check_label_range("digits_mlp", 5, np.arange(10), "digits")
    Traceback (most recent call last):
    ValueError: The labels of 'digits' run from 0 to 9, outside [0, 5) ...
    """
    limit = 2 if num_classes == 1 else num_classes
    low, high = int(np.min(labels)), int(np.max(labels))
    if low < 0 or high >= limit:
        raise ValueError(
            f"The labels of {dataset!r} run from {low} to {high}, outside [0, {limit}) "
            f"that {name} allows: `num_classes` must cover them (--set "
            f"num_classes={max(high + 1, 2)}), or the labels must change. "
            f"Received: num_classes={num_classes}"
        )


def _check_sample_shape(name, samples, input_shape, dataset):
    """Raises ``ValueError`` unless the samples of an array dataset have the
    preset's ``input_shape`` (when both are known)."""
    if (
        isinstance(samples, np.ndarray)
        and isinstance(input_shape, (tuple, list))
        and samples.shape[1:] != tuple(input_shape)
    ):
        raise ValueError(
            f"The samples of {dataset!r} have shape {samples.shape[1:]}, but {name} takes "
            f"`input_shape`={tuple(input_shape)}: choose a dataset of that shape, or another "
            f"preset. Received: dataset={dataset!r}"
        )


def _check_dataset(name, dataset, arguments):
    """The dataset loads (an offline set's training split; one example of
    another's), an array set's samples have the preset's ``input_shape``, and
    its labels fit the builder's ``num_classes``."""
    spec = data.get_spec(dataset)
    split = data.standard_splits(dataset).get("train")
    if split is None:
        return
    if spec.offline:
        samples, labels = data.arrays(dataset, split)
        _check_sample_shape(name, samples, arguments.get("input_shape"), dataset)
    else:
        next(iter(data.load(dataset, split, batch_size=1, shuffle=False, cache=False)))
        labels = np.arange(spec.num_classes)
    num_classes = arguments.get("num_classes")
    if (
        spec.task in _LABELLED_TASKS
        and isinstance(num_classes, int)
        and isinstance(labels, np.ndarray)
        and labels.size
        and np.issubdtype(labels.dtype, np.integer)
    ):
        check_label_range(name, num_classes, labels, dataset)
