"""The airbench trainer of ``cifar10_fast`` (Keller Jordan's airbench94 way of
training; the network and its optimizer are ``recipes.models.fast_cifar``):
whitening from data (``fit_whitening``), a timed loop on in-memory NumPy arrays
with alternating flips (no TensorFlow needed), test-time augmentation in one
compiled call (``tta_model``), and the mean over several runs from fresh weights
(``train_fast_cifar``).

Presets name it with ``trainer="airbench"``; its options are ``tta``, ``flip``
and ``runs`` (``--tta``, ``--flip``, ``--runs`` on the command line), and it
reads image folders (``data_dir``, ``--data-dir``).

Example:

>>> from recipes.trainers.airbench import train_fast_cifar
>>> result = train_fast_cifar("cifar10_fast", data_dir="path/to/tree", runs=5)
>>> result.test_metrics["tta_accuracy"], result.seconds
"""

import csv
import dataclasses
import math
import os
import statistics
import time

import keras
import numpy as np
from keras import ops

from recipes.checks import check_choice, check_number, check_positive_int
from recipes.compiling import steps_dividing
from recipes.data import array_batches
from recipes.data.image_folder import load_image_data
from recipes.environment import devices
from recipes.models.fast_cifar import (
    AIRBENCH_BATCH_SIZE,
    AIRBENCH_LEARNING_RATE,
    WHITENING_LAYER,
    build_fast_cifar,
)
from recipes.precision import PRECISIONS, precision
from recipes.registry import build, get_recipe
from recipes.trainers import Trainer, TrainResult, register_trainer, write_metrics

TTA_LEVELS = (0, 1, 2)
# "alternating": airbench94's (``array_batches(alternate_flips=True)``); "random":
# the model's own random flip; "none".
FLIPS = ("alternating", "random", "none")
# Test images per evaluation step (airbench94 evaluates in batches of 2,000).
EVAL_BATCH_SIZE = 2000


def _stem(model, layer_name):
    try:
        layer = model.get_layer(layer_name)
    except ValueError:
        raise ValueError(
            f"The model has no layer named {layer_name!r} to whiten; build it with "
            f"build_fast_cifar. Received: layer_name={layer_name!r}"
        ) from None
    if not isinstance(layer, keras.layers.Conv2D) or layer.use_bias:
        raise ValueError(f"Layer {layer_name!r} must be a bias-free Conv2D to whiten.")
    return layer


def fit_whitening(model, images, epsilon=5e-4, layer_name=WHITENING_LAYER, batch_size=None):
    """Sets the frozen whitening convolution of ``model`` from training images.

    The patches the stem sees (``k x k`` windows of the normalised images, as many
    as it has output positions) give a ``d x d`` covariance (``d = k * k *
    channels``, uncentred as in airbench94). Filter ``i`` is its ``i``-th
    eigenvector (largest eigenvalue first) divided by ``sqrt(eigenvalue + epsilon)``,
    and filter ``d + i`` is its negative, so the first ``d`` outputs of the stem
    have (nearly) the identity as covariance.

    Args:
        model: a model from ``build_fast_cifar``.
        images: training images ``(n, height, width, channels)`` in ``[0, 1]``
            (airbench94 uses 5,000).
        epsilon: added to each eigenvalue, > 0 (airbench94: 5e-4).
        layer_name: the whitening convolution's name.
        batch_size: images per step while accumulating the covariance
            (``None``: all at once, on the model's device).

    Returns:
        The eigenvalues, largest first (NumPy float64).

    Example:

    >>> model = build_fast_cifar()
    >>> eigenvalues = fit_whitening(model, x_train[:5000])
    """
    layer = _stem(model, layer_name)
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[1:] != tuple(model.input_shape[1:]) or not len(images):
        raise ValueError(
            f"`images` must be a non-empty batch of shape (n, *{tuple(model.input_shape[1:])}). "
            f"Received: images.shape={images.shape}"
        )
    check_number("epsilon", epsilon)
    height, width, channels, filters = layer.kernel.shape
    size = height * width * channels
    if filters != 2 * size:
        raise ValueError(f"Layer {layer_name!r} needs {2 * size} filters; it has {filters}.")
    normalise = keras.Model(model.input, layer.input)
    batch_size = batch_size or len(images)
    covariance = np.zeros((size, size))
    count = 0
    for start in range(0, len(images), batch_size):
        # On the model's device: float32 sums of one batch, added up in float64.
        x = ops.cast(normalise(images[start : start + batch_size], training=False), "float32")
        rows, cols = x.shape[1] - height + 1, x.shape[2] - width + 1
        patches = ops.reshape(
            ops.stack(
                [x[:, i : i + rows, j : j + cols] for i in range(height) for j in range(width)],
                axis=3,
            ),
            (-1, size),
        )
        covariance += ops.convert_to_numpy(ops.matmul(ops.transpose(patches), patches))
        count += patches.shape[0]
    eigenvalues, eigenvectors = np.linalg.eigh(covariance / count)
    eigenvalues, eigenvectors = eigenvalues[::-1], eigenvectors[:, ::-1]
    filters = (eigenvectors / np.sqrt(eigenvalues + epsilon)).reshape(
        height, width, channels, size
    )
    layer.kernel.assign(np.concatenate([filters, -filters], axis=-1).astype("float32"))
    return eigenvalues


