"""Trainers: how a preset is trained, behind one protocol.

A preset names its trainer (``register_recipe(..., trainer="airbench")``); a
preset that names none gets ``"standard"``, the loop of ``recipes.trainers.standard``
(build, ``fit`` on the training split with validation, evaluate once on test,
save). Every trainer takes the same hooks: the preset, its own options, builder
overrides, the data source (``dataset`` name or ``data_dir``), extra callbacks, a
distribution scope, a checkpoint folder, the output folder, ``epochs``,
``batch_size``, ``seed``, ``verbose`` and a precision policy; it returns a
``TrainResult``. ``recipes.training.train_recipe`` and ``python -m recipes train``
(which makes a command-line flag of each option a trainer declares) go through
this protocol and name no trainer.

Each module of this package registers its trainers when imported, and importing
the package imports them all: a new trainer is a new module here, nothing else.

Example:

>>> from recipes.trainers import Trainer, TrainResult, register_trainer
>>> def run_laps(request):
...     model = recipes.build(request.name, **request.overrides)
...     ...  # trains request.options["laps"] times
...     return TrainResult(model, history, test_metrics, seconds, paths)
>>> register_trainer(Trainer("laps", run_laps, "trains in laps",
...                          options={"laps": (int, 3, "laps to run")}))
>>> recipes.register_recipe("moons_laps", recipes.build_mlp, "...", trainer="laps")
"""

import contextlib
import dataclasses
import importlib
import json
import os
import pkgutil
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

import keras

from recipes.checks import check_positive_int
from recipes.precision import precision
from recipes.registry import Registry, get_recipe

DEFAULT_TRAINER = "standard"
TRAINERS = Registry("trainer", "recipes.trainers.list_trainers()")
# What every trainer takes (and so no option may be called, nor the command
# line's flags: output, precision, set, restart, distribute).
PROTOCOL_ARGUMENTS = (
    "name",
    "options",
    "overrides",
    "dataset",
    "data_dir",
    "callbacks",
    "distribution",
    "checkpoint_dir",
    "output_dir",
    "epochs",
    "batch_size",
    "seed",
    "verbose",
    "precision_policy",
    "output",
    "precision",
    "set",
    "restart",
    "distribute",
)


@dataclasses.dataclass
class TrainResult:
    """What a trainer produced; every trainer returns one (or a subclass).

    Attributes:
        model: the trained model.
        history: ``fit``'s history dict.
        test_metrics: metric name to value on the test split.
        train_seconds: wall time of training (what the trainer times).
        paths: the files written (``model``, ``curves_png``, ``curves_csv``,
            ``metrics``, ``checkpoint``...).
    """

    model: keras.Model
    history: dict
    test_metrics: dict
    train_seconds: float
    paths: dict

    def report(self):
        """Lines that tell more than the test metrics and the time (where the
        data came from, a time split, the spread over runs...); ``python -m
        recipes train`` prints them. None here; trainers' subclasses add theirs.

        Returns:
            A list of strings.
        """
        return []


