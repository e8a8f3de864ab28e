"""Checks every recipe and every custom layer must pass; the test suite uses them,
and so can you for your own recipes and layers.

``check_recipe`` trains a model a few steps (the loss must go down), then saves and
loads it; ``run_layer_test`` builds and calls a layer, checks its outputs, its
config round trip and a ``.keras`` round trip, in the manner of Keras' own
``run_layer_test``.

Example:

>>> from recipes.testing import check_recipe, run_layer_test
>>> model = recipes.build("digits_mlp")
>>> x, y = recipes.data.arrays("digits")
>>> check_recipe(model, x[:64], y[:64], tmp_dir)
>>> run_layer_test(Squeeze, {"factor": 2}, (2, 8, 8, 3), (2, 4, 4, 12))
"""

import copy
import os
import tempfile
from typing import NamedTuple

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


def assert_save_load_roundtrip(model, x, directory, atol=1e-5, max_examples=32):
    """Saves ``model`` as ``.keras``, loads it back with ``safe_mode=True`` and
    asserts the same predictions on the first ``max_examples`` examples of ``x``,
    predicted in one batch (with ``steps_per_execution`` above 1 Keras traces one
    copy of the model per batch into its predict function: seconds for a recurrent
    model). Returns the loaded model."""
    path = os.path.join(str(directory), f"{model.name}.keras")
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    x = _head(x, max_examples)
    batch_size = _num_examples(x) if _has_shape(x) else None
    _assert_close(
        model.predict(x, batch_size=batch_size, verbose=0),
        loaded.predict(x, batch_size=batch_size, verbose=0),
        atol,
    )
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
    elif np.asarray(expected).dtype.kind in "biu":  # masks and ids: exactly equal
        np.testing.assert_array_equal(np.asarray(actual), np.asarray(expected))
    else:
        np.testing.assert_allclose(np.asarray(expected), np.asarray(actual), atol=atol)


def _loss(result):
    return float(result[0] if isinstance(result, (list, tuple)) else result)


def _has_shape(x):
    if isinstance(x, dict):
        return all(_has_shape(v) for v in x.values())
    if isinstance(x, (list, tuple)):
        return bool(x) and all(_has_shape(v) for v in x)
    return hasattr(x, "shape")


def _head(x, n):
    """The first ``n`` examples of arrays, or of dicts, lists and tuples of arrays."""
    if not _has_shape(x):
        return x
    if isinstance(x, dict):
        return {key: value[:n] for key, value in x.items()}
    if isinstance(x, (list, tuple)):
        return type(x)(value[:n] for value in x)
    return x[:n]


def _num_examples(x):
    if isinstance(x, dict):
        x = next(iter(x.values()))
    if isinstance(x, (list, tuple)):
        x = x[0]
    return len(x)


# --- the layer harness -------------------------------------------------------


class LayerTestResult(NamedTuple):
    """What ``run_layer_test`` built and computed, for checks of your own.

    Attributes:
        layer: the layer, built and called.
        outputs: its inference-mode outputs on the test inputs, as NumPy.
        training_outputs: its outputs with ``training=True`` (``None`` unless asked).
        clone: the layer rebuilt from its config, holding the same weights.
        loaded: the tiny model around the layer, saved and loaded back.
    """

    layer: keras.layers.Layer
    outputs: object
    training_outputs: object
    clone: keras.layers.Layer
    loaded: keras.Model


def run_layer_test(
    layer_cls,
    init_kwargs=None,
    input_shape=None,
    expected_output_shape=None,
    *,
    input_data=None,
    input_dtype="float32",
    call_kwargs=None,
    expected_output_dtype=None,
    expected_num_params=None,
    training=False,
    directory=None,
    atol=1e-6,
    seed=0,
):
    """The checks every custom layer must pass, in the manner of Keras'
    ``run_layer_test``: build and call, output shapes and dtypes, the config round
    trip, and a ``.keras`` round trip in ``safe_mode`` inside a tiny model.

    In order: the layer is built and called on the inputs; each output's shape
    (``None`` matches any size) and dtype are checked; ``from_config(get_config())``
    must give an equal config (also through ``keras.saving.serialize_keras_object``,
    which finds only registered classes) and, given the same weights, the same
    outputs; then a functional model holding a fresh copy of the layer is saved,
    loaded back with ``safe_mode=True`` and must compute the same outputs. Arrays
    among ``call_kwargs`` (masks) become inputs of that model. With
    ``training=True`` the layer is also called in training mode (after the other
    checks' calls, since it may update state such as batch-norm statistics): same
    shapes and dtypes, finite values.

    Args:
        layer_cls: the layer class.
        init_kwargs: the constructor's keyword arguments.
        input_shape: the input's shape, batch dimension included, or a list of
            shapes for a layer called with several positional inputs. Random
            inputs of ``input_dtype`` are drawn with ``seed``.
        expected_output_shape: the output's shape, or a tuple, list or dict of
            shapes for a layer that returns several tensors.
        input_data: the inputs themselves (an array, or a list of arrays for
            several positional inputs), instead of ``input_shape``.
        input_dtype: the dtype of the random inputs.
        call_kwargs: keyword arguments of every call.
        expected_output_dtype: the dtype of every output (unchecked when None).
        expected_num_params: ``count_params()`` of the built layer.
        training: also run the training-mode call.
        directory: where the ``.keras`` file goes (a temporary folder when None).
        atol: the tolerance of every comparison of outputs.
        seed: the seed of the random inputs.

    Returns:
        A ``LayerTestResult`` (layer, outputs, training_outputs, clone, loaded).

    Example:

    >>> result = run_layer_test(
    ...     Squeeze, {"factor": 2}, input_shape=(2, 8, 8, 3),
    ...     expected_output_shape=(2, 4, 4, 12))
    >>> result.outputs.shape
    (2, 4, 4, 12)
    """
    if (input_shape is None) == (input_data is None):
        raise ValueError(
            "Pass exactly one of `input_shape` and `input_data`. Received: "
            f"input_shape={input_shape!r}, input_data of type {type(input_data).__name__}"
        )
    init_kwargs = dict(init_kwargs or {})
    call_kwargs = dict(call_kwargs or {})
    inputs = _layer_inputs(input_shape, input_data, input_dtype, seed)

    layer = layer_cls(**init_kwargs)
    outputs = _numpy_tree(layer(*inputs, **call_kwargs))
    _assert_outputs(outputs, expected_output_shape, expected_output_dtype)
    if expected_num_params is not None:
        assert layer.count_params() == expected_num_params, (
            f"{layer_cls.__name__} has {layer.count_params()} parameters, "
            f"expected {expected_num_params}"
        )

    clone = _assert_config_round_trip(layer, inputs, call_kwargs, outputs, atol)
    loaded = _assert_saved_in_a_model(layer, inputs, call_kwargs, outputs, directory, atol)

    training_outputs = None
    if training:
        training_outputs = _numpy_tree(layer(*inputs, training=True, **call_kwargs))
        _assert_outputs(training_outputs, expected_output_shape, expected_output_dtype)
        for array in keras.tree.flatten(training_outputs):
            assert np.isfinite(np.asarray(array, "float64")).all(), "training call not finite"
    return LayerTestResult(layer, outputs, training_outputs, clone, loaded)


