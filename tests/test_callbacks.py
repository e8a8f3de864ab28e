import csv

import keras
import numpy as np
import pytest
from keras import ops

import callbacks
import recipes
from callbacks import EarlyStopping, LRFinder, TrainingCurves, metric_direction


def test_keras_callbacks_are_re_exported():
    for name in (
        "CSVLogger",
        "LearningRateScheduler",
        "ModelCheckpoint",
        "ReduceLROnPlateau",
        "TerminateOnNaN",
    ):
        assert getattr(callbacks, name) is getattr(keras.callbacks, name)
    assert issubclass(callbacks.EarlyStopping, keras.callbacks.EarlyStopping)
    assert set(callbacks.__all__) <= set(dir(callbacks))


def test_the_toolkit_owns_single_steps_and_its_plots():
    from recipes import compiling, plots

    # recipes uses the toolkit's pieces (never the other way round).
    assert compiling.single_steps is callbacks.single_steps
    assert plots.plot_history is callbacks.plots.plot_history
    assert plots.plot_samples is callbacks.plots.plot_samples


class Drifter(keras.Model):
    """A custom ``train_step`` model that reports its own metric: each step moves
    ``position`` by 1 and logs ``g_loss = (position - 3)^2`` through its own
    tracker, like a GAN logs its generator loss. The best epoch is the third."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.position = self.add_weight(shape=(), initializer="zeros", name="position")
        self.tracker = keras.metrics.Mean(name="g_loss")

    def call(self, inputs):
        return inputs * self.position

    def train_step(self, data):
        self.position.assign(self.position + 1.0)
        self.tracker.update_state(ops.square(self.position - 3.0))
        return {"g_loss": self.tracker.result()}

    @property
    def metrics(self):
        return [self.tracker]


def fit_drifter(callback):
    model = Drifter()
    model.compile(run_eagerly=True)
    history = model.fit(
        np.ones((4, 1), "float32"), batch_size=4, epochs=10, verbose=0, callbacks=[callback]
    )
    return model, history.history


def test_keras_early_stopping_cannot_watch_a_custom_train_step_metric():
    with pytest.raises(ValueError, match="isn't able to automatically determine"):
        fit_drifter(keras.callbacks.EarlyStopping(monitor="g_loss"))


def test_early_stopping_restores_the_best_weights_of_a_custom_train_step_model():
    stopper = EarlyStopping(monitor="g_loss", patience=2)
    model, history = fit_drifter(stopper)
    np.testing.assert_allclose(history["g_loss"], [4.0, 1.0, 0.0, 1.0, 4.0])  # stopped
    assert stopper.best_epoch == 2
    assert float(model.position.numpy()) == 3.0  # the weights of epoch 3, not 5


def test_early_stopping_on_a_gan_restores_the_best_epoch():
    x = recipes.data.arrays("moons", "train")[0][:64].astype("float32")
    gan = recipes.build_gan(
        input_shape=(2,),
        latent_dim=2,
        generator_units=(8,),
        discriminator_units=(8,),
        output_activation="linear",
        seed=0,
        learning_rate=1e-3,
        discriminator_learning_rate=0.05,
    )
    snapshots = []
    record = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: snapshots.append(gan.get_weights())
    )
    stopper = EarlyStopping(monitor="g_loss", patience=2)
    history = gan.fit(x, batch_size=64, epochs=25, verbose=0, callbacks=[record, stopper]).history
    best = int(np.argmin(history["g_loss"]))
    assert stopper.best_epoch == best
    assert len(history["g_loss"]) < 25 and best < len(history["g_loss"]) - 1  # it stopped
    for restored, saved in zip(gan.get_weights(), snapshots[best]):
        np.testing.assert_array_equal(restored, saved)
    assert len(gan.get_weights()) == len(gan.generator.get_weights()) + len(
        gan.discriminator.get_weights()
    )


def test_early_stopping_auto_monitor_and_its_errors():
    assert metric_direction("val_g_loss") == "min"
    assert metric_direction("val_accuracy") == "max"
    assert metric_direction("kl") == "min" and metric_direction("psnr") == "max"
    assert metric_direction("temperature") is None
    x = np.random.default_rng(0).normal(size=(32, 2)).astype("float32")
    y = (x[:, :1] > 0).astype("float32")
    model = recipes.build_mlp(input_shape=(2,), num_classes=1, hidden_units=(4,))
    stopper = EarlyStopping(patience=1)
    model.fit(x, y, validation_split=0.25, epochs=2, verbose=0, callbacks=[stopper])
    assert stopper.monitor == "val_loss"
    model.fit(x, y, epochs=1, verbose=0, callbacks=[stopper])
    assert stopper.monitor == "loss"
    with pytest.raises(ValueError, match="g_loss"):
        fit_drifter(EarlyStopping())  # neither loss nor val_loss: names what there is
    with pytest.raises(ValueError, match="mode='min' or mode='max'"):
        fit_drifter(EarlyStopping(monitor="temperature_like"))
    with pytest.raises(ValueError, match="mode"):
        EarlyStopping(mode="lowest")


def linear_problem():
    """Least squares on whitened inputs: the Hessian of the MSE is 2 E[x x^T], so
    SGD is stable below 2 / lambda_max (about 1) and converges fastest near half
    of that: the good range is known in closed form."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(512, 4)).astype("float32")
    y = x @ np.array([[1.0], [-2.0], [0.5], [1.5]], "float32")
    y += 0.1 * rng.normal(size=y.shape).astype("float32")
    features = np.hstack([x, np.ones((len(x), 1), "float32")])
    lambda_max = np.linalg.eigvalsh(2 * features.T @ features / len(x)).max()
    return x, y, 2.0 / lambda_max


