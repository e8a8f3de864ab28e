"""Zhang et al. 2017, "Understanding deep learning requires rethinking
generalization": seed 002's table and the paper's figure 1a.

The table: Inception (with and without batch norm), AlexNet, MLP 3x512 and MLP
1x512 on CIFAR-10, with and without random crops and weight decay, and each
fitting random labels (19 lines: the train and test accuracy of each, beside the
document's). Every network fits its training set, true labels or random ones;
only with true labels does it generalise: on random labels the test accuracy is
chance, 10%. Figure 1a (cited by the document, not shown): the training loss
against the steps for true labels, random labels, shuffled pixels (one
permutation of the pixels for every image), random pixels (a permutation per
image) and Gaussian inputs (of the data's mean and spread).

How ours is measured, at every size: the presets (``zhang_inception_small``,
``zhang_alexnet_small``, ``zhang_mlp_3x512``, ``zhang_mlp_1x512``: 28x28 centre
crops inside the model), each image standardised to mean 0 and deviation 1 (the
paper's per-image whitening), Adam at 1e-3 until the epoch's training accuracy
reaches 99% or the size's most epochs, one seed. At full size the rate decays to
0 along a cosine over the most epochs (the paper decayed its rate by 0.95 per
epoch), and the MLPs start it at 1e-4: on all 50,000 random labels MLP 3x512
reaches 97.5% training accuracy in 30 epochs at a constant 1e-4 and 47.7% at
1e-3 (73.7% after 150 epochs at 1e-3, 80.6% after 300 with its cosine decay).
Random crop: a random 28x28 window of the 32x32 image in training
(``RandomPadCrop`` of 2 pixels before the centre crop). Weight decay: AdamW's,
0.004 (Keras' default: a shrink of 4e-6 per step, as an L2 penalty of 5e-4
under SGD at 0.01). The paper trained with SGD and momentum 0.9 (the presets'
optimizer); ours is Adam because that SGD fits random labels slowly on a CPU: at
0.01, 79.5% after 280 epochs of MLP 1x512 (measured for issue 18); at 0.05, 31%
after 80 epochs of 10,000 images, where Adam reaches 99% in 64.

Sizes (``schedules``): ``full`` is the document's data (50,000 training and
10,000 test images, batches of 128, at most 100 epochs, 300 for the MLPs): the
MLP rows run on 2 CPU cores (``zhang2017_mlp`` runs the six in about 15 min with
JAX), the others want a GPU; ``quick`` (about 7 min on 2 CPU cores) trains on a
random subset (MLPs 4,000 images in batches of 128, AlexNet 250 and Inception
100 in batches of 32) for at most 40, 30 and 25 epochs and tests on 2,000 or 500
images: random labels are fitted far above chance while the test accuracy stays
near 10%, except by Inception on 100 images: with batch norm it stops at 99% in
training mode after 6 to 11 epochs, too few steps for its moving statistics, so
in inference mode it scores 27% to 95%; without it, it stays near chance (Adam
at 1e-3, 3e-4 or 3e-3 and batches of 8 to 32 give 11% to 21% in 25 epochs);
``tiny`` trains narrow models for a few epochs on whatever the data holds (the
tests' few images). ``run(request, rows=[...])`` trains the rows whose labels
match the patterns (see ``select``). Figure 1a uses Inception at full size, as
the paper, and MLP 1x512 at the others; its true- and random-label curves are
those of the table's rows without crop and weight decay.

Example:

>>> from recipes.experiments import reproduce
>>> result = reproduce("zhang2017", size="quick", data_dir="cifar10-jpeg.tar.gz")
>>> result.figures["figure1a"]
'runs/reproduce/zhang2017/figure1a.png'
"""

import dataclasses
import functools
import math
from fnmatch import fnmatch

import keras
import numpy as np

