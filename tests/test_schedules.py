import json
import math
import zipfile

import keras
import numpy as np
import pytest

import callbacks
from callbacks import (
    FlooredExponentialDecay,
    OneCycle,
    ScheduledMomentum,
    StepDecay,
    WarmupCosineDecay,
    plot_schedule,
    schedule,
    schedule_values,
)


def values(lr_schedule, steps, method=None):
    function = lr_schedule if method is None else getattr(lr_schedule, method)
    return [float(keras.ops.convert_to_numpy(function(step))) for step in steps]


def test_step_decay_drops_by_the_factor_every_drop_every_steps_down_to_the_floor():
    lr = StepDecay(0.1, drop_every=10, factor=0.5, min_learning_rate=0.02)
    np.testing.assert_allclose(
        values(lr, [0, 9, 10, 19, 20, 35, 1000]),
        [0.1, 0.1, 0.05, 0.05, 0.025, 0.02, 0.02],
        rtol=1e-6,
    )


def test_floored_exponential_decay_is_smooth_or_staircase_with_a_floor():
    smooth = FlooredExponentialDecay(1.0, decay_steps=10, decay_rate=0.5)
    np.testing.assert_allclose(
        values(smooth, [0, 5, 10, 20]), [1.0, 0.5**0.5, 0.5, 0.25], rtol=1e-6
    )
    stairs = FlooredExponentialDecay(
        1.0, decay_steps=10, decay_rate=0.5, staircase=True, min_learning_rate=0.2
    )
    np.testing.assert_allclose(
        values(stairs, [0, 9, 10, 15, 20, 30]), [1.0, 1.0, 0.5, 0.5, 0.25, 0.2], rtol=1e-6
    )


def test_floored_exponential_decay_is_keras_exponential_decay_above_the_floor():
    steps = [0, 3, 7, 10, 19, 33, 80]
    for staircase in (False, True):
        ours = FlooredExponentialDecay(
            0.3, decay_steps=7, decay_rate=0.6, staircase=staircase, min_learning_rate=0.05
        )
        theirs = keras.optimizers.schedules.ExponentialDecay(
            0.3, decay_steps=7, decay_rate=0.6, staircase=staircase
        )
        assert isinstance(ours, keras.optimizers.schedules.ExponentialDecay)
        np.testing.assert_allclose(
            values(ours, steps), np.maximum(values(theirs, steps), 0.05), rtol=1e-6
        )
    # The Keras name is Keras' own class: ours no longer shadows it.
    assert not hasattr(callbacks, "ExponentialDecay")


def test_warmup_cosine_rises_linearly_then_follows_half_a_cosine():
    lr = WarmupCosineDecay(
        1.0, total_steps=110, warmup_steps=10, initial_learning_rate=0.1, final_learning_rate=0.2
    )
    expected = [
        0.1,
        0.1 + 0.9 * 0.5,
        1.0,
        0.2 + 0.8 * 0.5 * (1 + math.cos(math.pi * 0.25)),  # a quarter of the decay
        0.6,
        0.2,
        0.2,
    ]
    np.testing.assert_allclose(values(lr, [0, 5, 10, 35, 60, 110, 500]), expected, rtol=1e-5)
    no_warmup = WarmupCosineDecay(2.0, total_steps=100)
    np.testing.assert_allclose(values(no_warmup, [0, 50, 100]), [2.0, 1.0, 0.0], atol=1e-6)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"warmup_steps": 10, "initial_learning_rate": 0.1, "final_learning_rate": 0.2},
        {"warmup_steps": 1},
        {"warmup_steps": 0, "initial_learning_rate": 0.5, "final_learning_rate": 0.1},
    ],
)
def test_warmup_cosine_is_keras_cosine_decay_with_its_warmup(kwargs):
    # Keras' CosineDecay (keras/src/optimizers/schedules/learning_rate_schedule.py)
    # rises linearly from initial_learning_rate to warmup_target over warmup_steps,
    # then decays from warmup_target to warmup_target * alpha over decay_steps.
    lr = WarmupCosineDecay(1.0, total_steps=110, **kwargs)
    warmup_steps = kwargs["warmup_steps"]
    keras_cosine = keras.optimizers.schedules.CosineDecay(
        kwargs.get("initial_learning_rate", 0.0),
        decay_steps=110 - warmup_steps,
        alpha=kwargs.get("final_learning_rate", 0.0),
        warmup_target=1.0,
        warmup_steps=warmup_steps,
    )
    assert isinstance(lr, keras.optimizers.schedules.CosineDecay)
    steps = [0, 1, 5, 9, 10, 11, 35, 60, 109, 110, 500]
    np.testing.assert_allclose(values(lr, steps), values(keras_cosine, steps), rtol=1e-6)


