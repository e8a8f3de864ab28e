import ast
import inspect
import pathlib

import keras
import pytest

import recipes
from recipes import registry

pytestmark = [pytest.mark.backends, pytest.mark.smoke]


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


# -- the Registry class (presets, builders, datasets and tuning tasks use it) ------


@pytest.fixture
def colours():
    colours = registry.Registry("colour")
    for name, rgb in (("red", (255, 0, 0)), ("green", (0, 255, 0)), ("grey", (128,) * 3)):
        colours.register(name, rgb)
    return colours


def test_registry_lists_with_wildcards_and_looks_up(colours):
    assert colours.names() == ["green", "grey", "red"]
    assert colours.names("gr*") == ["green", "grey"]
    assert colours.names("gr[!e]y") == []
    assert colours.names("?ed") == ["red"]
    assert colours.get("red") == (255, 0, 0)
    assert "red" in colours and "blue" not in colours and len(colours) == 3
    assert colours.items()[0] == ("red", (255, 0, 0))  # in registration order


def test_registry_names_the_closest_entries_of_an_unknown_name(colours):
    with pytest.raises(ValueError) as caught:
        colours.get("gren")
    assert str(caught.value) == (
        "Unknown colour 'gren'. Did you mean: green, grey? Known colours: green, grey, red."
    )
    with pytest.raises(ValueError, match=r"^Unknown colour 'blue'\. Known colours"):
        colours.get("blue")
    listed = registry.Registry("preset", listing="presets()")
    with pytest.raises(ValueError, match=r"presets\(\) lists all 0 of them"):
        listed.get("anything")


def test_registry_refuses_duplicates_and_unregisters(colours):
    with pytest.raises(ValueError, match="A colour named 'red' is already registered."):
        colours.register("red", (254, 0, 0))
    assert colours.unregister("red") == (255, 0, 0)
    assert "red" not in colours
    with pytest.raises(ValueError, match="Unknown colour 'red'"):
        colours.unregister("red")


def test_registry_describes_dataclass_entries_or_with_its_own_function(colours):
    assert colours.describe("red") == {"name": "red", "entry": (255, 0, 0)}
    spec = recipes.data.DATASETS.describe("digits")
    assert spec["name"] == "digits" and spec["input_shape"] == (8, 8, 1)
    assert spec["loader"] is recipes.data.load_arrays
    builder = registry.BUILDERS.describe("build_mlp")
    assert builder["name"] == "build_mlp" and builder["builder"] is recipes.build_mlp
    assert builder["arguments"]["activation"] == "relu" and builder["summary"]
    assert recipes.describe("mnist_mlp") == registry.RECIPES.describe("mnist_mlp")
    shouted = registry.Registry("colour", describe=lambda rgb: {"sum": sum(rgb)})
    shouted.register("white", (255, 255, 255))
    assert shouted.describe("white") == {"sum": 765}


def test_scoped_registration_is_undone_and_removed_entries_come_back(colours):
    with colours.scoped() as scope:
        assert scope is colours
        colours.register("blue", (0, 0, 255))
        colours.unregister("red")
        assert colours.names() == ["blue", "green", "grey"]
    assert colours.names() == ["green", "grey", "red"]
    with pytest.raises(RuntimeError), colours.scoped():  # undone on errors too
        colours.register("blue", (0, 0, 255))
        raise RuntimeError
    assert "blue" not in colours


def test_module_scoped_undoes_presets_builders_datasets_and_tasks():
    import tuning
    from recipes import data

    def build_scoped_probe(input_shape=(3,), name="probe"):
        return keras.Sequential([keras.Input(input_shape), keras.layers.Dense(2)], name=name)

    before = (recipes.list_recipes(), recipes.list_builders(), data.list_datasets())
    with registry.scoped():
        builder = recipes.register_builder(loss="mse", metrics=list)(build_scoped_probe)
        recipes.register_recipe("scoped_probe", builder, "A probe.", input_shape=(4,))
        data.register_dataset(
            data.DatasetSpec(
                "scoped_moons",
                "classification",
                (2,),
                2,
                "moons again",
                data.load_arrays,
                arrays=data.offline.moons,
            )
        )
        tuning.register_task(
            tuning.Task(
                "scoped_task",
                "scoped_moons",
                tuning.get_task("moons").space,
                "val_accuracy",
                "max",
                1,
                1,
                "a probe",
            )
        )
        model = recipes.build("scoped_probe")
        assert model.compiled and model.input_shape == (None, 4)
        assert data.arrays("scoped_moons", "test")[0].shape == (200, 2)
        assert "scoped_task" in tuning.list_tasks("scoped_*")
    assert (recipes.list_recipes(), recipes.list_builders(), data.list_datasets()) == before
    assert tuning.list_tasks("scoped_*") == []
    with pytest.raises(ValueError, match="Unknown dataset 'scoped_moons'"):
        data.get_spec("scoped_moons")


def test_register_builder_accepts_the_same_function_again_but_not_another_one():
    with registry.scoped():

        def build_twice(units=2, name="twice"):
            return keras.Sequential([keras.Input((1,)), keras.layers.Dense(units)], name=name)

        first = recipes.register_builder(loss="mse")(build_twice)
        again = recipes.register_builder(loss="mse")(build_twice)
        assert registry.builders()["build_twice"] is again and again is not first

        def build_twice_impostor(units=2, name="twice"):
            return first(units=units, name=name)

        build_twice_impostor.__name__ = "build_twice"
        with pytest.raises(ValueError, match="A builder named 'build_twice' is already"):
            recipes.register_builder(loss="mse")(build_twice_impostor)


# -- the direction of imports: callbacks <- recipes <- tuning ----------------------


def _imported_modules(package):
    """Every module a package's files import (at the top or inside functions)."""
    root = pathlib.Path(__file__).resolve().parent.parent / package
    found = {}
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module]
            else:
                continue
            for name in names:
                found.setdefault(name.split(".")[0], []).append(f"{path.name}:{node.lineno}")
    return found


def test_callbacks_import_nothing_from_recipes_or_tuning():
    imported = _imported_modules("callbacks")
    assert "keras" in imported  # the scan sees the imports
    assert "recipes" not in imported, imported.get("recipes")
    assert "tuning" not in imported, imported.get("tuning")


def test_recipes_never_import_tuning():
    imported = _imported_modules("recipes")
    assert "callbacks" in imported  # recipes may use callbacks
    assert "tuning" not in imported, imported.get("tuning")
