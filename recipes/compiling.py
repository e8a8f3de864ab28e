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
import dataclasses
import functools
import inspect
import numbers
import os
import textwrap
from collections.abc import Callable
from typing import Any

import keras

from callbacks.steps import single_steps  # noqa: F401  (public here too)
from recipes.checks import check_keys, check_non_negative, check_positive_int

# Zhang et al. 2017 trained with SGD and momentum 0.9.
ZHANG_SGD = {"class_name": "sgd", "config": {"momentum": 0.9}}

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


@contextlib.contextmanager
def steps_per_execution_set_to(steps):
    """Models built inside the block run ``steps`` training steps per compiled
    call; the setting from before the block (the default included) comes back
    after it.

    Example:

    >>> with steps_per_execution_set_to(1):  # per-batch callbacks
    ...     model = recipes.build("mnist_mlp")
    """
    global _steps_per_execution
    saved = _steps_per_execution
    set_steps_per_execution(steps)
    try:
        yield
    finally:
        _steps_per_execution = saved


def steps_dividing(steps_per_epoch, limit=DEFAULT_STEPS_PER_EXECUTION):
    """The largest number of steps per call, up to ``limit``, that divides an
    epoch of ``steps_per_epoch`` steps: every call then runs the same number of
    steps, so JAX compiles no shorter last call.

    Example:

    >>> steps_dividing(50)
    25
    """
    return max(k for k in range(1, min(steps_per_epoch, limit) + 1) if steps_per_epoch % k == 0)


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
    # 0 is allowed: it freezes what the optimizer trains (a GAN's one network, say).
    if isinstance(learning_rate, (str, bool)) or (
        isinstance(learning_rate, numbers.Real) and not learning_rate >= 0
    ):
        raise ValueError(
            "`learning_rate` must be a number >= 0 or a LearningRateSchedule. "
            f"Received: learning_rate={learning_rate!r}"
        )
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


def optimizer_with_clipnorm(optimizer, clipnorm):
    """Adds gradient-norm clipping to an optimizer name or config.

    Args:
        optimizer: a name, a config dict or an optimizer instance (returned as
            it is: an instance keeps its own clipping settings).
        clipnorm: clip each gradient to this norm; ``None`` or 0: no clipping.

    Returns:
        What ``get_optimizer`` accepts.

    Example:

    >>> optimizer_with_clipnorm("adam", 1.0)
    {'class_name': 'adam', 'config': {'clipnorm': 1.0}}
    """
    if clipnorm:
        check_non_negative("clipnorm", clipnorm)
    if isinstance(optimizer, keras.optimizers.Optimizer) or not clipnorm:
        return optimizer
    if isinstance(optimizer, str):
        optimizer = {"class_name": optimizer, "config": {}}
    if not isinstance(optimizer, dict):
        raise ValueError(
            "`optimizer` must be a name, a config dict or an optimizer. Received: "
            f"optimizer={optimizer!r}"
        )
    config = {"clipnorm": float(clipnorm), **optimizer.get("config", {})}
    return {**optimizer, "config": config}


def clipped_optimizer(clipnorm):
    """A ``BuiltModel.make_optimizer`` that clips each gradient's norm to
    ``clipnorm`` (checked now, so that a bad value fails at build time), for
    recurrent models whose gradients can explode.

    Args:
        clipnorm: a number >= 0; ``None`` or 0: no clipping.

    Returns:
        A function ``(optimizer, learning_rate) -> optimizer``.

    Example:

    >>> return BuiltModel(model, make_optimizer=clipped_optimizer(1.0))
    """
    if clipnorm:
        check_non_negative("clipnorm", clipnorm)

    def make_optimizer(optimizer, learning_rate):
        return get_optimizer(optimizer_with_clipnorm(optimizer, clipnorm), learning_rate)

    return make_optimizer


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


