"""Seed 003's adversarial examples (FGSM) and adversarial training, on the offline
digits.

The document gives no number. It shows an image classified with confidence that a
perturbation of ``epsilon = 0.005`` turns into a "school bus", writes the fast
gradient sign method ``x + epsilon * sign(dL(x, y | theta) / dx)``, and names the
defence: adversarial training, "augment the training set with adversarial data to
make the network robust". Here, on scikit-learn's 8x8 digits (offline; pixels in
[0, 1]) and the ``digits_mlp`` preset (64-32 ReLU MLP):

1. the clean test accuracy of a trained model, and its accuracy under FGSM for
   several ``epsilon``, beside random signs of the same size (the gradient's
   direction is what fools it, not the size of the change);
2. then the same number of further epochs two ways, from the same weights: on
   clean data (the control: ``adversarial_weight=0``) or, for each ``epsilon``,
   on clean and FGSM examples made at that ``epsilon`` on the fly
   (``recipes.adversarial.build_adversarial_trainer``, weight 0.5 as Goodfellow et
   al.); each is attacked again.

Every figure is the mean over seeds (the table's notes give the range). Sizes:
full, 40 epochs (the preset's) then 20, 5 seeds; quick, 20 then 10, 3 seeds; tiny,
1 then 1, one seed and one ``epsilon``.

Example:

>>> from recipes.experiments import reproduce
>>> reproduce("fgsm", size="quick").rows[0].ours    # clean test accuracy (%)
97.5...
"""

import keras
import numpy as np

import recipes
from recipes import data
from recipes.adversarial import build_adversarial_trainer, fgsm
from recipes.experiments import (
    Experiment,
    ExperimentResult,
    Row,
    over_seeds,
    register_experiment,
)
from recipes.plots import plot_series
from recipes.registry import get_recipe

PRESET = "digits_mlp"
CLIP = (0.0, 1.0)  # the digits' pixel range
DOCUMENT_ATTACK = "document: a small epsilon fools a trained network (no number)"
DOCUMENT_DEFENCE = "document: adversarial training makes the network robust (no number)"


def _accuracy(model, x, y):
    """Test accuracy in percent."""
    predicted = keras.ops.convert_to_numpy(model(x, training=False)).argmax(-1)
    return 100.0 * float(np.mean(predicted == y))


def _attacked(model, x, y, epsilon):
    """Test accuracy in percent under FGSM at ``epsilon``."""
    return _accuracy(model, fgsm(model, x, y, epsilon, clip_range=CLIP), y)


def _train_on(model, x, y, epochs, batch_size, learning_rate, **adversarial):
    """Trains a copy of ``model`` ``epochs`` more epochs through the adversarial
    trainer (``adversarial_weight=0``: on clean data only); returns the copy."""
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    trainer = build_adversarial_trainer(
        copy, clip_range=CLIP, learning_rate=learning_rate, **adversarial
    )
    trainer.fit(x, y, epochs=epochs, batch_size=batch_size, verbose=0)
    return copy


def _one_seed(seed, settings, step):
    """Every accuracy of one seed, keyed ``(condition, epsilon)``."""
    (x, y), (x_test, y_test) = data.arrays("digits", "train"), data.arrays("digits", "test")
    fit, learning_rate = get_recipe(PRESET).fit, get_recipe(PRESET).kwargs["learning_rate"]
    batch_size, more = fit["batch_size"], settings["more_epochs"]
    keras.utils.set_random_seed(seed)
    model = recipes.build(PRESET)
    model.fit(x, y, epochs=settings["epochs"], batch_size=batch_size, verbose=0)
    step(f"seed {seed}: clean model")
    accuracies = {("clean", 0.0): _accuracy(model, x_test, y_test)}
    signs = np.sign(np.random.default_rng(seed).normal(size=x_test.shape)).astype("float32")
    control = _train_on(model, x, y, more, batch_size, learning_rate, adversarial_weight=0.0)
    step(f"seed {seed}: {more} more clean epochs (control)")
    for epsilon in settings["epsilons"]:
        robust = _train_on(model, x, y, more, batch_size, learning_rate, epsilon=epsilon)
        step(f"seed {seed}: {more} adversarial epochs at epsilon {epsilon}")
        accuracies |= {
            ("fgsm", epsilon): _attacked(model, x_test, y_test, epsilon),
            ("random", epsilon): _accuracy(
                model, np.clip(x_test + epsilon * signs, *CLIP), y_test
            ),
            ("control", epsilon): _attacked(control, x_test, y_test, epsilon),
            ("robust", epsilon): _attacked(robust, x_test, y_test, epsilon),
            ("robust clean", epsilon): _accuracy(robust, x_test, y_test),
        }
    return accuracies


