"""Jittable augmentation: identity at inference, real changes in training, exact
resampling maths, and models that keep XLA on (where Keras's own layers turn it off)."""

import warnings

import keras
import numpy as np
import pytest

import recipes
from recipes import data
from recipes.augment import build_augmentation
from recipes.layers import RandomAffine, RandomFlip, RandomPadCrop
from recipes.layers.augmentation import resample
from recipes.testing import run_layer_test

pytestmark = pytest.mark.backends


def numpy(x):
    return keras.ops.convert_to_numpy(x)


@pytest.fixture
def images():
    return np.random.default_rng(0).uniform(0.1, 1.0, size=(32, 9, 9, 2)).astype("float32")


LAYERS = {
    "flip": (RandomFlip, {"mode": "horizontal_and_vertical", "seed": 1}),
    "affine": (RandomAffine, {"rotation": 0.1, "zoom": 0.2, "translation": 0.1, "seed": 2}),
    "pad_crop": (RandomPadCrop, {"padding": 2, "seed": 3}),
}


def make(kind):
    layer_cls, init_kwargs = LAYERS[kind]
    return layer_cls(**init_kwargs)


@pytest.mark.parametrize("kind", sorted(LAYERS))
def test_identity_at_inference_and_different_images_in_training(kind, images):
    layer = make(kind)
    np.testing.assert_array_equal(numpy(layer(images)), images)
    np.testing.assert_array_equal(numpy(layer(images, training=False)), images)
    augmented = numpy(layer(images, training=True))
    assert augmented.shape == images.shape
    changed = [not np.allclose(a, x) for a, x in zip(augmented, images)]
    assert 0 < sum(changed)  # it changes images...
    if kind != "flip":
        assert sum(changed) >= 30  # ...almost all of them
    # each call draws new transforms; a layer with the same seed draws the same ones
    assert not np.allclose(numpy(layer(images, training=True)), augmented)
    np.testing.assert_array_equal(numpy(make(kind)(images, training=True)), augmented)


def test_random_flip_gives_each_image_one_of_its_four_flips(images):
    augmented = numpy(RandomFlip("horizontal_and_vertical", seed=0)(images, training=True))
    seen = set()
    for a, x in zip(augmented, images):
        options = [x, x[:, ::-1], x[::-1], x[::-1, ::-1]]
        matches = [i for i, option in enumerate(options) if np.array_equal(a, option)]
        assert len(matches) == 1
        seen.add(matches[0])
    assert seen == {0, 1, 2, 3}
    horizontal = numpy(RandomFlip("horizontal", seed=0)(images, training=True))
    for a, x in zip(horizontal, images):
        assert np.array_equal(a, x) or np.array_equal(a, x[:, ::-1])


def test_pad_crop_is_a_whole_pixel_shift_with_zero_fill(images):
    augmented = numpy(RandomPadCrop(padding=2, seed=0)(images, training=True))
    for a, x in zip(augmented, images):
        padded = np.pad(x, ((2, 2), (2, 2), (0, 0)))
        windows = [padded[i : i + 9, j : j + 9] for i in range(5) for j in range(5)]
        assert any(np.array_equal(a, w) for w in windows)


def test_affine_keeps_the_centre_pixel_without_translation(images):
    augmented = numpy(RandomAffine(rotation=0.2, zoom=0.3, seed=0)(images, training=True))
    np.testing.assert_allclose(augmented[:, 4, 4], images[:, 4, 4], rtol=1e-5)
    assert not np.allclose(augmented[:, 2, 2], images[:, 2, 2])


def test_resample_by_hand():
    x = np.arange(1, 13, dtype="float32").reshape(1, 3, 4, 1)  # rows 1-4, 5-8, 9-12
    rows, cols = np.mgrid[0:3, 0:4].astype("float32")
    rows, cols = rows[None], cols[None]

    def sample(r, c, **options):
        return numpy(resample(x, r, c, **options))[0, ..., 0]

    # a quarter turn as a coordinate map is numpy.rot90, exactly
    square = np.arange(1, 10, dtype="float32").reshape(1, 3, 3, 1)
    r, c = np.mgrid[0:3, 0:3].astype("float32")
    turned = numpy(resample(square, c[None], 2 - r[None]))[0, ..., 0]
    np.testing.assert_array_equal(turned, np.rot90(square[0, ..., 0]))
    # shift left by 2 columns: reflect d c b a | a b c d, nearest edge, or constant
    np.testing.assert_array_equal(sample(rows, cols - 2)[0], [2, 1, 1, 2])
    np.testing.assert_array_equal(sample(rows, cols - 2, fill_mode="nearest")[0], [1, 1, 1, 2])
    np.testing.assert_array_equal(
        sample(rows, cols - 2, fill_mode="constant", fill_value=-1)[0], [-1, -1, 1, 2]
    )
    # bilinear: half-way between pixels 1, 2, 5 and 6
    np.testing.assert_allclose(sample(rows + 0.5, cols + 0.5)[0, 0], 3.5)
    np.testing.assert_allclose(sample(rows + 0.25, cols)[0, 0], 2.0)
    nearest = sample(rows + 0.4, cols, interpolation="nearest")
    np.testing.assert_array_equal(nearest, x[0, ..., 0])


