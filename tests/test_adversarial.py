import keras
import numpy as np
import pytest

import recipes
from recipes import data
from recipes.adversarial import (
    AdversarialTrainer,
    build_adversarial_trainer,
    fgsm,
    input_gradient,
)

pytestmark = pytest.mark.backends

EPSILON = 0.1


def _accuracy(model, x, y):
    return float(np.mean(model.predict(x, verbose=0).argmax(-1) == y))


def test_input_gradient_matches_the_analytic_gradient():
    x = np.array([[1.0, -2.0, 0.5]], "float32")
    gradient = input_gradient(lambda t: keras.ops.sum(t**3), x)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(gradient), 3 * x**2, rtol=1e-6)


def test_fgsm_steps_epsilon_along_the_sign_of_the_loss_gradient():
    keras.utils.set_random_seed(0)
    model = recipes.build_mlp(input_shape=(4,), num_classes=3, hidden_units=(8,))
    rng = np.random.default_rng(0)
    x = rng.uniform(0.2, 0.8, size=(10, 4)).astype("float32")
    y = np.arange(10) % 3
    x_adv = fgsm(model, x, y, epsilon=0.05)
    loss = keras.losses.SparseCategoricalCrossentropy(reduction="sum")
    gradient = keras.ops.convert_to_numpy(input_gradient(lambda t: loss(y, model(t)), x))
    np.testing.assert_allclose(x_adv, x + 0.05 * np.sign(gradient), atol=1e-6)
    per_sample = keras.losses.sparse_categorical_crossentropy
    assert keras.ops.convert_to_numpy(per_sample(y, model(x_adv)) > per_sample(y, model(x))).all()
    clipped = fgsm(model, x, y, epsilon=0.5, clip_range=(0.0, 1.0), batch_size=3)
    assert clipped.min() >= 0.0 and clipped.max() <= 1.0


@pytest.fixture(scope="module")
def digits():
    return data.arrays("digits", "train"), data.arrays("digits", "test")


def _trained_mlp(x, y, seed=0):
    keras.utils.set_random_seed(seed)
    model = recipes.build_mlp(input_shape=(8, 8, 1), hidden_units=(64,), learning_rate=3e-3)
    model.fit(x, y, epochs=15, batch_size=64, verbose=0)
    return model


def test_fgsm_fools_a_trained_model_and_adversarial_training_recovers_part(digits):
    (x, y), (x_test, y_test) = digits
    plain = _trained_mlp(x, y)
    clean = _accuracy(plain, x_test, y_test)
    attacked = _accuracy(plain, fgsm(plain, x_test, y_test, EPSILON, clip_range=(0, 1)), y_test)
    noise = np.sign(np.random.default_rng(0).normal(size=x_test.shape))
    noisy = _accuracy(plain, np.clip(x_test + EPSILON * noise, 0, 1).astype("float32"), y_test)
    assert clean > 0.9
    assert noisy > clean - 0.05  # random signs of the same size barely matter...
    assert attacked < clean - 0.25  # ...the gradient's signs do

    # Same start, 5 more epochs: on clean data (control) or clean + FGSM (defence).
    plain.fit(x, y, epochs=5, batch_size=64, verbose=0)
    control = _accuracy(plain, fgsm(plain, x_test, y_test, EPSILON, clip_range=(0, 1)), y_test)
    defended = _trained_mlp(x, y)
    trainer = build_adversarial_trainer(
        defended, epsilon=EPSILON, clip_range=(0.0, 1.0), learning_rate=3e-3
    )
    trainer.fit(x, y, epochs=5, batch_size=64, verbose=0)
    robust = _accuracy(
        defended, fgsm(defended, x_test, y_test, EPSILON, clip_range=(0, 1)), y_test
    )
    assert robust > control + 0.1, (robust, control)
    assert _accuracy(defended, x_test, y_test) > 0.9  # still good on clean inputs


def test_adversarial_trainer_round_trips_and_evaluates_clean(roundtrip):
    keras.utils.set_random_seed(0)
    model = recipes.build_mlp(input_shape=(8, 8, 1), hidden_units=(8,), compile=False)
    trainer = build_adversarial_trainer(
        model, epsilon=0.05, adversarial_weight=0.3, clip_range=(0, 1)
    )
    x, y = data.arrays("digits", "test")
    history = trainer.fit(x[:64], y[:64], epochs=2, batch_size=32, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    # evaluate reports the clean loss (no attack at test time)
    clean = keras.losses.sparse_categorical_crossentropy(y[:64], model(x[:64]))
    np.testing.assert_allclose(
        trainer.evaluate(x[:64], y[:64], verbose=0)[0],
        np.mean(keras.ops.convert_to_numpy(clean)),
        rtol=1e-5,
    )
    loaded = roundtrip(trainer, x[:16])
    assert isinstance(loaded, AdversarialTrainer)
    assert (loaded.epsilon, loaded.adversarial_weight, loaded.clip_range) == (0.05, 0.3, (0, 1))


def test_a_zero_adversarial_weight_is_plain_training():
    x, y = data.arrays("digits", "test")
    weights = []
    for trainer_kind in ("plain", "adversarial"):
        keras.utils.set_random_seed(0)
        model = recipes.build_mlp(input_shape=(8, 8, 1), hidden_units=(8,))
        if trainer_kind == "adversarial":
            model = build_adversarial_trainer(model, adversarial_weight=0.0)
        model.fit(x[:64], y[:64], epochs=1, batch_size=32, shuffle=False, verbose=0)
        weights.append(model.get_weights())
    for a, b in zip(*weights):
        np.testing.assert_allclose(a, b, atol=1e-6)


BAD_ARGUMENTS = [
    (lambda m: fgsm(m, np.zeros((2, 4)), [0, 1], epsilon=0), "`epsilon` must be a number > 0"),
    (lambda m: fgsm(m, np.zeros((2, 4)), [0, 1], 0.1, clip_range=(1, 0)), "low < high"),
    (lambda m: fgsm(m, np.zeros((2, 4)), [0], 0.1), "same length"),
    (lambda m: build_adversarial_trainer(m, adversarial_weight=2), "`adversarial_weight`"),
    (lambda m: build_adversarial_trainer("model"), "`classifier` must be a keras.Model"),
]


def test_bad_arguments_raise_clear_errors():
    model = recipes.build_mlp(input_shape=(4,), num_classes=2, hidden_units=(4,))
    for call, message in BAD_ARGUMENTS:
        with pytest.raises(ValueError, match=message):
            call(model)
