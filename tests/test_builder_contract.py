"""The compile contract: `register_builder(...)` gives every builder the five compile
arguments, documents them once and compiles with the builder's stated defaults."""

import inspect

import keras
import numpy as np
import pytest

import recipes
from recipes.compiling import COMPILE_ARGUMENTS, BuiltModel, compiled_builder


def _dense_body(input_shape=(3,), units=2, name="toy"):
    """Builds a toy model.

    Args:
        input_shape: shape of one sample.
        units: outputs.
        name: model name.

    Returns:
        A model.
    """
    return keras.Sequential(
        [keras.Input(input_shape), keras.layers.Dense(units, name="out")], name=name
    )


def build_toy(input_shape=(3,), units=2, name="toy"):
    return _dense_body(input_shape, units, name)


build_toy.__doc__ = _dense_body.__doc__


def test_builder_gets_the_compile_arguments_after_its_own_and_documents_them_once():
    builder = compiled_builder(build_toy, optimizer="sgd", learning_rate=0.05, loss="mse")
    params = inspect.signature(builder).parameters
    assert list(params) == ["input_shape", "units", "name", *COMPILE_ARGUMENTS]
    assert params["optimizer"].default == "sgd"
    assert params["learning_rate"].default == 0.05
    assert all(params[n].kind is inspect.Parameter.KEYWORD_ONLY for n in COMPILE_ARGUMENTS)
    doc = builder.__doc__
    assert doc.count("learning_rate:") == 1
    assert doc.index("metrics:") < doc.index("Returns:")


def test_defaults_apply_and_user_overrides_win():
    builder = compiled_builder(build_toy, optimizer="sgd", learning_rate=0.05, loss="mse")
    model = builder(units=1)
    assert model.loss == "mse"
    assert isinstance(model.optimizer, keras.optimizers.SGD)
    assert float(model.optimizer.learning_rate) == pytest.approx(0.05)
    model = builder(units=1, optimizer="adam", learning_rate=0.2, loss="mae", metrics=["mse"])
    assert model.loss == "mae"
    assert isinstance(model.optimizer, keras.optimizers.Adam)
    assert float(model.optimizer.learning_rate) == pytest.approx(0.2)
    assert not builder(units=1, compile=False).compiled
    # an optimizer instance keeps its own rate; a rate beside an instance is refused
    model = builder(units=1, optimizer=keras.optimizers.SGD(0.3))
    assert float(model.optimizer.learning_rate) == pytest.approx(0.3)
    with pytest.raises(ValueError, match="Pass `learning_rate` with an optimizer name"):
        builder(units=1, optimizer=keras.optimizers.SGD(0.3), learning_rate=0.1)


def test_a_built_model_states_argument_dependent_defaults_and_factories_make_fresh_objects():
    def build_head(units=2):
        model = _dense_body(units=units)
        loss = "mse" if units == 1 else "sparse_categorical_crossentropy"
        return BuiltModel(model, loss=loss, compile_kwargs={"steps_per_execution": 2})

    builder = compiled_builder(build_head, metrics=lambda: [keras.metrics.MeanSquaredError()])
    one, two = builder(units=1), builder(units=3)
    assert one.loss == "mse" and two.loss == "sparse_categorical_crossentropy"
    assert one.steps_per_execution == 2
    x, y = np.zeros((4, 3), "float32"), np.zeros((4, 1), "float32")
    one.evaluate(x, y, verbose=0)
    assert one.metrics[-1] is not two.metrics[-1]


def test_make_optimizer_receives_the_users_choice():
    seen = []

    def build_special(units=2):
        def make(optimizer, learning_rate):
            seen.append((optimizer, learning_rate))
            return keras.optimizers.SGD(learning_rate, clipnorm=1.0)

        return BuiltModel(_dense_body(units=units), loss="mse", make_optimizer=make)

    model = compiled_builder(build_special)(learning_rate=0.3, optimizer="rmsprop")
    assert seen == [("rmsprop", 0.3)]
    assert model.optimizer.clipnorm == 1.0


def test_builtin_loss_refuses_a_user_loss_and_bodies_must_not_declare_compile_arguments():
    builder = compiled_builder(build_toy, builtin_loss=True)
    with pytest.raises(ValueError, match="`loss` and `metrics` must be None"):
        builder(loss="mse")

    def build_bad(units=2, loss=None):
        return _dense_body(units=units)

    with pytest.raises(ValueError, match="must not declare the compile arguments"):
        compiled_builder(build_bad)


@pytest.mark.parametrize("name", recipes.list_builders())
def test_every_registered_builder_takes_the_compile_arguments_documented_once(name):
    builder = recipes.builders()[name]
    assert builder.__wrapped__.__name__ == name  # compiled by the contract, not by itself
    params = inspect.signature(builder).parameters
    assert set(COMPILE_ARGUMENTS) <= set(params)
    for argument in ("optimizer:", "learning_rate:", "metrics:"):
        assert builder.__doc__.count(f"        {argument}") == 1, (name, argument)
