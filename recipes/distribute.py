"""All local devices: the distribution ``train_recipe(..., distribute="auto")``
trains in.

With several devices a preset trains data-parallel, each device on its share of
every batch, the weights replicated and the gradients averaged:

- JAX: ``keras.distribution.DataParallel`` over every device;
- TensorFlow: a ``tf.distribute.MirroredStrategy`` over the GPUs (or the logical
  CPU devices when there is no GPU), the model built and compiled in its scope;
- PyTorch: Keras' PyTorch backend has no distribution module (Keras 3.15), so
  one line says so and names JAX; training runs on one device.

With one device (or ``distribute="none"``) nothing changes. The global batch is
the preset's batch times the number of devices unless the caller fixes
``batch_size`` (then each device gets its share); ``describe`` says which, in one
line.

Example:

>>> distribution, replicas = local_distribution("auto")
>>> replicas
2
"""

import contextlib
from typing import Any, NamedTuple

import keras

from recipes.checks import check_choice
from recipes.compiling import set_steps_per_execution
from recipes.registry import get_recipe

DISTRIBUTE_CHOICES = ("auto", "none")
_ENGINES = {
    "jax": "keras.distribution.DataParallel on JAX",
    "tensorflow": "tf.distribute.MirroredStrategy on TensorFlow",
}


class LocalDistribution(NamedTuple):
    """What ``local_distribution`` chose.

    Attributes:
        distribution: an ``EvenDataParallel`` (JAX), a ``MirroredTraining``
            (TensorFlow) or ``None`` (one device).
        replicas: how many devices share each batch.
    """

    distribution: Any
    replicas: int


