import keras
import numpy as np
import pytest

import recipes
from recipes import data

pytestmark = pytest.mark.backends


def test_mnist_mlp_has_the_documented_52650_parameters():
    model = recipes.build("mnist_mlp")
    assert model.count_params() == 52_650
    assert model.input_shape == (None, 28, 28, 1)
    assert model.output_shape == (None, 10)
    assert [layer.units for layer in model.layers if hasattr(layer, "units")] == [64, 32, 10]


def test_mnist_mlp_trains_and_round_trips(recipe_check):
    x = np.random.default_rng(0).uniform(size=(64, 28, 28, 1)).astype("float32")
    y = np.arange(64) % 10
    recipe_check(recipes.build("mnist_mlp", optimizer="adam", learning_rate=1e-2), x, y)


def test_digits_mlp_learns_digits(recipe_check):
    """Trained on 128 digits, measured on the 359 test digits against the same
    network untrained (chance is 0.1): about 0.9 against 0.1 to 0.16."""
    x, y = data.arrays("digits", "train")
    x_test, y_test = data.arrays("digits", "test")
    model = recipes.build("digits_mlp")
    untrained = model.evaluate(x_test, y_test, verbose=0, return_dict=True)["accuracy"]
    loaded = recipe_check(model, x[:128], y[:128], steps=45)
    assert loaded.evaluate(x[:128], y[:128], verbose=0, return_dict=True)["accuracy"] > 0.9
    held_out = loaded.evaluate(x_test, y_test, verbose=0, return_dict=True)["accuracy"]
    assert held_out > 0.8 and held_out > untrained + 0.5, (untrained, held_out)


HIDDEN_ACTIVATIONS = ["relu", "sigmoid", "tanh", "leaky_relu", "elu", "swish"]


def test_every_hidden_activation_builds_and_trains():
    """moons_mlp with each hidden activation, as the branches of one model (one
    traced training function for all six keeps the test fast; each branch has its
    own weights and loss): each builds with its activation, each branch's loss
    falls in 15 full-batch steps of the recipe's optimizer."""
    x, y = data.arrays("moons", "train")
    x, y = x[:128], {activation: y[:128] for activation in HIDDEN_ACTIVATIONS}
    inputs = keras.Input((2,))
    branches = {}
    for activation in HIDDEN_ACTIVATIONS:
        mlp = recipes.build("moons_mlp", activation=activation, learning_rate=0.05)
        layer = mlp.get_layer(f"{activation}_1")
        assert layer.activation is keras.activations.get(activation)
        branches[activation] = keras.Model(mlp.inputs, mlp.outputs[0], name=activation)(inputs)
    model = keras.Model(inputs, branches)
    model.compile(type(mlp.optimizer).from_config(mlp.optimizer.get_config()), mlp.loss)
    before = model.evaluate(x, y, batch_size=128, verbose=0, return_dict=True)
    model.fit(x, y, batch_size=128, epochs=15, verbose=0, shuffle=False)
    after = model.evaluate(x, y, batch_size=128, verbose=0, return_dict=True)
    for activation in HIDDEN_ACTIVATIONS:
        key = f"{activation}_loss"
        assert np.isfinite(after[key]) and after[key] < 0.95 * before[key], (key, before, after)


@pytest.mark.parametrize(
    "output_activation, loss",
    [
        ("softmax", "sparse_categorical_crossentropy"),
        ("sigmoid", "binary_crossentropy"),
        ("linear", "mean_squared_error"),
        ("exponential", "poisson"),
    ],
)
def test_output_activation_picks_a_matching_loss(output_activation, loss):
    model = recipes.build_mlp(input_shape=(4,), num_classes=3, output_activation=output_activation)
    assert model.loss == loss
    assert model.layers[-1].activation.__name__ == output_activation


def test_exponential_output_is_positive_and_fits_counts():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(128, 3)).astype("float32")
    y = rng.poisson(np.exp(0.5 * x[:, :1])).astype("float32")
    model = recipes.build_mlp(
        input_shape=(3,),
        num_classes=1,
        hidden_units=(8,),
        output_activation="exponential",
        learning_rate=0.05,
    )
    recipes.testing.assert_loss_decreases(model, x, y, steps=30, factor=0.95)
    assert (model.predict(x, verbose=0) > 0).all()