import recipes
from recipes.augment import build_augmentation
from recipes.data.image_folder import load_image_data
from recipes.experiments import (
    Experiment,
    ExperimentResult,
    Row,
    fit_and_score,
    register_experiment,
    take,
)
from recipes.plots import plot_series


@dataclasses.dataclass(frozen=True)
class TableLine:
    """One line of seed 002's table.

    Attributes:
        model: a key of ``MODELS``.
        random_crop: trained on random 28x28 crops (else the centre crop).
        weight_decay: trained with weight decay.
        random_labels: trained on random labels (tested on the true ones).
        train: the document's training accuracy (%).
        test: the document's test accuracy (%).
    """

    model: str
    random_crop: bool
    weight_decay: bool
    random_labels: bool
    train: float
    test: float

    @property
    def label(self):
        """The row's label, e.g. ``"AlexNet, random crop, no weight decay"``."""
        if self.random_labels:
            return f"{self.model}, random labels"
        crop = "random crop" if self.random_crop else "no crop"
        return (
            f"{self.model}, {crop}, {'weight decay' if self.weight_decay else 'no weight decay'}"
        )


# Seed 002's table: (model, random crop, weight decay, random labels, train %, test %).
TABLE = tuple(
    TableLine(*entry)
    for entry in (
        ("Inception", True, True, False, 100.0, 89.05),
        ("Inception", True, False, False, 100.0, 89.31),
        ("Inception", False, True, False, 100.0, 86.03),
        ("Inception", False, False, False, 100.0, 85.75),
        ("Inception", False, False, True, 100.0, 9.78),
        ("Inception w/o BatchNorm", False, True, False, 100.0, 83.00),
        ("Inception w/o BatchNorm", False, False, False, 100.0, 82.00),
        ("Inception w/o BatchNorm", False, False, True, 100.0, 10.12),
        ("AlexNet", True, True, False, 99.90, 81.22),
        ("AlexNet", True, False, False, 99.82, 79.66),
        ("AlexNet", False, True, False, 100.0, 77.36),
        ("AlexNet", False, False, False, 100.0, 76.07),
        ("AlexNet", False, False, True, 99.82, 9.86),
        ("MLP 3x512", False, True, False, 100.0, 53.35),
        ("MLP 3x512", False, False, False, 100.0, 52.39),
        ("MLP 3x512", False, False, True, 100.0, 10.48),
        ("MLP 1x512", False, True, False, 99.80, 50.39),
        ("MLP 1x512", False, False, False, 100.0, 50.51),
        ("MLP 1x512", False, False, True, 99.34, 10.61),
    )
)
# The table's models: (preset, its overrides, the family whose schedule it follows).
MODELS = {
    "Inception": ("zhang_inception_small", {}, "inception"),
    "Inception w/o BatchNorm": ("zhang_inception_small", {"batch_norm": False}, "inception"),
    "AlexNet": ("zhang_alexnet_small", {}, "alexnet"),
    "MLP 3x512": ("zhang_mlp_3x512", {}, "mlp"),
    "MLP 1x512": ("zhang_mlp_1x512", {}, "mlp"),
}
# Narrow stand-ins of the presets for the tiny size (the tests).
TINY_WIDTHS = {
    "zhang_inception_small": {
        "stem_filters": 8,
        "modules": (("inception", 4, 4), ("downsample", 8), ("inception", 8, 8)),
    },
    "zhang_alexnet_small": {"filters": (8, 8), "dense_units": (16,)},
    "zhang_mlp_3x512": {"hidden_units": (64, 64, 64)},
    "zhang_mlp_1x512": {"hidden_units": (64,)},
}
CORRUPTIONS = ("shuffled pixels", "random pixels", "Gaussian")
FITTED = 0.99  # training stops once an epoch's training accuracy reaches it
WEIGHT_DECAY = 0.004


