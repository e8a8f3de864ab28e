"""recipes.testing's layer harness fails the layers it should: a config that forgets
an argument, a class that is not registered serializable, a wrong output shape."""

import keras
import numpy as np
import pytest

from recipes.testing import run_layer_test


class Scale(keras.layers.Layer):
    """Multiplies by ``factor`` (Keras records the constructor's plain arguments in
    the config by itself)."""

    def __init__(self, factor=2.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def call(self, inputs):
        return inputs * self.factor


@keras.saving.register_keras_serializable(package="recipes_tests")
class GoodScale(Scale):
    pass


@keras.saving.register_keras_serializable(package="recipes_tests")
class ForgetfulScale(Scale):
    """Drops ``factor`` from its config: a clone multiplies by the default."""

    def get_config(self):
        config = super().get_config()
        config.pop("factor", None)
        return config


class UnregisteredScale(Scale):
    """Not registered serializable: a safe-mode load cannot find it."""


def test_a_good_layer_passes_and_the_result_holds_what_was_built(tmp_path):
    result = run_layer_test(
        GoodScale, {"factor": 3.0}, (2, 4), (2, 4), expected_num_params=0, directory=tmp_path
    )
    np.testing.assert_allclose(result.outputs, 3.0 * np.random.default_rng(0).normal(size=(2, 4)))
    assert result.clone.factor == 3.0 and isinstance(result.loaded, keras.Model)
    assert result.training_outputs is None


@pytest.mark.parametrize(
    "layer_cls, message",
    [
        (ForgetfulScale, "same outputs|changed the config|Not equal"),
        (UnregisteredScale, "deserialised as|Could not locate|not registered|Unknown"),
    ],
)
def test_a_faulty_layer_fails(layer_cls, message):
    with pytest.raises((AssertionError, TypeError, ValueError), match=message):
        run_layer_test(layer_cls, {"factor": 3.0}, (2, 4), (2, 4))


def test_a_wrong_shape_or_dtype_fails():
    with pytest.raises(AssertionError, match=r"output shape \(2, 4\), expected \(2, 5\)"):
        run_layer_test(GoodScale, {}, (2, 4), (2, 5))
    with pytest.raises(AssertionError, match="expected int32"):
        run_layer_test(GoodScale, {}, (2, 4), (2, None), expected_output_dtype="int32")
    with pytest.raises(ValueError, match="exactly one of `input_shape` and `input_data`"):
        run_layer_test(GoodScale, {}, expected_output_shape=(2, 4))
