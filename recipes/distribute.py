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

Several hosts (``start_processes``): the same command runs on every host, told its
place by Keras' environment variables ``KERAS_DISTRIBUTION_JOB_ADDRESSES`` (the
coordinator's ``host:port``), ``KERAS_DISTRIBUTION_NUM_PROCESSES`` and
``KERAS_DISTRIBUTION_PROCESS_ID``. On JAX, ``keras.distribution.initialize`` joins
the processes (over gloo on CPU), the devices of every host share each batch, each
process reads its own slice of every batch, and only process 0 writes the run
folder and the checkpoints (``process_folders``). TensorFlow refuses:
``MultiWorkerMirroredStrategy`` does not train Keras 3 models (keras#20585).

Example:

>>> distribution, replicas = local_distribution("auto")
>>> replicas
2
"""

import contextlib
import hashlib
import json
import os
import tempfile
from typing import Any, NamedTuple

import keras

from recipes.checks import check_choice
from recipes.compiling import steps_per_execution_set_to
from recipes.data.sharding import even_batches, is_tf_dataset
from recipes.registry import get_recipe
from recipes.tensorflow_strategy import mirrored_strategy

DISTRIBUTE_CHOICES = ("auto", "none")
ENV_JOB_ADDRESSES = "KERAS_DISTRIBUTION_JOB_ADDRESSES"
ENV_NUM_PROCESSES = "KERAS_DISTRIBUTION_NUM_PROCESSES"
ENV_PROCESS_ID = "KERAS_DISTRIBUTION_PROCESS_ID"
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
        """The dataset for this process: each batch cut to a multiple of the number
        of devices, then, with several processes, this process's slice of it (see
        ``recipes.data.sharding.even_batches``)."""
        if not is_tf_dataset(dataset):
            return super().distribute_dataset(dataset)
        return even_batches(
            dataset, self.device_mesh.devices.size, self.data_shard_id, self.num_processes
        )


class MirroredTraining:
    """A ``tf.distribute.MirroredStrategy`` to build, compile and train in, one
    step per compiled call: Keras' multi-step loop (``steps_per_execution`` > 1)
    fails under the strategy ("You must feed a value for placeholder tensor").

    Attributes:
        strategy: the ``tf.distribute.MirroredStrategy``.

    Example:

    >>> with MirroredTraining(mirrored_strategy()).scope():
    ...     model = recipes.build("digits_mlp")
    """

    def __init__(self, strategy):
        self.strategy = strategy

    @contextlib.contextmanager
    def scope(self):
        """The strategy's scope, models built in it compiled with one step per call."""
        with steps_per_execution_set_to(1), self.strategy.scope():
            yield


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
        devices = keras.distribution.list_devices("gpu") or keras.distribution.list_devices("cpu")
        if len(devices) > 1:
            return LocalDistribution(MirroredTraining(mirrored_strategy(devices)), len(devices))
    elif backend == "torch":
        message = single_device_message(_torch_gpus())
        if message:
            print(message)
    return LocalDistribution(None, 1)


def start_processes(distribute="auto"):
    """Joins the other processes of a multi-host run when the environment names
    several (``KERAS_DISTRIBUTION_NUM_PROCESSES`` > 1, see the module docstring),
    once per process; with one process, or ``distribute="none"``, nothing.

    Args:
        distribute: ``"auto"`` or ``"none"``.

    Returns:
        ``(process_id, num_processes)``: ``(0, 1)`` for a one-process run.

    Raises:
        ValueError: several processes (or a ``TF_CONFIG`` naming several workers)
            on a backend other than JAX, or a malformed variable.

    Example:

    >>> os.environ.update({ENV_JOB_ADDRESSES: "10.0.0.1:1234",
    ...                    ENV_NUM_PROCESSES: "2", ENV_PROCESS_ID: "1"})
    >>> start_processes("auto")
    (1, 2)
    """
    check_choice("distribute", distribute, DISTRIBUTE_CHOICES)
    processes = _environment_processes()
    if distribute == "none" or processes == 1:
        return 0, 1
    backend = keras.backend.backend()
    if backend != "jax":
        raise ValueError(multi_host_refusal(backend))
    import jax  # the backend in use; the processes join through it

    if not jax.distributed.is_initialized():
        # The CPU devices of several processes reduce over gloo (the default,
        # none, cannot); GPUs and TPUs keep their own collectives.
        jax.config.update("jax_cpu_collectives_implementation", "gloo")
        keras.distribution.initialize()
    return _process_index(), jax.process_count()


