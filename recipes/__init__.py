"""recipes: the deep-learning curriculum as Keras 3 builders, presets and tools.

Example:

>>> import recipes
>>> recipes.list_recipes("mnist_*")
['mnist_mlp']
>>> model = recipes.build("mnist_mlp")       # a compiled keras.Model
>>> model = recipes.build_mlp(input_shape=(2,), num_classes=2, hidden_units=(16,))
"""

import recipes.startup as _startup  # noqa: F401  (first: the CLIs' quiet TensorFlow start)
from recipes import models as _models  # noqa: F401  (registers every builder)
from recipes.compiling import (
    compile_recipe,
    get_optimizer,
    set_steps_per_execution,
    steps_per_execution,
)
from recipes.environment import info
from recipes.precision import precision, set_precision
from recipes.registry import (
    build,
    builders,
    describe,
    get_recipe,
    list_builders,
    list_recipes,
    register_builder,
    register_recipe,
    register_recipes,
)

__version__ = "0.1.0"

globals().update(builders())

__all__ = [
    "build",
    "compile_recipe",
    "describe",
    "get_optimizer",
    "get_recipe",
    "info",
    "list_builders",
    "list_recipes",
    "precision",
    "register_builder",
    "register_recipe",
    "register_recipes",
    "set_precision",
    "set_steps_per_execution",
    "steps_per_execution",
    *list_builders(),
]


def __getattr__(name):
    # Subpackages that import TensorFlow or matplotlib load on first use.
    if name in ("data", "training", "plots", "augment", "sklearn", "losses", "layers"):
        import importlib

        return importlib.import_module(f"recipes.{name}")
    raise AttributeError(f"module 'recipes' has no attribute {name!r}")