@dataclasses.dataclass
class BuiltModel:
    """What a builder's body returns when its compile defaults depend on its
    arguments: the model and those defaults.

    A body whose defaults never change returns the bare model and states them
    in ``register_builder(...)`` instead.

    Attributes:
        model: the ``keras.Model`` built.
        loss: the default loss (used when the user passes ``loss=None``); for a
            model with several heads, a dict keyed by output name, which a
            user's dict completes: heads it leaves out keep their default.
        metrics: the default metrics (used when the user passes ``metrics=None``);
            a dict keyed by output name is completed the same way.
        make_optimizer: ``None``, or a function ``(optimizer, learning_rate) ->
            optimizer`` that turns the user's choice into the optimizer to compile
            with (two optimizers for a GAN, a ``clipnorm`` for a sequence model).
        compile_kwargs: more ``Model.compile`` arguments (``loss_weights``,
            ``weighted_metrics``...).

    Example:

    >>> return BuiltModel(model, loss="mse", metrics=["mae"])
    """

    model: keras.Model
    loss: Any = None
    metrics: Any = None
    make_optimizer: Callable | None = None
    compile_kwargs: dict = dataclasses.field(default_factory=dict)


COMPILE_ARGUMENTS = ("compile", "optimizer", "learning_rate", "loss", "metrics")
# The builders' learning_rate when the caller gives none: the builder's default for an
# optimizer given by name, none for an optimizer instance (which has its own).
_UNSET = object()

_COMPILE_DOC = {
    "compile": "compile the model with the defaults below; False returns it uncompiled.",
    "optimizer": "optimizer name, config dict or instance (default {optimizer}).",
    "learning_rate": "the learning rate or schedule of an optimizer given by name (default "
    "{learning_rate}; an optimizer instance keeps its own).",
    "loss": "a Keras loss; ``None``: {loss}.",
    "metrics": "a list of Keras metrics (a dict keyed by output name for several "
    "outputs); ``None``: {metrics}.",
}


def _compile_doc(**defaults):
    """The ``Args:`` entries of the compile arguments, wrapped at 88 columns."""
    entries = (f"{name}: {text.format(**defaults)}" for name, text in _COMPILE_DOC.items())
    return "".join(
        textwrap.fill(entry, 88, initial_indent=" " * 8, subsequent_indent=" " * 12) + "\n"
        for entry in entries
    )