def test_lr_finder_suggests_a_rate_in_the_known_good_range_and_restores_the_model(tmp_path):
    x, y, unstable_above = linear_problem()
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.Adam(0.01), "mse")
    model.fit(x, y, batch_size=64, epochs=1, verbose=0)  # non-trivial optimizer state
    model.compile(keras.optimizers.SGD(0.01), "mse")
    model.fit(x, y, batch_size=256, epochs=1, verbose=0)
    weights = model.get_weights()
    state = [v.numpy() for v in model.optimizer.variables]
    finder = LRFinder.find(
        model, x, y, batch_size=32, start_learning_rate=1e-4, end_learning_rate=10.0, num_steps=100
    )
    assert unstable_above / 100 < finder.suggestion < unstable_above
    # The sweep stopped when the loss blew up, past the stability limit.
    assert unstable_above < finder.learning_rates[-1] < 10.0
    assert len(finder.losses) < 100
    np.testing.assert_allclose(finder.learning_rates[:3], [finder.rate_at(i) for i in range(3)])
    for restored, saved in zip(model.get_weights(), weights):
        np.testing.assert_array_equal(restored, saved)
    for variable, saved in zip(model.optimizer.variables, state):
        np.testing.assert_array_equal(variable.numpy(), saved)
    assert float(model.optimizer.learning_rate.numpy()) == pytest.approx(0.01)
    path = finder.plot(str(tmp_path / "lr_finder.png"))
    with open(path, "rb") as handle:
        assert handle.read(8) == b"\x89PNG\r\n\x1a\n"


def test_lr_finder_rejects_schedules_and_bad_arguments():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(callbacks.StepDecay(0.1, drop_every=5)), "mse")
    with pytest.raises(ValueError, match="plain learning rate"):
        LRFinder.find(model, np.zeros((8, 2)), np.zeros((8, 1)), num_steps=10)
    with pytest.raises(ValueError, match="start_learning_rate"):
        LRFinder(start_learning_rate=1.0, end_learning_rate=0.1)
    with pytest.raises(ValueError, match="num_steps"):
        LRFinder(num_steps=5)


def test_training_curves_write_csv_and_png_every_epoch_and_restart_per_fit(tmp_path):
    x = np.random.default_rng(0).normal(size=(16, 2)).astype("float32")
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse", metrics=["mae"])
    curves = TrainingCurves(str(tmp_path), name="run", plot_every=100)  # PNG at the end
    for epochs in (3, 2):
        model.fit(x, x[:, :1], validation_split=0.25, epochs=epochs, verbose=0, callbacks=[curves])
        with open(curves.csv_path) as handle:
            rows = list(csv.reader(handle))
        assert rows[0] == ["epoch", "loss", "mae", "val_loss", "val_mae"]
        assert len(rows) == 1 + epochs
    with open(curves.png_path, "rb") as handle:
        assert handle.read(8) == b"\x89PNG\r\n\x1a\n"
