import keras
import numpy as np
import pytest
from keras import ops
from scipy.stats import multivariate_normal, norm
from sklearn.model_selection import GridSearchCV
from sklearn.neighbors import KernelDensity

import recipes
from recipes import data
from recipes.autodiff import input_gradient
from recipes.layers import AffineCoupling
from recipes.layers.coupling import coupling_mask
from recipes.models.flow import RealNVP

pytestmark = pytest.mark.backends


def _numpy(x):
    return np.asarray(ops.convert_to_numpy(x))


# Keras computes in float64 on TensorFlow only: elsewhere its type promotion
# (keras.backend.result_type) turns float64 into float32, in ops.tanh for one. There
# the checks below run in float32, "exact" meaning to float32 rounding: errors of a
# few 1e-7 on values of order 1 (measured), so 1e-5.
if keras.backend.backend() == "tensorflow":
    DTYPE, EXACT = "float64", 1e-12
else:
    DTYPE, EXACT = "float32", 1e-5


def _randomize(layer_or_model, scale=0.4, seed=0):
    """Random weights everywhere: a fresh coupling is the identity (zero-initialised
    last layer), which would make the checks below trivial."""
    rng = np.random.default_rng(seed)
    for weight in layer_or_model.weights:
        weight.assign(rng.normal(scale=scale, size=weight.shape).astype(weight.dtype))


def _autodiff_log_det(function, x):
    """log|det J| of ``function`` at the single sample ``x``, J by automatic
    differentiation: one gradient through ``size`` copies of ``x``, copy i summing
    its output i (samples do not interact, so row i of the gradient is row i of J)."""
    size = x.size
    pick = ops.convert_to_tensor(np.eye(size), x.dtype)
    copies = np.broadcast_to(x, (size, *x.shape))
    rows = input_gradient(lambda t: ops.sum(ops.reshape(function(t), (size, size)) * pick), copies)
    return np.linalg.slogdet(_numpy(rows).reshape(size, size).astype("float64"))[1]


def test_coupling_masks():
    np.testing.assert_array_equal(coupling_mask((4,), "checkerboard"), [1, 0, 1, 0])
    np.testing.assert_array_equal(coupling_mask((4,), "checkerboard", parity=1), [0, 1, 0, 1])
    np.testing.assert_array_equal(coupling_mask((4,), "channel"), [1, 1, 0, 0])
    board = coupling_mask((2, 2, 3), "checkerboard")
    np.testing.assert_array_equal(board[..., 0], [[1, 0], [0, 1]])
    assert (board == board[..., :1]).all()
    np.testing.assert_array_equal(
        coupling_mask((2, 2, 4), "channel", parity=1)[0, 0], [0, 0, 1, 1]
    )


@pytest.mark.parametrize(
    "shape, mask",
    [
        ((2,), "checkerboard"),
        ((5,), "channel"),
        ((4, 4, 2), "checkerboard"),
        ((2, 2, 4), "channel"),
    ],
)
def test_affine_coupling_inverts_exactly_and_its_log_det_is_the_jacobians(shape, mask):
    layer = AffineCoupling(mask=mask, parity=1, hidden_units=8, dtype=DTYPE)
    layer.build((None, *shape))
    _randomize(layer)
    x = np.random.default_rng(1).normal(size=(3, *shape)).astype(DTYPE)
    y, log_det = (_numpy(t) for t in layer(x))
    kept = coupling_mask(shape, mask, parity=1)
    np.testing.assert_array_equal(y * kept, x * kept)  # the conditioning half passes
    assert np.abs(y - x).max() > 1e-2  # the other half moves
    x_back, inverse_log_det = (_numpy(t) for t in layer(y, inverse=True))
    np.testing.assert_allclose(x_back, x, atol=EXACT)
    np.testing.assert_allclose(inverse_log_det, -log_det, atol=EXACT)
    for sample, value in zip(x, log_det):
        assert value == pytest.approx(_autodiff_log_det(lambda t: layer(t)[0], sample), abs=EXACT)


@pytest.mark.parametrize("event_shape", [(4,), (4, 4, 2)])
def test_realnvp_is_exactly_invertible_with_the_exact_log_density(event_shape):
    flow = RealNVP(event_shape, num_couplings=2, hidden_units=8, dtype=DTYPE)
    flow.build((None, *event_shape))
    x = np.random.default_rng(2).normal(size=(2, *event_shape)).astype(DTYPE)
    z, log_det = (_numpy(t) for t in flow.to_latent(ops.convert_to_tensor(x)))
    # A fresh flow is the identity (up to the squeeze's reordering of image values).
    np.testing.assert_array_equal(np.sort(z.reshape(2, -1)), np.sort(x.reshape(2, -1)))
    np.testing.assert_allclose(log_det, 0.0)

    # Weights of scale 0.2 move values by up to ~3 and keep every intermediate value
    # small; at 0.4 they reach thousands, past what float32 can invert to 1e-5.
    _randomize(flow, scale=0.2)
    z, log_det = (_numpy(t) for t in flow.to_latent(ops.convert_to_tensor(x)))
    assert z.shape == (2, *flow.latent_shape)
    assert np.abs(np.sort(z.reshape(2, -1)) - np.sort(x.reshape(2, -1))).max() > 0.1
    np.testing.assert_allclose(_numpy(flow.inverse(ops.convert_to_tensor(z))), x, atol=EXACT)
    for sample, value in zip(x, log_det):
        assert value == pytest.approx(
            _autodiff_log_det(lambda t: flow.to_latent(t)[0], sample), abs=EXACT
        )
    expected = norm.logpdf(z.reshape(2, -1)).sum(axis=1) + log_det
    np.testing.assert_allclose(_numpy(flow(x)), expected, rtol=EXACT)


