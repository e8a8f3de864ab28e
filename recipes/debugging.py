"""The "first overfit 50 samples" debugging trick (seed 001).

Before a long training run, check that the model can *overfit* a tiny subset: on
~50 samples a working model and training set-up reach ~100% training accuracy
within a few hundred steps. If not, something is wrong before data size matters:
a bug in the model or the labels, saturated units, a learning rate far too small
(the loss barely moves) or too large (the loss goes up and down).

Example:

>>> model = recipes.build("digits_mlp")
>>> report = overfit_check(model, recipes.data.arrays("digits", "train"))
>>> report.passed, report.accuracy
(True, 1.0)
"""

from dataclasses import dataclass, field

import keras
import numpy as np
from keras import ops

from recipes.checks import check_positive_int, check_same_length


@dataclass
class OverfitReport:
    """What ``overfit_check`` found.

    Attributes:
        passed: the training accuracy reached ``target``.
        accuracy: the last training accuracy on the ``n`` samples.
        epochs: the epochs trained (it stops as soon as ``target`` is reached).
        accuracy_curve: training accuracy after each epoch (inference mode).
        loss_curve: training loss of each epoch.
        hint: a sentence saying what to check when it failed ("" when passed).
    """

    passed: bool
    accuracy: float
    epochs: int
    accuracy_curve: list = field(default_factory=list)
    loss_curve: list = field(default_factory=list)
    hint: str = ""


def overfit_check(model, dataset, n=50, epochs=300, target=0.99, batch_size=None, seed=0):
    """Trains ``model`` on ``n`` samples and reports whether it fits them.

    The model is trained in place (use a fresh one). Accuracy is measured in
    inference mode on the same ``n`` samples after every epoch; training stops
    when it reaches ``target``.

    Args:
        model: a compiled classifier (softmax over classes with integer labels,
            or one sigmoid output with 0/1 labels).
        dataset: ``(x, y)`` arrays, an iterable of ``(x, y)`` batches (e.g. a
            ``tf.data.Dataset``), or the name of an offline set of
            ``recipes.data`` (its train split).
        n: samples to fit, chosen at random.
        epochs: most epochs to train.
        target: training accuracy that counts as "fits", in (0, 1].
        batch_size: default ``min(n, 32)``.
        seed: seed of the choice of samples.

    Returns:
        An ``OverfitReport``.

    Example:

    >>> report = overfit_check(model, (x, y), n=50)
    >>> report.passed or print(report.hint)
    """
    check_positive_int("n", n)
    check_positive_int("epochs", epochs)
    if not isinstance(target, (int, float)) or not 0 < target <= 1:
        raise ValueError(f"`target` must be in (0, 1]. Received: target={target!r}")
    if not isinstance(model, keras.Model) or not model.compiled:
        raise ValueError("`model` must be a compiled keras.Model.")
    x, y = _take(dataset, n, seed)
    batch_size = batch_size or min(len(x), 32)
    tracker = _AccuracyTracker(x, y, target)
    history = model.fit(x, y, epochs=epochs, batch_size=batch_size, verbose=0, callbacks=[tracker])
    losses = [float(v) for v in history.history.get("loss", [])]
    accuracy = tracker.curve[-1] if tracker.curve else 0.0
    passed = accuracy >= target
    return OverfitReport(
        passed=passed,
        accuracy=accuracy,
        epochs=len(tracker.curve),
        accuracy_curve=list(tracker.curve),
        loss_curve=losses,
        hint="" if passed else _hint(losses, accuracy, len(x)),
    )


class _AccuracyTracker(keras.callbacks.Callback):
    def __init__(self, x, y, target):
        super().__init__()
        self.x, self.y, self.target = x, y, target
        self.curve = []

    def on_epoch_end(self, epoch, logs=None):
        accuracy = training_accuracy(self.model, self.x, self.y)
        self.curve.append(accuracy)
        if accuracy >= self.target:
            self.model.stop_training = True


def training_accuracy(model, x, y):
    """Accuracy of ``model`` on ``(x, y)`` in inference mode: arg-max for several
    outputs, threshold 0.5 for one sigmoid output."""
    predictions = ops.convert_to_numpy(model(x, training=False))
    y = np.asarray(y).reshape(len(y), -1)
    if predictions.shape[-1] == 1:
        hits = (predictions.reshape(len(x), -1) > 0.5) == (y > 0.5)
    else:
        hits = np.argmax(predictions, axis=-1) == y[:, 0]
    return float(np.mean(hits))


def _take(dataset, n, seed):
    if isinstance(dataset, str):
        from recipes import data

        dataset = data.arrays(dataset, "train")
    if isinstance(dataset, (tuple, list)) and len(dataset) == 2:
        x, y = (np.asarray(part) for part in dataset)
    else:
        try:
            xs, ys, count = [], [], 0
            for batch in dataset:
                xb, yb = batch[0], batch[1]
                xs.append(np.asarray(xb))
                ys.append(np.asarray(yb))
                count += len(xs[-1])
                if count >= 4 * n:
                    break
        except (TypeError, IndexError):
            raise ValueError(
                "`dataset` must be (x, y) arrays, an iterable of (x, y) batches or an "
                f"offline dataset name. Received: dataset={dataset!r}"
            ) from None
        if not xs:
            raise ValueError("`dataset` is empty.")
        x, y = np.concatenate(xs), np.concatenate(ys)
    check_same_length(x, y)
    if len(x) < n:
        raise ValueError(f"`n` must be at most the {len(x)} samples available. Received: n={n}")
    index = np.random.default_rng(seed).choice(len(x), size=n, replace=False)
    return x[index], y[index]


def _hint(losses, accuracy, n):
    if len(losses) >= 2 and losses[-1] > 0.95 * losses[0]:
        return (
            f"The loss barely moved ({losses[0]:.3f} -> {losses[-1]:.3f}): check the "
            "learning rate (too small?), saturated units from early training, frozen "
            "layers and the output activation/loss pair."
        )
    if len(losses) >= 3 and any(b > a for a, b in zip(losses[-10:], losses[-9:])):
        return (
            f"Accuracy stopped at {accuracy:.0%} with a loss that goes up and down: "
            "try a smaller learning rate, or a bigger model."
        )
    return (
        f"Accuracy stopped at {accuracy:.0%} of {n} samples: train longer, enlarge the "
        "model, or check that the labels match the inputs."
    )