class EvenDataParallel(keras.distribution.DataParallel):
    """``keras.distribution.DataParallel`` whose ``tf.data`` batches split evenly
    over the devices: JAX refuses a batch it cannot divide, so an uneven last
    batch loses its last few samples (fewer than the devices), and a last batch
    smaller than the devices repeats samples to fill them.

    Example:

    >>> keras.distribution.set_distribution(EvenDataParallel())
    """

    def distribute_dataset(self, dataset):
        """The dataset for this process (``DataParallel``'s), each batch cut to
        a multiple of the number of devices."""
        dataset = super().distribute_dataset(dataset)
        import tensorflow as tf  # tf.data, which Keras reads on every backend

        if not isinstance(dataset, tf.data.Dataset):
            return dataset
        devices = self.device_mesh.devices.size

        def even(tensor):  # a multiple of `devices`; a batch smaller than that repeats
            size = tf.shape(tensor)[0]
            return tf.gather(
                tensor, tf.range(tf.maximum(size // devices * devices, devices)) % size
            )

        def cut(*batch):  # tf.data unpacks a tuple element into arguments
            return tf.nest.map_structure(even, batch[0] if len(batch) == 1 else batch)

        return dataset.map(cut)


class MirroredTraining:
    """A ``tf.distribute.MirroredStrategy`` to build, compile and train in, one
    step per compiled call: Keras' multi-step loop (``steps_per_execution`` > 1)
    fails under the strategy ("You must feed a value for placeholder tensor").

    Attributes:
        strategy: the ``tf.distribute.MirroredStrategy``.

    Example:

    >>> with MirroredTraining(tf.distribute.MirroredStrategy()).scope():
    ...     model = recipes.build("digits_mlp")
    """

    def __init__(self, strategy):
        self.strategy = strategy

    @contextlib.contextmanager
    def scope(self):
        """The strategy's scope, models built in it compiled with one step per call."""
        previous = set_steps_per_execution(1)
        try:
            with self.strategy.scope():
                yield
        finally:
            set_steps_per_execution(previous)


def local_distribution(distribute="auto"):
    """The distribution to train on every local device in (see the module docstring).

    Args:
        distribute: ``"auto"`` (data-parallel over the local devices when there are
            several) or ``"none"`` (one device).

    Returns:
        A ``LocalDistribution``.

    Example:

    >>> local_distribution("none")
    LocalDistribution(distribution=None, replicas=1)
    """
    check_choice("distribute", distribute, DISTRIBUTE_CHOICES)
    backend = keras.backend.backend()
    if distribute == "none":
        return LocalDistribution(None, 1)
    if backend == "jax":
        devices = keras.distribution.list_devices()
        if len(devices) > 1:
            return LocalDistribution(EvenDataParallel(devices=devices), len(devices))
    elif backend == "tensorflow":
        import tensorflow as tf  # the strategy is TensorFlow's own

        devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
        if len(devices) > 1:
            names = [device.name for device in devices]
            return LocalDistribution(
                MirroredTraining(tf.distribute.MirroredStrategy(names)), len(names)
            )
    elif backend == "torch":
        message = single_device_message(_torch_gpus())
        if message:
            print(message)
    return LocalDistribution(None, 1)


def data_parallel_plan(name, distribute, batch_size):
    """The distribution and global batch to train preset ``name`` with, printing
    one line that says what was chosen when several devices share the work.

    Args:
        name: a preset from ``recipes.list_recipes()``.
        distribute: ``"auto"`` or ``"none"`` (see ``local_distribution``).
        batch_size: the batch the caller fixed, or ``None``.

    Returns:
        ``(distribution, batch_size)``: ``(None, batch_size)`` on one device.

    Example:

    >>> data_parallel_plan("digits_mlp", "auto", None)
    Data-parallel over 2 devices (keras.distribution.DataParallel on JAX): global ...
    (<recipes.distribute.EvenDataParallel ...>, 64)
    """
    distribution, replicas = local_distribution(distribute)
    if distribution is None:
        return None, batch_size
    chosen = global_batch_size(name, batch_size, replicas)
    print(describe(distribution, replicas, chosen, given=batch_size is not None))
    return distribution, chosen


def single_device_message(gpus):
    """Why the PyTorch backend trains on one of ``gpus`` devices, naming the
    backends that use them all; ``None`` for one device.

    Example:

    >>> single_device_message(4)
    "distribute='auto': Keras' PyTorch backend (Keras 3.15) has no distribution ..."
    """
    if gpus < 2:
        return None
    return (
        "distribute='auto': Keras' PyTorch backend (Keras 3.15) has no distribution module "
        "(keras.distribution), so training runs on one of the "
        f"{gpus} GPUs; KERAS_BACKEND=jax trains on all of them (keras.distribution."
        "DataParallel), as does KERAS_BACKEND=tensorflow (MirroredStrategy)."
    )


def global_batch_size(name, batch_size, replicas):
    """The batch to train preset ``name`` with over ``replicas`` devices: the one
    given, else the preset's times ``replicas`` (``None``: the trainer's own).

    Example:

    >>> global_batch_size("digits_mlp", None, 2)
    64
    """
    if batch_size is not None or replicas == 1:
        return batch_size
    per_device = get_recipe(name).fit.get("batch_size")
    return per_device * replicas if per_device else None


def describe(distribution, replicas, batch_size, given):
    """One line: the devices, the engine and the global batch chosen.

    Args:
        distribution: what ``local_distribution`` chose.
        replicas: its number of devices.
        batch_size: the global batch (``None``: the trainer's default).
        given: whether the caller fixed ``batch_size``.

    Example:

    >>> describe(keras.distribution.DataParallel(), 2, 64, given=False)
    'Data-parallel over 2 devices (keras.distribution.DataParallel on JAX): global ...'
    """
    engine = _ENGINES.get(keras.backend.backend(), type(distribution).__name__)
    if batch_size is None:
        batch = "the trainer's default batch, split between them"
    elif given:
        batch = f"global batch {batch_size} as given, {batch_size / replicas:g} per device"
    else:
        batch = (
            f"global batch {batch_size} = the preset's {batch_size // replicas} per device x "
            f"{replicas} (batch_size fixes the global batch)"
        )
    return f"Data-parallel over {replicas} devices ({engine}): {batch}."


def _torch_gpus():
    """The number of CUDA devices PyTorch sees."""
    import torch  # the backend in use

    return torch.cuda.device_count()