def test_batch_norm_dropout_and_regularisers_are_in_the_stack():
    model = recipes.build_mlp(
        input_shape=(4,),
        hidden_units=(8, 8),
        batch_norm=True,
        dropout=0.3,
        l2=1e-3,
        kernel_initializer="he",
    )
    names = [layer.name for layer in model.layers]
    assert names.count("batch_norm_1") == 1 and "dropout_2" in names
    dense = model.get_layer("dense_1")
    assert dense.kernel_regularizer is not None and not dense.use_bias
    assert dense.kernel_initializer.__class__.__name__ == "HeNormal"
    assert len(model.losses) == 3  # one L2 penalty per kernel


@pytest.mark.parametrize(
    "arguments, message",
    [
        ({"activation": "relux"}, "`activation` must be one of"),
        ({"output_activation": "tanh"}, "`output_activation` must be one of"),
        ({"dropout": 1.5}, r"`dropout` must be in \[0, 1\)"),
        ({"hidden_units": (8, 0)}, r"`hidden_units\[1\]` must be an integer >= 1"),
        ({"num_classes": 0}, "`num_classes` must be an integer >= 1"),
        ({"input_shape": ()}, "`input_shape` must be a non-empty tuple"),
        ({"l2": -1.0}, "`l2` must be a number >= 0"),
        ({"kernel_initializer": "xavier"}, "`kernel_initializer` must be one of"),
    ],
)
def test_bad_arguments_raise_clear_errors(arguments, message):
    with pytest.raises(ValueError, match=message):
        recipes.build_mlp(**arguments)


def test_mixed_precision_keeps_float32_outputs_and_scales_the_loss():
    x, y = data.arrays("digits", "train")
    with recipes.precision("mixed_float16"):
        model = recipes.build("digits_mlp")
        assert model.get_layer("dense_1").compute_dtype == "float16"
        recipes.testing.assert_loss_decreases(model, x[:128], y[:128], steps=10)
    assert model.predict(x[:2], verbose=0).dtype == np.float32
    assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
    assert keras.config.dtype_policy().name == "float32"


def test_set_precision_rejects_unknown_policies():
    with pytest.raises(ValueError, match="`policy` must be one of"):
        recipes.set_precision("float8")


def test_cifar_and_zhang_presets_have_the_documented_parameter_counts():
    assert recipes.build("cifar10_fc", compile=False).count_params() == 3_426_250
    for name, count in (("zhang_mlp_1x512", 1_209_866), ("zhang_mlp_3x512", 1_735_178)):
        model = recipes.build(name, compile=False)
        assert model.count_params() == count, name
        assert model.input_shape == (None, 32, 32, 3)  # CIFAR-10 images...
        assert model.get_layer("flatten").output.shape == (None, 28 * 28 * 3)  # ...cropped


def test_crop_keeps_the_centre_and_checks_its_argument():
    x = np.random.default_rng(0).uniform(size=(2, 32, 32, 3)).astype("float32")
    model = recipes.build_mlp(
        input_shape=(32, 32, 3), crop=(28, 26), hidden_units=(), compile=False
    )
    cropped = keras.ops.convert_to_numpy(model.get_layer("crop")(x))
    np.testing.assert_array_equal(cropped, x[:, 2:30, 3:29])
    for arguments in (
        {"input_shape": (784,), "crop": 28},
        {"input_shape": (32, 32, 3), "crop": 33},
    ):
        with pytest.raises(ValueError, match="`crop` needs image inputs"):
            recipes.build_mlp(**arguments)
    with pytest.raises(ValueError, match="`crop` must be None, an int"):
        recipes.build_mlp(input_shape=(32, 32, 3), crop=(28, 28, 3))


def test_cifar_mlp_presets_keep_xla_on_through_a_train_step():
    from recipes.augment import build_augmentation
    from recipes.compiling import compile_recipe

    x = np.random.default_rng(0).uniform(size=(4, 32, 32, 3)).astype("float32")
    for name in ("cifar10_fc", "zhang_mlp_1x512", "zhang_mlp_3x512"):
        for augment in (None, build_augmentation(flip="horizontal", crop=4)):
            model = recipes.build(name, augment=augment, compile=False)
            compile_recipe(
                model, optimizer="sgd", loss="sparse_categorical_crossentropy", jit_compile=True
            )
            assert model.jit_compile is True, (name, augment)
    assert [layer.name for layer in model.layers[:2]] == ["augmentation", "crop"]
    loss = model.train_on_batch(x, np.arange(4))  # a real XLA step: augment, crop, dense
    assert np.isfinite(loss) and model.jit_compile is True