def test_build_augmentation_stacks_what_is_asked_for():
    augment = build_augmentation(
        flip="vertical",
        rotation=0.05,
        zoom=0.1,
        translation=0.1,
        crop=3,
        fill_mode="nearest",
        seed=7,
    )
    assert [type(layer) for layer in augment.layers] == [RandomFlip, RandomAffine, RandomPadCrop]
    assert [layer.seed for layer in augment.layers] == [7, 8, 9]
    affine = augment.layers[1]
    assert (affine.rotation, affine.zoom, affine.translation, affine.fill_mode) == (
        0.05,
        0.1,
        0.1,
        "nearest",
    )
    assert augment.layers[2].padding == 3
    assert [type(layer) for layer in build_augmentation(zoom=0.2).layers] == [RandomAffine]


@pytest.mark.parametrize(
    "arguments, message",
    [
        ({}, "asked for nothing"),
        ({"flip": "diagonal"}, "`flip` must be one of"),
        ({"rotation": 0.7}, r"`rotation` must be a number in \[0, 0.5\)"),
        ({"zoom": -0.1}, r"`zoom` must be a number in \[0, 1\)"),
        ({"translation": 1.5}, r"`translation` must be a number in \[0, 1\)"),
        ({"crop": -1}, "`crop` must be an integer >= 0"),
        ({"crop": 2, "fill_mode": "wrap"}, "`fill_mode` must be one of"),
    ],
)
def test_bad_arguments_raise_clear_errors(arguments, message):
    with pytest.raises(ValueError, match=message):
        build_augmentation(**arguments)


def _fit_one_step_with_xla(model, x, y):
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", jit_compile=True)
    with warnings.catch_warnings():
        # Keras' fallback warns "... Proceeding with jit_compile=False"; other
        # warnings (PyTorch's dynamo has several) are not failures.
        warnings.filterwarnings("error", message=".*jit_compile=False", category=UserWarning)
        model.fit(x, y, batch_size=len(x), epochs=1, verbose=0)
    return model.jit_compile


def test_p4cnn_with_every_augmentation_trains_under_xla(roundtrip):
    x, y = data.arrays("digits", "train")
    augment = build_augmentation(
        flip="horizontal", rotation=0.05, zoom=0.1, translation=0.1, crop=1, seed=0
    )
    model = recipes.build("digits_p4cnn", filters=(4, 4), augment=augment, compile=False)
    assert _fit_one_step_with_xla(model, x[:16], y[:16]) is True
    roundtrip(model, x[:8])  # the augmentation layers serialise; inference: identity


@pytest.mark.parametrize(
    "name", ["shapes_unet", "oxford_pets_unet", "digits_p4cnn", "mnist_p4cnn"]
)
def test_presets_keep_jit_compile_with_and_without_augmentation(name):
    flips = build_augmentation(flip="horizontal")
    everything = build_augmentation(flip="horizontal", rotation=0.1, zoom=0.1, crop=2)
    augments = [None, flips] + ([everything] if "p4cnn" in name else [])
    for augment in augments:
        model = recipes.build(name, augment=augment, compile=False)
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", jit_compile=True)
        assert model.jit_compile is True


def test_keras_random_crop_would_turn_xla_off():
    # why these layers exist: the same check fails with Keras's own RandomCrop
    inputs = keras.Input((16, 16, 3))
    x = keras.layers.RandomCrop(12, 12)(inputs)
    outputs = keras.layers.Dense(2)(keras.layers.GlobalAveragePooling2D()(x))
    model = keras.Model(inputs, outputs)
    with pytest.warns(UserWarning, match="jit_compile=False"):
        model.compile(optimizer="adam", loss="mse", jit_compile=True)
    assert model.jit_compile is False


@pytest.mark.parametrize("kind", sorted(LAYERS))
def test_layer_harness(kind, images, tmp_path):
    """Build, call, config round trip, safe-mode .keras round trip in a model (where
    inference is the identity), and a training-mode call that changes the images."""
    layer_cls, init_kwargs = LAYERS[kind]
    result = run_layer_test(
        layer_cls,
        init_kwargs,
        input_data=images,
        expected_output_shape=images.shape,
        expected_num_params=0,
        training=True,
        directory=tmp_path,
    )
    np.testing.assert_array_equal(result.outputs, images)
    assert not np.allclose(result.training_outputs, images)


def test_random_flip_can_return_its_flags(images, tmp_path):
    assert RandomFlip(return_flips=True).compute_output_shape((None, 8, 8, 3)) == (
        (None, 8, 8, 3),
        (None, 2),
    )
    result = run_layer_test(
        RandomFlip,
        {"mode": "vertical", "seed": 0, "return_flips": True},
        input_data=images,
        expected_output_shape=(images.shape, (32, 2)),
        training=True,
        directory=tmp_path,
    )
    np.testing.assert_array_equal(result.outputs[1], 0.0)  # inference: no flip
    flips = result.training_outputs[1]
    assert set(np.unique(flips[:, 0])) == {0.0, 1.0} and (flips[:, 1] == 0).all()
