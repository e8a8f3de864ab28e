"""Learning-rate schedules Keras lacks, a ``schedule(name, ...)`` factory and a plot.

Each schedule is a ``keras.optimizers.schedules.LearningRateSchedule``: pass it as an
optimizer's ``learning_rate`` and the optimizer evaluates it at every step
(``optimizer.iterations``) inside compiled training, on every backend. They are
registered as serializable (package ``"recipes"``), so models compiled with them
save and load.

Example:

>>> from callbacks import schedule
>>> lr = schedule("warmup_cosine", learning_rate=1e-3, total_steps=1000, warmup_steps=100)
>>> round(float(lr(100)), 6)
0.001
>>> model.compile(optimizer=keras.optimizers.Adam(lr), loss="mse")
"""

import math

import keras
from keras import ops


def _step(step):
    return ops.cast(step, "float32")


def _cosine(start, end, fraction):
    """``start`` at ``fraction=0`` to ``end`` at ``fraction=1`` along half a cosine."""
    return end + (start - end) * 0.5 * (1.0 + ops.cos(math.pi * fraction))


def _linear(start, end, fraction):
    """``start`` at ``fraction=0`` to ``end`` at ``fraction=1`` along a line."""
    return start + (end - start) * fraction


ANNEAL_STRATEGIES = {"cos": _cosine, "linear": _linear}


