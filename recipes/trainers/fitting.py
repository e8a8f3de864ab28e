"""What the standard loop and the trainers that feed ``fit`` their own data
share: fit with the curves and checkpoints, test once, write the model and
``metrics.json``. It registers no trainer.

Example:

>>> result = fit_test_save(
...     request, model, {"x": train_episodes}, validation_episodes,
...     {"x": test_episodes}, {"dataset": "digits"}, epochs=5)
"""

import os
import time

import keras

from recipes.trainers import TrainResult, write_metrics


def fit_test_save(request, model, train, validation, test, record, *, epochs):
    """Fits ``model`` with ``fit(**train, validation_data=validation)``, evaluates it
    once with ``evaluate(**test)`` and, with ``output_dir``, writes ``model.keras``,
    ``curves.png``, ``curves.csv`` and ``metrics.json`` there, as the standard loop
    does (``checkpoint_dir``: checkpoints and a backup to resume from).

    Args:
        request: the ``TrainRequest`` (its preset's name, ``callbacks``,
            ``checkpoint_dir``, ``output_dir`` and ``verbose`` serve here).
        model: a compiled model.
        train: ``fit`` arguments giving the data (``{"x": batches}``, or ``x``,
            ``y`` and ``batch_size``).
        validation: ``fit``'s ``validation_data``.
        test: ``evaluate`` arguments giving the data.
        record: more entries for ``metrics.json`` (``dataset``, ``batch_size``...).
        epochs: epochs to train.

    Returns:
        A ``TrainResult``.
    """
    output_dir = request.output_dir
    callbacks, paths = _callbacks(request.callbacks, request.checkpoint_dir, output_dir)
    start = time.perf_counter()
    history = model.fit(
        **train,
        validation_data=validation,
        epochs=epochs,
        callbacks=callbacks,
        verbose=request.verbose,
    )
    train_seconds = time.perf_counter() - start
    test_metrics = model.evaluate(**test, return_dict=True, verbose=0)
    if output_dir:
        paths["model"] = os.path.join(output_dir, "model.keras")
        model.save(paths["model"])
        paths["metrics"] = write_metrics(
            output_dir,
            {
                "recipe": request.name,
                **record,
                "epochs": epochs,
                "train_seconds": train_seconds,
                "test": test_metrics,
            },
        )
    return TrainResult(model, history.history, test_metrics, train_seconds, paths)


def offline_arrays(name, dataset):
    """The ``(x, y)`` arrays of each split of offline ``dataset`` (preset
    ``name``'s data), keyed ``train``, ``validation``, ``test``.

    Raises:
        ValueError: ``dataset`` is not an offline set.
    """
    from recipes import data

    if not data.get_spec(dataset).offline:
        raise ValueError(
            f"Recipe {name!r} trains on an offline dataset "
            f"({', '.join(data.list_datasets(offline_only=True))}). Received: dataset={dataset!r}"
        )
    splits = data.standard_splits(dataset)
    return {
        split: data.arrays(dataset, splits[split]) for split in ("train", "validation", "test")
    }


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
