"""Preset arguments that several families share, for their ``PRESETS`` tables
(``recipes.registry.register_recipes``): what a dataset fixes, and Zhang et al.
2017's CIFAR-10 setting.

Example:

>>> PRESETS = {
...     "cifar10_lenet": {
...         "builder": build_lenet,
...         "summary": "LeNet-style CNN for CIFAR-10.",
...         **dataset_arguments("cifar10"),   # dataset, input_shape, num_classes
...         "fit": {"epochs": 20, "batch_size": 64},
...     },
... }
"""

from recipes.compiling import ZHANG_SGD
from recipes.data import get_spec


def dataset_arguments(name, *keys):
    """The preset arguments that dataset ``name`` fixes: ``dataset`` itself and,
    from its ``recipes.data.DatasetSpec``, the ``keys`` (default ``input_shape``
    and ``num_classes``).

    Args:
        name: a dataset of ``recipes.data.list_datasets()``.
        *keys: the spec's fields to pass to the builder.

    Returns:
        A dict.

    Example:

    >>> dataset_arguments("mnist", "input_shape")
    {'dataset': 'mnist', 'input_shape': (28, 28, 1)}
    """
    spec = get_spec(name)
    return {
        "dataset": name,
        **{key: getattr(spec, key) for key in keys or ("input_shape", "num_classes")},
    }


ZHANG_CIFAR10 = {
    **dataset_arguments("cifar10"),
    "fit": {"epochs": 30, "batch_size": 128},
    "crop": 28,
    "optimizer": ZHANG_SGD,
    "learning_rate": 0.01,
}
"""Zhang et al. 2017's setting (their random-label table, seed 002): 28x28 centre
crops of CIFAR-10, SGD with momentum 0.9 at 0.01, 30 epochs of batches of 128."""
