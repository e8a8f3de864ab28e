"""tuning: KerasTuner search spaces for the recipes, a task registry, and
``python -m tuning`` / ``make tune TASK=...``.

Example:

>>> import tuning
>>> tuning.list_tasks()
['cifar10', 'cifar100', 'digits', ...]
>>> result = tuning.tune("digits", tuner="random", max_trials=6, epochs=10)
>>> result.test_metrics["accuracy"]
0.97...
>>> space = tuning.MLPHyperModel(input_shape=(8, 8, 1), num_classes=10)
"""

import recipes.startup as _startup  # noqa: F401  (first: the CLIs' quiet TensorFlow start)
from tuning.search import TUNERS, TuneResult, make_tuner, tune
from tuning.spaces import (
    CNNHyperModel,
    ImageHyperModel,
    MLPHyperModel,
    RecipeHyperModel,
    ResNetHyperModel,
    TextHyperModel,
    UNetHyperModel,
)
from tuning.tasks import TASKS, Task, get_task, list_tasks, register_task

__all__ = [
    "TASKS",
    "TUNERS",
    "CNNHyperModel",
    "ImageHyperModel",
    "MLPHyperModel",
    "RecipeHyperModel",
    "ResNetHyperModel",
    "TextHyperModel",
    "UNetHyperModel",
    "Task",
    "TuneResult",
    "get_task",
    "list_tasks",
    "make_tuner",
    "register_task",
    "tune",
]