@pytest.mark.parametrize("event_shape", [(4,), (4, 4, 2)])
def test_under_mixed_precision_only_the_networks_leave_float32(event_shape):
    # In bfloat16 (8 bits of mantissa) the flow would invert to about 1e-2 and sum
    # its log-likelihood in bfloat16; the networks are all that runs in it.
    with recipes.precision("mixed_bfloat16"):
        flow = recipes.build_realnvp(
            input_shape=event_shape, num_couplings=2, hidden_units=8, num_hidden=1
        )
    _randomize(flow, scale=0.2)
    x = np.random.default_rng(3).normal(size=(4, *event_shape)).astype("float32")
    z, log_det = flow.to_latent(ops.convert_to_tensor(x))
    log_prob = flow(x)
    dtypes = [keras.backend.standardize_dtype(t.dtype) for t in (z, log_det, log_prob)]
    assert dtypes == ["float32"] * 3
    coupling = flow.flow_layers[0]
    assert coupling.output_layer.compute_dtype == "bfloat16"
    np.testing.assert_allclose(_numpy(flow.inverse(z)), x, atol=1e-5)
    expected = norm.logpdf(_numpy(z).reshape(4, -1)).sum(axis=1) + _numpy(log_det)
    np.testing.assert_allclose(_numpy(log_prob), expected, rtol=1e-5)


def test_moons_nll_beats_a_gaussian_and_approaches_kernel_density(capsys):
    x, _ = data.arrays("moons", "train", num_examples=2000)
    x_test, _ = data.arrays("moons", "test", num_examples=2000)
    mean, std = x.mean(axis=0), x.std(axis=0)
    x, x_test = (x - mean) / std, (x_test - mean) / std
    flow = recipes.build_realnvp(
        input_shape=(2,),
        num_couplings=6,
        hidden_units=32,
        learning_rate=keras.optimizers.schedules.CosineDecay(5e-3, 40 * 8),
    )
    flow.fit(x, epochs=40, batch_size=250, verbose=0)
    flow_nll = -float(flow.predict(x_test, batch_size=2000, verbose=0).mean())
    gaussian_nll = (
        -multivariate_normal(x.mean(axis=0), np.cov(x, rowvar=False)).logpdf(x_test).mean()
    )
    search = GridSearchCV(KernelDensity(), {"bandwidth": np.logspace(-1.5, 0, 16)}, cv=5)
    kde_nll = -search.fit(x).best_estimator_.score_samples(x_test).mean()
    with capsys.disabled():
        print(
            f"\nmoons held-out NLL (standardised, nats): RealNVP {flow_nll:.3f}, "
            f"Gaussian {gaussian_nll:.3f}, KernelDensity {kde_nll:.3f}"
        )
    assert flow_nll < gaussian_nll - 0.15
    assert flow_nll < kde_nll + 0.2
    samples = flow.sample(500, seed=0)
    assert samples.shape == (500, 2) and np.isfinite(samples).all()


def test_image_flow_squeezes_samples_and_round_trips(roundtrip):
    # Training is the same `compute_loss` as for vectors (the moons test above and the
    # JAX test below train flows); tracing a conv flow's training step costs a minute
    # on 2 shared cores, so this test builds, samples and saves only.
    x = np.random.default_rng(0).uniform(size=(8, 4, 4, 1)).astype("float32")
    flow = recipes.build_realnvp(input_shape=(4, 4, 1), num_couplings=2, hidden_units=8)
    assert [layer.name for layer in flow.flow_layers][2] == "squeeze_1"
    assert flow.latent_shape == (2, 2, 4)

    def coupling_params(channels):  # 3x3 convs: c -> 8 -> 8 -> 2c, and c scales
        return (
            (9 * channels * 8 + 8)
            + (9 * 8 * 8 + 8)
            + (9 * 8 * 2 * channels + 2 * channels)
            + channels
        )

    assert flow.count_params() == 2 * coupling_params(1) + 4 * coupling_params(4)
    _randomize(flow, scale=0.2)
    loaded = roundtrip(flow, x, atol=1e-4)
    samples = flow.sample(3, seed=0)
    assert samples.shape == (3, 4, 4, 1) and np.isfinite(samples).all()
    np.testing.assert_allclose(loaded.sample(3, seed=0), samples, atol=1e-4)


@pytest.mark.parametrize(
    "arguments, message",
    [
        ({"input_shape": (1,)}, "at least 2 features"),
        ({"input_shape": (6, 6, 1), "num_scales": 2}, "divisible by 2\\*\\*num_scales"),
        ({"input_shape": (2, 3)}, "must have 1 or 3 dimension"),
        ({"num_couplings": 1}, "`num_couplings` must be an integer >= 2"),
        ({"hidden_units": 0}, "`hidden_units` must be an integer >= 1"),
        ({"loss": "nll"}, "`loss` and `metrics` must be None"),
    ],
)
def test_bad_arguments_raise_clear_errors(arguments, message):
    with pytest.raises(ValueError, match=message):
        recipes.build_realnvp(**arguments)


def test_coupling_checks_its_arguments():
    with pytest.raises(ValueError, match="`mask` must be one of"):
        AffineCoupling(mask="stripes")
    with pytest.raises(ValueError, match="`parity` must be one of"):
        AffineCoupling(parity=2)
    with pytest.raises(ValueError, match="leaves nothing to transform"):
        AffineCoupling(mask="channel").build((None, 4, 4, 1))