def test_one_cycle_rate_and_momentum_at_the_phase_boundaries_and_midpoints():
    lr = OneCycle(
        1.0,
        total_steps=100,
        warmup_fraction=0.3,
        div_factor=10.0,
        final_div_factor=100.0,
        base_momentum=0.8,
        max_momentum=0.9,
    )
    # Start 0.1, peak 1.0 at step 30, end 0.1 / 100 = 0.001 at step 100.
    np.testing.assert_allclose(
        values(lr, [0, 15, 30, 65, 100, 150]),
        [0.1, 0.55, 1.0, (1.0 + 0.001) / 2, 0.001, 0.001],
        rtol=1e-5,
    )
    np.testing.assert_allclose(
        values(lr, [0, 15, 30, 65, 100], "momentum"), [0.9, 0.85, 0.8, 0.85, 0.9], rtol=1e-5
    )
    assert lr.initial_learning_rate == pytest.approx(0.1)
    assert lr.final_learning_rate == pytest.approx(0.001)


@pytest.mark.parametrize(
    "name, cls, kwargs",
    [
        ("step", StepDecay, {"learning_rate": 0.1, "drop_every": 5}),
        ("exponential", FlooredExponentialDecay, {"learning_rate": 0.1, "decay_steps": 5}),
        (
            "warmup_cosine",
            WarmupCosineDecay,
            {"learning_rate": 0.1, "total_steps": 50, "warmup_steps": 5},
        ),
        ("cosine", WarmupCosineDecay, {"learning_rate": 0.1, "total_steps": 50}),
        ("one_cycle", OneCycle, {"max_learning_rate": 0.1, "total_steps": 50}),
    ],
)
def test_schedule_by_name_and_serialization_round_trip(name, cls, kwargs):
    lr = schedule(name, **kwargs)
    assert type(lr) is cls
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(lr))
    assert type(restored) is cls and restored.get_config() == lr.get_config()
    steps = [0, 3, 7, 20, 49]
    np.testing.assert_allclose(values(restored, steps), values(lr, steps))


def test_schedule_rejects_unknown_names_and_bad_arguments():
    with pytest.raises(ValueError, match="`name` must be one of"):
        schedule("triangular", learning_rate=0.1)
    with pytest.raises(ValueError, match="drop_every"):
        StepDecay(0.1, drop_every=0)
    with pytest.raises(ValueError, match="factor"):
        StepDecay(0.1, drop_every=10, factor=1.5)
    with pytest.raises(ValueError, match="warmup_steps"):
        WarmupCosineDecay(0.1, total_steps=10, warmup_steps=10)
    with pytest.raises(ValueError, match="warmup_fraction"):
        OneCycle(0.1, total_steps=10, warmup_fraction=1.0)
    with pytest.raises(ValueError, match="learning_rate"):
        FlooredExponentialDecay(-1.0, decay_steps=10)
    with pytest.raises(ValueError, match="decay_rate"):
        FlooredExponentialDecay(0.1, decay_steps=10, decay_rate=2.0)


def test_a_compiled_model_follows_the_schedule_and_saves_it(tmp_path):
    x = np.random.default_rng(0).normal(size=(32, 3)).astype("float32")
    y = x.sum(axis=1, keepdims=True)
    lr = StepDecay(0.1, drop_every=4, factor=0.5)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(lr), "mse")
    model.fit(x, y, batch_size=8, epochs=3, verbose=0)  # 12 steps: 3 drops
    assert int(model.optimizer.iterations.numpy()) == 12
    assert float(model.optimizer.learning_rate.numpy()) == pytest.approx(0.1 / 8)
    path = str(tmp_path / "scheduled.keras")
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert loaded.optimizer.get_config()["learning_rate"]["registered_name"] == "recipes>StepDecay"
    assert float(loaded.optimizer.learning_rate.numpy()) == pytest.approx(0.1 / 8)


# What `keras.saving.serialize_keras_object` wrote for the schedule before its rename
# from ExponentialDecay to FlooredExponentialDecay.
OLD_EXPONENTIAL_DECAY = {
    "module": "callbacks.schedules",
    "class_name": "ExponentialDecay",
    "config": {
        "learning_rate": 0.1,
        "decay_steps": 4,
        "decay_rate": 0.5,
        "staircase": True,
        "min_learning_rate": 0.02,
        "name": "exponential_decay",
    },
    "registered_name": "recipes>ExponentialDecay",
}


