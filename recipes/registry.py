"""The registries: one ``Registry`` class, and the builders and presets (recipes).

A ``Registry`` maps names to entries: it registers (refusing duplicates), looks up
(naming the closest names when one is unknown), lists with shell wildcards,
describes an entry, and can register for a while only (``scoped``). The presets
and builders here, the datasets of ``recipes.data`` and the tuning tasks of
``tuning.tasks`` are ``Registry`` objects.

A *builder* is a plain function ``build_<arch>(...)`` that returns a ``keras.Model``
ready to ``fit``. It is registered with ``@register_builder`` and becomes
``recipes.build_<arch>``. A *preset* (a "recipe") is a builder plus keyword
arguments, registered with ``register_recipe`` next to its builder; a family
registers its presets as data, one ``register_recipes({name: arguments})`` table.

Example:

>>> import recipes
>>> "mnist_mlp" in recipes.list_recipes()
True
>>> model = recipes.build("mnist_mlp", dropout=0.1)  # overrides the preset
>>> with scoped():                   # what is registered inside is gone afterwards
...     register_recipe("tiny_mlp", recipes.build_mlp, "A tiny MLP.", hidden_units=(4,))
"""

import contextlib
import dataclasses
import difflib
import fnmatch
import functools
import inspect
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from recipes.compiling import compiled_builder

_ALL_REGISTRIES = weakref.WeakSet()


class Registry:
    """Named entries: register, look up with "did you mean", list, describe.

    Args:
        kind: what an entry is, in words (``"recipe"``, ``"dataset"``...); the
            error messages use it.
        listing: the call that lists the names (e.g. ``"recipes.list_recipes()"``),
            named in the error for an unknown name; without it the error lists
            the names themselves.
        describe: a function of an entry returning the dict ``describe`` gives;
            by default the fields of a dataclass entry, or ``{"name", "entry"}``.

    Example:

    >>> colours = Registry("colour")
    >>> colours.register("red", (255, 0, 0))
    (255, 0, 0)
    >>> colours.names("r*")
    ['red']
    >>> colours.get("rde")
    Traceback (most recent call last):
    ValueError: Unknown colour 'rde'. Did you mean: red? Known colours: red.
    """

    def __init__(self, kind, listing=None, describe=None):
        self.kind = kind
        self.listing = listing
        self._describe = describe
        self._entries = {}
        _ALL_REGISTRIES.add(self)

    def __contains__(self, name):
        return name in self._entries

    def __len__(self):
        return len(self._entries)

    def register(self, name, entry):
        """Adds ``entry`` as ``name``; a name already registered raises ``ValueError``.

        Returns:
            ``entry``.
        """
        if name in self._entries:
            raise ValueError(f"A {self.kind} named {name!r} is already registered.")
        self._entries[name] = entry
        return entry

    def unregister(self, name):
        """Removes ``name`` (an unknown name raises, as in ``get``); returns its entry."""
        entry = self.get(name)
        del self._entries[name]
        return entry

    def get(self, name):
        """The entry of ``name``; an unknown name raises a ``ValueError`` naming the
        closest known ones."""
        if name not in self._entries:
            raise ValueError(self._unknown_message(name))
        return self._entries[name]

    def names(self, pattern="*"):
        """The sorted names matching a shell wildcard, e.g. ``"cifar10_*"``."""
        return sorted(n for n in self._entries if fnmatch.fnmatchcase(n, pattern))

    def items(self):
        """``(name, entry)`` pairs in the order they were registered."""
        return list(self._entries.items())

    def describe(self, name):
        """A dict describing the entry of ``name`` (see the ``describe`` argument)."""
        entry = self.get(name)
        if self._describe is not None:
            return self._describe(entry)
        if dataclasses.is_dataclass(entry):
            return {f.name: getattr(entry, f.name) for f in dataclasses.fields(entry)}
        return {"name": name, "entry": entry}

    @contextlib.contextmanager
    def scoped(self):
        """Registrations made inside the block are undone when it ends (and the
        entries it removed come back).

        Example:

        >>> with colours.scoped():
        ...     colours.register("teal", (0, 128, 128))
        >>> "teal" in colours
        False
        """
        saved = dict(self._entries)
        try:
            yield self
        finally:
            self._entries.clear()
            self._entries.update(saved)

    def _unknown_message(self, name):
        close = difflib.get_close_matches(str(name), list(self._entries), n=3)
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        if self.listing:
            known = f"{self.listing} lists all {len(self)} of them."
        else:
            known = f"Known {self.kind}s: {', '.join(self.names())}."
        return f"Unknown {self.kind} {name!r}.{hint} {known}"