def _check_positive(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ValueError(f"`{name}` must be a number > 0. Received: {name}={value!r}")
    return value


def _check_fraction(name, value, low=0.0, high=1.0):
    if not isinstance(value, (int, float)) or not low <= value <= high:
        raise ValueError(f"`{name}` must be in [{low}, {high}]. Received: {name}={value!r}")
    return value


@keras.saving.register_keras_serializable(package="recipes")
class StepDecay(keras.optimizers.schedules.LearningRateSchedule):
    """Step decay: the rate is multiplied by ``factor`` every ``drop_every`` steps.

    ``lr(step) = max(learning_rate * factor ** floor(step / drop_every),
    min_learning_rate)``. The classic "divide by 10 at epochs 30, 60, 90" schedule
    is ``StepDecay(0.1, drop_every=30 * steps_per_epoch, factor=0.1)``.

    Args:
        learning_rate: rate for the first ``drop_every`` steps.
        drop_every: number of steps between two drops.
        factor: multiplier applied at each drop, in (0, 1].
        min_learning_rate: floor of the rate.
        name: name of the schedule.

    Example:

    >>> lr = StepDecay(0.1, drop_every=10, factor=0.5)
    >>> [round(float(lr(s)), 4) for s in (0, 9, 10, 25)]
    [0.1, 0.1, 0.05, 0.025]
    """

    def __init__(
        self, learning_rate, drop_every, factor=0.5, min_learning_rate=0.0, name="step_decay"
    ):
        self.learning_rate = _check_positive("learning_rate", learning_rate)
        self.drop_every = _check_positive("drop_every", drop_every)
        self.factor = _check_fraction("factor", factor)
        self.min_learning_rate = _check_fraction(
            "min_learning_rate", min_learning_rate, high=learning_rate
        )
        self.name = name

    def __call__(self, step):
        drops = ops.floor(_step(step) / self.drop_every)
        rate = self.learning_rate * ops.power(self.factor, drops)
        return ops.maximum(rate, self.min_learning_rate)

    def get_config(self):
        return {
            "learning_rate": self.learning_rate,
            "drop_every": self.drop_every,
            "factor": self.factor,
            "min_learning_rate": self.min_learning_rate,
            "name": self.name,
        }


@keras.saving.register_keras_serializable(package="recipes")
class FlooredExponentialDecay(keras.optimizers.schedules.ExponentialDecay):
    """Keras' ``ExponentialDecay`` with a floor: the rate shrinks by ``decay_rate``
    every ``decay_steps`` steps, smoothly (or in stairs with ``staircase=True``),
    but never below ``min_learning_rate``, so long runs do not decay to nothing.

    ``lr(step) = max(learning_rate * decay_rate ** (step / decay_steps),
    min_learning_rate)``. Models saved with this class's former name,
    ``recipes>ExponentialDecay``, load as this class.

    Args:
        learning_rate: rate at step 0.
        decay_steps: steps over which the rate is multiplied by ``decay_rate``.
        decay_rate: multiplier per ``decay_steps``, in (0, 1].
        staircase: decay in discrete jumps (integer division of the step).
        min_learning_rate: floor of the rate.
        name: name of the schedule.

    Example:

    >>> lr = FlooredExponentialDecay(1.0, decay_steps=10, decay_rate=0.5, min_learning_rate=0.3)
    >>> [round(float(lr(s)), 4) for s in (0, 5, 10, 20)]
    [1.0, 0.7071, 0.5, 0.3]
    """

    def __init__(
        self,
        learning_rate,
        decay_steps,
        decay_rate=0.5,
        staircase=False,
        min_learning_rate=0.0,
        name="floored_exponential_decay",
    ):
        super().__init__(
            float(_check_positive("learning_rate", learning_rate)),
            _check_positive("decay_steps", decay_steps),
            _check_fraction("decay_rate", decay_rate),
            staircase=bool(staircase),
            name=name,
        )
        self.min_learning_rate = _check_fraction(
            "min_learning_rate", min_learning_rate, high=learning_rate
        )

    @property
    def learning_rate(self):
        """The rate at step 0 (Keras' ``initial_learning_rate``)."""
        return self.initial_learning_rate

    def __call__(self, step):
        return ops.maximum(super().__call__(step), self.min_learning_rate)

    def get_config(self):
        return {
            "learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "decay_rate": self.decay_rate,
            "staircase": self.staircase,
            "min_learning_rate": self.min_learning_rate,
            "name": self.name,
        }


# Models saved before the rename name the class "recipes>ExponentialDecay".
keras.saving.get_custom_objects()["recipes>ExponentialDecay"] = FlooredExponentialDecay


@keras.saving.register_keras_serializable(package="recipes")
class WarmupCosineDecay(keras.optimizers.schedules.CosineDecay):
    """Linear warm-up to ``learning_rate``, then cosine decay to ``final_learning_rate``:
    Keras' ``CosineDecay`` with its warm-up, named by the rates and the total length.

    For ``step < warmup_steps`` the rate rises linearly from
    ``initial_learning_rate`` to ``learning_rate``; then it follows half a cosine
    down to ``final_learning_rate`` at ``total_steps`` and stays there (Goyal et
    al. 2017 for the warm-up, Loshchilov and Hutter 2017 for the cosine). It is
    ``keras.optimizers.schedules.CosineDecay(initial_learning_rate,
    decay_steps=total_steps - warmup_steps, alpha=final_learning_rate /
    learning_rate, warmup_target=learning_rate, warmup_steps=warmup_steps)``.

    Args:
        learning_rate: peak rate, reached at ``warmup_steps``.
        total_steps: step at which the decay ends.
        warmup_steps: length of the linear warm-up (0: start at the peak).
        initial_learning_rate: rate at step 0 when there is a warm-up.
        final_learning_rate: rate at and after ``total_steps``.
        name: name of the schedule.

    Example:

    >>> lr = WarmupCosineDecay(1.0, total_steps=110, warmup_steps=10)
    >>> [round(float(lr(s)), 4) for s in (0, 5, 10, 60, 110, 200)]
    [0.0, 0.5, 1.0, 0.5, 0.0, 0.0]
    """

    def __init__(
        self,
        learning_rate,
        total_steps,
        warmup_steps=0,
        initial_learning_rate=0.0,
        final_learning_rate=0.0,
        name="warmup_cosine_decay",
    ):
        _check_positive("learning_rate", learning_rate)
        _check_positive("total_steps", total_steps)
        _check_fraction("warmup_steps", warmup_steps, high=total_steps - 1)
        _check_fraction("initial_learning_rate", initial_learning_rate, high=learning_rate)
        _check_fraction("final_learning_rate", final_learning_rate, high=learning_rate)
        super().__init__(
            float(initial_learning_rate),
            decay_steps=total_steps - warmup_steps,
            alpha=final_learning_rate / learning_rate,
            name=name,
            warmup_target=float(learning_rate),
            warmup_steps=warmup_steps,
        )
        self.total_steps = total_steps
        self.final_learning_rate = final_learning_rate

    @property
    def learning_rate(self):
        """The peak rate (Keras' ``warmup_target``)."""
        return self.warmup_target

    def get_config(self):
        return {
            "learning_rate": self.warmup_target,
            "total_steps": self.total_steps,
            "warmup_steps": self.warmup_steps,
            "initial_learning_rate": self.initial_learning_rate,
            "final_learning_rate": self.final_learning_rate,
            "name": self.name,
        }


@keras.saving.register_keras_serializable(package="recipes")
class OneCycle(keras.optimizers.schedules.LearningRateSchedule):
    """The one-cycle policy (Smith 2018; Smith and Topin 2019) for the rate and momentum.

    Over the first ``warmup_fraction`` of ``total_steps`` the rate climbs along a
    half cosine from ``max_learning_rate / div_factor`` to ``max_learning_rate``
    while the momentum falls from ``max_momentum`` to ``base_momentum``; over the
    rest the rate anneals down to ``max_learning_rate / (div_factor *
    final_div_factor)`` while the momentum climbs back (cosine annealing, as in
    fastai and PyTorch's ``OneCycleLR``; with ``anneal_strategy="linear"`` both
    phases are straight lines: airbench94's triangular schedule).

    Calling the schedule gives the rate; ``momentum(step)`` gives the momentum.
    Keras optimizers keep momentum as a constant, so to cycle it wrap the
    optimizer: ``ScheduledMomentum(keras.optimizers.SGD(lr, momentum=0.95), lr)``
    (see ``callbacks.optimizers``).

    Args:
        max_learning_rate: peak rate, reached at ``warmup_fraction * total_steps``.
        total_steps: length of the cycle in steps; afterwards the rate stays at its
            final value.
        warmup_fraction: fraction of the cycle spent rising, in (0, 1).
        div_factor: the starting rate is ``max_learning_rate / div_factor``.
        final_div_factor: the final rate is the starting rate / ``final_div_factor``.
        base_momentum: momentum at the peak rate.
        max_momentum: momentum at the start and the end of the cycle.
        anneal_strategy: ``"cos"`` (half cosines) or ``"linear"``.
        name: name of the schedule.

    Example:

    >>> lr = OneCycle(1.0, total_steps=100, warmup_fraction=0.3, div_factor=10.0)
    >>> [round(float(lr(s)), 4) for s in (0, 30, 100)]
    [0.1, 1.0, 0.0]
    >>> [round(float(lr.momentum(s)), 4) for s in (0, 30, 100)]
    [0.95, 0.85, 0.95]
    """

    def __init__(
        self,
        max_learning_rate,
        total_steps,
        warmup_fraction=0.3,
        div_factor=25.0,
        final_div_factor=1e4,
        base_momentum=0.85,
        max_momentum=0.95,
        anneal_strategy="cos",
        name="one_cycle",
    ):
        self.max_learning_rate = _check_positive("max_learning_rate", max_learning_rate)
        self.total_steps = _check_positive("total_steps", total_steps)
        self.warmup_fraction = _check_fraction("warmup_fraction", warmup_fraction)
        if warmup_fraction in (0, 1):
            raise ValueError(
                f"`warmup_fraction` must be in (0, 1). Received: warmup_fraction={warmup_fraction}"
            )
        self.div_factor = _check_positive("div_factor", div_factor)
        self.final_div_factor = _check_positive("final_div_factor", final_div_factor)
        self.base_momentum = _check_fraction("base_momentum", base_momentum)
        self.max_momentum = _check_fraction("max_momentum", max_momentum)
        if anneal_strategy not in ANNEAL_STRATEGIES:
            raise ValueError(
                f"`anneal_strategy` must be one of {sorted(ANNEAL_STRATEGIES)}. "
                f"Received: anneal_strategy={anneal_strategy!r}"
            )
        self.anneal_strategy = anneal_strategy
        self.name = name

    @property
    def initial_learning_rate(self):
        return self.max_learning_rate / self.div_factor

    @property
    def final_learning_rate(self):
        return self.initial_learning_rate / self.final_div_factor

    def _phases(self, step, first, peak, last):
        step = _step(step)
        warmup = self.warmup_fraction * self.total_steps
        anneal = ANNEAL_STRATEGIES[self.anneal_strategy]
        rising = anneal(first, peak, ops.clip(step / warmup, 0.0, 1.0))
        falling = anneal(
            peak, last, ops.clip((step - warmup) / (self.total_steps - warmup), 0.0, 1.0)
        )
        return ops.where(step < warmup, rising, falling)

    def __call__(self, step):
        return self._phases(
            step, self.initial_learning_rate, self.max_learning_rate, self.final_learning_rate
        )

    def momentum(self, step):
        """The momentum (or Adam's ``beta_1``) at ``step``."""
        return self._phases(step, self.max_momentum, self.base_momentum, self.max_momentum)

    def get_config(self):
        return {
            "max_learning_rate": self.max_learning_rate,
            "total_steps": self.total_steps,
            "warmup_fraction": self.warmup_fraction,
            "div_factor": self.div_factor,
            "final_div_factor": self.final_div_factor,
            "base_momentum": self.base_momentum,
            "max_momentum": self.max_momentum,
            "anneal_strategy": self.anneal_strategy,
            "name": self.name,
        }


SCHEDULES = {
    "step": StepDecay,
    "exponential": FlooredExponentialDecay,
    "warmup_cosine": WarmupCosineDecay,
    "cosine": WarmupCosineDecay,
    "one_cycle": OneCycle,
}


def schedule(name, **kwargs):
    """Builds a learning-rate schedule by name.

    Args:
        name: one of ``"step"`` (``StepDecay``), ``"exponential"``
            (``FlooredExponentialDecay``), ``"warmup_cosine"`` or ``"cosine"``
            (``WarmupCosineDecay``), ``"one_cycle"`` (``OneCycle``).
        **kwargs: the schedule's arguments.

    Returns:
        A ``keras.optimizers.schedules.LearningRateSchedule``.

    Example:

    >>> lr = schedule("step", learning_rate=0.1, drop_every=1000, factor=0.1)
    >>> optimizer = keras.optimizers.SGD(lr, momentum=0.9)
    """
    if name not in SCHEDULES:
        raise ValueError(
            f"`name` must be one of {', '.join(map(repr, SCHEDULES))}. Received: name={name!r}"
        )
    return SCHEDULES[name](**kwargs)


def schedule_values(lr_schedule, steps):
    """The schedule's rate (and momentum, when it has one) at ``0..steps-1``.

    Args:
        lr_schedule: any ``LearningRateSchedule`` (ours or Keras') or a callable
            of the step.
        steps: number of steps to evaluate.

    Returns:
        ``(rates, momenta)`` as NumPy arrays; ``momenta`` is ``None`` when the
        schedule has no ``momentum`` method.
    """
    import numpy as np

    def evaluate(function):
        # One step at a time: Keras' warm-up schedules branch with ``ops.cond``,
        # which takes a single step, not a vector of them.
        return np.array([float(ops.convert_to_numpy(function(s))) for s in range(steps)])

    momentum = getattr(lr_schedule, "momentum", None)
    return evaluate(lr_schedule), evaluate(momentum) if callable(momentum) else None


def plot_schedule(lr_schedule, steps, path, title=None, log_scale=False):
    """Draws a schedule's rate over ``steps`` steps (and its momentum, if any) as a PNG.

    Args:
        lr_schedule: any ``LearningRateSchedule`` or callable of the step.
        steps: number of steps to draw.
        path: where to write the PNG.
        title: figure title (default: the schedule's class name).
        log_scale: logarithmic rate axis.

    Returns:
        ``path``.

    Example:

    >>> plot_schedule(OneCycle(0.1, total_steps=500), 500, "one_cycle.png")
    'one_cycle.png'
    """
    from callbacks.plots import plt, save_figure

    steps = int(_check_positive("steps", steps))
    rates, momenta = schedule_values(lr_schedule, steps)
    columns = 1 if momenta is None else 2
    figure, axes = plt.subplots(1, columns, figsize=(4.5 * columns, 3.5), squeeze=False)
    axes[0][0].plot(range(steps), rates)
    axes[0][0].set_ylabel("learning rate")
    if log_scale:
        axes[0][0].set_yscale("log")
    if momenta is not None:
        axes[0][1].plot(range(steps), momenta, color="tab:orange")
        axes[0][1].set_ylabel("momentum")
    for axis in axes[0]:
        axis.set_xlabel("step")
        axis.grid(alpha=0.3)
    figure.suptitle(title or type(lr_schedule).__name__)
    return save_figure(figure, path)