def tta_model(model, level=2):
    """A model giving ``model``'s logits on the images as they are and averaged
    over airbench94's test-time augmentations, all views in one call.

    Level 0: the images as they are. Level 1: the mean over the images and their
    mirror images. Level 2: half of level 1, plus half of the mean of level 1 on
    the images shifted one pixel up-left and one pixel down-right (reflected edges).

    Args:
        model: a classifier of images ``(n, height, width, channels)`` to logits.
        level: 0, 1 or 2.

    Returns:
        A functional ``keras.Model`` from images to ``[plain logits, augmented
        logits]`` (float32), sharing ``model``'s weights.

    Example:

    >>> plain, augmented = tta_model(model, level=2).predict(x_test, batch_size=2000)
    """
    check_choice("level", level, TTA_LEVELS)
    images = keras.Input(model.input_shape[1:], name="images")
    views = [images] if level == 0 else [images, ops.flip(images, axis=2)]
    if level == 2:
        padded = ops.pad(images, ((0, 0), (1, 1), (1, 1), (0, 0)), mode="reflect")
        for shifted in (padded[:, :-2, :-2], padded[:, 2:, 2:]):
            views += [shifted, ops.flip(shifted, axis=2)]
    logits = ops.cast(model(ops.concatenate(views, axis=0), training=False), "float32")
    logits = ops.reshape(logits, (len(views), -1, logits.shape[-1]))
    per_view = [logits[i] for i in range(len(views))]
    augmented = per_view[0] if level == 0 else 0.5 * (per_view[0] + per_view[1])
    if level == 2:
        augmented = 0.5 * augmented + 0.125 * sum(per_view[2:])
    return keras.Model(images, [per_view[0], augmented], name=f"{model.name}_tta{level}")


def tta_logits(model, images, level=2, batch_size=EVAL_BATCH_SIZE):
    """The model's logits averaged over test-time augmentations (see ``tta_model``).

    Args:
        model: a classifier of images.
        images: ``(n, height, width, channels)`` NumPy images.
        level: 0, 1 or 2.
        batch_size: images per step (each step runs all their views at once).

    Returns:
        ``(plain logits, augmented logits)`` as NumPy arrays: the first are level 0's.

    Example:

    >>> plain, augmented = tta_logits(model, x_test, level=1)
    """
    plain, augmented = tta_model(model, level).predict(images, batch_size=batch_size, verbose=0)
    return np.asarray(plain, "float32"), np.asarray(augmented, "float32")