@contextlib.contextmanager
def scoped():
    """Undoes, when the block ends, whatever was registered (or unregistered)
    inside it in every registry that exists when it starts (builders, presets,
    datasets, and the tuning tasks once ``tuning`` is imported).

    Returns:
        A context manager.

    Example:

    >>> with scoped():
    ...     register_recipe("tiny_mlp", build_mlp, "A tiny MLP.", hidden_units=(4,))
    >>> "tiny_mlp" in list_recipes()
    False
    """
    with contextlib.ExitStack() as stack:
        for registry in list(_ALL_REGISTRIES):
            stack.enter_context(registry.scoped())
        yield


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
        trainer: the name of the ``recipes.trainers`` trainer that trains this
            preset (e.g. ``"airbench"``: whiten, train and test the airbench way),
            or ``None`` for the standard loop.
    """

    name: str
    builder: Callable
    kwargs: dict[str, Any]
    summary: str
    dataset: str | None = None
    fit: dict[str, Any] = field(default_factory=dict)
    trainer: str | None = None


def _describe_recipe(recipe):
    return {
        "name": recipe.name,
        "builder": recipe.builder,
        "builder_name": recipe.builder.__name__,
        "arguments": {**_defaults(recipe.builder), **recipe.kwargs},
        "summary": recipe.summary,
        "dataset": recipe.dataset,
        "fit": dict(recipe.fit),
    }


def _describe_builder(builder):
    return {
        "name": builder.__name__,
        "builder": builder,
        "arguments": _defaults(builder),
        "summary": (inspect.getdoc(builder) or "").split("\n")[0],
    }


BUILDERS = Registry("builder", "recipes.list_builders()", _describe_builder)
RECIPES = Registry("recipe", "recipes.list_recipes()", _describe_recipe)


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
    if name in BUILDERS and _body(BUILDERS.get(name)) is body:
        BUILDERS.unregister(name)  # the same function again: wrapped anew
    return BUILDERS.register(name, compiled_builder(body, **compile_defaults))


def register_recipe(name, builder, summary, dataset=None, fit=None, trainer=None, **kwargs):
    """Registers a preset: ``builder`` called with ``kwargs``.

    Args:
        name: snake_case public name of the preset.
        builder: a registered ``build_<arch>`` function.
        summary: one line saying what the preset is (shown by ``describe``).
        dataset: name of its default dataset in ``recipes.data``, if any.
        fit: default ``fit`` arguments, e.g. ``{"epochs": 12, "batch_size": 64}``.
        trainer: the name of a ``recipes.trainers`` trainer (see ``Recipe``);
            ``train_recipe`` and ``python -m recipes train`` hand the preset to it.
        **kwargs: arguments for the builder; each must be one of its parameters.

    Returns:
        The registered ``Recipe``.

    Example:

    >>> register_recipe("moons_mlp", build_mlp, "MLP for the 2-D moons set.",
    ...                 input_shape=(2,), num_classes=2, hidden_units=(16, 16))
    """
    _check_arguments(builder, kwargs, context=f"recipe {name!r}")
    recipe = Recipe(name, builder, dict(kwargs), summary, dataset, dict(fit or {}), trainer)
    return RECIPES.register(name, recipe)


def register_recipes(presets):
    """Registers presets given as data, in the keras-hub manner: a dict ``name ->
    arguments of register_recipe`` (``builder``, ``summary``, and ``dataset``,
    ``fit``, ``trainer`` and the builder's arguments as needed).

    Args:
        presets: a dict of preset name to its arguments.

    Returns:
        The registered ``Recipe`` objects, in order.

    Example:

    >>> register_recipes({
    ...     "moons_mlp": {"builder": build_mlp, "summary": "MLP for the 2-D moons.",
    ...                   "input_shape": (2,), "num_classes": 1},
    ... })
    """
    return [register_recipe(name, **arguments) for name, arguments in presets.items()]


def list_recipes(pattern="*"):
    """Returns the sorted names of the registered presets.

    Args:
        pattern: a shell-style wildcard filter, e.g. ``"cifar10_*"``.

    Example:

    >>> list_recipes("mnist_*")
    ['mnist_mlp']
    """
    return RECIPES.names(pattern)


def list_builders(pattern="*"):
    """Returns the sorted names of the registered ``build_<arch>`` functions.

    Args:
        pattern: a shell-style wildcard filter, e.g. ``"build_*gan"``.
    """
    return BUILDERS.names(pattern)


def builders():
    """Returns a dict of the registered builders, name to function."""
    return dict(BUILDERS.items())


def get_recipe(name):
    """Returns the ``Recipe`` registered as ``name``; unknown names raise a
    ``ValueError`` that suggests the closest known ones."""
    return RECIPES.get(name)


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
    return RECIPES.describe(name)


def _body(builder):
    return getattr(builder, "__wrapped__", builder)


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
