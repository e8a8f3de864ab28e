"""The recipe registry: builders, presets, and how to find and build them.

A *builder* is a plain function ``build_<arch>(...)`` that returns a ``keras.Model``
ready to ``fit``. It is registered with ``@register_builder`` and becomes
``recipes.build_<arch>``. A *preset* (a "recipe") is a builder plus keyword
arguments, registered with ``register_recipe`` next to its builder.

Example:

>>> import recipes
>>> "mnist_mlp" in recipes.list_recipes()
True
>>> model = recipes.build("mnist_mlp", dropout=0.1)  # overrides the preset
"""

import difflib
import fnmatch
import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from recipes.compiling import COMPILE_ARGUMENTS, compiled_builder

_BUILDERS: dict[str, Callable] = {}
_RECIPES: dict[str, "Recipe"] = {}


@dataclass(frozen=True)
class Recipe:
    """A registered preset: a builder, its arguments and how it trains.

    Attributes:
        name: the preset's public name, e.g. ``"mnist_mlp"``.
        builder: the ``build_<arch>`` function.
        kwargs: the keyword arguments the preset passes to the builder.
        summary: one line saying what the preset is.
        dataset: the name ``recipes.data.load`` accepts for its training data,
            or ``None`` when the preset has no default dataset.
        fit: default ``fit`` arguments (``epochs``, ``batch_size``...).
        trainer: ``None`` for ``recipes.training.train_recipe``'s standard loop, or
            the function that trains this preset its own way (same arguments as
            ``train_recipe``, more of its own; e.g. ``train_fast_cifar``, which
            whitens, then trains and tests the airbench way).
    """

    name: str
    builder: Callable
    kwargs: dict[str, Any]
    summary: str
    dataset: str | None = None
    fit: dict[str, Any] = field(default_factory=dict)
    trainer: Callable | None = None


def register_builder(body=None, /, **compile_defaults):
    """Registers a ``build_<arch>`` function so that ``recipes`` exports it, and
    gives it the five compile arguments.

    The function builds the model and returns it (or a
    ``recipes.compiling.BuiltModel`` when its default loss or metrics depend on
    its arguments). The registered builder also takes ``compile``,
    ``optimizer``, ``learning_rate``, ``loss`` and ``metrics`` and compiles the
    model with the defaults given here and the user's overrides (see
    ``recipes.compiling.compiled_builder``).

    Args:
        body: a function whose name starts with ``build_``; with no function,
            ``register_builder(...)`` returns the decorator.
        **compile_defaults: ``optimizer``, ``learning_rate``, ``loss``,
            ``metrics`` (values, or functions making fresh ones), ``loss_doc``,
            ``metrics_doc``, ``builtin_loss``.

    Returns:
        The builder (or the decorator).

    Example:

    >>> @register_builder(loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    ... def build_tiny(input_shape=(4,), num_classes=2, name="tiny"):
    ...     return keras.Sequential([keras.Input(input_shape),
    ...                              keras.layers.Dense(num_classes, "softmax")], name=name)
    """
    if body is None:
        return functools.partial(register_builder, **compile_defaults)
    name = body.__name__
    if not name.startswith("build_"):
        raise ValueError(f"A builder's name must start with 'build_'. Received: {name}")
    if name in _BUILDERS and getattr(_BUILDERS[name], "__wrapped__", _BUILDERS[name]) is not body:
        raise ValueError(f"A builder named {name!r} is already registered.")
    declared = set(inspect.signature(body).parameters)
    if not compile_defaults and declared.issuperset(COMPILE_ARGUMENTS):
        builder = body  # a builder that compiles by itself (calls compile_recipe)
    else:
        builder = compiled_builder(body, **compile_defaults)
    _BUILDERS[name] = builder
    return builder


