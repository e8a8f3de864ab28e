"""Train a preset on its dataset, end to end: build, fit, evaluate, save.

``train_recipe`` hands the preset to its trainer (``recipes.trainers``): the
standard loop, or the trainer the preset names (``cifar10_fast``: ``"airbench"``).

Example:

>>> from recipes.training import train_recipe
>>> result = train_recipe("digits_mlp", output_dir="runs/digits_mlp")
>>> result.test_metrics["accuracy"]
0.97...
"""

from recipes.registry import get_recipe
from recipes.trainers import TrainResult, get_trainer

__all__ = ["TrainResult", "train_recipe"]


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
    **overrides,
):
    """Trains preset ``name`` with its trainer and evaluates it once on test.

    Presets that name no trainer get the standard loop
    (``recipes.trainers.standard``): ``fit`` on the training split, the validation
    split driving the curves, the test split used once at the end. With
    ``output_dir`` the model (``model.keras``), the curves (``curves.png``,
    ``curves.csv``) and ``metrics.json`` are written there.

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
        checkpoint_dir: a folder for checkpoints during training.
        distribution: a strategy, Keras distribution or context manager to train
            in (see ``recipes.trainers.distribution_scope``).
        precision_policy: one of ``recipes.precision.PRECISIONS``; default: the
            trainer's (float32 for the standard loop).
        **overrides: the trainer's options (``cifar10_fast``: ``tta``, ``runs``...)
            and builder arguments, e.g. ``dropout=0.2``.

    Returns:
        A ``TrainResult``.
    """
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