@dataclasses.dataclass(frozen=True)
class Schedule:
    """How a family of the table trains at one size.

    Attributes:
        train_images: training images drawn at random (``None``: all 50,000).
        test_images: test images drawn at random (``None``: all 10,000).
        epochs: the most epochs (training stops sooner once fitted).
        batch_size: examples per step.
        learning_rate: Adam's (its first, when it decays).
        decay: the learning rate decays to 0 along a cosine over ``epochs``.
    """

    train_images: int | None
    test_images: int | None
    epochs: int
    batch_size: int = 128
    learning_rate: float = 1e-3
    decay: bool = False

    def learning_rate_for(self, train_images):
        """Adam's learning rate (a float or a ``CosineDecay``) for a training set of
        ``train_images`` images."""
        if not self.decay:
            return self.learning_rate
        steps = math.ceil(train_images / self.batch_size) * self.epochs
        return keras.optimizers.schedules.CosineDecay(self.learning_rate, steps)


def schedules(request):
    """The ``Schedule`` of each family (``"inception"``, ``"alexnet"``, ``"mlp"``)
    at the request's size."""
    return request.pick(
        full={
            "inception": Schedule(None, None, 100, decay=True),
            "alexnet": Schedule(None, None, 100, decay=True),
            "mlp": Schedule(None, None, 300, learning_rate=1e-4, decay=True),
        },
        quick={
            "inception": Schedule(100, 500, 25, 32),
            "alexnet": Schedule(250, 500, 30, 32),
            "mlp": Schedule(4000, 2000, 40),
        },
        # A step per epoch on the tests' few images, at a rate that fits them in a few.
        tiny={
            family: Schedule(None, None, 6, 128, 0.03)
            for family in ("inception", "alexnet", "mlp")
        },
    )


def standardise(x):
    """Standardises each image in place to mean 0 and deviation 1 (the deviation
    floored at ``1 / sqrt(pixels)``, as TensorFlow's ``per_image_standardization``
    that the paper used); returns ``x``."""
    axes = tuple(range(1, x.ndim))
    x -= x.mean(axis=axes, keepdims=True)
    x /= np.maximum(x.std(axis=axes, keepdims=True), 1 / math.sqrt(x[0].size))
    return x


def corrupt(kind, images, rng):
    """Seed 002's corrupted inputs (figure 1a): ``images`` ``(n, height, width,
    channels)`` with their pixels shuffled by one permutation for every image
    (``"shuffled pixels"``, the same ``rng`` state giving the same permutation),
    by a permutation per image (``"random pixels"``), or replaced by Gaussian
    noise of the images' mean and deviation per channel (``"Gaussian"``).

    Example:

    >>> shuffled = corrupt("shuffled pixels", x, np.random.default_rng(0))
    """
    n, height, width, channels = images.shape
    flat = images.reshape(n, height * width, channels)
    if kind == "shuffled pixels":
        flat = flat[:, rng.permutation(height * width)]
    elif kind == "random pixels":
        order = np.argsort(rng.random((n, height * width)), axis=1)
        flat = np.take_along_axis(flat, order[..., None], axis=1)
    else:
        mean, deviation = flat.mean(axis=(0, 1)), flat.std(axis=(0, 1))
        flat = rng.normal(mean, deviation, flat.shape).astype(images.dtype)
    return flat.reshape(images.shape)


class _StopWhenFitted(keras.callbacks.Callback):
    """Stops training once an epoch's training accuracy reaches ``FITTED``."""

    def on_epoch_end(self, epoch, logs=None):
        if (logs or {}).get("accuracy", 0.0) >= FITTED:
            self.model.stop_training = True


