"""TensorFlow, loaded up front: the data pipelines (tf.data, tensorflow-datasets)
load it on every Keras backend, and the command lines' quiet start
(``recipes.startup``) loads it first, so that its start-up lines are hidden there
instead of printing in the middle of a run on JAX or PyTorch.

Example:

>>> loaded_now = preload_tensorflow()
"""

import sys


def preload_tensorflow():
    """Imports TensorFlow and lists its devices (where a process looks for GPUs),
    unless it is loaded already (its own backend did) or cannot be imported (the
    GPU machines run JAX alone).

    Returns:
        Whether this call loaded it.
    """
    if "tensorflow" in sys.modules:
        return False
    try:
        import tensorflow as tf  # tf.data, which Keras reads on every backend
    except ImportError:
        return False
    tf.config.list_physical_devices()
    return True
