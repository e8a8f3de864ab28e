import importlib.util
import pathlib

import keras
import numpy as np
import pytest

import recipes
from recipes.transfer import freeze, reuse_layers, unfreeze_top

EXAMPLE = pathlib.Path(__file__).resolve().parents[1] / "examples" / "transfer_digits.py"


def _source(batch_norm=False):
    return recipes.build_mlp(
        input_shape=(8, 8, 1), num_classes=5, hidden_units=(16, 8), batch_norm=batch_norm
    )


def _data(n=32, classes=5, seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(size=(n, 8, 8, 1)).astype("float32"), np.arange(n) % classes


def test_reuse_layers_copies_the_lower_layers_and_adds_a_head(roundtrip):
    source = _source()
    new = reuse_layers(source, up_to="relu_2", num_classes=3)
    names = [layer.name for layer in new.layers]
    assert names[1:] == ["flatten", "dense_1", "relu_1", "dense_2", "relu_2", "new_predictions"]
    assert new.output_shape == (None, 3)
    for name in ("dense_1", "dense_2"):
        for a, b in zip(new.get_layer(name).get_weights(), source.get_layer(name).get_weights()):
            np.testing.assert_array_equal(a, b)
        assert new.get_layer(name) is not source.get_layer(name)
    # Training the copy leaves the source untouched.
    before = source.get_layer("dense_1").get_weights()[0].copy()
    new.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    new.fit(*_data(classes=3), epochs=2, verbose=0)
    np.testing.assert_array_equal(source.get_layer("dense_1").get_weights()[0], before)
    roundtrip(new, _data()[0])


def test_reuse_layers_by_index_and_shared_layers():
    source = _source()
    features = reuse_layers(source, up_to=-2, copy=False)
    assert features.output_shape == (None, 8)
    assert features.get_layer("dense_2") is source.get_layer("dense_2")


def test_frozen_layers_do_not_change_and_batch_norm_stays_in_inference_mode():
    x, y = _data()
    source = _source(batch_norm=True)
    source.fit(x, y, epochs=2, verbose=0)  # moving statistics away from 0 / 1
    new = reuse_layers(source, up_to=-2, num_classes=3)
    freeze(new)
    assert new.trainable_weights == []
    thawed = unfreeze_top(new, 2)
    assert [layer.name for layer in thawed] == ["dense_2", "new_predictions"]
    assert not new.get_layer("batch_norm_2").trainable  # skipped by default
    assert not new.get_layer("dense_1").trainable
    before = {layer.name: [w.copy() for w in layer.get_weights()] for layer in new.layers}
    new.compile(optimizer=keras.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy")
    new.fit(x, y % 3, epochs=3, batch_size=8, verbose=0)
    for name in ("dense_1", "batch_norm_1", "batch_norm_2"):  # incl. moving mean/variance
        for a, b in zip(before[name], new.get_layer(name).get_weights()):
            np.testing.assert_array_equal(a, b)
    for name in ("dense_2", "new_predictions"):
        assert not np.allclose(before[name][0], new.get_layer(name).get_weights()[0])
    # Inference mode: a training-mode call normalises with the moving statistics too.
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(new(x, training=True)),
        keras.ops.convert_to_numpy(new(x, training=False)),
        atol=1e-6,
    )


def test_unfreeze_top_counts_batch_norm_only_when_asked():
    new = reuse_layers(_source(batch_norm=True), up_to=-2, num_classes=3)
    freeze(new)
    thawed = unfreeze_top(new, 3, batch_norm=True)
    assert [layer.name for layer in thawed] == ["dense_2", "batch_norm_2", "new_predictions"]
    assert new.get_layer("batch_norm_2").trainable
    assert unfreeze_top(new, 0) == []


def test_freeze_and_unfreeze_reach_nested_models():
    inner = keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(3, name="inner_dense")], name="inner"
    )
    outer = keras.Sequential([keras.Input((4,)), inner, keras.layers.Dense(2, name="top")])
    inner.trainable = False  # a container switched off by hand
    freeze(outer)
    assert outer.trainable_weights == []
    thawed = unfreeze_top(outer, 2)
    assert [layer.name for layer in thawed] == ["inner_dense", "top"]
    assert len(outer.trainable_weights) == 4


BAD_ARGUMENTS = [
    (lambda m: reuse_layers(m, up_to="nope"), "`up_to` must name a layer"),
    (lambda m: reuse_layers(m, up_to=40), "`up_to` must be an index"),
    (lambda m: reuse_layers(m, up_to=1.5), "`up_to` must be a layer name or an index"),
    (lambda m: reuse_layers("model", up_to=1), "`model` must be a keras.Model"),
    (lambda m: reuse_layers(m, up_to=-2, num_classes=0), "`num_classes` must be"),
    (lambda m: unfreeze_top(m, -1), "`k` must be an integer >= 0"),
]


def test_bad_arguments_raise_clear_errors():
    model = _source()
    for call, message in BAD_ARGUMENTS:
        with pytest.raises(ValueError, match=message):
            call(model)


def test_transfer_beats_training_from_scratch_on_the_same_few_samples():
    spec = importlib.util.spec_from_file_location("transfer_digits", EXAMPLE)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    source = example.train_source(epochs=15)
    # One sample of each new digit, four draws: the frozen convolutions of the
    # source model against the same CNN trained from scratch on the same samples.
    results = np.array(example.compare(source, shots=1, seeds=(0, 1, 2, 3), verbose=False))
    transfer, scratch = results.mean(axis=0)
    assert transfer > scratch + 0.05, results
    assert transfer > 0.65, results