def _train(request, model, schedule, train, test, line=None):
    """Builds one of the table's models and fits it, with the random crop and the
    weight decay of its table ``line`` (none without one); returns its ``Score``."""
    preset, overrides, _ = MODELS[model]
    keras.utils.set_random_seed(request.seed)
    if request.size == "tiny":
        overrides = {**overrides, **TINY_WIDTHS[preset]}
    if line is not None and line.random_crop:
        overrides = {**overrides, "augment": build_augmentation(crop=2, seed=request.seed)}
    decay = line is not None and line.weight_decay
    network = recipes.build(
        preset,
        **overrides,
        optimizer={"class_name": "adamw", "config": {"weight_decay": WEIGHT_DECAY}}
        if decay
        else "adam",
        learning_rate=schedule.learning_rate_for(len(train[0])),
    )
    return fit_and_score(
        network,
        train,
        test,
        epochs=schedule.epochs,
        batch_size=schedule.batch_size,
        eager=request.size == "tiny",
        callbacks=[_StopWhenFitted()],
    )


def _conditions(source, schedule, train, test, score, weight_decay):
    """The conditions of one trained model, for its rows."""
    optimizer = f"AdamW (weight decay {WEIGHT_DECAY})" if weight_decay else "Adam"
    rate = f"{schedule.learning_rate:g}" + (" cosine-decayed" if schedule.decay else "")
    return {
        "data": f"{source}: {len(train[0]):,} training and {len(test[0]):,} test images",
        "epochs": f"{score.epochs} (at most {schedule.epochs}, until {FITTED:.0%} fitted)",
        "optimizer": f"{optimizer} {rate}, batch {schedule.batch_size}",
        "seeds": 1,
    }


def select(rows=None):
    """The table's lines whose labels match one of the wildcard patterns ``rows``
    (case ignored; ``None``: every line).

    Example:

    >>> [line.label for line in select(["MLP 1x512*"])]
    ['MLP 1x512, no crop, weight decay', 'MLP 1x512, no crop, no weight decay',
     'MLP 1x512, random labels']
    """
    if rows is None:
        return list(TABLE)
    patterns = [pattern.lower() for pattern in rows]
    lines = [line for line in TABLE if any(fnmatch(line.label.lower(), p) for p in patterns)]
    if not lines:
        raise ValueError(
            "`rows` must match some of the table's rows (e.g. 'MLP*', 'AlexNet, random "
            f"labels'): {'; '.join(line.label for line in TABLE)}. Received: rows={rows!r}"
        )
    return lines


def _plain_line(model, random_labels):
    """The table's line of ``model`` without crop and weight decay."""
    return next(
        line
        for line in TABLE
        if (line.model, line.random_crop, line.weight_decay, line.random_labels)
        == (model, False, False, random_labels)
    )


def run(request, rows=None):
    """Trains the table's models (those of ``rows``, see ``select``), then figure
    1a's three corrupted inputs when the figure's two rows (its model without crop
    and weight decay, on true and random labels) are among them."""
    lines = select(rows)
    x_train, y_train, x_test, y_test, source = load_image_data(
        "cifar10", data_dir=request.data_dir
    )
    standardise(x_train)
    standardise(x_test)
    plan = schedules(request)
    random_labels = np.random.default_rng(request.seed).integers(0, 10, len(y_train))
    model = request.pick(full="Inception", quick="MLP 1x512", tiny="MLP 1x512")
    figure_lines = [_plain_line(model, False), _plain_line(model, True)]
    drawn = all(line in lines for line in figure_lines)
    total = len(lines) + drawn * len(CORRUPTIONS)
    table, scores = [], {}
    for done, line in enumerate(lines, start=1):
        schedule = plan[MODELS[line.model][2]]
        labels = random_labels if line.random_labels else y_train
        train = take(x_train, labels, schedule.train_images, request.seed)
        test = take(x_test, y_test, schedule.test_images, request.seed)
        score = _train(request, line.model, schedule, train, test, line)
        conditions = _conditions(source, schedule, train, test, score, line.weight_decay)
        table += [
            Row(line.label, "train accuracy (%)", line.train, score.train, conditions),
            Row(line.label, "test accuracy (%)", line.test, score.test, conditions),
        ]
        scores[line] = score
        request.progress(
            f"{line.label}: train {score.train:.1f}%, test {score.test:.1f}%", done, total
        )
    result = ExperimentResult(table, notes=[_random_labels_note(scores)])
    if not drawn:
        result.notes.append(
            "Figure 1a not drawn: it needs the rows "
            + " and ".join(repr(line.label) for line in figure_lines)
            + "."
        )
        return result
    schedule = plan[MODELS[model][2]]
    train = take(x_train, y_train, schedule.train_images, request.seed)
    test = take(x_test, y_test, schedule.test_images, request.seed)
    curves = {"true labels": scores[figure_lines[0]], "random labels": scores[figure_lines[1]]}
    for done, kind in enumerate(CORRUPTIONS, start=len(lines) + 1):
        corrupted = [
            (corrupt(kind, x, np.random.default_rng(request.seed)), y) for x, y in (train, test)
        ]
        curves[kind] = _train(request, model, schedule, *corrupted)
        request.progress(
            f"figure 1a, {model}, {kind}: train {curves[kind].train:.1f}%", done, total
        )
    steps = math.ceil(len(train[0]) / schedule.batch_size)
    title = f"Figure 1a: {model}, {len(train[0]):,} training images"
    result.figures["figure1a"] = _plot_figure_1a(
        curves, steps, title, request.figure_path("figure1a")
    )
    result.notes.append(_figure_note(curves, model))
    result.extra["figure1a"] = {
        "model": model,
        "steps_per_epoch": steps,
        **{kind: dataclasses.asdict(score) for kind, score in curves.items()},
    }
    return result


