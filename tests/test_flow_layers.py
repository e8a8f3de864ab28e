"""Squeeze (invertible pooling, space-to-depth) and its exact inverse."""

import keras
import numpy as np
import pytest

from recipes.layers import Squeeze, Unsqueeze
from recipes.testing import run_layer_test

pytestmark = [pytest.mark.backends, pytest.mark.smoke]


def numpy(x):
    return keras.ops.convert_to_numpy(x)


def test_squeeze_moves_each_2x2_block_into_the_channels():
    x = np.arange(16, dtype="float32").reshape(1, 4, 4, 1)
    y = numpy(Squeeze()(x))
    assert y.shape == (1, 2, 2, 4)
    # block (0, 0) holds pixels (0,0), (0,1), (1,0), (1,1): values 0, 1, 4, 5
    np.testing.assert_array_equal(y[0, 0, 0], [0, 1, 4, 5])
    np.testing.assert_array_equal(y[0, 0, 1], [2, 3, 6, 7])
    np.testing.assert_array_equal(y[0, 1, 1], [10, 11, 14, 15])


def test_squeeze_keeps_channels_grouped_per_pixel_of_the_block():
    x = np.stack([np.arange(4.0).reshape(2, 2), 10 + np.arange(4.0).reshape(2, 2)], -1)
    y = numpy(Squeeze()(x[None].astype("float32")))
    # channel (i * 2 + j) * channels + c holds input channel c at pixel (i, j)
    np.testing.assert_array_equal(y[0, 0, 0], [0, 10, 1, 11, 2, 12, 3, 13])


@pytest.mark.parametrize(
    "factor, shape", [(2, (3, 8, 6, 3)), (3, (2, 9, 6, 2)), (2, (1, 2, 2, 1))]
)
def test_squeeze_round_trip_is_exact(factor, shape):
    x = np.random.default_rng(0).normal(size=shape).astype("float32")
    squeeze, unsqueeze = Squeeze(factor), Unsqueeze(factor)
    y = squeeze(x)
    assert tuple(y.shape) == (
        shape[0],
        shape[1] // factor,
        shape[2] // factor,
        shape[3] * factor**2,
    )
    np.testing.assert_array_equal(numpy(squeeze.inverse(y)), x)
    np.testing.assert_array_equal(numpy(unsqueeze(y)), x)
    np.testing.assert_array_equal(numpy(unsqueeze.inverse(unsqueeze(y))), numpy(y))
    # a permutation: no value lost, none repeated
    np.testing.assert_array_equal(np.sort(numpy(y).ravel()), np.sort(x.ravel()))


@pytest.mark.parametrize("shape", [(1, 5, 4, 3), (1, 4, 7, 3)])
def test_squeeze_rejects_odd_sides(shape):
    with pytest.raises(ValueError, match="divisible by factor=2.*input_shape"):
        Squeeze()(np.zeros(shape, "float32"))
    with pytest.raises(ValueError, match="divisible by factor=2"):
        Squeeze()(keras.Input(shape[1:]))


def test_unsqueeze_and_inverse_reject_channels_not_divisible_by_factor_squared():
    with pytest.raises(ValueError, match=r"channels divisible by factor\*\*2 = 4"):
        Unsqueeze()(np.zeros((1, 2, 2, 6), "float32"))
    with pytest.raises(ValueError, match=r"channels divisible by factor\*\*2 = 9"):
        Squeeze(3).inverse(np.zeros((1, 2, 2, 12), "float32"))


def test_bad_factor_and_rank_raise():
    with pytest.raises(ValueError, match="`factor` must be an integer >= 2"):
        Squeeze(1)
    with pytest.raises(ValueError, match="Squeeze expects images"):
        Squeeze()(np.zeros((2, 4, 4), "float32"))


@pytest.mark.parametrize(
    "layer_cls, factor, input_shape, output_shape",
    [
        (Squeeze, 2, (2, 8, 8, 2), (2, 4, 4, 8)),
        (Unsqueeze, 2, (2, 4, 4, 8), (2, 8, 8, 2)),
        (Squeeze, 3, (2, 9, 6, 2), (2, 3, 2, 18)),
    ],
)
def test_layer_harness(layer_cls, factor, input_shape, output_shape, tmp_path):
    """Build, call, config round trip, safe-mode .keras round trip in a model."""
    result = run_layer_test(
        layer_cls,
        {"factor": factor},
        input_shape,
        output_shape,
        expected_num_params=0,
        directory=tmp_path,
    )
    assert result.loaded.layers[-1].factor == factor
