"""Seed 004's density estimation with a normalizing flow, on the two moons of the
keras-io RealNVP example: our validation NLL beside its reported one.

Seed 004 teaches RealNVP-style flows (change of variables, ``nll = -E[log p(x)]``,
sampling by the inverse) and shows its figures only; the numbers to compare with
come from the keras-io example "Density estimation using Real NVP", whose data
settings are used here: 3,000 points of ``make_moons`` with noise 0.05, normalised
(each coordinate centred and scaled by the statistics of all the points, as its
``Normalization`` layer adapted on the whole set), the last 20% held out (its
``validation_split=0.2``). Its training log ends near a validation NLL of 1.3
nats per point (1.28 to 1.35 over its last epochs: a noisy figure).

Ours is the ``moons_realnvp`` preset (8 affine couplings), widened to 3 hidden
layers of 128 units and trained with a cosine-decayed learning rate. Beside it, on
the same split and in the same normalised units: scikit-learn's ``KernelDensity``
(Gaussian kernel, bandwidth by 5-fold cross-validation on the training points) and
one Gaussian fitted by maximum likelihood. Sizes: full, the example's 300 epochs
with batches of 256; quick, 100 epochs with batches of 128; tiny, 300 points, a
2-coupling flow of width 8, 2 epochs, a 3-bandwidth grid.

Example:

>>> from recipes.experiments import reproduce
>>> reproduce("realnvp_moons", size="quick").rows[0].ours     # validation NLL
1.2...
"""

import keras
import numpy as np
from scipy.stats import multivariate_normal
from sklearn.model_selection import GridSearchCV
from sklearn.neighbors import KernelDensity

import recipes
from recipes import data
from recipes.experiments import Experiment, ExperimentResult, Row, register_experiment
from recipes.plots import plot_samples

PRESET = "moons_realnvp"
DOCUMENT_NLL = 1.3  # keras-io RealNVP example: val_loss near the end of its training log
METRIC = "validation NLL (nats/point, normalised)"
NOTE = (
    "Lower is better. The document's figure is the keras-io example's validation loss near "
    "the end of its 300 epochs, read from a noisy log (1.28 to 1.35); its split was drawn "
    "at random as ours is, so expect a few hundredths either way from the data alone."
)


def moons_split(num_points):
    """The keras-io example's data: moons with noise 0.05, normalised with the
    statistics of all the points, the last 20% held out.

    Returns:
        ``(train, validation)`` float32 arrays of 2-D points.
    """
    points, _ = data.arrays("moons", "train", num_examples=num_points, noise=0.05)
    points = (points - points.mean(axis=0)) / points.std(axis=0)
    held_out = num_points // 5
    return points[:-held_out], points[-held_out:]


def _kernel_density(train, validation, bandwidths, folds):
    """Validation NLL of a Gaussian ``KernelDensity`` whose bandwidth is chosen by
    cross-validation on ``train``, and that bandwidth."""
    search = GridSearchCV(KernelDensity(), {"bandwidth": bandwidths}, cv=folds)
    best = search.fit(train).best_estimator_
    return -float(best.score_samples(validation).mean()), float(best.bandwidth)


def run(request):
    """Trains the flow, fits the baselines and draws samples; see the module."""
    # The flow's widths, then the kernel density's bandwidth grid and folds.
    wide = {"sizes": {"hidden_units": 128, "num_hidden": 3}, "bandwidths": 16, "cv": 5}
    settings = request.pick(
        full={"points": 3000, "epochs": 300, "batch": 256, "rate": 1e-3, **wide},
        quick={"points": 3000, "epochs": 100, "batch": 128, "rate": 2e-3, **wide},
        tiny={
            "points": 300,
            "epochs": 2,
            "batch": 128,
            "rate": 2e-3,
            "sizes": {"num_couplings": 2, "hidden_units": 8, "num_hidden": 1},
            "bandwidths": 3,
            "cv": 2,
        },
    )
    train, validation = moons_split(settings["points"])
    epochs, batch_size = settings["epochs"], settings["batch"]
    steps = epochs * -(-len(train) // batch_size)
    keras.utils.set_random_seed(request.seed)
    flow = recipes.build(
        PRESET,
        learning_rate=keras.optimizers.schedules.CosineDecay(settings["rate"], steps),
        **settings["sizes"],
    )
    flow.fit(train, epochs=epochs, batch_size=batch_size, verbose=0)
    flow_nll = -float(keras.ops.convert_to_numpy(flow(validation)).mean())
    request.progress("RealNVP", 1, 2)
    grid = np.logspace(-1.5, 0, settings["bandwidths"])
    kde_nll, bandwidth = _kernel_density(train, validation, grid, settings["cv"])
    gaussian = multivariate_normal(train.mean(axis=0), np.cov(train, rowvar=False, bias=True))
    request.progress("KernelDensity and Gaussian", 2, 2)
    conditions = {
        "data": f"make_moons({settings['points']:,}, noise=0.05), normalised; "
        f"{len(train):,} train, {len(validation):,} validation",
        "seed": request.seed,
    }
    model = f"{PRESET}, {flow.num_couplings} couplings of {flow.num_hidden}x{flow.hidden_units}"
    rows = [
        Row(
            f"RealNVP ({model})",
            METRIC,
            DOCUMENT_NLL,
            flow_nll,
            {**conditions, "epochs": epochs, "batch size": batch_size},
            "document: keras-io RealNVP example, from a noisy training log",
        ),
        Row(
            f"KernelDensity (bandwidth {bandwidth:.3g})",
            METRIC,
            None,
            kde_nll,
            conditions,
            "same split; bandwidth by cross-validation on the training points",
        ),
        Row("one Gaussian", METRIC, None, -float(gaussian.logpdf(validation).mean()), conditions),
    ]
    figure = plot_samples(
        {"RealNVP samples": flow.sample(len(validation) * 2, seed=request.seed)},
        request.figure_path("samples"),
        title="Over the training points (grey)",
        reference=train,
    )
    return ExperimentResult(rows, figures={"samples": figure}, notes=[NOTE])


register_experiment(
    Experiment(
        "realnvp_moons",
        "seed 004's flow density on the keras-io two moons: validation NLL and KDE",
        "seed 004, Density estimation with normalizing flows; figures from the keras-io "
        "RealNVP example (make_moons(3000, noise=0.05), validation_split=0.2)",
        run,
        "about 1 min on 2 CPU cores",
    )
)
