"""p4 group convolutions (Cohen and Welling 2016): the equivariance maths, the
invariant classifier, and a plain CNN failing the same checks."""

import keras
import numpy as np
import pytest

import recipes
from recipes import data
from recipes.layers import P4ConvP4, P4ConvZ2, P4Pool
from recipes.layers.group_conv import rotate_p4
from recipes.testing import run_layer_test

pytestmark = pytest.mark.backends


def numpy(x):
    return keras.ops.convert_to_numpy(x)


def turn(images, k=1):
    """A quarter turn (k of them) of a batch of images or p4 maps, axes 1 and 2."""
    return np.ascontiguousarray(np.rot90(images, k, axes=(1, 2)))


def expected_p4(outputs, k):
    """What a p4 map becomes when the input turns k times: each map turns k times
    and the rotation axis shifts cyclically by k."""
    return np.roll(turn(outputs, k), k, axis=-1)


def relative_error(actual, expected):
    return np.abs(actual - expected).max() / np.abs(expected).max()


@pytest.fixture
def images():
    return np.random.default_rng(0).normal(size=(3, 11, 11, 2)).astype("float32")


@pytest.mark.parametrize(
    "padding, kernel_size", [("valid", 3), ("same", 3), ("valid", 4), ("same", 5)]
)
@pytest.mark.parametrize("k", [1, 2, 3])
def test_p4convz2_turns_maps_and_shifts_rotations(images, padding, kernel_size, k):
    layer = P4ConvZ2(6, kernel_size, padding=padding, bias_initializer="random_normal")
    outputs = numpy(layer(images))
    assert outputs.shape[-2:] == (6, 4)
    turned = numpy(layer(turn(images, k)))
    assert relative_error(turned, expected_p4(outputs, k)) < 1e-5
    # the cyclic shift is part of the law: turning the maps alone is not enough
    assert relative_error(turned, turn(outputs, k)) > 0.1
    np.testing.assert_allclose(numpy(rotate_p4(outputs, k)), expected_p4(outputs, k))


@pytest.mark.parametrize("padding", ["valid", "same"])
def test_p4convp4_stacked_on_p4convz2_is_equivariant(images, padding):
    lift = P4ConvZ2(5, 3, padding=padding, activation="relu")
    group = P4ConvP4(4, 3, padding=padding, bias_initializer="random_normal")
    group2 = P4ConvP4(3, 3, padding=padding)

    def network(x):
        return numpy(group2(group(lift(x))))

    outputs = network(images)
    for k in (1, 2, 3):
        assert relative_error(network(turn(images, k)), expected_p4(outputs, k)) < 1e-5


def test_p4convp4_alone_is_equivariant_on_any_p4_map():
    maps = np.random.default_rng(1).normal(size=(2, 9, 9, 3, 4)).astype("float32")
    layer = P4ConvP4(5, 3)
    outputs = numpy(layer(maps))
    assert relative_error(numpy(layer(expected_p4(maps, 1))), expected_p4(outputs, 1)) < 1e-5


def test_a_plain_cnn_fails_the_same_check(images):
    conv = keras.layers.Conv2D(6, 3, bias_initializer="random_normal")
    conv2 = keras.layers.Conv2D(4, 3)

    def network(x):
        return numpy(conv2(conv(x)))

    outputs = network(images)
    assert relative_error(network(turn(images)), turn(outputs)) > 0.1


def test_p4convz2_rotations_are_the_turned_filters():
    # One 2x2 filter [[1, 2], [3, 4]] on a 2x2 image gives one number per rotation:
    # the image correlated with the filter turned 0, 1, 2 and 3 times (numpy.rot90).
    image = np.array([[1.0, 0.0], [0.0, 0.0]], "float32").reshape(1, 2, 2, 1)
    layer = P4ConvZ2(1, 2, use_bias=False)
    layer.build(image.shape)
    layer.kernel.assign(np.array([[1.0, 2.0], [3.0, 4.0]]).reshape(2, 2, 1, 1))
    # top-left entries of rot90^r([[1, 2], [3, 4]]): 1, 2, 4, 3
    np.testing.assert_allclose(numpy(layer(image))[0, 0, 0, 0], [1.0, 2.0, 4.0, 3.0])


@pytest.mark.parametrize(
    "layer_cls, init_kwargs, input_shape, output_shape, params",
    [
        # parameters: those of a convolution with 4x the input channels (p4 maps)
        (P4ConvZ2, {"filters": 10, "kernel_size": 3}, (2, 9, 9, 1), (2, 7, 7, 10, 4), 90 + 10),
        (P4ConvP4, {"filters": 10}, (2, 7, 7, 10, 4), (2, 5, 5, 10, 4), 3 * 3 * 10 * 4 * 10 + 10),
        (
            P4ConvZ2,
            {"filters": 3, "padding": "same", "use_bias": False},
            (2, 6, 6, 2),
            (2, 6, 6, 3, 4),
            54,
        ),
        (P4Pool, {"mode": "mean"}, (2, 5, 5, 3, 4), (2, 5, 5, 3), 0),
    ],
    ids=["P4ConvZ2", "P4ConvP4", "P4ConvZ2_same", "P4Pool"],
)
def test_layer_harness_and_parameter_counts(
    layer_cls, init_kwargs, input_shape, output_shape, params, tmp_path
):
    """Build, call, parameter count, config round trip, safe-mode .keras round trip."""
    run_layer_test(
        layer_cls,
        init_kwargs,
        input_shape,
        output_shape,
        expected_num_params=params,
        directory=tmp_path,
    )


