"""The standard loop, the trainer of every preset that names none: build, ``fit``
on the dataset's training split with its validation split, evaluate once on the
test split, save.

Example:

>>> from recipes.trainers import get_trainer
>>> result = get_trainer("standard").train("digits_mlp", epochs=5, checkpoint_dir="ckpt")
>>> result.test_metrics["accuracy"]
0.9...
"""

import contextlib
import os
import time

import keras

from recipes.checks import check_positive_int
from recipes.precision import precision
from recipes.registry import build, get_recipe
from recipes.trainers import Trainer, TrainResult, register_trainer, write_metrics


def train_standard(
    name,
    *,
    options,
    overrides,
    dataset,
    data_dir,
    callbacks,
    checkpoint_dir,
    output_dir,
    epochs,
    batch_size,
    seed,
    verbose,
    precision_policy,
):
    """Builds preset ``name``, trains it on its dataset and evaluates it once on test.

    The validation split drives the curves; the test split is used once, at the
    end. With ``checkpoint_dir``, ``keras.callbacks.ModelCheckpoint`` saves the
    model there after every epoch (``latest.keras``) and
    ``keras.callbacks.BackupAndRestore`` keeps a backup in its ``backup/`` folder,
    so that an interrupted run started again resumes where it stopped. With
    ``output_dir`` the model (``model.keras``), the curves (``curves.png``,
    ``curves.csv``) and ``metrics.json`` are written there.

    Args:
        name: a preset from ``recipes.list_recipes()``.
        options: none (this trainer takes no options).
        overrides: builder arguments, e.g. ``{"dropout": 0.2}``.
        dataset: default: the preset's dataset.
        data_dir: unused (``Trainer.train`` refuses one).
        callbacks: more Keras callbacks.
        checkpoint_dir: folder for the checkpoints, or ``None``.
        output_dir: folder for the outputs, or ``None`` to write nothing.
        epochs: default: the preset's (else 10).
        batch_size: default: the preset's (else 32).
        seed: seeds Keras, NumPy and Python for a repeatable run.
        verbose: ``fit``'s verbosity.
        precision_policy: a dtype policy to build and train under, or ``None``
            for the current one.

    Returns:
        A ``TrainResult``; ``paths`` holds ``checkpoint`` with ``checkpoint_dir``.

    Example:

    >>> result = train_standard("digits_mlp", options={}, overrides={}, ...)
    """
    recipe = get_recipe(name)
    dataset = dataset or recipe.dataset
    if dataset is None:
        raise ValueError(f"Recipe {name!r} has no default dataset: pass dataset=...")
    epochs = check_positive_int("epochs", epochs or recipe.fit.get("epochs", 10))
    batch_size = batch_size or recipe.fit.get("batch_size", 32)
    policy = precision(precision_policy) if precision_policy else contextlib.nullcontext()
    with policy:
        keras.utils.set_random_seed(seed)
        train, validation, test = _splits(dataset, batch_size, seed)
        model = build(name, **overrides)
        callbacks, paths = _callbacks(callbacks, checkpoint_dir, output_dir)
        start = time.perf_counter()
        history = model.fit(
            train, validation_data=validation, epochs=epochs, callbacks=callbacks, verbose=verbose
        )
        train_seconds = time.perf_counter() - start
        test_metrics = model.evaluate(test, return_dict=True, verbose=0)
        if output_dir:
            paths["model"] = os.path.join(output_dir, "model.keras")
            model.save(paths["model"])
            paths["metrics"] = write_metrics(
                output_dir,
                {
                    "recipe": name,
                    "dataset": dataset,
                    "epochs": epochs,
                    "batch_size": batch_size,
                    "train_seconds": train_seconds,
                    "test": test_metrics,
                },
            )
    return TrainResult(model, history.history, test_metrics, train_seconds, paths)


def _splits(dataset, batch_size, seed):
    """The training (shuffled with ``seed``), validation and test pipelines."""
    from recipes import data

    splits = data.standard_splits(dataset)
    return (
        data.load(dataset, splits["train"], batch_size=batch_size, seed=seed),
        data.load(dataset, splits["validation"], batch_size=batch_size),
        data.load(dataset, splits["test"], batch_size=batch_size),
    )


def _callbacks(callbacks, checkpoint_dir, output_dir):
    """The user's callbacks plus the checkpoints (``checkpoint_dir``) and the
    curves (``output_dir``), and the paths they write."""
    callbacks, paths = list(callbacks), {}
    if checkpoint_dir:
        paths["checkpoint"] = os.path.join(checkpoint_dir, "latest.keras")
        callbacks += [
            keras.callbacks.BackupAndRestore(os.path.join(checkpoint_dir, "backup")),
            keras.callbacks.ModelCheckpoint(paths["checkpoint"]),
        ]
    if output_dir:
        from callbacks import TrainingCurves

        os.makedirs(output_dir, exist_ok=True)
        curves = TrainingCurves(output_dir)
        callbacks.append(curves)
        paths.update(curves_png=curves.png_path, curves_csv=curves.csv_path)
    return callbacks, paths


STANDARD = register_trainer(
    Trainer(
        "standard",
        train_standard,
        "build, fit on the training split with validation, test once, save",
    )
)
