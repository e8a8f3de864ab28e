"""Numeric precision for every recipe built afterwards."""

import contextlib

import keras

from recipes.checks import check_choice

PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")


def set_precision(policy):
    """Sets the Keras dtype policy for models built from now on.

    ``"mixed_float16"`` computes in float16 with float32 weights; Keras wraps the
    optimizer in a ``LossScaleOptimizer`` at compile time, so loss scaling is
    handled. ``"mixed_bfloat16"`` needs no loss scaling (use it on recent GPUs and
    TPUs). Builders keep their outputs in float32 for a stable loss.

    Args:
        policy: one of ``PRECISIONS``.

    Returns:
        The name of the previous policy.

    Example:

    >>> previous = set_precision("mixed_bfloat16")
    >>> model = recipes.build("cifar10_resnet20")
    >>> set_precision(previous)
    """
    check_choice("policy", policy, PRECISIONS)
    previous = keras.config.dtype_policy().name
    keras.config.set_dtype_policy(policy)
    return previous


class VariableDtypeInputs:
    """Mixin for a Keras layer or model whose inputs stay in its variable dtype
    (float32 under a mixed policy) instead of being cast to its compute dtype.

    Keras casts a layer's floating inputs to ``input_dtype``, which is the compute
    dtype by default. Arithmetic that must not round, such as a normalizing flow's
    data path and log-determinants, inherits this first. Its sub-layers still
    compute in bfloat16 or float16.

    Example:

    >>> class Coupling(VariableDtypeInputs, keras.layers.Layer):
    ...     def call(self, x):
    ...         return x  # float32 under "mixed_bfloat16"
    """

    @property
    def input_dtype(self):
        """The variable dtype: float32 under a mixed policy."""
        return self.variable_dtype


@contextlib.contextmanager
def precision(policy):
    """Context manager form of ``set_precision``; restores the previous policy.

    Example:

    >>> with precision("mixed_float16"):
    ...     model = recipes.build("mnist_mlp")
    """
    previous = set_precision(policy)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)
