import keras
import numpy as np
import pytest

import recipes
from recipes import data

HEADS = {"digit": 10, "parity": 1, "ink": {"units": 1, "activation": "linear"}}


def _digits(n=64):
    x, y = data.arrays("digits", "train")
    x, y = x[:n], y[:n]
    targets = {
        "digit": y,
        "parity": (y % 2).astype("float32"),
        "ink": x.mean(axis=(1, 2, 3))[:, None].astype("float32"),
    }
    return x, targets


def test_builds_named_heads_with_the_expected_parameters():
    model = recipes.build_multitask(input_shape=(8, 8, 1), trunk=(64,), heads=HEADS)
    shapes = {head: tuple(tensor.shape) for head, tensor in model.output.items()}
    assert shapes == {"digit": (None, 10), "parity": (None, 1), "ink": (None, 1)}
    # trunk 64*64+64, heads 64*10+10, 64+1, 64+1
    assert model.count_params() == 4160 + 650 + 65 + 65
    assert model.get_layer("ink").activation is keras.activations.linear
    assert model.get_layer("parity").activation is keras.activations.sigmoid


def test_multitask_trains_and_round_trips(recipe_check):
    x, y = _digits()
    model = recipes.build_multitask(
        input_shape=(8, 8, 1), trunk=(32,), heads=HEADS, learning_rate=1e-2
    )
    recipe_check(model, x, y, steps=15)


def test_per_head_losses_and_weights_make_the_total_loss():
    x, y = _digits()
    weights = {"digit": 1.0, "parity": 0.5, "ink": 3.0}
    model = recipes.build_multitask(
        input_shape=(8, 8, 1), trunk=(16,), heads=HEADS, loss_weights=weights
    )
    result = model.evaluate(x, y, batch_size=len(x), verbose=0, return_dict=True)
    p = model.predict(x, verbose=0)
    eps = 1e-7
    digit = -np.mean(np.log(np.clip(p["digit"][np.arange(len(x)), y["digit"]], eps, 1)))
    q = np.clip(p["parity"][:, 0], eps, 1 - eps)
    parity = -np.mean(y["parity"] * np.log(q) + (1 - y["parity"]) * np.log(1 - q))
    ink = np.mean((p["ink"] - y["ink"]) ** 2)
    np.testing.assert_allclose(
        [result["digit_loss"], result["parity_loss"], result["ink_loss"]],
        [digit, parity, ink],
        rtol=1e-4,
    )
    np.testing.assert_allclose(result["loss"], digit + 0.5 * parity + 3.0 * ink, rtol=1e-4)
    assert "digit_accuracy" in result and "ink_mae" in result


def test_a_zero_weight_head_gets_no_gradient():
    x, y = _digits()
    model = recipes.build_multitask(
        input_shape=(8, 8, 1),
        trunk=(16,),
        heads=HEADS,
        loss_weights={"parity": 0.0},
        learning_rate=1e-2,
    )
    before = {
        name: model.get_layer(name).get_weights()[0].copy()
        for name in ("parity", "digit", "trunk_dense_1")
    }
    model.fit(x, y, epochs=3, batch_size=16, verbose=0)
    np.testing.assert_array_equal(model.get_layer("parity").get_weights()[0], before["parity"])
    for name in ("digit", "trunk_dense_1"):
        assert not np.allclose(model.get_layer(name).get_weights()[0], before[name])


def test_custom_trunk_head_layers_and_losses(roundtrip):
    trunk = keras.Sequential(
        [keras.layers.Conv2D(4, 3, activation="relu"), keras.layers.GlobalAveragePooling2D()],
        name="cnn_trunk",
    )
    model = recipes.build_multitask(
        input_shape=(8, 8, 1),
        trunk=trunk,
        heads={"digit": {"units": 10, "hidden_units": (8,)}, "parity": 1},
        loss={"parity": "hinge"},
        metrics={"digit": []},
    )
    assert model.get_layer("digit_dense_1").units == 8
    assert model.loss["parity"] == "hinge"
    x, y = _digits(16)
    model.fit(x, {"digit": y["digit"], "parity": y["parity"]}, epochs=1, verbose=0)
    roundtrip(model, x)


BAD_ARGUMENTS = [
    ({"heads": {"only": 3}}, "`heads` must be a dict of two or more"),
    ({"heads": {"a": 2, "b": "x"}}, r"`heads\['b'\]` must be an int or a dict"),
    (
        {"heads": {"a": 2, "b": {"units": 2, "activation": "tanh"}}},
        r"`heads\['b'\]\['activation'\]` must be one of",
    ),
    ({"heads": {"a": 2, "b": {"units": 2, "size": 3}}}, "unknown key"),
    ({"heads": {"a": 2, "b": 0}}, r"`heads\['b'\]\['units'\]` must be an integer"),
    ({"loss_weights": {"digit": -1.0}}, "must be a number >= 0"),
    ({"loss": {"colour": "mse"}}, "`loss` names unknown head"),
    ({"loss": "mse"}, "`loss` must be a dict"),
    ({"trunk": 3}, "`trunk` must be a tuple of hidden widths"),
    ({"trunk": (8, 0)}, r"`trunk\[1\]` must be an integer"),
]


def test_bad_arguments_raise_clear_errors():
    for arguments, message in BAD_ARGUMENTS:
        with pytest.raises(ValueError, match=message):
            recipes.build_multitask(**arguments)