def _layer_inputs(input_shape, input_data, dtype, seed):
    if input_data is not None:
        return list(input_data) if isinstance(input_data, list) else [input_data]
    shapes = input_shape if isinstance(input_shape, list) else [input_shape]
    rng = np.random.default_rng(seed)
    if np.issubdtype(np.dtype(dtype), np.integer):
        return [rng.integers(0, 10, size=shape).astype(dtype) for shape in shapes]
    return [rng.normal(size=shape).astype(dtype) for shape in shapes]


def _numpy_tree(outputs):
    return keras.tree.map_structure(keras.ops.convert_to_numpy, outputs)


def _is_shape(value):
    return isinstance(value, (tuple, list)) and all(
        dim is None or isinstance(dim, int) for dim in value
    )


def _assert_outputs(outputs, expected_shape, expected_dtype):
    if expected_shape is not None:
        _assert_shapes(outputs, expected_shape)
    if expected_dtype is not None:
        for array in keras.tree.flatten(outputs):
            assert keras.backend.standardize_dtype(array.dtype) == expected_dtype, (
                f"output dtype {array.dtype}, expected {expected_dtype}"
            )


def _assert_shapes(outputs, expected):
    if _is_shape(expected):
        shape = tuple(np.shape(outputs))
        matches = len(shape) == len(expected) and all(
            want is None or want == got for want, got in zip(expected, shape)
        )
        assert matches, f"output shape {shape}, expected {tuple(expected)}"
    elif isinstance(expected, dict):
        assert isinstance(outputs, dict) and set(outputs) == set(expected), (
            f"outputs {type(outputs).__name__}, expected the keys {sorted(expected)}"
        )
        for key in expected:
            _assert_shapes(outputs[key], expected[key])
    else:
        assert isinstance(outputs, (tuple, list)) and len(outputs) == len(expected), (
            f"expected {len(expected)} outputs, got {type(outputs).__name__}"
        )
        for output, shape in zip(outputs, expected):
            _assert_shapes(output, shape)


def _assert_config_round_trip(layer, inputs, call_kwargs, outputs, atol):
    config = layer.get_config()
    clone = type(layer).from_config(copy.deepcopy(config))  # some from_config pop keys
    assert clone.get_config() == config, "from_config(get_config()) changed the config"
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert type(restored) is type(layer), f"deserialised as {type(restored).__name__}"
    assert restored.get_config() == config, "serialize/deserialize changed the config"
    clone(*inputs, **call_kwargs)
    clone.set_weights(layer.get_weights())
    _assert_close(outputs, _numpy_tree(clone(*inputs, **call_kwargs)), atol)
    return clone


def _assert_saved_in_a_model(layer, inputs, call_kwargs, outputs, directory, atol):
    symbolic = [keras.Input(x.shape[1:], dtype=_dtype(x)) for x in inputs]
    tensor_kwargs = {k: v for k, v in call_kwargs.items() if isinstance(v, np.ndarray)}
    symbolic_kwargs = {
        k: keras.Input(v.shape[1:], dtype=_dtype(v)) for k, v in tensor_kwargs.items()
    }
    fresh = type(layer).from_config(layer.get_config())
    model_outputs = fresh(*symbolic, **{**call_kwargs, **symbolic_kwargs})
    model = keras.Model([*symbolic, *symbolic_kwargs.values()], model_outputs)
    fresh.set_weights(layer.get_weights())
    data = [*inputs, *tensor_kwargs.values()]
    with tempfile.TemporaryDirectory() as scratch:
        path = os.path.join(str(directory or scratch), f"{layer.name}.keras")
        model.save(path)
        loaded = keras.saving.load_model(path, safe_mode=True)
    _assert_close(outputs, _numpy_tree(loaded(data)), atol)
    assert type(loaded.get_layer(fresh.name)) is type(layer)
    return loaded


def _dtype(array):
    return keras.backend.standardize_dtype(array.dtype)
