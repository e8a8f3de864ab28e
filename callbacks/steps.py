"""``single_steps``: one training step per call while a block runs, for callbacks
that must see every step."""

import contextlib


@contextlib.contextmanager
def single_steps(model):
    """Runs the block with ``model`` doing one training step per call, so that
    per-batch callbacks see every step; restores its setting afterwards.

    Args:
        model: a compiled ``keras.Model``.

    Returns:
        A context manager that yields ``model``.

    Example:

    >>> with single_steps(model):
    ...     model.fit(x, y, callbacks=[per_batch_callback])
    """
    previous = model.steps_per_execution
    if previous != 1:
        model.steps_per_execution = 1
        model.train_function = None  # rebuilt for one step per call
    try:
        yield model
    finally:
        if model.steps_per_execution != previous:
            model.steps_per_execution = previous
            model.train_function = None
