"""Checks every recipe must pass; the test suite uses them, and so can you for
your own recipes.

Example:

>>> from recipes.testing import check_recipe
>>> model = recipes.build("digits_mlp")
>>> x, y = recipes.data.arrays("digits")
>>> check_recipe(model, x[:64], y[:64], tmp_dir)
"""

import os

import keras
import numpy as np


def fit_steps(model, x, y, steps=20, batch_size=None):
    """Trains ``model`` for ``steps`` full-batch epochs on ``(x, y)`` and returns
    the loss (as ``evaluate`` reports it) before and after."""
    batch_size = batch_size or _num_examples(x)
    before = _loss(model.evaluate(x, y, batch_size=batch_size, verbose=0))
    model.fit(x, y, batch_size=batch_size, epochs=steps, verbose=0, shuffle=False)
    after = _loss(model.evaluate(x, y, batch_size=batch_size, verbose=0))
    return before, after


def assert_loss_decreases(model, x, y, steps=20, factor=0.9, batch_size=None):
    """Asserts that ``steps`` training epochs on a small batch bring the loss below
    ``factor`` times its starting value. Returns ``(before, after)``."""
    before, after = fit_steps(model, x, y, steps, batch_size)
    assert np.isfinite(after), f"loss is not finite after training: {after}"
    assert after < factor * before, (
        f"loss did not go down enough: {before:.4f} -> {after:.4f} (wanted below {factor} x start)"
    )
    return before, after


def assert_save_load_roundtrip(model, x, directory, atol=1e-5):
    """Saves ``model`` as ``.keras``, loads it back with ``safe_mode=True`` and
    asserts the same predictions on ``x``. Returns the loaded model."""
    path = os.path.join(str(directory), f"{model.name}.keras")
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    _assert_close(model.predict(x, verbose=0), loaded.predict(x, verbose=0), atol)
    return loaded


def check_recipe(model, x, y, directory, steps=20, factor=0.9, batch_size=None):
    """The standard recipe check: it trains (the loss goes down), then saves and
    loads with the same predictions. Returns the loaded model."""
    assert_loss_decreases(model, x, y, steps, factor, batch_size)
    return assert_save_load_roundtrip(model, x, directory)


def _assert_close(expected, actual, atol):
    if isinstance(expected, dict):
        for key in expected:
            _assert_close(expected[key], actual[key], atol)
    elif isinstance(expected, (list, tuple)):
        for e, a in zip(expected, actual):
            _assert_close(e, a, atol)
    else:
        np.testing.assert_allclose(np.asarray(expected), np.asarray(actual), atol=atol)


def _loss(result):
    return float(result[0] if isinstance(result, (list, tuple)) else result)


def _num_examples(x):
    if isinstance(x, dict):
        x = next(iter(x.values()))
    if isinstance(x, (list, tuple)):
        x = x[0]
    return len(x)
