import keras
import numpy as np
import pytest
from keras import ops
from scipy.stats import norm

import recipes
from recipes import data
from recipes.models.vae import kl_divergence

pytestmark = pytest.mark.backends


def _numpy(x):
    return np.asarray(ops.convert_to_numpy(x))


def test_kl_divergence_closed_form_matches_a_monte_carlo_estimate():
    mean = np.array([[0.5, -1.0, 0.0]])
    log_var = np.array([[0.2, -0.7, 1.1]])
    closed_form = _numpy(kl_divergence(mean, log_var))
    rng = np.random.default_rng(0)
    epsilon = rng.standard_normal((400_000, 3))
    z = mean + np.exp(0.5 * log_var) * epsilon
    log_q = norm.logpdf(z, mean, np.exp(0.5 * log_var)).sum(axis=1)
    log_p = norm.logpdf(z).sum(axis=1)
    assert closed_form.shape == (1,)
    assert closed_form[0] == pytest.approx(np.mean(log_q - log_p), abs=0.01)
    assert _numpy(kl_divergence(np.zeros((2, 4)), np.zeros((2, 4)))).tolist() == [0.0, 0.0]


def test_vae_reports_its_reconstruction_and_kl_terms():
    x, _ = data.arrays("digits", "train")
    x = x[:64]
    model = recipes.build_vae(input_shape=(8, 8, 1), latent_dim=3, hidden_units=(32,), seed=0)
    result = model.evaluate(x, batch_size=64, verbose=0, return_dict=True)
    z_mean, z_log_var = model.encode(x)
    kl = 0.5 * np.sum(np.exp(z_log_var) + z_mean**2 - 1 - z_log_var, axis=1).mean()
    p = model.predict(x, verbose=0).astype("float64")  # decoded from z_mean when not training
    bce = -(x * np.log(p) + (1 - x) * np.log(1 - p)).reshape(len(x), -1).sum(axis=1).mean()
    assert result["kl_loss"] == pytest.approx(kl, rel=1e-4)
    assert result["reconstruction_loss"] == pytest.approx(bce, rel=1e-4)
    assert result["loss"] == pytest.approx(kl + bce, rel=1e-4)


def test_a_training_step_encodes_the_batch_once():
    x, _ = data.arrays("digits", "train")
    model = recipes.build_vae(input_shape=(8, 8, 1), latent_dim=2, hidden_units=(16,), seed=0)
    model.compile("adam", run_eagerly=True)  # Python runs at every step, not once
    encode, calls = model.encoder.call, []

    def counting_encode(*args, **kwargs):
        calls.append(1)
        return encode(*args, **kwargs)

    model.encoder.call = counting_encode
    model.fit(x[:16], batch_size=16, epochs=1, verbose=0)  # builds (JAX traces once more)
    calls.clear()
    model.fit(x[:32], batch_size=16, epochs=1, verbose=0)
    assert len(calls) == 2  # two steps, one encoding each
    assert "_posterior" not in model.__dict__  # compute_loss let go of the batch


def test_mixed_precision_vae_reconstructs_and_scores_in_float32():
    # the reconstruction NLL sums 64 per-pixel terms: in bfloat16 (8-bit mantissa)
    # that sum would be off by about 1%
    x, _ = data.arrays("digits", "train")
    with recipes.precision("mixed_bfloat16"):
        model = recipes.build_vae(input_shape=(8, 8, 1), latent_dim=2, hidden_units=(16,), seed=0)
    assert model.encoder.get_layer("encoder_dense_1").compute_dtype == "bfloat16"
    reconstructions = model(x[:4])
    assert keras.backend.standardize_dtype(reconstructions.dtype) == "float32"
    p = _numpy(reconstructions).astype("float64")
    bce = -(x[:4] * np.log(p) + (1 - x[:4]) * np.log(1 - p)).reshape(4, -1).sum(axis=1)
    nll = _numpy(model.reconstruction_nll(x[:4], reconstructions))
    np.testing.assert_allclose(nll, bce, rtol=1e-4)


def test_vae_samples_in_training_only_and_the_elbo_improves(recipe_check):
    x, _ = data.arrays("digits", "train")
    x = x[:256]
    model = recipes.build_vae(
        input_shape=(8, 8, 1), latent_dim=4, hidden_units=(64,), learning_rate=1e-2, seed=0
    )
    inference = _numpy(model(x[:8], training=False))
    np.testing.assert_array_equal(_numpy(model(x[:8], training=False)), inference)
    assert np.abs(_numpy(model(x[:8], training=True)) - inference).max() > 1e-4

    loaded = recipe_check(model, x, None, steps=25, factor=0.8)  # the loss is -ELBO
    samples = model.sample(6, seed=0)
    assert samples.shape == (6, 8, 8, 1) and 0 <= samples.min() and samples.max() <= 1
    np.testing.assert_allclose(loaded.sample(6, seed=0), samples, atol=1e-5)


@pytest.mark.parametrize("observation_std", [None, 0.2])
def test_gaussian_likelihood_matches_scipy(observation_std, roundtrip):
    model = recipes.build_vae(
        input_shape=(2,),
        latent_dim=2,
        hidden_units=(16,),
        reconstruction="gaussian",
        observation_std=observation_std,
    )
    if observation_std is None:
        model.log_scale.assign(np.array([0.1, -0.2], "float32"))
        scale = np.exp([0.1, -0.2])
        assert (
            model.count_params() == model.encoder.count_params() + model.decoder.count_params() + 2
        )
    else:
        scale = observation_std
        assert model.count_params() == model.encoder.count_params() + model.decoder.count_params()
    rng = np.random.default_rng(0)
    x, means = rng.normal(size=(2, 5, 2)).astype("float32")
    expected = -norm.logpdf(x, means, scale).sum(axis=1)
    np.testing.assert_allclose(
        _numpy(model.reconstruction_nll(x, ops.convert_to_tensor(means))), expected, rtol=1e-5
    )
    x_moons, _ = data.arrays("moons", "test")
    loaded = roundtrip(model, x_moons)
    assert loaded.observation_std == observation_std
    assert loaded.sample(7, seed=1).shape == (7, 2)


@pytest.mark.parametrize(
    "arguments, message",
    [
        ({"reconstruction": "poisson"}, "`reconstruction` must be one of"),
        ({"latent_dim": 0}, "`latent_dim` must be an integer >= 1"),
        ({"hidden_units": (8, -1)}, r"`hidden_units\[1\]` must be an integer"),
        ({"beta": -1.0}, "`beta` must be a number >= 0"),
        ({"observation_std": 0.5}, "applies to reconstruction='gaussian' only"),
        ({"reconstruction": "gaussian", "observation_std": 0.0}, "must be None or a number > 0"),
        ({"loss": "mse"}, "`loss` and `metrics` must be None"),
        ({"metrics": ["mae"]}, "`loss` and `metrics` must be None"),
        ({"input_shape": (None, 2)}, "must be fully known"),
    ],
)
def test_bad_arguments_raise_clear_errors(arguments, message):
    with pytest.raises(ValueError, match=message):
        recipes.build_vae(**arguments)


def test_sample_weights_are_refused_rather_than_ignored():
    model = recipes.build_vae(input_shape=(2,), hidden_units=(4,), reconstruction="gaussian")
    x = np.zeros((4, 2), "float32")
    with pytest.raises(ValueError, match="does not support `sample_weight`"):
        model.compute_loss(x=x, y_pred=model(x), sample_weight=np.ones(4, "float32"))
