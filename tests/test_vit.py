"""Vision transformer: parameter count, patches in image order, learning on digits,
attention maps that can be read (also after loading), the overlay picture and
mixed precision."""

import os

import keras
import numpy as np
import pytest

import recipes
from recipes import data
from recipes.models.vit import vit_attention_maps, vit_attention_weights
from recipes.plots import plot_attention_overlay

pytestmark = pytest.mark.backends

TINY = dict(
    input_shape=(8, 8, 1),
    num_classes=10,
    patch_size=2,
    embed_dim=16,
    num_heads=2,
    feed_forward_dim=32,
    num_layers=2,
)


def run(model, x):
    return keras.ops.convert_to_numpy(model(x, training=False))


@pytest.fixture
def mixed_precision():
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy("float32")


def vit_params(height, width, channels, patch, d, f, layers, classes, norm_first=True):
    patches = (height // patch) * (width // patch)
    total = patch * patch * channels * d + d  # patch embedding
    total += d + (patches + 1) * d  # class token, positions
    total += layers * (4 * d * d + 4 * d + 2 * d * f + f + d + 4 * d)
    total += 2 * d if norm_first else 0
    return total + d * classes + classes


@pytest.mark.parametrize("norm_first", [True, False])
def test_parameter_count_matches_the_formula(norm_first):
    model = recipes.build_vit(
        input_shape=(32, 16, 3),
        num_classes=5,
        patch_size=4,
        embed_dim=24,
        num_heads=3,
        feed_forward_dim=40,
        num_layers=3,
        norm_first=norm_first,
        compile=False,
    )
    assert model.count_params() == vit_params(32, 16, 3, 4, 24, 40, 3, 5, norm_first)
    assert model.get_layer("position_embedding").output.shape == (None, 1 + 8 * 4, 24)


def test_digits_vit_preset():
    model = recipes.build("digits_vit", compile=False)
    assert model.count_params() == vit_params(8, 8, 1, 2, 32, 64, 2, 10)


def test_patch_tokens_follow_the_image_row_by_row():
    model = recipes.build_vit(**TINY, compile=False)
    patches = keras.Model(model.input, model.get_layer("patches").output)
    image = np.zeros((1, 8, 8, 1), "float32")
    changed = image.copy()
    changed[0, 2:4, 6:8] = 1.0  # patch row 1, column 3 of a 4 x 4 grid
    moved = np.abs(run(patches, changed) - run(patches, image)).sum(-1)[0]
    assert np.flatnonzero(moved > 1e-6).tolist() == [1 * 4 + 3]


def test_vit_learns_digits_and_its_attention_survives_saving(recipe_check):
    x, y = data.arrays("digits", "train")
    model = recipes.build_vit(**{**TINY, "num_layers": 1}, dropout=0.0, learning_rate=3e-3)
    loaded = recipe_check(model, x[:128], y[:128], steps=20, factor=0.7)
    for method in ("rollout", "last"):
        np.testing.assert_allclose(
            vit_attention_maps(loaded, x[:4], method=method),
            vit_attention_maps(model, x[:4], method=method),
            atol=1e-5,
        )


def test_attention_weights_and_maps():
    model = recipes.build_vit(**TINY, compile=False)
    images = data.arrays("digits", "test")[0][:5]
    weights = vit_attention_weights(model, images, batch_size=2)
    assert [w.shape for w in weights] == [(5, 2, 17, 17)] * 2
    for w in weights:
        np.testing.assert_allclose(w.sum(-1), 1.0, atol=1e-5)
    last = vit_attention_maps(model, images, method="last")
    cls_row = weights[-1].mean(axis=1)[:, 0, 1:]
    expected = (cls_row / cls_row.sum(-1, keepdims=True)).reshape(5, 4, 4)
    np.testing.assert_allclose(last, expected, atol=1e-5)
    rollout = vit_attention_maps(model, images)
    assert rollout.shape == (5, 4, 4) and np.all(rollout >= 0)
    np.testing.assert_allclose(rollout.sum(axis=(1, 2)), 1.0, atol=1e-5)
    identity = np.eye(17)
    mixed = [0.5 * w.mean(1) + 0.5 * identity for w in weights]
    manual = mixed[1] @ mixed[0]
    manual = manual[:, 0, 1:] / manual[:, 0, 1:].sum(-1, keepdims=True)
    np.testing.assert_allclose(rollout, manual.reshape(5, 4, 4), atol=1e-5)


def test_attention_overlay_png(tmp_path):
    images = data.arrays("shapes", "test", num_examples=3, image_size=16)[0]
    maps = np.random.default_rng(0).uniform(size=(3, 4, 4))
    path = plot_attention_overlay(
        images, maps, str(tmp_path / "attention.png"), titles=["a", "b", "c"]
    )
    assert os.path.getsize(path) > 1000
    with pytest.raises(ValueError, match="same n"):
        plot_attention_overlay(images, maps[:2], str(tmp_path / "bad.png"))


def test_vit_runs_under_mixed_precision(mixed_precision):
    model = recipes.build_vit(**TINY)
    assert model.get_layer("encoder_block_1").compute_dtype == "float16"
    images = data.arrays("digits", "test")[0][:4]
    probabilities = run(model, images)
    assert probabilities.dtype == np.float32
    np.testing.assert_allclose(probabilities.sum(-1), 1.0, atol=1e-3)
    maps = vit_attention_maps(model, images)
    assert maps.dtype == np.float32 and np.isfinite(maps).all()


@pytest.mark.parametrize(
    "arguments, message",
    [
        ({"input_shape": (30, 32, 3)}, "divisible by `patch_size`"),
        ({"input_shape": (32, 32)}, "`input_shape` must have 3"),
        ({"embed_dim": 30, "num_heads": 4}, "divisible by `num_heads`"),
        ({"patch_size": 0}, "`patch_size` must be an integer >= 1"),
        ({"activation": "elu"}, "`activation` must be one of"),
        ({"norm_first": None}, "`norm_first` must be True or False"),
        ({"output_activation": "linear"}, "`output_activation` must be one of"),
    ],
)
def test_bad_arguments_raise_clear_errors(arguments, message):
    with pytest.raises(ValueError, match=message):
        recipes.build_vit(**arguments)


def test_attention_maps_need_a_vit_and_a_known_method():
    model = recipes.build_vit(**TINY, compile=False)
    with pytest.raises(ValueError, match="`method` must be one of"):
        vit_attention_maps(model, np.zeros((1, 8, 8, 1)), method="mean")
    with pytest.raises(ValueError, match="no TransformerEncoderBlock"):
        vit_attention_weights(recipes.build("moons_mlp", compile=False), np.zeros((1, 2)))
