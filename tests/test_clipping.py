import keras
import numpy as np
import pytest

from callbacks import AutoClip, GradientNormMonitor

pytestmark = pytest.mark.backends


def apply_gradients(optimizer, gradients):
    """Applies each gradient (a NumPy vector) to one variable, eagerly, and returns
    the updates (SGD with rate 1: the update is minus the clipped gradient)."""
    variable = keras.Variable(np.zeros(len(gradients[0]), "float32"))
    updates = []
    for gradient in gradients:
        before = variable.numpy().copy()
        optimizer.apply([keras.ops.convert_to_tensor(np.asarray(gradient, "float32"))], [variable])
        updates.append(before - variable.numpy())
    return updates


def test_autoclip_clips_to_the_percentile_of_the_norm_history_including_the_current():
    gradients = [[3.0, 4.0], [0.0, 2.0], [10.0, 0.0], [0.0, 1.0], [0.0, -8.0]]
    norms = [5.0, 2.0, 10.0, 1.0, 8.0]
    updates = apply_gradients(AutoClip(keras.optimizers.SGD(1.0), percentile=50), gradients)
    for t, (gradient, update) in enumerate(zip(gradients, updates)):
        threshold = np.percentile(norms[: t + 1], 50)
        expected = np.asarray(gradient) * min(1.0, threshold / norms[t])
        np.testing.assert_allclose(update, expected, rtol=1e-5, atol=1e-6)
    # The spike at step 2 (norm 10) was cut to the median of (5, 2, 10): 5.
    assert np.linalg.norm(updates[2]) == pytest.approx(5.0)


def test_autoclip_history_is_a_ring_buffer_of_the_last_norms():
    optimizer = AutoClip(keras.optimizers.SGD(1.0), percentile=100, history_size=2)
    apply_gradients(optimizer, [[1.0], [2.0], [3.0]])
    assert int(optimizer.norm_count.numpy()) == 3
    np.testing.assert_allclose(optimizer.norm_history.numpy(), [3.0, 2.0])


def test_autoclip_without_percentile_records_but_does_not_clip():
    optimizer = AutoClip(keras.optimizers.SGD(1.0), percentile=None)
    gradients = [[1.0], [100.0]]
    updates = apply_gradients(optimizer, gradients)
    np.testing.assert_allclose(np.concatenate(updates), [1.0, 100.0])
    np.testing.assert_allclose(optimizer.norm_history.numpy()[:2], [1.0, 100.0])


def test_autoclip_rejects_bad_arguments():
    with pytest.raises(ValueError, match="percentile"):
        AutoClip(keras.optimizers.SGD(), percentile=0)
    with pytest.raises(ValueError, match="history_size"):
        AutoClip(keras.optimizers.SGD(), history_size=0)
    with pytest.raises(ValueError, match="inner_optimizer"):
        AutoClip("sgd")


def spiky_regression():
    """A linear target learnt by a ReLU MLP, with two corrupted rows whose inputs
    are 300 times too large: the batches holding them have gradients ~10^4 times
    the others, the spikes that make unclipped SGD blow up."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 4)).astype("float32")
    y = x @ np.array([[1.0], [-2.0], [0.5], [1.5]], "float32")
    corrupted = x.copy()
    corrupted[[40, 170]] *= 300.0
    return x, y, corrupted


@pytest.mark.parametrize(
    "clipping",
    ["none", "autoclip", "global_clipnorm"],
)
def test_exploding_gradients_diverge_unclipped_and_train_clipped(clipping):
    x, y, corrupted = spiky_regression()
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((4,)),
            keras.layers.Dense(16, activation="relu"),
            keras.layers.Dense(16, activation="relu"),
            keras.layers.Dense(1),
        ]
    )
    optimizer = {
        "none": keras.optimizers.SGD(0.05),
        "autoclip": AutoClip(keras.optimizers.SGD(0.05), percentile=10),
        "global_clipnorm": keras.optimizers.SGD(0.05, global_clipnorm=5.0),
    }[clipping]
    model.compile(optimizer, "mse")
    before = model.evaluate(x, y, verbose=0)
    # Three passes in one epoch (no per-epoch overhead), batches in a fixed order.
    model.fit(
        np.tile(corrupted, (3, 1)),
        np.tile(y, (3, 1)),
        batch_size=16,
        epochs=1,
        shuffle=False,
        verbose=0,
    )
    after = model.evaluate(x, y, verbose=0)
    if clipping == "none":
        assert not np.isfinite(after) or after > 1e3 * before
    else:
        assert np.isfinite(after) and after < 0.1 * before


def test_gradient_norm_monitor_logs_the_norms_autoclip_records():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 3)).astype("float32")
    y = x.sum(axis=1, keepdims=True)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    optimizer = AutoClip(keras.optimizers.SGD(0.05), percentile=25, history_size=100)
    model.compile(optimizer, "mse")
    history = model.fit(
        x, y, batch_size=16, epochs=3, verbose=0, callbacks=[GradientNormMonitor()]
    ).history
    norms = optimizer.norm_history.numpy()[:12]  # 3 epochs of 4 steps
    np.testing.assert_allclose(history["grad_norm"], norms.reshape(3, 4).mean(axis=1), rtol=1e-5)
    np.testing.assert_allclose(
        history["grad_norm_max"], norms.reshape(3, 4).max(axis=1), rtol=1e-5
    )
    assert history["clip_threshold"][-1] == pytest.approx(np.percentile(norms, 25), rel=1e-5)
    assert history["grad_norm"][-1] < history["grad_norm"][0]  # it converges


def test_gradient_norm_monitor_needs_autoclip():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    with pytest.raises(ValueError, match="AutoClip"):
        model.fit(np.zeros((4, 2)), np.zeros((4, 1)), verbose=0, callbacks=[GradientNormMonitor()])


def test_a_model_compiled_with_autoclip_saves_and_loads_its_state(tmp_path, roundtrip):
    x = np.random.default_rng(0).normal(size=(32, 3)).astype("float32")
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(AutoClip(keras.optimizers.Adam(0.01), percentile=10, history_size=50), "mse")
    model.fit(x, x[:, :2], batch_size=8, epochs=2, verbose=0)
    loaded = roundtrip(model, x)
    assert isinstance(loaded.optimizer, AutoClip)
    assert isinstance(loaded.optimizer.inner_optimizer, keras.optimizers.Adam)
    assert loaded.optimizer.percentile == 10 and loaded.optimizer.history_size == 50
    for saved, restored in zip(model.optimizer.variables, loaded.optimizer.variables):
        np.testing.assert_array_equal(saved.numpy(), restored.numpy())
    assert int(loaded.optimizer.iterations.numpy()) == 8
