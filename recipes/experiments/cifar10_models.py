"""Seed 004's three CIFAR-10 models side by side: model 1, fully connected
(3072-1024-256-64-10, 3.4M parameters, preset ``cifar10_fc``); model 2, a
LeNet-style CNN (62k, ``cifar10_lenet``); model 3, a wider and longer CNN with
batch norm and dropout (5.8M, ``cifar10_vgg``).

The document compared their curves (its figures are lost) and gives no accuracy,
only the order it teaches: model 3 beats model 2 beats model 1. Each model trains
as its preset does (Adam at 1e-3; batches of 128, 64 and 128; 20 epochs) on
CIFAR-10 images in ``[0, 1]``, over three seeds, with a tenth of the training
images held out for the validation curves (``curves.png``); the table gives the
test accuracy's mean over the seeds and their spread.

Sizes: ``full`` trains on the 50,000 training images (45,000 and 5,000 held out)
and tests on the 10,000; ``quick`` trains models 1 and 2 for 10 epochs on 10,000
images and tests on the 10,000 (model 3 waits for the full run: 10 epochs of it
would take 15 min per seed on 2 CPU cores); ``tiny`` trains narrow models for 2
epochs on whatever the data holds (the tests' few images).

Example:

>>> from recipes.experiments import reproduce
>>> result = reproduce("cifar10_models", size="quick", data_dir="cifar10-jpeg.tar.gz")
>>> [round(row.ours, 1) for row in result.rows]
"""

import dataclasses

import keras
import numpy as np

import recipes
from callbacks.plots import plt, save_figure
from recipes.data.image_folder import load_image_data
from recipes.experiments import (
    Experiment,
    ExperimentResult,
    Row,
    fit_and_score,
    register_experiment,
    take,
)

# The document's three models: (row label, preset).
MODELS = (
    ("model 1: fully connected (3.4M)", "cifar10_fc"),
    ("model 2: CNN (62k)", "cifar10_lenet"),
    ("model 3: wider CNN, batch norm, dropout (5.8M)", "cifar10_vgg"),
)
# Narrow stand-ins of the presets for the tiny size (the tests).
TINY_WIDTHS = {
    "cifar10_fc": {"hidden_units": (16, 8)},
    "cifar10_lenet": {"filters": (4, 8), "dense_units": (16,)},
    "cifar10_vgg": {"blocks": ((4,), (8,)), "dense_units": (16,)},
}
SEEDS = 3
HELD_OUT = 10  # one training image in HELD_OUT is held out for the validation curves
CLAIM = "document: model 3 > model 2 > model 1 (no figure: its curves are lost)"


def run(request):
    """Trains the three models over three seeds; the rows give their mean test
    accuracy and spread, ``curves.png`` their validation accuracy per epoch."""
    x_train, y_train, x_test, y_test, source = load_image_data(
        "cifar10", data_dir=request.data_dir
    )
    # Shuffled (the copy's images come class by class), then a tenth held out.
    count = request.pick(full=len(x_train), quick=10_000, tiny=len(x_train))
    x_train, y_train = take(x_train, y_train, count, request.seed)
    held_out = len(x_train) // HELD_OUT
    train, validation = (
        (x_train[held_out:], y_train[held_out:]),
        (x_train[:held_out], y_train[:held_out]),
    )
    epochs = request.pick(full=None, quick=10, tiny=2)
    trained = request.pick(full=MODELS, quick=MODELS[:2], tiny=MODELS)
    data = (
        f"{source}: {len(train[0]):,} training, {held_out:,} held out, {len(x_test):,} test images"
    )
    rows, scores, steps = [], {}, len(trained) * SEEDS
    for label, preset in trained:
        recipe = recipes.get_recipe(preset)
        widths = TINY_WIDTHS[preset] if request.size == "tiny" else {}
        model_epochs = epochs or recipe.fit["epochs"]
        scores[label] = []
        for seed in range(request.seed, request.seed + SEEDS):
            keras.utils.set_random_seed(seed)
            score = fit_and_score(
                recipes.build(preset, **widths),
                train,
                (x_test, y_test),
                epochs=model_epochs,
                batch_size=recipe.fit["batch_size"],
                eager=request.size == "tiny",
                validation_data=validation,
            )
            scores[label].append(score)
            done = sum(len(runs) for runs in scores.values())
            request.progress(f"{label}, seed {seed}: test {score.test:.1f}%", done, steps)
        conditions = {
            "data": data,
            "epochs": model_epochs,
            "batch": recipe.fit["batch_size"],
            "optimizer": "Adam 1e-3 (the preset's)",
            "seeds": SEEDS,
        }
        rows.append(_row(label, [score.test for score in scores[label]], conditions))
    rows += [_waiting_row(label) for label, _ in MODELS[len(trained) :]]
    return ExperimentResult(
        rows,
        figures={"curves": _plot_curves(scores, request.figure_path("curves"))},
        notes=_order_notes(scores),
        extra={
            "per_seed": {
                label: [dataclasses.asdict(score) for score in runs]
                for label, runs in scores.items()
            }
        },
    )