@pytest.mark.parametrize("mode, expected", [("max", [4.0, -1.0]), ("mean", [2.5, -2.5])])
def test_p4pool_pools_over_the_rotations(mode, expected):
    maps = np.array([[1.0, 2.0, 3.0, 4.0], [-1.0, -2.0, -3.0, -4.0]], "float32")
    pooled = numpy(P4Pool(mode)(maps.reshape(1, 1, 1, 2, 4)))
    np.testing.assert_allclose(pooled.reshape(-1), expected)


def test_mnist_p4cnn_is_invariant_and_has_the_expected_parameters():
    model = recipes.build("mnist_p4cnn")
    # lift 3*3*1*10, five 3*3*10*4*10 group convolutions (no bias: batch norm),
    # six batch norms of 4*10, softmax layer 10*10+10
    assert model.count_params() == 90 + 5 * 3600 + 6 * 40 + 110
    x = np.random.default_rng(2).uniform(size=(2, 28, 28, 1)).astype("float32")
    np.testing.assert_allclose(
        model.predict(turn(x), verbose=0), model.predict(x, verbose=0), atol=1e-6
    )


def test_a_plain_cnn_classifier_is_not_invariant():
    x, _ = data.arrays("digits", "train")
    model = keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            keras.layers.Conv2D(16, 3, padding="same", activation="relu"),
            keras.layers.Conv2D(16, 3, padding="same", activation="relu"),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    difference = np.abs(model.predict(turn(x[:16]), verbose=0) - model.predict(x[:16], verbose=0))
    assert difference.max() > 1e-3


def test_digits_p4cnn_trains_round_trips_and_stays_invariant(recipe_check):
    x, y = data.arrays("digits", "train")
    loaded = recipe_check(recipes.build("digits_p4cnn"), x[:64], y[:64], steps=15)
    assert type(loaded.get_layer("block1_conv")) is P4ConvZ2
    assert type(loaded.get_layer("block2_conv")) is P4ConvP4
    assert type(loaded.get_layer("rotation_pool")) is P4Pool
    # trained (batch norm statistics moved), saved and loaded: still invariant
    predictions = loaded.predict(x[:16], verbose=0)
    assert predictions.std(axis=0).max() > 0.01  # not a constant output
    for k in (1, 2, 3):
        np.testing.assert_allclose(
            loaded.predict(turn(x[:16], k), verbose=0), predictions, atol=1e-5
        )


def test_p4cnn_options_build_the_layers_they_name():
    model = recipes.build_p4cnn(
        input_shape=(8, 8, 1),
        filters=(4, 4, 4),
        padding="same",
        pool_after=(1, 2),
        batch_norm=False,
        dropout=0.2,
        rotation_pooling="mean",
        compile=False,
    )
    names = [layer.name for layer in model.layers]
    assert "block1_pool" in names and "block2_pool" in names and "block3_pool" not in names
    assert not any(name.endswith("_bn") for name in names)
    assert model.get_layer("block1_conv").use_bias
    assert "block3_dropout" in names
    assert model.get_layer("rotation_pool").mode == "mean"


@pytest.mark.parametrize(
    "arguments, message",
    [
        ({"kernel_size": 4, "padding": "same"}, "`kernel_size` must be odd"),
        ({"input_shape": (9, 9, 1), "padding": "same"}, "max-pooling needs even sides"),
        ({"input_shape": (6, 6, 1)}, "is too small"),
        ({"pool_after": (7,)}, r"`pool_after\[0\]` must be a layer index from 1 to 6"),
        ({"filters": ()}, "`filters` must hold at least one"),
        ({"padding": "full"}, "`padding` must be one of"),
        ({"rotation_pooling": "sum"}, "`rotation_pooling` must be one of"),
        ({"augment": "flip"}, "`augment` must be a Keras layer"),
    ],
)
def test_bad_p4cnn_arguments_raise_clear_errors(arguments, message):
    with pytest.raises(ValueError, match=message):
        recipes.build_p4cnn(**arguments)


def test_p4_layers_reject_wrong_inputs():
    with pytest.raises(ValueError, match="P4ConvP4 expects a p4 feature map"):
        P4ConvP4(4)(np.zeros((1, 5, 5, 3, 2), "float32"))
    with pytest.raises(ValueError, match="P4ConvZ2 expects inputs of rank 4"):
        P4ConvZ2(4)(np.zeros((1, 5, 5, 3, 4), "float32"))
    with pytest.raises(ValueError, match="P4Pool expects a p4 feature map"):
        P4Pool()(np.zeros((1, 5, 5, 3), "float32"))
    with pytest.raises(ValueError, match="`filters` must be an integer >= 1"):
        P4ConvZ2(0)