@dataclasses.dataclass
class FastTrainResult(TrainResult):
    """``TrainResult`` plus airbench's time split and every run's scores.

    ``test_metrics``, ``seconds`` and ``train_seconds`` are means over the runs;
    ``model`` and ``history`` are the last run's.

    Attributes:
        compile_seconds: warming up (compiling) the training and prediction
            functions, once, before the clock starts.
        seconds: ``whitening``, ``fit`` and ``evaluation`` wall times; their sum
            is ``train_seconds`` (airbench's measure).
        source: where the data came from.
        runs: one dict per run: ``seed``, ``test_metrics``, ``seconds``,
            ``train_seconds``.
    """

    compile_seconds: float = 0.0
    seconds: dict = dataclasses.field(default_factory=dict)
    source: str = ""
    runs: list = dataclasses.field(default_factory=list)

    def report(self):
        """Where the data came from, the time split, and each metric's spread over
        the runs when there are several.

        Returns:
            A list of strings.
        """
        parts = ", ".join(f"{k} {v:.2f} s" for k, v in self.seconds.items())
        lines = [
            f"data: {self.source}",
            f"timed: {parts}; compile and warm-up, apart: {self.compile_seconds:.1f} s",
        ]
        if len(self.runs) > 1:
            for key in self.test_metrics:
                values = [run["test_metrics"][key] for run in self.runs]
                lines.append(
                    f"{key} over {len(values)} runs: mean {statistics.mean(values):.4f}, "
                    f"std {statistics.stdev(values):.4f}, min {min(values):.4f}, "
                    f"max {max(values):.4f}"
                )
        return lines


def _accelerated():
    """True when the backend computes on a GPU or TPU."""
    return any(not d.lower().startswith("cpu") for d in devices())


def _snapshot(model):
    """The values of the model's variables (weights, batch-norm statistics and the
    augmentation layers' seeds) and of its optimizer's."""
    return _values(model.variables), _values(model.optimizer.variables)


def _values(variables):
    return [ops.convert_to_numpy(v) for v in variables]


def _restore(model, snapshot):
    model_values, optimizer_values = snapshot
    for variable, value in zip(model.variables, model_values):
        variable.assign(value)
    for variable, value in zip(model.optimizer.variables, optimizer_values):
        variable.assign(value)


