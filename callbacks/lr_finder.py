"""``LRFinder``: the learning-rate range test (Smith 2017, "Cyclical learning rates").

The rate grows exponentially from ``start_learning_rate`` to ``end_learning_rate``
over ``num_steps`` training steps while the loss of each step is recorded. The
smoothed loss first stays flat (rate too small), then falls, then blows up (rate
too large). The suggested rate is where it falls fastest: the steepest descent of
the smoothed loss against log(rate). Afterwards the model's weights, the
optimizer's state and its learning rate are put back as they were.

Example:

>>> finder = LRFinder.find(model, x, y, batch_size=64)
>>> finder.suggestion
0.0031...
>>> finder.plot("runs/lr_finder.png")
>>> model.optimizer.learning_rate.assign(finder.suggestion)
"""

import math

import keras
import numpy as np

from callbacks.steps import single_steps


class LRFinder(keras.callbacks.Callback):
    """Learning-rate range test, as a callback or through ``LRFinder.find``.

    As a callback, add it to a ``fit`` that runs at least ``num_steps`` steps; it
    stops training when the sweep ends or the loss diverges, then restores the
    model. ``LRFinder.find(model, x, y)`` runs that ``fit`` for you.

    The per-step loss is recovered from the running mean that Keras logs
    (``loss_t = (t + 1) * mean_t - t * mean_{t-1}`` within an epoch), so the model
    may be any ``keras.Model`` whose logs carry ``monitor``, custom ``train_step``
    included. The optimizer must have a plain (not scheduled) learning rate.

    Args:
        start_learning_rate: first rate of the sweep.
        end_learning_rate: last rate of the sweep.
        num_steps: length of the sweep in training steps.
        smoothing: factor of the exponential moving average of the loss, in [0, 1).
        divergence_factor: stop once the smoothed loss exceeds this many times its
            minimum.
        monitor: the logged loss to record.

    Attributes:
        learning_rates: the rate of each step taken.
        losses: the raw loss of each step.
        smoothed_losses: the bias-corrected moving average of ``losses``.
        suggestion: the suggested rate (``None`` before a sweep).

    Example:

    >>> finder = LRFinder(1e-6, 1.0, num_steps=200)
    >>> model.fit(dataset, epochs=10, callbacks=[finder])
    >>> finder.suggestion
    """

    def __init__(
        self,
        start_learning_rate=1e-7,
        end_learning_rate=10.0,
        num_steps=200,
        smoothing=0.9,
        divergence_factor=4.0,
        monitor="loss",
    ):
        super().__init__()
        if not 0 < start_learning_rate < end_learning_rate:
            raise ValueError(
                "Need 0 < start_learning_rate < end_learning_rate. Received: "
                f"start_learning_rate={start_learning_rate}, "
                f"end_learning_rate={end_learning_rate}"
            )
        if isinstance(num_steps, bool) or not isinstance(num_steps, int) or num_steps < 10:
            raise ValueError(f"`num_steps` must be an integer >= 10. Received: {num_steps!r}")
        if not 0 <= smoothing < 1:
            raise ValueError(f"`smoothing` must be in [0, 1). Received: smoothing={smoothing}")
        if divergence_factor <= 1:
            raise ValueError(f"`divergence_factor` must be > 1. Received: {divergence_factor}")
        self.start_learning_rate = float(start_learning_rate)
        self.end_learning_rate = float(end_learning_rate)
        self.num_steps = num_steps
        self.smoothing = smoothing
        self.divergence_factor = divergence_factor
        self.monitor = monitor
        self._reset()

    def _reset(self):
        self.learning_rates, self.losses, self.smoothed_losses = [], [], []
        self.suggestion = None
        self._average = 0.0
        self._previous_mean = 0.0

    @classmethod
    def find(cls, model, x, y=None, batch_size=32, sample_weight=None, **kwargs):
        """Runs the range test on ``(x, y)`` and returns the finder.

        Args:
            model: a compiled ``keras.Model``.
            x: training inputs (arrays, or a dataset when ``batch_size=None``).
            y: targets.
            batch_size: batch size for array inputs.
            sample_weight: per-sample weights.
            **kwargs: the constructor's arguments (``start_learning_rate``...).

        Returns:
            The ``LRFinder``, with ``suggestion`` set.
        """
        finder = cls(**kwargs)
        if batch_size is not None:
            num_examples = len(next(iter(x.values())) if isinstance(x, dict) else x)
            steps_per_epoch = math.ceil(num_examples / batch_size)
            epochs = math.ceil(finder.num_steps / steps_per_epoch)
        else:
            epochs = finder.num_steps
        with single_steps(model):  # the sweep needs the loss of every step
            model.fit(
                x,
                y,
                batch_size=batch_size,
                sample_weight=sample_weight,
                epochs=epochs,
                callbacks=[finder],
                verbose=0,
            )
        return finder

    def rate_at(self, step):
        """The swept rate at ``step`` (0 to ``num_steps - 1``)."""
        ratio = self.end_learning_rate / self.start_learning_rate
        return self.start_learning_rate * ratio ** (step / (self.num_steps - 1))

    # -- callback ---------------------------------------------------------------
    def on_train_begin(self, logs=None):
        self._reset()
        optimizer = self.model.optimizer
        if optimizer is None:
            raise ValueError("LRFinder needs a compiled model with an optimizer.")
        if getattr(self.model, "steps_per_execution", 1) != 1:
            raise ValueError(
                "LRFinder needs the loss of every step: compile with steps_per_execution=1, "
                "fit inside `with callbacks.single_steps(model):`, or use "
                "LRFinder.find(model, x, y), which does it for you. "
                f"Received: steps_per_execution={self.model.steps_per_execution}"
            )
        if not optimizer.built:
            optimizer.build(self.model.trainable_variables)
        if not isinstance(_rate_holder(optimizer).get_config()["learning_rate"], (int, float)):
            raise ValueError(
                "LRFinder needs an optimizer with a plain learning rate, not a schedule: "
                "find the rate first, then build the schedule around it."
            )
        self._saved_weights = self.model.get_weights()
        self._saved_optimizer = [v.numpy() for v in optimizer.variables]

    def on_epoch_begin(self, epoch, logs=None):
        self._previous_mean = 0.0

    def on_train_batch_begin(self, batch, logs=None):
        _sync_jax_state(self.model)
        self.model.optimizer.learning_rate = self.rate_at(len(self.learning_rates))

    def on_train_batch_end(self, batch, logs=None):
        mean = float((logs or {})[self.monitor])
        loss = (batch + 1) * mean - batch * self._previous_mean
        self._previous_mean = mean
        self.learning_rates.append(self.rate_at(len(self.learning_rates)))
        self.losses.append(loss)
        step = len(self.losses)
        self._average = self.smoothing * self._average + (1 - self.smoothing) * loss
        smoothed = self._average / (1 - self.smoothing**step)
        self.smoothed_losses.append(smoothed)
        best = min(self.smoothed_losses)
        diverged = not math.isfinite(smoothed) or (
            step > 1 and smoothed > self.divergence_factor * best
        )
        if diverged or step >= self.num_steps:
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        _sync_jax_state(self.model)
        self.model.set_weights(self._saved_weights)
        for variable, value in zip(self.model.optimizer.variables, self._saved_optimizer):
            variable.assign(value)
        self.suggestion = self.suggest()

    # -- results ----------------------------------------------------------------
    def suggest(self, skip_start=5, skip_end=3, window=0.1):
        """The rate where the smoothed loss falls fastest against log(rate).

        The slope is measured across a window of steps (a fraction ``window`` of
        the sweep) rather than between neighbours, so that the noise of single
        batches does not pass for a descent; the suggestion is the rate at the
        middle of the steepest window.

        Args:
            skip_start: first steps ignored (the moving average is still noisy).
            skip_end: last steps ignored (the loss is already blowing up).
            window: width of the slope window as a fraction of the steps taken.

        Returns:
            The suggested rate, or ``None`` when the sweep is too short.
        """
        rates = np.log(np.asarray(self.learning_rates[skip_start : len(self.losses) - skip_end]))
        losses = np.asarray(self.smoothed_losses[skip_start : len(self.losses) - skip_end])
        width = max(1, round(window * len(self.losses)))
        if len(losses) <= width:
            return None
        slopes = (losses[width:] - losses[:-width]) / (rates[width:] - rates[:-width])
        slopes = np.where(np.isfinite(slopes), slopes, np.inf)
        best = int(np.argmin(slopes))
        return float(np.exp((rates[best] + rates[best + width]) / 2))

    def plot(self, path, title="learning-rate range test"):
        """Draws the smoothed (and raw) loss against the rate, log scale, with the
        suggestion marked, as a PNG. Returns ``path``."""
        from callbacks.plots import plt, save_figure

        if not self.losses:
            raise ValueError("LRFinder.plot needs a sweep: run `find` or `fit` first.")
        figure, axis = plt.subplots(figsize=(5.5, 3.8))
        axis.plot(self.learning_rates, self.losses, alpha=0.3, label="loss")
        axis.plot(self.learning_rates, self.smoothed_losses, label="smoothed loss")
        if self.suggestion is not None:
            axis.axvline(
                self.suggestion,
                color="tab:red",
                linestyle="--",
                label=f"suggestion {self.suggestion:.2g}",
            )
        finite = [v for v in self.smoothed_losses if math.isfinite(v)]
        if finite:  # from the lowest loss to a bit above the first: the blow-up is cut
            low, high = min(finite), finite[0] + 0.5 * abs(finite[0]) + 1e-12
            axis.set_ylim(low - 0.05 * (high - low), high)
        axis.set_xscale("log")
        axis.set_xlabel("learning rate")
        axis.set_ylabel(self.monitor)
        axis.set_title(title)
        axis.grid(alpha=0.3)
        axis.legend()
        return save_figure(figure, path)


def _rate_holder(optimizer):
    """The optimizer that owns the learning rate (the innermost of wrappers)."""
    while hasattr(optimizer, "inner_optimizer"):
        optimizer = optimizer.inner_optimizer
    return optimizer


def _sync_jax_state(model):
    """On JAX, ``fit`` keeps the training state outside the variables between
    epochs; writing a variable mid-epoch needs the state written back first (the
    next step then reads the variables again)."""
    sync = getattr(model, "jax_state_sync", None)
    if sync is not None:
        sync()