@dataclasses.dataclass(frozen=True)
class TrainRequest:
    """What a trainer is asked to do: ``Trainer.run`` gets one.

    Attributes:
        name: a preset from ``recipes.list_recipes()``.
        options: the trainer's options, every one filled in.
        overrides: builder arguments, e.g. ``{"dropout": 0.2}``.
        dataset: a dataset name, or ``None`` for the preset's.
        data_dir: a folder to read the data from instead (trainers whose
            ``data_dir`` says what it holds), or ``None``.
        callbacks: more Keras callbacks for ``fit``.
        checkpoint_dir: a folder for checkpoints during training, or ``None``.
        output_dir: a folder for the outputs (model, curves, metrics), or
            ``None`` to write nothing.
        epochs: ``None`` for the preset's.
        batch_size: ``None`` for the preset's.
        seed: seeds Keras, NumPy and Python for a repeatable run.
        verbose: ``fit``'s verbosity.
        precision_policy: one of ``recipes.precision.PRECISIONS``, or ``None``
            for the trainer's default.

    Example:

    >>> request = TrainRequest("digits_mlp", epochs=5)
    >>> request.settings(default_batch_size=32)
    ('digits', 5, 64)
    """

    name: str
    options: Mapping = dataclasses.field(default_factory=dict)
    overrides: Mapping = dataclasses.field(default_factory=dict)
    dataset: str | None = None
    data_dir: str | None = None
    callbacks: Sequence = ()
    checkpoint_dir: str | None = None
    output_dir: str | None = None
    epochs: float | None = None
    batch_size: int | None = None
    seed: int = 0
    verbose: int | str = 2
    precision_policy: str | None = None

    def __post_init__(self):
        for key, kind in (("options", dict), ("overrides", dict), ("callbacks", list)):
            object.__setattr__(self, key, kind(getattr(self, key) or ()))

    @property
    def recipe(self):
        """The preset's ``Recipe``."""
        return get_recipe(self.name)

    def hooks(self):
        """The request's fields but ``name``, ``options`` and ``overrides``, as
        keyword arguments (for trainers that wrap a function taking them)."""
        taken = ("name", "options", "overrides")
        return {
            field.name: getattr(self, field.name)
            for field in dataclasses.fields(self)
            if field.name not in taken
        }

    def settings(self, default_batch_size):
        """The dataset, epochs and batch size to train with: those asked for,
        else the preset's (else 10 epochs and ``default_batch_size``).

        Returns:
            ``(dataset, epochs, batch_size)``.

        Raises:
            ValueError: ``epochs`` or ``batch_size`` is not a positive integer.
        """
        fit = self.recipe.fit
        epochs = check_positive_int("epochs", self.epochs or fit.get("epochs", 10))
        batch_size = self.batch_size or fit.get("batch_size", default_batch_size)
        batch_size = check_positive_int("batch_size", batch_size)
        return self.dataset or self.recipe.dataset, epochs, batch_size

    def policy(self):
        """The context to build and train in: ``precision_policy``'s, or a no-op."""
        if self.precision_policy:
            return precision(self.precision_policy)
        return contextlib.nullcontext()


class TrainerOption(NamedTuple):
    """An option a trainer takes: ``python -m recipes train`` makes it a flag
    (``runs`` -> ``--runs``).

    Attributes:
        type: converts the command-line text (``int``, ``float``, ``str``).
        default: the value when the option is not given.
        help: one line saying what it does.
        choices: the allowed values, or ``None``.
    """

    type: Callable
    default: Any
    help: str
    choices: tuple | None = None


@dataclasses.dataclass(frozen=True)
class Trainer:
    """A way of training presets.

    Attributes:
        name: the name presets give as ``trainer=...``.
        run: ``run(request)`` returning a ``TrainResult``: it trains as the
            ``TrainRequest`` says (every option filled in); the distribution
            scope is already entered.
        summary: one line saying how it trains.
        options: option name to ``TrainerOption`` (or a ``(type, default, help)``
            tuple, converted).
        data_dir: what a ``data_dir`` is to this trainer (the help of
            ``--data-dir``), or ``None`` when it reads datasets by name only and
            refuses one.
        precision: what precision it trains in when none is given (shown by
            ``--precision``'s help).

    Example:

    >>> Trainer("laps", run_laps, "trains in laps", options={"laps": (int, 3, "laps")})
    """

    name: str
    run: Callable
    summary: str
    options: Mapping[str, TrainerOption] = dataclasses.field(default_factory=dict)
    data_dir: str | None = None
    precision: str = "float32"

    def __post_init__(self):
        options = {key: TrainerOption(*value) for key, value in dict(self.options).items()}
        taken = sorted(set(options) & set(PROTOCOL_ARGUMENTS))
        if taken:
            raise ValueError(
                f"`options` must not be named like the protocol's arguments "
                f"({', '.join(PROTOCOL_ARGUMENTS)}). Received: {', '.join(taken)}"
            )
        object.__setattr__(self, "options", options)

    def train(self, name, *, options=None, distribution=None, **hooks):
        """Trains preset ``name`` this trainer's way.

        Args:
            name: a preset from ``recipes.list_recipes()``.
            options: this trainer's options (see ``options``); those not given
                take their defaults.
            distribution: ``None``, a strategy or distribution with a ``scope()``
                (``tf.distribute.Strategy``, ``keras.distribution.Distribution``)
                or a context manager; training runs inside it.
            **hooks: the other fields of ``TrainRequest`` (``overrides``,
                ``dataset``, ``data_dir``, ``callbacks``, ``checkpoint_dir``,
                ``output_dir``, ``epochs``, ``batch_size``, ``seed``, ``verbose``,
                ``precision_policy``).

        Returns:
            A ``TrainResult``.

        Example:

        >>> result = get_trainer("standard").train("digits_mlp", epochs=5)
        """
        given = dict(options or {})
        unknown = sorted(set(given) - set(self.options))
        if unknown:
            raise ValueError(
                f"`options` of the {self.name!r} trainer must be among "
                f"{', '.join(self.options) or 'none'}. Received: options={given!r}"
            )
        defaults = {key: option.default for key, option in self.options.items()}
        request = TrainRequest(name, options=defaults | given, **hooks)
        if request.data_dir is not None and self.data_dir is None:
            raise ValueError(
                f"The {self.name!r} trainer reads datasets by name (`dataset`), not from "
                f"a folder. Received: data_dir={request.data_dir!r}"
            )
        with distribution_scope(distribution):
            return self.run(request)