def register_recipe(name, builder, summary, dataset=None, fit=None, trainer=None, **kwargs):
    """Registers a preset: ``builder`` called with ``kwargs``.

    Args:
        name: snake_case public name of the preset.
        builder: a registered ``build_<arch>`` function.
        summary: one line saying what the preset is (shown by ``describe``).
        dataset: name of its default dataset in ``recipes.data``, if any.
        fit: default ``fit`` arguments, e.g. ``{"epochs": 12, "batch_size": 64}``.
        trainer: a function that trains the preset its own way (see ``Recipe``);
            ``train_recipe`` and ``python -m recipes train`` hand the preset to it.
        **kwargs: arguments for the builder; each must be one of its parameters.

    Returns:
        The registered ``Recipe``.

    Example:

    >>> register_recipe("moons_mlp", build_mlp, "MLP for the 2-D moons set.",
    ...                 input_shape=(2,), num_classes=2, hidden_units=(16, 16))
    """
    if name in _RECIPES:
        raise ValueError(f"A recipe named {name!r} is already registered.")
    _check_arguments(builder, kwargs, context=f"recipe {name!r}")
    recipe = Recipe(name, builder, dict(kwargs), summary, dataset, dict(fit or {}), trainer)
    _RECIPES[name] = recipe
    return recipe


def list_recipes(pattern="*"):
    """Returns the sorted names of the registered presets.

    Args:
        pattern: a shell-style wildcard filter, e.g. ``"cifar10_*"``.

    Example:

    >>> list_recipes("mnist_*")
    ['mnist_mlp']
    """
    return sorted(n for n in _RECIPES if fnmatch.fnmatchcase(n, pattern))


def list_builders():
    """Returns the sorted names of the registered ``build_<arch>`` functions."""
    return sorted(_BUILDERS)


def builders():
    """Returns a dict of the registered builders, name to function."""
    return dict(_BUILDERS)


def get_recipe(name):
    """Returns the ``Recipe`` registered as ``name``; unknown names raise a
    ``ValueError`` that suggests the closest known ones."""
    if name not in _RECIPES:
        close = difflib.get_close_matches(name, list(_RECIPES), n=3)
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        raise ValueError(
            f"Unknown recipe {name!r}.{hint} recipes.list_recipes() lists all "
            f"{len(_RECIPES)} of them."
        )
    return _RECIPES[name]


def build(name, **overrides):
    """Builds the preset ``name``; keyword arguments override the preset's.

    Args:
        name: a name from ``list_recipes()``.
        **overrides: any argument of the preset's builder, e.g.
            ``dropout=0.2``, ``compile=False`` or ``optimizer="sgd"``.

    Returns:
        A ``keras.Model`` (compiled unless ``compile=False``).

    Example:

    >>> model = build("mnist_mlp", hidden_units=(128, 64))
    """
    recipe = get_recipe(name)
    _check_arguments(recipe.builder, overrides, context=f"recipe {name!r}")
    return recipe.builder(**{**recipe.kwargs, **overrides})


def describe(name):
    """Describes a preset: its builder, the arguments it builds with, and a summary.

    Args:
        name: a name from ``list_recipes()``.

    Returns:
        A dict with ``name``, ``builder`` (the function), ``builder_name``,
        ``arguments`` (the builder's defaults with the preset's values on top),
        ``summary``, ``dataset`` and ``fit``.

    Example:

    >>> describe("mnist_mlp")["arguments"]["hidden_units"]
    (64, 32)
    """
    recipe = get_recipe(name)
    return {
        "name": recipe.name,
        "builder": recipe.builder,
        "builder_name": recipe.builder.__name__,
        "arguments": {**_defaults(recipe.builder), **recipe.kwargs},
        "summary": recipe.summary,
        "dataset": recipe.dataset,
        "fit": dict(recipe.fit),
    }


def _defaults(builder):
    return {
        p.name: p.default
        for p in inspect.signature(builder).parameters.values()
        if p.default is not inspect.Parameter.empty
    }


def _check_arguments(builder, kwargs, context):
    params = inspect.signature(builder).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return
    unknown = sorted(set(kwargs) - set(params))
    if unknown:
        raise TypeError(
            f"{builder.__name__} (for {context}) got unknown argument(s) "
            f"{', '.join(unknown)}. Allowed: {', '.join(params)}."
        )