def compiled_builder(
    body,
    optimizer="adam",
    learning_rate=1e-3,
    loss=None,
    metrics=None,
    loss_doc=None,
    metrics_doc=None,
    builtin_loss=False,
):
    """Wraps a builder's body so that it takes the five compile arguments
    (``compile``, ``optimizer``, ``learning_rate``, ``loss``, ``metrics``) and
    compiles what the body builds with the builder's defaults and the user's
    overrides. ``register_builder(...)`` calls it; builders don't.

    The wrapper's signature is the body's followed by the compile arguments, and
    its docstring gets their documentation, once, before ``Returns:``. A model
    the body returns unbuilt (a subclassed model) is built for inputs of the
    body's ``input_shape``, so that every builder returns a model whose weights
    exist (to count, save, or restore from a checkpoint).

    Args:
        body: a function returning a ``keras.Model`` or a ``BuiltModel``.
        optimizer: the default optimizer (name, config dict or instance).
        learning_rate: the default learning rate.
        loss: the default loss, or a function of no arguments returning one (a
            fresh loss object per model). A ``BuiltModel``'s loss comes first.
        metrics: the default metrics, or a function returning them.
        loss_doc: how the docstring names the default loss (default: ``loss``).
        metrics_doc: how the docstring names the default metrics.
        builtin_loss: True for models whose losses are built in (GANs, VAEs,
            flows): the user's ``loss`` and ``metrics`` must then be ``None``.

    Returns:
        The wrapped builder.
    """

    @functools.wraps(body)
    def builder(
        *args,
        compile=True,
        optimizer=optimizer,
        learning_rate=_UNSET,
        loss=None,
        metrics=None,
        **kwargs,
    ):
        if learning_rate is _UNSET:  # the default rate is for optimizers given by name
            given_instance = isinstance(optimizer, keras.optimizers.Optimizer)
            learning_rate = None if given_instance else default_learning_rate
        if builtin_loss and (loss is not None or metrics is not None):
            raise ValueError(
                f"{body.__name__} builds a model whose losses and metrics are built in: "
                "`loss` and `metrics` must be None. "
                f"Received: loss={loss!r}, metrics={metrics!r}"
            )
        built = body(*args, **kwargs)
        if not isinstance(built, BuiltModel):
            built = BuiltModel(built)
        _build_weights(built.model, signature.bind(*args, **kwargs))
        if not compile:
            return built.model
        if built.make_optimizer is not None:
            optimizer = built.make_optimizer(optimizer, learning_rate)
            learning_rate = None
        return compile_recipe(
            built.model,
            optimizer=optimizer,
            learning_rate=learning_rate,
            loss=_first(_per_head("loss", loss, built.loss), built.loss, default_loss),
            metrics=_first(
                _per_head("metrics", metrics, built.metrics), built.metrics, default_metrics
            ),
            **built.compile_kwargs,
        )

    default_loss, default_metrics, default_learning_rate = loss, metrics, learning_rate
    signature = inspect.signature(body)
    params = list(signature.parameters.values())
    clash = [p.name for p in params if p.name in COMPILE_ARGUMENTS]
    if clash:
        raise ValueError(
            f"{body.__name__} must not declare the compile arguments {clash}: "
            "register_builder adds them."
        )
    compile_params = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=value)
        for name, value in zip(
            COMPILE_ARGUMENTS, (True, optimizer, learning_rate, None, None), strict=True
        )
    ]
    builder.__signature__ = inspect.Signature(params + compile_params)
    builder.__doc__ = _with_compile_doc(
        body.__doc__,
        _compile_doc(
            optimizer=_describe(optimizer),
            learning_rate=_describe(learning_rate),
            loss=loss_doc or ("built in" if builtin_loss else _describe(loss)),
            metrics=metrics_doc or ("built in" if builtin_loss else _describe(metrics)),
        ),
    )
    return builder


def _build_weights(model, arguments):
    """Builds ``model`` for inputs of the builder's ``input_shape`` (from its
    ``inspect.BoundArguments``) when its body left it unbuilt and has one."""
    if model.built:
        return
    arguments.apply_defaults()
    input_shape = arguments.arguments.get("input_shape")
    if input_shape is not None:
        model.build((None, *input_shape))


def _first(user_value, built_value, default):
    """The user's value, else the body's, else the builder's default (called
    when it is a factory)."""
    if user_value is not None:
        return user_value
    if built_value is not None:
        return built_value
    return default() if callable(default) and not _is_keras_object(default) else default


def _per_head(argument, user_value, built_value):
    """A user's dict on top of a body's per-head defaults (a dict keyed by output
    name): the heads the user leaves out, or sets to None, keep their default."""
    if not isinstance(built_value, dict) or user_value is None:
        return user_value
    user_value = check_keys(argument, user_value, tuple(built_value), what="head")
    return {**built_value, **{k: v for k, v in user_value.items() if v is not None}}


def _is_keras_object(value):
    return isinstance(value, (keras.losses.Loss, keras.metrics.Metric))


def _describe(value):
    if callable(value) and not _is_keras_object(value):
        return f"``{getattr(value, '__name__', value)}()``"
    return f"``{value!r}``" if value is not None else "the builder's default"


def _with_compile_doc(doc, compile_doc):
    """Puts ``compile_doc`` at the end of the docstring's ``Args:`` section."""
    if not doc:
        return compile_doc
    marker = "\n    Returns:"
    if marker in doc:
        head, tail = doc.split(marker, 1)
        return f"{head.rstrip()}\n{compile_doc}{marker}{tail}"
    return f"{doc.rstrip()}\n\n    Compile arguments:\n{compile_doc}"