def _row(label, tests, conditions):
    """The row of one model: its mean test accuracy over the seeds, the spread in
    the note."""
    spread = max(tests) - min(tests)
    note = (
        f"mean of {len(tests)} seeds, spread {spread:.2f} points "
        f"({min(tests):.2f} to {max(tests):.2f}); {CLAIM}"
    )
    return Row(label, "test accuracy (%)", None, float(np.mean(tests)), conditions, note)


def _waiting_row(label):
    """The row of a model the quick size does not train."""
    note = (
        "not trained at the quick size (10 epochs of 9,000 images take about 15 min per "
        "seed on 2 CPU cores): "
        f"it waits for the full run (make reproduce EXP=cifar10_models on a GPU); {CLAIM}"
    )
    return Row(label, "test accuracy (%)", None, float("nan"), {"seeds": 0}, note)


def _order_notes(scores):
    """For each model trained and the one before it (model 2 and model 1, model 3
    and model 2): whether it wins by more than the spread over the seeds."""
    tests = [[score.test for score in runs] for runs in scores.values()]
    notes = []
    for number, (lower, higher) in enumerate(zip(tests, tests[1:]), start=2):
        margin = np.mean(higher) - np.mean(lower)
        spread = max(max(lower) - min(lower), max(higher) - min(higher))
        verdict = "holds beyond" if margin > spread else "does not hold beyond"
        notes.append(
            f"Model {number} minus model {number - 1}: {margin:+.2f} points of test "
            f"accuracy, against a spread over the seeds of at most {spread:.2f}: the "
            f"document's order {verdict} the seeds' noise."
        )
    return notes


def _plot_curves(scores, path):
    """Validation accuracy per epoch of each model: the mean over the seeds, and
    the band between the lowest and highest seed."""
    figure, axis = plt.subplots(figsize=(6, 4))
    for label, runs in scores.items():
        curves = 100 * np.array([score.history["val_accuracy"] for score in runs])
        epochs = np.arange(1, curves.shape[1] + 1)
        axis.plot(epochs, curves.mean(axis=0), marker=".", label=label)
        axis.fill_between(epochs, curves.min(axis=0), curves.max(axis=0), alpha=0.2)
    axis.set_xlabel("epoch")
    axis.set_ylabel("validation accuracy (%)")
    axis.set_title("Seed 004's CIFAR-10 models")
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8)
    return save_figure(figure, path)


register_experiment(
    Experiment(
        name="cifar10_models",
        summary="seed 004's three CIFAR-10 models (fully connected 3.4M, CNN 62k, wider "
        "CNN 5.8M): test accuracy over 3 seeds and validation curves",
        source="seed 004 (Deep Learning 2), 'CNN in practice: CIFAR 10', models 1-3",
        run=run,
        full_time="about 10 min on one GPU; on 2 CPU cores models 1 and 2 take about "
        "25 min together and model 3 about 7 h (3 seeds of 20 epochs)",
        needs="cifar10",
    )
)
