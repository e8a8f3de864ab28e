"""How builders compile the model they return: the recipe's defaults, the user's
overrides, or no compilation at all (``compile=False``).

The fast path is the default: Keras' ``jit_compile="auto"`` (XLA wherever the
model's layers allow it) and several training steps per compiled call
(``steps_per_execution``), which removes the per-batch Python overhead: 2.5-3.7x
the throughput of one step per call for a small MLP on TensorFlow, 1.5-2x on JAX
(2 CPU cores; ``python -m benchmarks --only mnist_mlp``). Callbacks then see
``on_train_batch_*`` once per call; a callback that needs every step (such as
``callbacks.LRFinder`` used by hand) wants ``set_steps_per_execution(1)`` or
``model.steps_per_execution = 1`` before ``fit``.
"""

import contextlib
import os

import keras

from recipes.checks import check_positive_int

DEFAULT_STEPS_PER_EXECUTION = 32
_STEPS_ENV = "RECIPES_STEPS_PER_EXECUTION"
_steps_per_execution = None  # None: the environment variable, else the default


def steps_per_execution():
    """The number of training steps per compiled call that builders use.

    It is the value given to ``set_steps_per_execution``, else the
    ``RECIPES_STEPS_PER_EXECUTION`` environment variable, else 32 (1 on the
    PyTorch backend, whose Keras trainer takes no more).

    Example:

    >>> recipes.steps_per_execution()
    32
    """
    if _steps_per_execution is not None:
        return _steps_per_execution
    value = os.environ.get(_STEPS_ENV)
    if value is None:
        # Keras' PyTorch trainer runs one step per call and refuses more.
        return 1 if keras.backend.backend() == "torch" else DEFAULT_STEPS_PER_EXECUTION
    try:
        return check_positive_int(_STEPS_ENV, int(value))
    except ValueError as error:
        raise ValueError(
            f"{_STEPS_ENV} must be a positive integer. Received: {_STEPS_ENV}={value!r}"
        ) from error


def set_steps_per_execution(steps):
    """Sets how many training steps each compiled call runs, for models built
    from now on (``None`` goes back to the default).

    Args:
        steps: a positive int, or ``None``.

    Returns:
        The previous value.

    Example:

    >>> previous = recipes.set_steps_per_execution(1)  # per-batch callbacks
    >>> model = recipes.build("mnist_mlp")
    >>> recipes.set_steps_per_execution(previous)
    """
    global _steps_per_execution
    if steps is not None:
        check_positive_int("steps", steps)
    previous = steps_per_execution()
    _steps_per_execution = steps
    return previous


def steps_dividing(steps_per_epoch, limit=DEFAULT_STEPS_PER_EXECUTION):
    """The largest number of steps per call, up to ``limit``, that divides an
    epoch of ``steps_per_epoch`` steps: every call then runs the same number of
    steps, so JAX compiles no shorter last call.

    Example:

    >>> steps_dividing(50)
    25
    """
    return max(k for k in range(1, min(steps_per_epoch, limit) + 1) if steps_per_epoch % k == 0)


@contextlib.contextmanager
def single_steps(model):
    """Runs the block with ``model`` doing one training step per call, so that
    per-batch callbacks see every step; restores its setting afterwards.

    Args:
        model: a compiled ``keras.Model``.

    Example:

    >>> with single_steps(model):
    ...     model.fit(x, y, callbacks=[per_batch_callback])
    """
    previous = model.steps_per_execution
    if previous != 1:
        model.steps_per_execution = 1
        model.train_function = None  # rebuilt for one step per call
    try:
        yield model
    finally:
        if model.steps_per_execution != previous:
            model.steps_per_execution = previous
            model.train_function = None


def get_optimizer(optimizer="adam", learning_rate=None):
    """Returns a fresh optimizer.

    Args:
        optimizer: a name (``"adam"``, ``"sgd"``, ``"adamw"``, ``"rmsprop"``...), a
            config dict, or an optimizer instance.
        learning_rate: a float or a ``LearningRateSchedule``; ``None`` keeps the
            optimizer's own. Not allowed with an optimizer instance.

    Example:

    >>> get_optimizer("sgd", 0.01).learning_rate
    """
    if isinstance(optimizer, keras.optimizers.Optimizer):
        if learning_rate is not None:
            raise ValueError(
                "Pass `learning_rate` with an optimizer name, not with an optimizer "
                f"instance. Received: optimizer={optimizer!r}, "
                f"learning_rate={learning_rate!r}"
            )
        return optimizer
    if isinstance(optimizer, str):
        optimizer = {"class_name": optimizer, "config": {}}
    config = dict(optimizer.get("config", {}))
    if learning_rate is not None:
        config["learning_rate"] = learning_rate
    try:
        return keras.optimizers.get({**optimizer, "config": config})
    except ValueError as error:
        raise ValueError(
            "`optimizer` must be a Keras optimizer name such as 'adam', 'sgd', "
            f"'adamw' or 'rmsprop', or an optimizer. Received: optimizer={optimizer!r}"
        ) from error


def compile_recipe(
    model,
    compile=True,
    optimizer="adam",
    learning_rate=None,
    loss=None,
    metrics=None,
    **compile_kwargs,
):
    """Compiles ``model`` with a recipe's defaults unless ``compile`` is False.

    Builders call this last, passing their own defaults for ``loss`` and
    ``metrics`` when the user gave none.

    Args:
        model: the ``keras.Model`` to compile.
        compile: when False, return ``model`` uncompiled.
        optimizer: see ``get_optimizer``.
        learning_rate: see ``get_optimizer``.
        loss: a Keras loss (name, function or instance).
        metrics: a list of Keras metrics, or a dict of lists keyed by output
            name for a model with several outputs.
        **compile_kwargs: anything else ``Model.compile`` takes
            (``jit_compile``, ``loss_weights``...); ``steps_per_execution``
            defaults to ``steps_per_execution()``.

    Returns:
        ``model``.
    """
    if compile:
        compile_kwargs.setdefault("steps_per_execution", steps_per_execution())
        model.compile(
            optimizer=get_optimizer(optimizer, learning_rate),
            loss=loss,
            metrics=metrics if isinstance(metrics, dict) else list(metrics or []),
            **compile_kwargs,
        )
    return model
