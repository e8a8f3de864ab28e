"""U-Net: shapes for several depths and sizes, the size error, options, presets,
learning the offline `shapes` masks, and the overlay picture."""

import keras
import numpy as np
import pytest

import recipes
from recipes import data
from recipes.layers.augmentation import apply_flips
from recipes.losses import SegmentationMeanIoU

pytestmark = pytest.mark.backends


@pytest.mark.parametrize(
    "depth, size, num_classes, upsampling",
    [
        (1, (8, 8), 3, "transpose"),
        (2, (16, 24), 1, "bilinear"),
        (3, (24, 24), 4, "transpose"),
        (4, (32, 48), 2, "bilinear"),
    ],
)
def test_output_is_one_probability_map_per_class_at_input_size(
    depth, size, num_classes, upsampling
):
    model = recipes.build_unet(
        input_shape=(*size, 3),
        num_classes=num_classes,
        depth=depth,
        filters=4,
        upsampling=upsampling,
        compile=False,
    )
    assert model.output_shape == (None, *size, num_classes)
    outputs = keras.ops.convert_to_numpy(model(np.zeros((2, *size, 3), "float32")))
    assert outputs.shape == (2, *size, num_classes)
    if num_classes > 1:
        np.testing.assert_allclose(outputs.sum(-1), 1.0, rtol=1e-5)  # softmax per pixel
    else:
        assert ((outputs > 0) & (outputs < 1)).all()  # sigmoid
    # the deepest map is size / 2**depth with filters * 2**depth channels
    bottleneck = model.get_layer("bottleneck_relu2").output.shape
    assert bottleneck[1:] == (size[0] // 2**depth, size[1] // 2**depth, 4 * 2**depth)


def test_free_spatial_dimensions_accept_any_divisible_size():
    model = recipes.build_unet(
        input_shape=(None, None, 1), num_classes=2, depth=2, filters=4, compile=False
    )
    for size in ((8, 12), (20, 4)):
        assert tuple(model(np.zeros((1, *size, 1), "float32")).shape) == (1, *size, 2)


@pytest.mark.parametrize("depth, shape", [(3, (60, 64, 3)), (2, (16, 18, 1)), (4, (8, 8, 3))])
def test_sizes_not_divisible_by_2_to_the_depth_raise(depth, shape):
    with pytest.raises(ValueError, match=rf"divisible by 2\*\*depth = {2**depth} ") as error:
        recipes.build_unet(input_shape=shape, depth=depth)
    assert str(error.value).startswith("`input_shape` height and width")
    assert f"input_shape={shape}" in str(error.value)


def test_layers_have_predictable_names_and_filters_double():
    model = recipes.build_unet(
        input_shape=(32, 32, 3), depth=3, filters=8, dropout=0.1, compile=False
    )
    for level in (1, 2, 3):
        assert model.get_layer(f"encoder{level}_conv1").filters == 8 * 2 ** (level - 1)
        assert model.get_layer(f"decoder{level}_conv2").filters == 8 * 2 ** (level - 1)
        assert isinstance(model.get_layer(f"decoder{level}_upconv"), keras.layers.Conv2DTranspose)
        assert isinstance(model.get_layer(f"encoder{level}_dropout"), keras.layers.Dropout)
    assert model.get_layer("bottleneck_conv1").filters == 64
    assert not model.get_layer("encoder1_conv1").use_bias  # batch norm follows
    # the skips: decoder N concatenates its upsampled map with encoder N's output
    for level in (1, 2, 3):
        concat = model.get_layer(f"decoder{level}_concat")
        assert [t.name for t in concat.input] == [
            model.get_layer(f"decoder{level}_upconv").output.name,
            model.get_layer(f"encoder{level}_dropout").output.name,
        ]


def test_bilinear_upsampling_and_no_batch_norm():
    model = recipes.build_unet(
        input_shape=(16, 16, 3),
        depth=2,
        filters=4,
        upsampling="bilinear",
        batch_norm=False,
        compile=False,
    )
    upsample = model.get_layer("decoder2_upsample")
    assert upsample.interpolation == "bilinear"
    assert model.get_layer("decoder2_upconv").kernel_size == (1, 1)
    assert not any(isinstance(layer, keras.layers.BatchNormalization) for layer in model.layers)
    assert model.get_layer("encoder1_conv1").use_bias


def test_binary_unet_has_a_sigmoid_and_binary_crossentropy():
    # (it trains in tests/test_segmentation_losses.py, with the Dice loss)
    model = recipes.build_unet(input_shape=(16, 16, 3), num_classes=1, depth=1, filters=4)
    assert model.loss == "binary_crossentropy"
    assert model.get_layer("predictions").activation is keras.activations.sigmoid
    assert model.get_layer("predictions").filters == 1


def test_oxford_pets_unet_builds_and_round_trips(roundtrip):
    # the same builder as shapes_unet (trained below), one level deeper
    model = recipes.build("oxford_pets_unet", input_shape=(32, 32, 3), filters=2)
    assert model.get_layer("encoder4_conv1").filters == 16
    assert model.get_layer("bottleneck_conv1").output.shape[1:] == (2, 2, 32)
    x, _ = data.arrays("shapes", "test", num_examples=2, image_size=32)
    roundtrip(model, x)


def test_presets_are_the_documented_models():
    shapes = recipes.describe("shapes_unet")
    assert shapes["dataset"] == "shapes"
    assert shapes["arguments"]["input_shape"] == data.get_spec("shapes").input_shape
    pets = recipes.describe("oxford_pets_unet")
    assert pets["dataset"] == "oxford_iiit_pet"
    assert pets["arguments"]["input_shape"] == (128, 128, 3)
    assert pets["arguments"]["num_classes"] == 3
    model = recipes.build("shapes_unet", compile=False)
    assert model.output_shape == (None, 64, 64, 3)


def test_shapes_unet_trains_round_trips_and_learns_far_above_all_background(recipe_check):
    x, y = data.arrays("shapes", "train", num_examples=96, image_size=32)
    x_test, y_test = data.arrays("shapes", "test", num_examples=64, image_size=32)
    # At 3e-3, 18 epochs gave a test IoU of 0.90-0.94 for seeds 1234, 1 and 2 on both
    # TensorFlow and JAX; 9 epochs at 1e-2 swung between 0.54 and 0.93.
    model = recipes.build(
        "shapes_unet", input_shape=(32, 32, 3), depth=2, filters=12, learning_rate=3e-3
    )
    loaded = recipe_check(model, x, y, steps=18, batch_size=12)  # 18 epochs of 8 steps
    learned = loaded.evaluate(x_test, y_test, verbose=0, return_dict=True)["mean_iou"]
    trivial = SegmentationMeanIoU(3)
    trivial.update_state(y_test, np.eye(3)[np.zeros(y_test.shape[:3], int)])
    # all background scores about 0.29; finding shapes without telling circles from
    # squares plateaus near 0.55; telling them apart goes above 0.7
    assert float(trivial.result()) < 0.3
    assert learned > 0.7, learned


def test_flip_augmentation_flips_the_image_and_the_predicted_mask_back():
    from recipes.augment import build_augmentation

    model = recipes.build_unet(
        input_shape=(8, 8, 2),
        num_classes=3,
        depth=1,
        filters=4,
        batch_norm=False,
        augment=build_augmentation(flip="horizontal_and_vertical", seed=3),
    )
    x = np.random.default_rng(0).normal(size=(16, 8, 8, 2)).astype("float32")

    def net(images):
        return keras.ops.convert_to_numpy(model(images, training=False))

    candidates = []
    for flags in ([0, 0], [0, 1], [1, 0], [1, 1]):
        flips = np.tile(np.array([flags], "float32"), (16, 1))
        flipped = keras.ops.convert_to_numpy(apply_flips(x, flips))
        candidates.append(keras.ops.convert_to_numpy(apply_flips(net(flipped), flips)))
    trained = keras.ops.convert_to_numpy(model(x, training=True))
    used = set()
    for i in range(16):
        matches = [
            c for c, out in enumerate(candidates) if np.allclose(trained[i], out[i], atol=1e-5)
        ]
        assert matches, f"example {i}: not the prediction of any flipped image, flipped back"
        used.add(matches[0])
    assert len(used) > 1  # some examples were flipped
    np.testing.assert_allclose(net(x), candidates[0])  # inference: no flip


def test_unet_refuses_augmentation_that_would_misalign_the_masks():
    from recipes.augment import build_augmentation

    with pytest.raises(ValueError, match="only recipes flips.*RandomAffine"):
        recipes.build_unet(
            input_shape=(16, 16, 3),
            depth=1,
            augment=build_augmentation(flip="horizontal", rotation=0.1),
        )
    with pytest.raises(ValueError, match="only recipes flips.*RandomFlip"):
        recipes.build_unet(
            input_shape=(16, 16, 3), depth=1, augment=keras.layers.RandomFlip("horizontal")
        )


@pytest.mark.parametrize(
    "arguments, message",
    [
        ({"upsampling": "nearest"}, "`upsampling` must be one of"),
        ({"depth": 0}, "`depth` must be an integer >= 1"),
        ({"filters": 0}, "`filters` must be an integer >= 1"),
        ({"dropout": 1.5}, r"`dropout` must be in \[0, 1\)"),
        ({"num_classes": 0}, "`num_classes` must be an integer >= 1"),
        ({"input_shape": (32, 32)}, "`input_shape` must have 3 dimension"),
        ({"augment": "flip"}, "`augment` must be a Keras layer"),
    ],
)
def test_bad_arguments_raise_clear_errors(arguments, message):
    with pytest.raises(ValueError, match=message):
        recipes.build_unet(**arguments)


def test_plot_segmentation_writes_a_png(tmp_path):
    from recipes.plots import plot_segmentation

    x, y = data.arrays("shapes", "test", num_examples=3, image_size=16)
    probabilities = np.eye(3, dtype="float32")[y[..., 0]] * 0.8 + 0.05
    path = plot_segmentation(
        x, y, probabilities, str(tmp_path / "overlay.png"), class_names=data.SHAPE_CLASSES
    )
    with open(path, "rb") as handle:
        assert handle.read(8) == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="same number"):
        plot_segmentation(x, y[:2], y[:2], str(tmp_path / "bad.png"))
