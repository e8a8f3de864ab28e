import keras
import numpy as np
import pytest

import recipes
from recipes.autodiff import input_gradient
from recipes.layers import GradientReversal
from recipes.models.dann import (
    IgnoreClassAccuracy,
    LambdaScheduler,
    ganin_lambda,
    make_dann_data,
)

pytestmark = pytest.mark.backends


def _input_gradient(layer, x, w, compiled=False):
    """d sum(w * layer(x)) / dx, eagerly or (``compiled``) inside a compiled function
    the way a training step runs it: ``tf.function`` or ``jax.jit``."""

    def gradient(t):
        weights = keras.ops.convert_to_tensor(w)
        return input_gradient(lambda u: keras.ops.sum(layer(u) * weights), t)

    if compiled:
        backend = keras.backend.backend()
        if backend == "tensorflow":
            import tensorflow as tf

            gradient = tf.function(gradient)
        elif backend == "jax":
            import jax

            gradient = jax.jit(gradient)
        else:
            pytest.skip(f"no compiled gradient to check on the {backend} backend")
    return keras.ops.convert_to_numpy(gradient(keras.ops.convert_to_tensor(x)))


def test_gradient_reversal_is_identity_forward_and_reverses_the_gradient():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 5)).astype("float32")
    w = rng.normal(size=(3, 5)).astype("float32")
    layer = GradientReversal(lambda_=0.7)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer(x)), x)
    # d/dx sum(w * x) is w; through the layer it is -0.7 * w.
    np.testing.assert_allclose(_input_gradient(layer, x, w), -0.7 * w, rtol=1e-6)
    layer.set_lambda(2.5)  # a schedule changes it without rebuilding or retracing
    np.testing.assert_allclose(_input_gradient(layer, x, w, compiled=True), -2.5 * w, rtol=1e-6)
    assert layer.get_lambda() == pytest.approx(2.5)


def test_gradient_reversal_config_and_errors():
    layer = GradientReversal(lambda_=0.3, name="grl")
    clone = GradientReversal.from_config(layer.get_config())
    assert clone.lambda_ == 0.3 and clone.name == "grl"
    with pytest.raises(ValueError, match="`lambda_` must be a number"):
        GradientReversal(lambda_="1")
    with pytest.raises(ValueError, match="`value` must be a number"):
        layer.set_lambda(None)


def _domain_data(n=64, seed=0):
    rng = np.random.default_rng(seed)
    x_source = rng.uniform(size=(n, 8, 8, 1)).astype("float32")
    y_source = np.arange(n) % 3
    x_target = (rng.uniform(size=(n, 8, 8, 1)) * 0.5 + 0.5).astype("float32")  # shifted
    return make_dann_data(x_source, y_source, x_target)


def test_make_dann_data_marks_target_samples():
    x, y = _domain_data(10)
    assert x.shape == (20, 8, 8, 1)
    assert (y["label"][y["domain"] == 1] == -1).all()
    assert (y["label"][y["domain"] == 0] >= 0).all()
    assert (y["domain"] == 1).sum() == 10
    with pytest.raises(ValueError, match="same length"):
        make_dann_data(np.zeros((3, 2)), np.zeros(2), np.zeros((2, 2)))
    with pytest.raises(ValueError, match="same sample shape"):
        make_dann_data(np.zeros((3, 2)), np.zeros(3), np.zeros((2, 3)))


def test_dann_builds_trains_and_round_trips(recipe_check):
    model = recipes.build_dann(
        input_shape=(8, 8, 1), num_classes=3, features=(16,), domain_units=(8,), learning_rate=1e-2
    )
    assert model.get_layer("gradient_reversal").get_lambda() == 1.0
    assert model.output["label"].shape == (None, 3)
    assert model.output["domain"].shape == (None, 2)
    x, y = _domain_data()
    loaded = recipe_check(model, x, y, steps=10, factor=0.98)
    assert isinstance(loaded.get_layer("gradient_reversal"), GradientReversal)


def _feature_change(lambda_):
    """How much the shared features move when only the domain loss trains."""
    keras.utils.set_random_seed(0)
    model = recipes.build_dann(
        input_shape=(8, 8, 1),
        num_classes=3,
        features=(16,),
        lambda_=lambda_,
        loss_weights={"label": 0.0},
        optimizer="sgd",
        learning_rate=0.1,
    )
    before = model.get_layer("features_dense_1").get_weights()[0].copy()
    x, y = _domain_data()
    model.fit(x, y, epochs=2, batch_size=32, verbose=0)
    return np.abs(model.get_layer("features_dense_1").get_weights()[0] - before).max()


def test_the_domain_loss_reaches_the_features_only_through_the_reversal():
    assert _feature_change(0.0) == 0.0  # lambda 0 blocks the domain gradient
    assert _feature_change(1.0) > 1e-4


def test_lambda_scheduler_follows_ganin_schedule_inside_fit():
    model = recipes.build_dann(input_shape=(8, 8, 1), num_classes=3, features=(8,), lambda_=0.0)
    scheduler = LambdaScheduler()
    x, y = _domain_data(16)
    model.fit(x, y, epochs=3, batch_size=32, verbose=0, callbacks=[scheduler])
    expected = [ganin_lambda(p) for p in (0.0, 0.5, 1.0)]
    np.testing.assert_allclose(scheduler.history, expected)
    assert expected[0] == 0.0 and expected[-1] > 0.99
    assert model.get_layer("gradient_reversal").get_lambda() == pytest.approx(expected[-1])
    with pytest.raises(ValueError, match="needs a model with a GradientReversal"):
        recipes.build_mlp(input_shape=(4,)).fit(
            np.zeros((2, 4)), np.zeros(2), verbose=0, callbacks=[LambdaScheduler()]
        )


def test_ignore_class_accuracy_counts_labelled_samples_only():
    metric = IgnoreClassAccuracy()
    metric.update_state(
        np.array([1, -1, 0, 2]), np.array([[0.1, 0.9, 0], [0.9, 0.1, 0], [0.2, 0.8, 0], [0, 0, 1]])
    )
    assert float(metric.result()) == pytest.approx(2 / 3)
    assert IgnoreClassAccuracy.from_config(metric.get_config()).ignore_class == -1


BAD_ARGUMENTS = [
    ({"num_domains": 1}, "`num_domains` must be an integer >= 2"),
    ({"domain_units": (4, -1)}, r"`domain_units\[1\]` must be an integer"),
    ({"features": "dense"}, "`features` must be a tuple of hidden widths"),
    ({"loss": {"labels": "mse"}}, "`loss` must be a dict with keys 'label'"),
    ({"loss_weights": {"domain": -0.5}}, "must be a number >= 0"),
    ({"lambda_": "high"}, "`lambda_` must be a number"),
]


def test_bad_arguments_raise_clear_errors():
    for arguments, message in BAD_ARGUMENTS:
        with pytest.raises(ValueError, match=message):
            recipes.build_dann(**arguments)
