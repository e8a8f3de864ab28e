"""Batches of a ``tf.data`` pipeline split evenly over devices and processes: the
data side of data-parallel training on JAX (``recipes.distribute``).

Example:

>>> dataset = even_batches(dataset, devices=2, index=0, processes=1)
"""


def even_batches(dataset, devices, index=0, processes=1):
    """``dataset`` with each batch cut to a multiple of ``devices`` (a batch
    smaller than ``devices`` repeats samples to fill them), then, with several
    processes, process ``index``'s slice of it: every process reads the same
    batches, so all take the same number of steps.

    Args:
        dataset: a batched ``tf.data.Dataset`` (elements: arrays, tuples, dicts).
        devices: the number of devices of all processes together.
        index: this process's id, in ``[0, processes)``.
        processes: the number of processes.

    Returns:
        The mapped ``tf.data.Dataset``.
    """
    import tensorflow as tf  # tf.data, which Keras reads on every backend

    def even(tensor):
        size = tf.shape(tensor)[0]
        kept = tf.range(tf.maximum(size // devices * devices, devices)) % size
        return tf.gather(tensor, kept[index::processes])

    def cut(*batch):  # tf.data unpacks a tuple element into arguments
        return tf.nest.map_structure(even, batch[0] if len(batch) == 1 else batch)

    return dataset.map(cut)


def is_tf_dataset(data):
    """Whether ``data`` is a ``tf.data.Dataset`` (without importing TensorFlow when
    it was never loaded)."""
    import sys

    tf = sys.modules.get("tensorflow")
    return tf is not None and isinstance(data, tf.data.Dataset)