def test_a_schedule_saved_under_the_old_name_loads_as_the_renamed_class(tmp_path):
    lr = keras.saving.deserialize_keras_object(OLD_EXPONENTIAL_DECAY)
    assert type(lr) is FlooredExponentialDecay
    assert lr.get_config() == OLD_EXPONENTIAL_DECAY["config"]
    np.testing.assert_allclose(values(lr, [0, 4, 8, 12, 40]), [0.1, 0.05, 0.025, 0.02, 0.02])
    # New saves use the new name.
    assert keras.saving.serialize_keras_object(lr)["registered_name"] == (
        "recipes>FlooredExponentialDecay"
    )

    # A whole .keras model file written before the rename.
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(lr), "mse")
    model.fit(np.ones((16, 3)), np.ones((16, 1)), batch_size=4, epochs=2, verbose=0)  # 8 steps
    new_path, old_path = tmp_path / "new.keras", tmp_path / "old.keras"
    model.save(new_path)
    with zipfile.ZipFile(new_path) as source, zipfile.ZipFile(old_path, "w") as target:
        for item in source.infolist():
            content = source.read(item.filename)
            if item.filename == "config.json":
                config = json.loads(content)
                optimizer = config["compile_config"]["optimizer"]["config"]
                assert optimizer["learning_rate"]["class_name"] == "FlooredExponentialDecay"
                optimizer["learning_rate"] = OLD_EXPONENTIAL_DECAY
                content = json.dumps(config)
            target.writestr(item, content)
    loaded = keras.saving.load_model(old_path, safe_mode=True)
    saved_again = loaded.optimizer.get_config()["learning_rate"]
    assert saved_again["registered_name"] == "recipes>FlooredExponentialDecay"
    assert int(loaded.optimizer.iterations.numpy()) == 8
    assert float(loaded.optimizer.learning_rate.numpy()) == pytest.approx(0.1 * 0.5**2)


def test_schedule_values_and_plot_work_for_ours_and_keras_schedules(tmp_path):
    rates, momenta = schedule_values(OneCycle(0.1, total_steps=40), 40)
    assert rates.shape == momenta.shape == (40,)
    assert rates.argmax() == 12 and momenta.argmin() == 12
    keras_cosine = keras.optimizers.schedules.CosineDecay(0.1, decay_steps=40)
    rates, momenta = schedule_values(keras_cosine, 40)
    assert momenta is None and rates[0] == pytest.approx(0.1)
    warmup = WarmupCosineDecay(0.1, total_steps=40, warmup_steps=10)  # branches: ops.cond
    rates, momenta = schedule_values(warmup, 40)
    assert momenta is None and rates.argmax() == 10
    np.testing.assert_allclose(rates, values(warmup, range(40)))
    for lr_schedule in (OneCycle(0.1, total_steps=40), keras_cosine, warmup):
        path = plot_schedule(lr_schedule, 40, str(tmp_path / "schedule.png"), log_scale=True)
        with open(path, "rb") as handle:
            assert handle.read(8) == b"\x89PNG\r\n\x1a\n"


class HalfMomentum(keras.optimizers.schedules.LearningRateSchedule):
    """A momentum schedule: 0.9 for two steps, then 0.5."""

    def __call__(self, step):
        return keras.ops.where(keras.ops.convert_to_tensor(step) < 2, 0.9, 0.5)


def sgd_momentum_reference(grads, momenta, lr):
    """NumPy SGD with a momentum per step: v <- m_t v - lr g; w <- w + v."""
    weight, velocity = 0.0, 0.0
    for grad, momentum in zip(grads, momenta):
        velocity = momentum * velocity - lr * grad
        weight += velocity
    return weight


def test_scheduled_momentum_is_exactly_sgd_with_the_momentum_of_each_step():
    variable = keras.Variable(np.zeros(1, "float32"))
    optimizer = ScheduledMomentum(keras.optimizers.SGD(0.1, momentum=0.9), HalfMomentum())
    grads = [1.0, 2.0, -1.0, 0.5, 3.0]
    for grad in grads:
        optimizer.apply([keras.ops.convert_to_tensor([grad])], [variable])
    expected = sgd_momentum_reference(grads, [0.9, 0.9, 0.5, 0.5, 0.5], 0.1)
    assert float(variable.numpy()[0]) == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("kind", ["sgd", "adam"])
def test_scheduled_momentum_inside_compiled_fit_matches_the_constant_momentum(kind):
    # A constant schedule of 0.5 must reproduce the optimizer built with 0.5.
    x = np.random.default_rng(1).normal(size=(24, 3)).astype("float32")
    y = x @ np.array([[1.0], [-1.0], [2.0]], "float32")

    def optimizer(momentum):
        if kind == "sgd":
            return keras.optimizers.SGD(0.05, momentum=momentum)
        return keras.optimizers.Adam(0.05, beta_1=momentum)

    def train(opt):
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
        model.compile(opt, "mse")
        model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
        return model.get_weights()[0]

    # The inner optimizer is built with 0.9; only the schedule can make it act as 0.5.
    constant = keras.optimizers.schedules.ExponentialDecay(0.5, 1, 1.0)  # always 0.5
    wrapped = train(ScheduledMomentum(optimizer(0.9), constant))
    np.testing.assert_allclose(wrapped, train(optimizer(0.5)), rtol=1e-5, atol=1e-6)


def test_scheduled_momentum_rejects_optimizers_without_momentum():
    with pytest.raises(ValueError, match="momentum > 0"):
        ScheduledMomentum(keras.optimizers.SGD(0.1), OneCycle(0.1, total_steps=10))
    with pytest.raises(ValueError, match="beta_1"):
        ScheduledMomentum(keras.optimizers.Adagrad(0.1), OneCycle(0.1, total_steps=10))
