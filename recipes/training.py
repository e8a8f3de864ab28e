"""Train a preset on its dataset, end to end: build, fit, evaluate, save.

Example:

>>> from recipes.training import train_recipe
>>> result = train_recipe("digits_mlp", output_dir="runs/digits_mlp")
>>> result.test_metrics["accuracy"]
0.97...
"""

import json
import os
import time
from dataclasses import dataclass

import keras

from recipes import data
from recipes.registry import get_recipe


@dataclass
class TrainResult:
    """What ``train_recipe`` produced.

    Attributes:
        model: the trained model.
        history: ``fit``'s history dict.
        test_metrics: metric name to value on the test split.
        train_seconds: wall time of ``fit``.
        paths: the files written (``model``, ``curves_png``, ``curves_csv``,
            ``metrics``).
    """

    model: keras.Model
    history: dict
    test_metrics: dict
    train_seconds: float
    paths: dict


def train_recipe(
    name,
    output_dir=None,
    epochs=None,
    batch_size=None,
    dataset=None,
    seed=0,
    verbose=2,
    callbacks=(),
    **overrides,
):
    """Builds preset ``name``, trains it on its dataset and evaluates it once on test.

    The validation split drives the curves; the test split is used once, at the
    end. With ``output_dir`` the model (``model.keras``), the curves
    (``curves.png``, ``curves.csv``) and ``metrics.json`` are written there.

    Args:
        name: a preset from ``recipes.list_recipes()``.
        output_dir: folder for the outputs, or ``None`` to write nothing.
        epochs: default: the preset's.
        batch_size: default: the preset's.
        dataset: default: the preset's dataset.
        seed: seeds Keras, NumPy and Python for a repeatable run.
        verbose: ``fit``'s verbosity.
        callbacks: more Keras callbacks.
        **overrides: builder arguments, e.g. ``dropout=0.2``.

    A preset registered with its own ``trainer`` (``cifar10_fast``) is trained by
    it, with these arguments.

    Returns:
        A ``TrainResult``.
    """
    recipe = get_recipe(name)
    if recipe.trainer is not None:
        return recipe.trainer(
            name,
            output_dir=output_dir,
            epochs=epochs,
            batch_size=batch_size,
            dataset=dataset,
            seed=seed,
            verbose=verbose,
            callbacks=callbacks,
            **overrides,
        )
    dataset = dataset or recipe.dataset
    if dataset is None:
        raise ValueError(f"Recipe {name!r} has no default dataset: pass dataset=...")
    epochs = epochs or recipe.fit.get("epochs", 10)
    batch_size = batch_size or recipe.fit.get("batch_size", 32)
    keras.utils.set_random_seed(seed)

    splits = data.standard_splits(dataset)
    train = data.load(dataset, splits["train"], batch_size=batch_size, seed=seed)
    validation = data.load(dataset, splits["validation"], batch_size=batch_size)
    test = data.load(dataset, splits["test"], batch_size=batch_size)

    from recipes.registry import build

    model = build(name, **overrides)
    callbacks = list(callbacks)
    paths = {}
    if output_dir:
        from callbacks import TrainingCurves

        os.makedirs(output_dir, exist_ok=True)
        curves = TrainingCurves(output_dir)
        callbacks.append(curves)
        paths.update(curves_png=curves.png_path, curves_csv=curves.csv_path)

    start = time.perf_counter()
    history = model.fit(
        train,
        validation_data=validation,
        epochs=epochs,
        callbacks=callbacks,
        verbose=verbose,
    )
    train_seconds = time.perf_counter() - start
    test_metrics = model.evaluate(test, return_dict=True, verbose=0)

    if output_dir:
        paths["model"] = os.path.join(output_dir, "model.keras")
        model.save(paths["model"])
        paths["metrics"] = os.path.join(output_dir, "metrics.json")
        with open(paths["metrics"], "w") as handle:
            json.dump(
                {
                    "recipe": name,
                    "dataset": dataset,
                    "epochs": epochs,
                    "batch_size": batch_size,
                    "train_seconds": train_seconds,
                    "test": test_metrics,
                    "backend": keras.backend.backend(),
                },
                handle,
                indent=2,
            )
    return TrainResult(model, history.history, test_metrics, train_seconds, paths)
