import keras
import numpy as np
import pytest

import recipes
from recipes import data
from recipes.losses import BinaryHinge, MulticlassHinge
from recipes.testing import assert_loss_decreases

pytestmark = [pytest.mark.backends, pytest.mark.smoke]


def _check(model, x, y, steps, roundtrip=None, factor=0.9):
    """``recipe_check`` in one epoch: ``steps`` full-batch gradient steps on the
    repeated batch (Keras's per-epoch overhead dominates on data this small), the
    loss must fall below ``factor`` x start, then (given the ``roundtrip``
    fixture) the .keras round trip on ``x``."""
    repeated_x, repeated_y = np.concatenate([x] * steps), np.concatenate([y] * steps)
    assert_loss_decreases(model, repeated_x, repeated_y, steps=1, factor=factor, batch_size=len(x))
    return roundtrip(model, x) if roundtrip else None


def _separable(n=120, classes=2, seed=0):
    """Gaussian blobs far apart: linearly separable with a wide margin."""
    rng = np.random.default_rng(seed)
    centres = 4.0 * np.array([[1.0, 1.0], [-1.0, -1.0], [1.0, -1.0]])[:classes]
    labels = np.arange(n) % classes
    x = centres[labels] + rng.normal(scale=0.5, size=(n, 2))
    return x.astype("float32"), labels


@pytest.mark.parametrize("signed", [True, False], ids=["minus_one_one", "zero_one"])
def test_perceptron_separates_a_linearly_separable_set(signed, roundtrip):
    x, labels = _separable()
    y = (2 * labels - 1 if signed else labels).astype("float32")
    model = recipes.build_linear("perceptron", input_shape=(2,), learning_rate=0.05)
    assert isinstance(model.loss, BinaryHinge) and model.loss.margin == 1.0
    assert model.output_shape == (None, 1) and model.count_params() == 3
    # The classic perceptron start, w = 0: the seeded Glorot draw differs by backend,
    # and one draw (JAX's) is nearly orthogonal to the separating direction, too slow
    # to sort every point in 15 steps.
    model.set_weights([np.zeros((2, 1)), np.zeros(1)])
    loaded = _check(model, x, y, 15, roundtrip if signed else None)
    scores = model.predict(x, verbose=0)[:, 0]
    np.testing.assert_array_equal(scores > 0, labels == 1)  # every point on its side
    assert (
        model.evaluate(x, y, batch_size=len(x), verbose=0, return_dict=True)["sign_accuracy"]
        == 1.0
    )
    if signed:
        assert isinstance(loaded.loss, BinaryHinge)


def test_multiclass_perceptron_uses_the_multiclass_hinge(roundtrip):
    x, y = _separable(classes=3)
    model = recipes.build_linear(
        "perceptron", input_shape=(2,), num_classes=3, margin=0.5, learning_rate=0.05
    )
    assert isinstance(model.loss, MulticlassHinge) and model.loss.margin == 0.5
    assert model.output_shape == (None, 3)
    loaded = _check(model, x, y, 15, roundtrip)
    assert (model.predict(x, verbose=0).argmax(axis=1) == y).mean() == 1.0
    assert loaded.loss.margin == 0.5


def test_logistic_regression_outputs_probabilities():
    x, y = _separable()
    model = recipes.build_linear("logistic", input_shape=(2,))
    assert model.loss == "binary_crossentropy" and model.output_shape == (None, 1)
    _check(model, x, y.astype("float32"), 15)
    probabilities = model.predict(x, verbose=0)
    assert ((probabilities > 0) & (probabilities < 1)).all()
    assert ((probabilities[:, 0] > 0.5) == (y == 1)).mean() == 1.0


def test_softmax_regression_learns_digits(roundtrip):
    x, y = data.arrays("digits", "train")
    model = recipes.build_linear(
        "softmax", input_shape=(8, 8, 1), num_classes=10, learning_rate=1.0
    )
    assert model.count_params() == 64 * 10 + 10
    assert model.loss == "sparse_categorical_crossentropy"
    x_test, y_test = data.arrays("digits", "test")
    untrained = model.evaluate(x_test, y_test, verbose=0, return_dict=True)["accuracy"]
    x, y = x[:256], y[:256]
    _check(model, x, y, 30, roundtrip)
    assert model.evaluate(x, y, batch_size=len(x), verbose=0, return_dict=True)["accuracy"] > 0.9
    # on the 359 test digits, against the untrained model (chance is 0.1): about 0.9
    # against 0.07 to 0.17
    held_out = model.evaluate(x_test, y_test, verbose=0, return_dict=True)["accuracy"]
    assert held_out > 0.8 and held_out > untrained + 0.5, (untrained, held_out)
    np.testing.assert_allclose(model.predict(x[:4], verbose=0).sum(axis=1), 1.0, rtol=1e-5)


@pytest.mark.parametrize("loss", [None, "mean_absolute_error"], ids=["squared", "absolute"])
def test_linear_regression_recovers_the_weights(loss, roundtrip):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(128, 3)).astype("float32")
    true_w, true_b = np.array([[1.5], [-2.0], [0.5]], "float32"), 0.75
    y = x @ true_w + true_b
    model = recipes.build_linear("linear", input_shape=(3,), loss=loss, learning_rate=0.1)
    assert model.loss == (loss or "mean_squared_error")
    _check(model, x, y, 40, roundtrip if loss is None else None, factor=0.2)
    kernel, bias = model.get_layer("scores").get_weights()
    np.testing.assert_allclose(kernel, true_w, atol=0.15)
    np.testing.assert_allclose(bias, [true_b], atol=0.15)


BAD_ARGUMENTS = [
    ({"kind": "svm"}, "`kind` must be one of"),
    ({"kind": "logistic", "num_classes": 3}, "kind='logistic' is binary"),
    ({"kind": "softmax", "num_classes": 1}, "`num_classes` must be an integer >= 2"),
    ({"kind": "linear", "num_classes": 0}, "`num_classes` must be an integer >= 1"),
    ({"kind": "logistic", "margin": 0.5}, "`margin` is the perceptron's hinge margin"),
    ({"kind": "perceptron", "margin": -1.0}, "`margin` must be a number >= 0"),
    ({"l1": -0.1}, "`l1` must be a number >= 0"),
    ({"input_shape": ()}, "`input_shape` must be a non-empty tuple"),
]


def test_bad_arguments_raise_clear_errors():
    # One test for the whole table: each test pays about a second of session reset.
    for arguments, message in BAD_ARGUMENTS:
        with pytest.raises(ValueError, match=message):
            recipes.build_linear(**arguments)


def test_several_targets_l2_name_and_uncompiled_on_request():
    model = recipes.build_linear("linear", input_shape=(4,), num_classes=2, l2=0.01)
    assert model.output_shape == (None, 2) and len(model.losses) == 1
    with recipes.precision("mixed_float16"):
        mixed = recipes.build_linear("perceptron", compile=False)
    assert mixed.get_layer("scores").compute_dtype == "float32"
    model = recipes.build_linear("softmax", num_classes=3, compile=False, name="lin")
    assert recipes.build_linear is recipes.builders()["build_linear"]
    assert not model.compiled and model.name == "lin"
    assert isinstance(model, keras.Sequential)
