import inspect

import keras
import pytest

import recipes
from recipes import registry


def test_list_recipes_is_sorted_and_has_mnist_mlp():
    names = recipes.list_recipes()
    assert names == sorted(names)
    assert "mnist_mlp" in names
    assert "mnist_mlp" in recipes.list_recipes("mnist_*")
    assert all(n.startswith("mnist_") for n in recipes.list_recipes("mnist_*"))


def test_every_builder_is_exported_from_recipes():
    for name in recipes.list_builders():
        assert getattr(recipes, name) is registry.builders()[name]
        assert name in recipes.__all__


READS_STRINGS = pytest.mark.skipif(
    keras.backend.backend() != "tensorflow",
    reason="the preset reads raw strings inside the model (text_input=True): TensorFlow "
    "backend only; the refusal elsewhere is tested in test_text.py",
)


def _every_recipe():
    return [
        pytest.param(name, marks=READS_STRINGS)
        if recipes.describe(name)["arguments"].get("text_input")
        else name
        for name in recipes.list_recipes()
    ]


@pytest.mark.parametrize("name", _every_recipe())
def test_every_recipe_describes_and_builds_uncompiled(name):
    description = recipes.describe(name)
    assert description["summary"]
    signature = inspect.signature(description["builder"]).parameters
    for argument in ("name", "compile"):
        assert argument in signature, f"{description['builder_name']} lacks {argument}"
    with recipes.precision("mixed_float16"):
        model = recipes.build(name, compile=False)
    assert isinstance(model, keras.Model)
    assert model.count_params() > 0
    assert not model.compiled
    # Under mixed precision the outputs stay float32, for a stable loss.
    for output in getattr(model, "outputs", None) or []:
        assert output.dtype == "float32", f"{name}: output {output.name} is {output.dtype}"


def test_build_overrides_preset_arguments():
    model = recipes.build("mnist_mlp", hidden_units=(8,), compile=False)
    assert model.count_params() == 784 * 8 + 8 + 8 * 10 + 10


def test_build_compiles_with_defaults_and_overrides():
    model = recipes.build("mnist_mlp")
    assert model.compiled
    assert isinstance(model.optimizer, keras.optimizers.SGD)
    assert float(model.optimizer.learning_rate) == pytest.approx(0.01)
    model = recipes.build("mnist_mlp", optimizer="adam", learning_rate=0.5)
    assert isinstance(model.optimizer, keras.optimizers.Adam)
    assert float(model.optimizer.learning_rate) == pytest.approx(0.5)


def test_describe_merges_builder_defaults_with_preset():
    description = recipes.describe("mnist_mlp")
    assert description["builder"] is recipes.build_mlp
    assert description["arguments"]["hidden_units"] == (64, 32)
    assert description["arguments"]["activation"] == "relu"  # builder default
    assert description["fit"] == {"epochs": 12, "batch_size": 64}
    assert description["dataset"] == "mnist"


def test_unknown_recipe_suggests_close_names():
    with pytest.raises(ValueError, match="Did you mean: mnist_mlp"):
        recipes.build("mnist_mpl")


def test_unknown_override_names_the_argument_and_the_allowed_ones():
    with pytest.raises(TypeError, match="hidden_unit.*Allowed: input_shape"):
        recipes.build("mnist_mlp", hidden_unit=(3,))


def test_register_builder_requires_build_prefix():
    def make_model():
        pass

    with pytest.raises(ValueError, match="must start with 'build_'"):
        recipes.register_builder(make_model)


def test_register_recipe_checks_arguments_and_duplicates():
    with pytest.raises(TypeError, match="not_an_argument"):
        recipes.register_recipe("bad_recipe", recipes.build_mlp, "bad", not_an_argument=1)
    with pytest.raises(ValueError, match="already registered"):
        recipes.register_recipe("mnist_mlp", recipes.build_mlp, "again")


def test_get_optimizer_rejects_unknown_names_and_lr_with_instance():
    with pytest.raises(ValueError, match="optimizer"):
        recipes.get_optimizer("not_an_optimizer")
    with pytest.raises(ValueError, match="learning_rate"):
        recipes.get_optimizer(keras.optimizers.Adam(), learning_rate=0.1)


def test_info_reports_backend_devices_and_versions(capsys):
    report = recipes.info()
    printed = capsys.readouterr().out
    assert report["backend"] == keras.backend.backend()
    assert report["devices"]
    assert report["precision"] == "float32"
    assert report["steps_per_execution"] == recipes.steps_per_execution()
    assert report["versions"]["keras"].startswith("3.")
    assert "backend:" in printed and "keras" in printed