def _random_labels_note(scores):
    """The random-label rows in a sentence."""
    fitted = [
        f"{line.model} {score.train:.1f}% (test {score.test:.1f}%)"
        for line, score in scores.items()
        if line.random_labels
    ]
    if not fitted:
        return "No random-label row was run."
    return (
        "Random labels, training accuracy (test accuracy, on the true labels): "
        + "; ".join(fitted)
        + ". Chance is 10%."
    )


def _figure_note(curves, model):
    """The end of each curve of figure 1a in a sentence."""
    ends = [
        f"{kind} {score.history['loss'][-1]:.3f} after {score.epochs} epochs "
        f"(train {score.train:.1f}%, test {score.test:.1f}%)"
        for kind, score in curves.items()
    ]
    return f"Figure 1a ({model}), last epoch's training loss: " + "; ".join(ends) + "."


def _plot_figure_1a(curves, steps_per_epoch, title, path):
    """The training loss of each curve against the steps (figure 1a)."""
    series = {
        kind: (steps_per_epoch * np.arange(1, score.epochs + 1), score.history["loss"])
        for kind, score in curves.items()
    }
    return plot_series(path, series, "steps", "average training loss", title)


register_experiment(
    Experiment(
        name="zhang2017",
        summary="Zhang et al. 2017's random-label table (seed 002: Inception, AlexNet, "
        "MLPs on CIFAR-10, true and random labels) and figure 1a",
        source="seed 002 (Deep learning: introduction), 'Learning with random inputs and "
        "labels' 1/2 and 2/2 [Zhang et al., 2017]",
        run=run,
        full_time="about 1.5 h on one GPU (JAX); the MLP rows alone (zhang2017_mlp) take "
        "about 15 min on 2 CPU cores",
        needs="cifar10",
    )
)
register_experiment(
    Experiment(
        name="zhang2017_mlp",
        summary="the MLP rows of zhang2017 (MLP 3x512 and 1x512: true labels with and "
        "without weight decay, random labels), the rows 2 CPU cores afford at full size",
        source="seed 002 (Deep learning: introduction), 'Learning with random inputs and "
        "labels' 1/2 [Zhang et al., 2017], the MLP rows",
        run=functools.partial(run, rows=["MLP*"]),
        full_time="about 15 min on 2 CPU cores with JAX (6 rows of 1.5 to 5 min; "
        "TensorFlow is slower there)",
        needs="cifar10",
    )
)