def train_fast_cifar(
    name="cifar10_fast",
    output_dir=None,
    epochs=None,
    batch_size=None,
    dataset=None,
    data_dir=None,
    tta=2,
    flip="alternating",
    precision_policy=None,
    whitening_images=5000,
    runs=1,
    seed=0,
    verbose=2,
    callbacks=(),
    checkpoint_dir=None,
    **overrides,
):
    """Trains a ``build_fast_cifar`` preset the airbench way and tests it, ``runs``
    times from fresh weights, and reports the mean.

    All training images (no validation split, as airbench) are held in memory and
    fed in batches of ``batch_size`` by ``recipes.data.array_batches`` (NumPy: a new
    shuffle each epoch, airbench's alternating flips, the last partial batch
    dropped; no TensorFlow needed, so it runs on a JAX or PyTorch install too).
    ``epochs`` may be fractional, as airbench94's 9.9: training lasts
    ``ceil(epochs * steps_per_epoch)`` steps, run by ``fit`` in equal chunks (one
    history entry per chunk, all of a chunk's steps in one compiled call on an
    accelerator). Before the clock starts, the training step, the test-time
    augmented evaluation and the whitening run once on the shapes the runs use
    (``compile_seconds``, paid once for all runs); the weights and optimizer are
    then put back. Each run starts from new weights (seed ``seed + run``, the same
    compiled functions), and its clock covers ``fit_whitening`` on
    ``whitening_images`` training images (drawn before the clock, as airbench's
    are on the device before its clock starts), ``fit`` and the evaluation: every
    test image and its augmentations in one call of ``tta_model``. With
    ``output_dir`` the last model, ``curves.png``, ``curves.csv`` (its training
    loss and accuracy per chunk) and ``metrics.json`` (every run) are written
    there. With ``checkpoint_dir``, ``keras.callbacks.ModelCheckpoint`` saves run
    ``i``'s model there after every chunk (``run<i>.keras``); the saving then
    counts in the ``fit`` time.

    Args:
        name: a preset whose builder is ``build_fast_cifar`` (``"cifar10_fast"``).
        output_dir: folder for the outputs, or ``None`` to write nothing.
        epochs: a number > 0; default: the preset's (airbench94's 9.9).
        batch_size: default: the preset's (1,024); the default learning rate
            scales with it.
        dataset: default: the preset's (``"cifar10"``, see ``load_image_data``).
        data_dir: a folder (or ``.tar.gz``) of ``train/<class>/*`` and
            ``test/<class>/*`` images; its classes set ``num_classes``.
        tta: test-time augmentation level (see ``tta_model``).
        flip: ``"alternating"`` (airbench94's), ``"random"`` (each image at
            random, by the model) or ``"none"``.
        precision_policy: one of ``recipes.precision.PRECISIONS``; default
            ``"mixed_bfloat16"`` on a GPU or TPU, ``"float32"`` on CPU.
        whitening_images: training images (a random sample) for ``fit_whitening``.
        runs: training runs to average (airbench reports means of many).
        seed: seeds Keras, NumPy and Python; run ``i`` uses ``seed + i``.
        verbose: ``fit``'s verbosity.
        callbacks: more Keras callbacks.
        checkpoint_dir: folder for each run's checkpoints, or ``None``.
        **overrides: builder arguments, e.g. ``widths=(32, 64, 64)``.

    Returns:
        A ``FastTrainResult``; ``test_metrics`` holds ``accuracy`` (plain) and,
        with ``tta > 0``, ``tta_accuracy``.

    Example:

    >>> result = train_fast_cifar(runs=5)  # tfds cifar10, or the JPEG copy
    >>> result.test_metrics["tta_accuracy"], result.train_seconds
    """
    recipe = get_recipe(name)
    if recipe.builder is not build_fast_cifar:
        raise ValueError(
            "train_fast_cifar trains presets of build_fast_cifar (e.g. 'cifar10_fast'); "
            f"use recipes.training.train_recipe for the others. Received: name={name!r} "
            f"(built by {recipe.builder.__name__})"
        )
    check_choice("tta", tta, TTA_LEVELS)
    check_choice("flip", flip, FLIPS)
    if precision_policy is None:
        precision_policy = "mixed_bfloat16" if _accelerated() else "float32"
    check_choice("precision_policy", precision_policy, PRECISIONS)
    epochs = check_number("epochs", epochs or recipe.fit.get("epochs", 10))
    batch_size = check_positive_int(
        "batch_size", batch_size or recipe.fit.get("batch_size", AIRBENCH_BATCH_SIZE)
    )
    check_positive_int("whitening_images", whitening_images)
    check_positive_int("runs", runs)
    keras.utils.set_random_seed(seed)

    input_shape = tuple({**recipe.kwargs, **overrides}.get("input_shape", (32, 32, 3)))
    x_train, y_train, x_test, y_test, source = load_image_data(
        dataset or recipe.dataset, data_dir, input_shape[:2]
    )
    if x_train.shape[1:] != input_shape:
        raise ValueError(
            f"The images of {source} are {x_train.shape[1:]}, the model takes {input_shape}: "
            "pass input_shape (and mean and std for other than 3 channels) as overrides."
        )
    num_classes = int(max(y_train.max(), y_test.max())) + 1
    batch_size = min(batch_size, len(x_train))
    steps_per_epoch = len(x_train) // batch_size
    total_steps, chunk = training_chunks(epochs, steps_per_epoch)
    overrides = {
        "total_steps": total_steps,
        "steps_per_epoch": steps_per_epoch,
        "num_classes": num_classes,
        "flip": flip == "random",
        **overrides,
    }
    if overrides.get("optimizer") is None:
        overrides.setdefault(
            "learning_rate", AIRBENCH_LEARNING_RATE * batch_size / AIRBENCH_BATCH_SIZE
        )
    with precision(precision_policy):
        model = build(name, **overrides)
    if not model.compiled:
        raise ValueError("train_fast_cifar trains a compiled model. Received: compile=False")
    model.steps_per_execution = chunk if _accelerated() else 1
    evaluation = _Evaluation(model, tta, x_test, y_test)
    plan = _Plan(x_train, y_train, batch_size, chunk, total_steps, flip == "alternating")

    start = time.perf_counter()
    model.optimizer.build(model.trainable_variables)
    initial_optimizer = _values(model.optimizer.variables)
    _warm_up(model, plan, evaluation, x_train[: min(whitening_images, len(x_train))])
    compile_seconds = time.perf_counter() - start

    done, paths = [], {}
    for run in range(runs):
        keras.utils.set_random_seed(seed + run)
        with precision(precision_policy):
            fresh = build(name, **{**overrides, "compile": False})
        _restore(model, (_values(fresh.variables), initial_optimizer))
        run_callbacks = list(callbacks)
        if checkpoint_dir:
            paths["checkpoint"] = os.path.join(checkpoint_dir, f"run{run + 1}.keras")
            run_callbacks.append(keras.callbacks.ModelCheckpoint(paths["checkpoint"]))
        history, run_result = _timed_run(
            model, plan, evaluation, whitening_images, seed + run, verbose, run_callbacks
        )
        done.append(run_result)
        if runs > 1 and verbose:
            scores = ", ".join(f"{k}={v:.4f}" for k, v in run_result["test_metrics"].items())
            print(
                f"run {run + 1}/{runs} (seed {seed + run}): {scores}, "
                f"{run_result['train_seconds']:.2f} s"
            )

    test_metrics = _mean_over(done, "test_metrics")
    seconds = _mean_over(done, "seconds")
    train_seconds = sum(seconds.values())
    if output_dir:
        paths.update(_write_outputs(output_dir, model, history, name, chunk))
        paths["metrics"] = write_metrics(
            output_dir,
            {
                "recipe": name,
                "source": source,
                "epochs": epochs,
                "steps": total_steps,
                "batch_size": batch_size,
                "flip": flip,
                "train_examples": len(x_train),
                "test_examples": len(x_test),
                "precision": precision_policy,
                "tta": tta,
                "train_seconds": train_seconds,
                "seconds": seconds,
                "compile_seconds": compile_seconds,
                "test": test_metrics,
                "runs": done,
                "devices": devices(),
            },
        )
    return FastTrainResult(
        model, history, test_metrics, train_seconds, paths, compile_seconds, seconds, source, done
    )