def distribution_scope(distribution):
    """The context to train in: ``distribution.scope()`` for a strategy or a
    Keras distribution, the object itself for a context manager, no-op for
    ``None``.

    Example:

    >>> with distribution_scope(keras.distribution.DataParallel()):
    ...     model = recipes.build("mnist_mlp")
    """
    if distribution is None:
        return contextlib.nullcontext()
    if callable(getattr(distribution, "scope", None)):
        return distribution.scope()
    if hasattr(distribution, "__enter__") and hasattr(distribution, "__exit__"):
        return distribution
    raise ValueError(
        "`distribution` must be None, a strategy or distribution with a scope() "
        "(tf.distribute.Strategy, keras.distribution.Distribution) or a context "
        f"manager. Received: distribution={distribution!r}"
    )


def write_metrics(output_dir, metrics):
    """Writes a run's ``metrics.json`` in ``output_dir``: the dict ``metrics`` and
    the Keras backend that trained.

    Returns:
        The file's path.

    Example:

    >>> paths["metrics"] = write_metrics("runs/digits", {"recipe": "digits_mlp"})
    """
    path = os.path.join(output_dir, "metrics.json")
    write_json(path, {**metrics, "backend": keras.backend.backend()}, indent=2)
    return path


def read_json(path):
    """The JSON value in the file at ``path``, or ``{}`` when there is none.

    Example:

    >>> read_json("runs/digits/metrics.json")["test"]
    """
    if not os.path.exists(path):
        return {}
    with open(path) as handle:
        return json.load(handle)


def write_json(path, value, indent=None):
    """Writes ``value`` as JSON at ``path`` in one step: a kill leaves the old file
    or the new one, never half of one.

    Example:

    >>> write_json("runs/digits/backup/run_state.json", {"epochs": {}})
    """
    with open(f"{path}.tmp", "w") as handle:
        json.dump(value, handle, indent=indent)
    os.replace(f"{path}.tmp", path)


def register_trainer(trainer):
    """Registers ``trainer`` under its name, for presets to name.

    Args:
        trainer: a ``Trainer``.

    Returns:
        ``trainer``.

    Example:

    >>> register_trainer(Trainer("laps", run_laps, "trains in laps"))
    """
    if not isinstance(trainer, Trainer):
        raise ValueError(f"`trainer` must be a Trainer. Received: trainer={trainer!r}")
    return TRAINERS.register(trainer.name, trainer)


def list_trainers(pattern="*"):
    """Returns the sorted names of the registered trainers.

    Args:
        pattern: a shell-style wildcard filter.
    """
    return TRAINERS.names(pattern)


def get_trainer(trainer=None):
    """Returns a registered ``Trainer``.

    Args:
        trainer: a trainer's name, a ``Trainer`` (returned as is) or ``None``
            (the standard loop), as presets give it.

    Example:

    >>> get_trainer(recipes.get_recipe("cifar10_fast").trainer).options["runs"].default
    1
    """
    if isinstance(trainer, Trainer):
        return trainer
    return TRAINERS.get(DEFAULT_TRAINER if trainer is None else trainer)


for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")