def run(request):
    """Trains, attacks and defends the digits MLP; see the module."""
    settings = request.pick(
        full={"epochs": 40, "more_epochs": 20, "seeds": 5, "epsilons": (0.05, 0.1, 0.2, 0.3)},
        quick={"epochs": 20, "more_epochs": 10, "seeds": 3, "epsilons": (0.05, 0.1, 0.2, 0.3)},
        tiny={"epochs": 1, "more_epochs": 1, "seeds": 1, "epsilons": (0.2,)},
    )
    seeds = range(request.seed, request.seed + settings["seeds"])
    total, done = len(seeds) * (2 + len(settings["epsilons"])), 0

    def step(label):
        nonlocal done
        done += 1
        request.progress(label, done, total)

    summary = over_seeds([_one_seed(seed, settings, step) for seed in seeds])
    more = settings["more_epochs"]
    conditions = {
        "data": "scikit-learn digits 8x8 (offline): 1,258 train, 359 test",
        "model": f"{PRESET} (64-32 ReLU MLP)",
        "epochs": f"{settings['epochs']} + {more}",
        "seeds": len(seeds),
    }
    labels = {
        "fgsm": ("clean model, FGSM", DOCUMENT_ATTACK),
        "random": ("clean model, random signs of the same size", ""),
        "control": (f"{more} more clean epochs (control), FGSM", ""),
        "robust": (f"{more} adversarial epochs at this epsilon, FGSM", DOCUMENT_DEFENCE),
        "robust clean": (f"{more} adversarial epochs at this epsilon, clean inputs", ""),
    }
    clean, clean_note = summary[("clean", 0.0)]
    rows = [Row("clean model", "test accuracy (%)", None, clean, conditions, clean_note)]
    for epsilon in settings["epsilons"]:
        for key, (label, claim) in labels.items():
            value, note = summary[(key, epsilon)]
            note = "; ".join(part for part in (claim, note) if part)
            rows.append(
                Row(
                    f"epsilon {epsilon}: {label}",
                    "test accuracy (%)",
                    None,
                    value,
                    conditions,
                    note,
                )
            )
    series = {
        labels[key][0]: (
            settings["epsilons"],
            [summary[(key, epsilon)][0] for epsilon in settings["epsilons"]],
        )
        for key in labels
    }
    figure = plot_series(
        request.figure_path("accuracy_by_epsilon"),
        series,
        "epsilon (pixels in [0, 1])",
        "test accuracy (%)",
        title=f"FGSM on the digits MLP (clean accuracy {clean:.1f}%)",
    )
    return ExperimentResult(
        rows,
        figures={"accuracy_by_epsilon": figure},
        notes=[
            "The document gives no number: it shows that a small perturbation fools a "
            "trained network and names adversarial training as the defence. The control "
            "trains as many more epochs on clean data, from the same weights, so the gain "
            "of adversarial training is not that of longer training.",
        ],
        extra={"accuracies": {f"{key} {eps}": value for (key, eps), value in summary.items()}},
    )


register_experiment(
    Experiment(
        "fgsm",
        "seed 003's FGSM attack and adversarial training: accuracy against epsilon",
        "seed 003 (week 8), 8.6 Adversarial approaches: FGSM and adversarial training",
        run,
        "about 1 min on 2 CPU cores (5 seeds)",
    )
)