def training_chunks(epochs, steps_per_epoch):
    """How many steps ``epochs`` (a number > 0) make, and in chunks of how many
    steps ``fit`` runs them (one ``fit`` epoch, and on an accelerator one
    compiled call, per chunk; all chunks equal, so no shorter last call compiles).

    The steps are ``ceil(epochs * steps_per_epoch)`` and the chunk their largest
    divisor up to an epoch; where that divisor is under a quarter of an epoch
    (a prime number of steps over an epoch, say), the steps are rounded to the
    nearest multiple of a chunk that divides the epoch instead.

    Args:
        epochs: a number > 0 (airbench94: 9.9).
        steps_per_epoch: full batches in an epoch.

    Returns:
        ``(total_steps, chunk)``.

    Example:

    >>> training_chunks(9.9, 48)  # airbench94's 476 steps, in 14 chunks of 34
    (476, 34)
    """
    total_steps = math.ceil(epochs * steps_per_epoch - 1e-9)
    chunk = steps_dividing(total_steps, limit=steps_per_epoch)
    if 4 * chunk >= steps_per_epoch or total_steps <= steps_per_epoch:
        return total_steps, chunk
    chunk = steps_dividing(steps_per_epoch)
    return max(chunk, round(total_steps / chunk) * chunk), chunk


@dataclasses.dataclass
class _Plan:
    """The training data and how ``fit`` walks it: ``total_steps`` steps in
    chunks of ``chunk`` (one ``fit`` epoch each). ``x`` stays a NumPy array (the
    whitening samples come from it); ``resident`` is the copy batches come from."""

    x: np.ndarray
    y: np.ndarray
    batch_size: int
    chunk: int
    total_steps: int
    alternate_flips: bool

    def __post_init__(self):
        # On an accelerator the training images live in its memory from the
        # start, as airbench's do: batches are gathered and flipped there.
        self.resident = ops.convert_to_tensor(self.x) if _accelerated() else self.x

    def batches(self, seed):
        return array_batches(self.resident, self.y, self.batch_size, seed, self.alternate_flips)

    def fit(self, model, seed, callbacks=(), verbose=0, total_steps=None):
        steps = total_steps or self.total_steps
        return model.fit(
            self.batches(seed),
            epochs=steps // self.chunk,
            steps_per_epoch=self.chunk,
            shuffle=False,
            callbacks=list(callbacks),
            verbose=verbose,
        )


class _Evaluation:
    """The test set, padded to whole batches, and its test-time augmented
    prediction in as few compiled calls as the backend allows (one on an
    accelerator)."""

    def __init__(self, model, level, x_test, y_test):
        self.level, self.y = level, y_test
        self.batch_size = min(EVAL_BATCH_SIZE, len(x_test))
        self.x = _pad_to(x_test, self.batch_size)
        self.model = tta_model(model, level)
        steps = len(self.x) // self.batch_size
        self.model.compile(steps_per_execution=steps if _accelerated() else 1)

    def __call__(self):
        plain, augmented = self.model.predict(self.x, batch_size=self.batch_size, verbose=0)
        metrics = {"accuracy": _accuracy(plain, self.y)}
        if self.level:
            metrics["tta_accuracy"] = _accuracy(augmented, self.y)
        return metrics


