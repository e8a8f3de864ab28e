"""TensorFlow's own engine for several devices, ``tf.distribute.MirroredStrategy``,
for the TensorFlow backend (Keras' ``keras.distribution`` has no data parallelism
there). Besides ``recipes/data/`` (``tf.data``) and ``recipes/autodiff.py``, this is
the one module of the package that imports TensorFlow, lazily; model and layer
code never does. ``recipes.distribute`` and ``tuning.distribute`` call it.

Example:

>>> strategy = mirrored_strategy(keras.distribution.list_devices("gpu"))
"""


def mirrored_strategy(devices=None):
    """A ``tf.distribute.MirroredStrategy`` over ``devices``.

    Args:
        devices: device names as ``keras.distribution.list_devices`` gives them
            (``"gpu:0"``...), or ``None`` for every local GPU.

    Returns:
        The strategy.
    """
    import tensorflow as tf  # the strategy is TensorFlow's own

    return tf.distribute.MirroredStrategy(devices)
