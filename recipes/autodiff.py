"""Gradients with respect to inputs, on every backend.

Keras 3 has no backend-neutral API for the gradient of a function with respect to
its *input* (training steps differentiate with respect to variables, inside each
backend's trainer). ``input_gradient`` is the one place in the package that calls
each backend's own differentiation: ``tf.GradientTape``, ``jax.grad`` or
``torch.autograd.grad``. Model and layer code imports it from here and stays
``keras``-only.
"""

import keras
from keras import ops


def input_gradient(fn, x):
    """The gradient of the scalar ``fn(x)`` with respect to the tensor ``x``.

    Works eagerly and inside a compiled training step, on the TensorFlow, JAX and
    PyTorch backends (NumPy has no differentiation and raises ``ValueError``).

    Args:
        fn: a function of one tensor returning a scalar tensor.
        x: the point (an array or a backend tensor).

    Returns:
        A backend tensor shaped like ``x``.

    Example:

    >>> input_gradient(lambda t: keras.ops.sum(t ** 2), np.array([1.0, 2.0]))
    [2.0, 4.0]
    """
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        x = tf.convert_to_tensor(x)
        with tf.GradientTape() as tape:
            tape.watch(x)
            value = fn(x)
        return tape.gradient(value, x)
    if backend == "jax":
        import jax

        return jax.grad(fn)(ops.convert_to_tensor(x))
    if backend == "torch":
        import torch

        x = ops.convert_to_tensor(x).detach().requires_grad_(True)
        with torch.enable_grad():
            value = fn(x)
            if not value.requires_grad:  # fn does not depend on x: zero, as in JAX
                return torch.zeros_like(x)
            (gradient,) = torch.autograd.grad(value, x, allow_unused=True)
        return torch.zeros_like(x) if gradient is None else gradient
    raise ValueError(
        f"Gradients need the tensorflow, jax or torch backend. Received: backend={backend!r}"
    )