def _mean_over(runs, field):
    """The mean over ``runs`` of each entry of their dicts ``field``."""
    return {key: float(np.mean([run[field][key] for run in runs])) for key in runs[0][field]}


def _warm_up(model, plan, evaluation, whitening_sample):
    """Runs the whitening, one chunk of training and the evaluation once, so that
    everything the timed runs call is compiled for their shapes, then puts the
    weights and optimizer back."""
    snapshot = _snapshot(model)
    fit_whitening(model, whitening_sample)
    plan.fit(model, seed=0, total_steps=plan.chunk)
    evaluation()
    _restore(model, snapshot)


def _timed_run(model, plan, evaluation, whitening_images, seed, verbose, callbacks):
    """One airbench-timed run on ``model`` as it stands: whitening, ``fit`` and the
    test-time-augmented evaluation. Returns ``(history dict, run summary)``."""
    # Image folders list their images class by class: whiten on a random sample.
    sample = np.random.default_rng(seed).choice(
        len(plan.x), min(whitening_images, len(plan.x)), replace=False
    )
    whitening_sample = plan.x[np.sort(sample)]
    seconds = {}
    start = time.perf_counter()
    fit_whitening(model, whitening_sample)
    seconds["whitening"] = time.perf_counter() - start
    start = time.perf_counter()
    history = plan.fit(model, seed, callbacks, verbose)
    seconds["fit"] = time.perf_counter() - start
    start = time.perf_counter()
    test_metrics = evaluation()
    seconds["evaluation"] = time.perf_counter() - start
    return history.history, {
        "seed": seed,
        "test_metrics": test_metrics,
        "seconds": seconds,
        "train_seconds": sum(seconds.values()),
    }


def _write_outputs(output_dir, model, history, title, chunk):
    """The model and the curves (drawn after the clock stops, unlike
    ``callbacks.TrainingCurves``, whose drawing would count as training time)."""
    from recipes.plots import plot_history

    os.makedirs(output_dir, exist_ok=True)
    paths = {
        name: os.path.join(output_dir, file)
        for name, file in (
            ("curves_png", "curves.png"),
            ("curves_csv", "curves.csv"),
            ("model", "model.keras"),
        )
    }
    plot_history(history, paths["curves_png"], title=title)
    keys = sorted(history)
    with open(paths["curves_csv"], "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["chunk", "steps", *keys])
        writer.writerows(
            [i + 1, (i + 1) * chunk, *row]
            for i, row in enumerate(zip(*(history[k] for k in keys)))
        )
    model.save(paths["model"])
    return paths


def _pad_to(x, multiple):
    """Pads a batch of images with zeros to a multiple of ``multiple`` images, so
    that every prediction batch has the compiled shape."""
    extra = -len(x) % multiple
    return np.concatenate([x, np.zeros((extra, *x.shape[1:]), x.dtype)]) if extra else x


def _accuracy(logits, labels):
    return float(np.mean(np.argmax(logits[: len(labels)], axis=-1) == labels))


def _train(request):
    """The trainer protocol's call of ``train_fast_cifar``: the request's fields
    are its arguments of the same names (``overrides`` may hold its other
    arguments, such as ``whitening_images``)."""
    return train_fast_cifar(
        request.name, **request.hooks(), **request.options, **request.overrides
    )


AIRBENCH = register_trainer(
    Trainer(
        "airbench",
        _train,
        "airbench94's way: whiten, train on in-memory arrays, test with TTA, time it",
        options={
            "tta": (
                int,
                2,
                "test-time augmentation, 0 none, 1 mirror, 2 mirror and shifts",
                TTA_LEVELS,
            ),
            "flip": (
                str,
                "alternating",
                "flips: alternating (airbench94's), random, none",
                FLIPS,
            ),
            "runs": (int, 1, "training runs from fresh weights, reported as mean and spread"),
        },
        data_dir="a folder (or .tar.gz) of train/<class>/* and test/<class>/* images",
        precision="mixed_bfloat16 on a GPU",
    )
)