def process_folders(output_dir, checkpoint_dir):
    """The run folder and checkpoint folder this process writes: the ones given on
    the only process of a run or on process 0 of a multi-host run; on the others, a
    scratch copy under ``$TMPDIR/recipes-process-<id>/`` (they save in step with
    process 0, as Keras saves collectively, and keep their own backup there to
    resume from on the same host).

    Args:
        output_dir: the run folder asked for, or ``None``.
        checkpoint_dir: the checkpoint folder asked for, or ``None``.

    Returns:
        ``(output_dir, checkpoint_dir)`` for this process.

    Example:

    >>> process_folders("runs/digits_mlp", None)  # on process 1 of 2
    ('/tmp/recipes-process-1/3f2a.../run', None)
    """
    process = _process_index()
    if process == 0:
        return output_dir, checkpoint_dir
    folders = []
    for kind, folder in (("run", output_dir), ("checkpoints", checkpoint_dir)):
        if folder is not None:
            key = hashlib.sha1(os.path.abspath(folder).encode()).hexdigest()[:12]
            root = os.path.join(tempfile.gettempdir(), f"recipes-process-{process}")
            folder = os.path.join(root, key, kind)
        folders.append(folder)
    return tuple(folders)


def _process_index():
    """This process's index among those of a multi-host run (0 without one)."""
    if keras.backend.backend() != "jax":
        return 0
    import jax  # the backend in use

    return jax.process_index() if jax.distributed.is_initialized() else 0


def multi_host_refusal(backend):
    """Why ``backend`` does not train over several hosts here, naming JAX.

    Example:

    >>> multi_host_refusal("tensorflow")
    'Training over several hosts (TF_CONFIG or KERAS_DISTRIBUTION_NUM_PROCESSES) ...'
    """
    reason = {
        "tensorflow": "tf.distribute.MultiWorkerMirroredStrategy does not train Keras 3 "
        "models (keras#20585), and keras.distribution.initialize is JAX's",
        "torch": "Keras' PyTorch backend (Keras 3.15) has no distribution module",
    }.get(backend, f"the {backend} backend has no multi-process distribution")
    return (
        "Training over several hosts (TF_CONFIG or KERAS_DISTRIBUTION_NUM_PROCESSES) "
        f"needs KERAS_BACKEND=jax: {reason}. Run the same command on every host with "
        f"KERAS_BACKEND=jax, {ENV_JOB_ADDRESSES}, {ENV_NUM_PROCESSES} and {ENV_PROCESS_ID}, "
        f"or unset them to train on this host's devices. Received: backend={backend!r}"
    )


def _environment_processes():
    """The number of processes the environment names: ``KERAS_DISTRIBUTION_NUM_PROCESSES``,
    or the workers (and chief) of ``TF_CONFIG``'s cluster; 1 without either."""
    if os.environ.get(ENV_NUM_PROCESSES, "").strip():
        text = os.environ[ENV_NUM_PROCESSES].strip()
        if not text.isdigit() or int(text) < 1:
            raise ValueError(
                f"`{ENV_NUM_PROCESSES}` must be an integer >= 1. Received: "
                f"{ENV_NUM_PROCESSES}={text!r}"
            )
        return int(text)
    cluster = json.loads(os.environ.get("TF_CONFIG") or "{}").get("cluster", {})
    return max(1, len(cluster.get("worker", ())) + len(cluster.get("chief", ())))


def data_parallel_plan(name, distribute, batch_size):
    """The distribution and global batch to train preset ``name`` with, printing
    one line that says what was chosen when several devices share the work. With
    several processes named by the environment, they join first
    (``start_processes``) and the devices of all of them share the work.

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
    process, processes = start_processes(distribute)
    distribution, replicas = local_distribution(distribute)
    if distribution is None:
        return None, batch_size
    chosen = global_batch_size(name, batch_size, replicas)
    if process == 0:
        line = describe(distribution, replicas, chosen, given=batch_size is not None)
        print(
            line
            if processes == 1
            else line.replace(" devices (", f" devices in {processes} processes (", 1)
        )
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
