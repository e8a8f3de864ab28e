"""The task registry (``TASKS``, a ``recipes.registry.Registry``): a dataset, a
search space, an objective and a budget per task.

Example:

>>> from tuning.tasks import get_task, list_tasks
>>> list_tasks()[:2]
['cifar10', 'cifar100']
>>> task = get_task("digits")
>>> task.objective, task.max_trials, task.epochs
('val_accuracy', 6, 10)
>>> space = task.hypermodel()          # a keras_tuner.HyperModel
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

import keras_tuner

from recipes import data
from recipes.registry import Registry
from tuning.spaces import (
    CNNHyperModel,
    MLPHyperModel,
    ResNetHyperModel,
    TextHyperModel,
    UNetHyperModel,
)

TASKS = Registry("tuning task")


@dataclass(frozen=True)
class Task:
    """A tuning task.

    Attributes:
        name: the name ``python -m tuning --task`` takes.
        dataset: the ``recipes.data`` dataset (splits from ``standard_splits``).
        space: a function of no argument returning the ``keras_tuner.HyperModel``.
        objective: the metric the search optimises, e.g. ``"val_accuracy"``.
        direction: ``"max"`` or ``"min"``.
        max_trials: default number of trials.
        epochs: default epochs per trial (Hyperband's ``max_epochs``).
        summary: one line.
        load_options: extra arguments for ``recipes.data.load``.
        test_metric: the test metric printed at the end.
    """

    name: str
    dataset: str
    space: Callable[[], keras_tuner.HyperModel]
    objective: str
    direction: str
    max_trials: int
    epochs: int
    summary: str
    load_options: dict = field(default_factory=dict)
    test_metric: str = "accuracy"

    def hypermodel(self, **overrides):
        """A fresh ``keras_tuner.HyperModel`` of the task's space; ``overrides``
        (``input_shape``, ``num_classes``) replace the space's arguments, for data
        other than the task's own (an image folder)."""
        return self.space(**overrides) if overrides else self.space()

    def keras_objective(self):
        """The ``keras_tuner.Objective`` of the task."""
        return keras_tuner.Objective(self.objective, self.direction)


def register_task(task):
    """Adds ``task`` (a ``Task``) to the registry; returns it.

    Raises:
        ValueError: the name is taken, or ``task.dataset`` is no ``recipes.data`` set.
    """
    data.get_spec(task.dataset)  # fails early on an unknown dataset
    return TASKS.register(task.name, task)


def list_tasks(pattern="*"):
    """The sorted names of the registered tasks, filtered by a shell wildcard."""
    return TASKS.names(pattern)


def get_task(name):
    """The ``Task`` registered as ``name``; an unknown name raises ``ValueError``
    naming the closest ones and all of them."""
    return TASKS.get(name)


def _space(space_class, dataset, **kwargs):
    spec = data.get_spec(dataset)
    return partial(
        space_class, **{"input_shape": spec.input_shape, "num_classes": spec.num_classes, **kwargs}
    )


# Offline tasks: no download, minutes on a laptop CPU.
register_task(
    Task(
        "digits",
        "digits",
        _space(
            MLPHyperModel,
            "digits",
            batch_sizes=(16, 32, 64),
            learning_rates=(3e-4, 3e-2),
            xla=False,
        ),
        "val_accuracy",
        "max",
        max_trials=6,
        epochs=10,
        summary="MLP on scikit-learn's 8x8 digits (offline, about a minute on 2 CPU cores)",
    )
)
register_task(
    Task(
        "moons",
        "moons",
        _space(
            MLPHyperModel,
            "moons",
            num_classes=1,
            batch_sizes=(16, 32, 64),
            learning_rates=(1e-3, 1e-1),
            xla=False,
        ),
        "val_accuracy",
        "max",
        max_trials=6,
        epochs=20,
        summary="MLP on the 2-D two-moons set (offline, binary)",
    )
)
register_task(
    Task(
        "shapes",
        "shapes",
        _space(UNetHyperModel, "shapes", batch_sizes=(8, 16, 32), learning_rates=(3e-4, 1e-2)),
        "val_mean_iou",
        "max",
        max_trials=6,
        epochs=10,
        test_metric="mean_iou",
        summary="U-Net on the synthetic 64x64 circles-and-squares masks (offline)",
    )
)

# tensorflow-datasets tasks: downloaded once (see recipes.data), then offline.
# name: (hypermodel, flip, max_trials, epochs, summary)
_IMAGE_TASKS = {
    "mnist": (CNNHyperModel, None, 10, 5, "VGG-style CNN on MNIST digits (no flips)"),
    "fashion_mnist": (
        CNNHyperModel,
        "horizontal",
        10,
        10,
        "VGG-style CNN on Fashion-MNIST clothes",
    ),
    "cifar10": (
        ResNetHyperModel,
        "horizontal",
        15,
        20,
        "CIFAR ResNet (depth 8-32) on CIFAR-10; Hyperband suits it best",
    ),
    "cifar100": (
        ResNetHyperModel,
        "horizontal",
        15,
        30,
        "CIFAR ResNet (depth 8-32) on CIFAR-100",
    ),
}
for _name, (_hypermodel, _flip, _trials, _epochs, _summary) in _IMAGE_TASKS.items():
    _flips = {} if _flip is None else {"flip": _flip}
    register_task(
        Task(
            _name,
            _name,
            _space(_hypermodel, _name, batch_sizes=(64, 128, 256), **_flips),
            "val_accuracy",
            "max",
            max_trials=_trials,
            epochs=_epochs,
            summary=_summary,
        )
    )

register_task(
    Task(
        "oxford_iiit_pet",
        "oxford_iiit_pet",
        _space(UNetHyperModel, "oxford_iiit_pet", batch_sizes=(16, 32, 64)),
        "val_mean_iou",
        "max",
        max_trials=8,
        epochs=15,
        test_metric="mean_iou",
        summary="U-Net on Oxford-IIIT pets at 128x128 (pet, background, border)",
    )
)
register_task(
    Task(
        "imdb_reviews",
        "imdb_reviews",
        _space(TextHyperModel, "imdb_reviews", batch_sizes=(32, 64, 128)),
        "val_accuracy",
        "max",
        max_trials=8,
        epochs=4,
        summary="Embedding + GRU/LSTM sentiment classifier on raw IMDB reviews (TensorFlow)",
    )
)
