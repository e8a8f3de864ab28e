import keras
import numpy as np
import pytest

import recipes
from recipes import data
from recipes.debugging import OverfitReport, overfit_check, training_accuracy


def test_a_working_model_overfits_50_samples():
    keras.utils.set_random_seed(0)
    model = recipes.build_mlp(input_shape=(8, 8, 1), hidden_units=(64,), learning_rate=1e-2)
    report = overfit_check(model, data.arrays("digits", "train"), n=50)
    assert isinstance(report, OverfitReport)
    assert report.passed and report.accuracy >= 0.99 and report.hint == ""
    assert report.epochs == len(report.accuracy_curve) == len(report.loss_curve) < 300
    assert report.accuracy_curve[0] < report.accuracy_curve[-1]
    assert report.loss_curve[-1] < report.loss_curve[0]


def test_a_crippled_model_is_reported_with_a_hint():
    keras.utils.set_random_seed(0)
    model = recipes.build_mlp(input_shape=(8, 8, 1), hidden_units=(64,), learning_rate=1e-7)
    report = overfit_check(model, "digits", n=50, epochs=20)
    assert not report.passed and report.accuracy < 0.5
    assert report.epochs == 20
    assert "learning rate" in report.hint


def test_batches_and_a_sigmoid_output_are_accepted():
    x, y = data.arrays("moons", "train")
    batches = [(x[i : i + 16], y[i : i + 16]) for i in range(0, 256, 16)]
    keras.utils.set_random_seed(0)
    model = recipes.build_mlp(
        input_shape=(2,), num_classes=1, hidden_units=(32, 32), learning_rate=3e-2
    )
    report = overfit_check(model, batches, n=50, target=0.95)
    assert report.passed, report
    assert training_accuracy(model, x[:4], y[:4]) in (0.0, 0.25, 0.5, 0.75, 1.0)


BAD_ARGUMENTS = [
    ({"n": 0}, "`n` must be an integer >= 1"),
    ({"target": 1.5}, r"`target` must be in \(0, 1\]"),
    ({"n": 5000}, "`n` must be at most"),
    ({"dataset": 3}, "`dataset` must be"),
    ({"model": "mlp"}, "`model` must be a compiled keras.Model"),
]


def test_bad_arguments_raise_clear_errors():
    model = recipes.build_mlp(input_shape=(8, 8, 1), hidden_units=(4,))
    for arguments, message in BAD_ARGUMENTS:
        kwargs = {"model": model, "dataset": data.arrays("digits", "test"), **arguments}
        with pytest.raises(ValueError, match=message):
            overfit_check(**kwargs)


def test_an_uncompiled_model_is_rejected():
    model = recipes.build_mlp(input_shape=(8, 8, 1), hidden_units=(4,), compile=False)
    with pytest.raises(ValueError, match="compiled"):
        overfit_check(model, data.arrays("digits", "test"))
    assert np.isfinite(model.count_params())
