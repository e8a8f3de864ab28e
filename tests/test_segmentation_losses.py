"""Pixel cross-entropy, Dice and boundary-weighted losses against hand-computed
values, the mean IoU metric, and models compiled with them saving and loading in
safe mode."""

import math

import keras
import numpy as np
import pytest

import recipes
from recipes.autodiff import input_gradient
from recipes.losses import (
    BoundaryWeightedCrossentropy,
    DiceLoss,
    PixelCrossentropy,
    SegmentationMeanIoU,
    boundary_weighted_crossentropy,
    dice_loss,
    pixel_crossentropy,
)
from recipes.losses.segmentation import boundary_weights


def numpy(x):
    return keras.ops.convert_to_numpy(x)


# One 1x2x2 image, 2 classes: true labels [[0, 1], [1, 1]] and predicted
# probabilities of class 1: [[0.2, 0.6], [0.9, 0.5]].
LABELS = np.array([[[0, 1], [1, 1]]])
P1 = np.array([[[0.2, 0.6], [0.9, 0.5]]], "float32")
PROBABILITIES = np.stack([1 - P1, P1], axis=-1)


def test_pixel_crossentropy_is_minus_log_of_each_true_class_probability():
    loss = numpy(pixel_crossentropy(LABELS, PROBABILITIES))
    np.testing.assert_allclose(loss, -np.log([[[0.8, 0.6], [0.9, 0.5]]]), rtol=1e-6)
    np.testing.assert_allclose(numpy(pixel_crossentropy(LABELS[..., None], PROBABILITIES)), loss)


def test_pixel_crossentropy_equals_keras_sparse_crossentropy_on_logits_too():
    labels = np.random.default_rng(0).integers(0, 3, size=(2, 5, 6))
    logits = np.random.default_rng(1).normal(size=(2, 5, 6, 3)).astype("float32")
    probabilities = numpy(keras.ops.softmax(logits))
    expected = numpy(keras.losses.sparse_categorical_crossentropy(labels, probabilities))
    np.testing.assert_allclose(
        numpy(pixel_crossentropy(labels, probabilities)), expected, rtol=1e-5
    )
    np.testing.assert_allclose(
        numpy(pixel_crossentropy(labels, logits, from_logits=True)), expected, rtol=1e-4
    )


def test_pixel_crossentropy_takes_per_pixel_sample_weights():
    weights = np.array([[[1.0, 0.0], [0.0, 0.0]]], "float32")
    loss = PixelCrossentropy(reduction="sum")(LABELS, PROBABILITIES, sample_weight=weights)
    assert float(loss) == pytest.approx(-math.log(0.8), rel=1e-6)


def test_pixel_crossentropy_gradient_is_per_pixel_and_works_on_every_backend():
    # d/dp_k of -log(p_y / sum(p)) is 1/sum(p) - [k == y]/p_y per pixel, over the pixel
    # count with the default mean reduction; PyTorch's 4-D nll_loss backward, which
    # sparse_categorical_crossentropy calls on these shapes, failed here
    probabilities = numpy(
        keras.ops.softmax(np.random.default_rng(2).normal(size=(1, 2, 2, 3)).astype("float32"))
    )
    labels = np.array([[[0, 2], [1, 1]]])
    gradient = input_gradient(lambda p: PixelCrossentropy()(labels, p), probabilities)
    one_hot = np.eye(3)[labels]
    expected = (1.0 - one_hot / probabilities) / 4
    np.testing.assert_allclose(numpy(gradient), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "y_true, y_pred, message",
    [
        (np.zeros((1, 2, 2)), np.full((1, 2, 2, 1), 0.5), "at least 2 class"),
        (np.zeros((1, 2, 2, 3)), np.full((1, 2, 2, 3), 1 / 3), "integer class ids"),
    ],
)
def test_pixel_crossentropy_rejects_one_channel_and_one_hot_masks(y_true, y_pred, message):
    with pytest.raises(ValueError, match=message):
        pixel_crossentropy(y_true, y_pred)


def test_dice_loss_of_a_binary_mask_matches_the_seed_formula():
    # 1 - 2 * sum(y p) / (sum y + sum p) = 1 - 2 * 2.0 / (3 + 2.2)
    loss = dice_loss(LABELS[..., None], P1[..., None], smooth=0.0)
    np.testing.assert_allclose(numpy(loss), [1 - 4.0 / 5.2], rtol=1e-6)


def test_dice_loss_averages_the_classes_and_adds_smooth():
    # class 0: intersection 0.8, sums 1 + 1.8; class 1: intersection 2.0, sums 3 + 2.2
    dice0 = (2 * 0.8 + 1) / (1 + 1.8 + 1)
    dice1 = (2 * 2.0 + 1) / (3 + 2.2 + 1)
    expected = 1 - (dice0 + dice1) / 2
    for y_true in (LABELS, LABELS[..., None], np.eye(2)[LABELS]):  # all mask formats
        np.testing.assert_allclose(numpy(dice_loss(y_true, PROBABILITIES)), [expected], rtol=1e-6)


def test_dice_loss_is_zero_when_perfect_and_one_when_disjoint():
    perfect = np.eye(3, dtype="float32")[LABELS]  # class 2 absent from both: counts as 1
    assert numpy(dice_loss(LABELS, perfect, smooth=0.0))[0] == pytest.approx(0.0, abs=1e-6)
    disjoint = np.eye(2, dtype="float32")[1 - LABELS]
    assert numpy(dice_loss(LABELS, disjoint, smooth=0.0))[0] == pytest.approx(1.0)


def test_dice_from_logits_equals_dice_of_softmax():
    logits = np.random.default_rng(0).normal(size=(2, 4, 4, 3)).astype("float32")
    labels = np.random.default_rng(1).integers(0, 3, size=(2, 4, 4))
    probabilities = numpy(keras.ops.softmax(logits))
    np.testing.assert_allclose(
        numpy(dice_loss(labels, logits, from_logits=True)),
        numpy(dice_loss(labels, probabilities)),
        rtol=1e-5,
    )


def test_boundary_weights_mark_pixels_next_to_another_class():
    labels = np.array([[[0, 0, 1, 1]] * 4])
    np.testing.assert_array_equal(numpy(boundary_weights(labels, 1, 5.0))[0], [[1, 6, 6, 1]] * 4)
    # a single pixel of class 2 in a 5x5 image: its 3x3 neighbourhood is the band
    square = np.zeros((1, 5, 5), "int32")
    square[0, 2, 2] = 2
    expected = np.ones((5, 5))
    expected[1:4, 1:4] = 3.0
    np.testing.assert_array_equal(numpy(boundary_weights(square, 1, 2.0))[0], expected)
    # width 2: the 5x5 window reaches everything from everywhere
    np.testing.assert_array_equal(numpy(boundary_weights(square, 2, 2.0))[0], np.full((5, 5), 3.0))


def test_boundary_weighted_crossentropy_by_hand():
    labels = np.array([[[0, 0, 1, 1]] * 4])
    uniform = np.full((1, 4, 4, 2), 0.5, "float32")
    # every pixel's cross-entropy is log 2; the weights average (1 + 6 + 6 + 1) / 4
    np.testing.assert_allclose(
        numpy(boundary_weighted_crossentropy(labels, uniform)), [math.log(2) * 3.5], rtol=1e-6
    )
    # the example of LABELS/PROBABILITIES: every pixel of a 2x2 image is on the boundary
    ce = -np.log([0.8, 0.6, 0.9, 0.5])
    loss = boundary_weighted_crossentropy(LABELS, PROBABILITIES, boundary_weight=3.0)
    np.testing.assert_allclose(numpy(loss), [4.0 * ce.mean()], rtol=1e-5)


def test_boundary_weight_zero_is_the_mean_crossentropy():
    labels = np.random.default_rng(0).integers(0, 3, size=(2, 6, 6, 1))
    probabilities = numpy(
        keras.ops.softmax(np.random.default_rng(1).normal(size=(2, 6, 6, 3)).astype("float32"))
    )
    expected = numpy(keras.losses.sparse_categorical_crossentropy(labels, probabilities))
    loss = boundary_weighted_crossentropy(labels, probabilities, boundary_weight=0.0)
    np.testing.assert_allclose(numpy(loss), expected.mean(axis=(1, 2)), rtol=1e-5)


def test_boundary_weighted_crossentropy_binary_sigmoid():
    labels = np.array([[[0, 0, 1, 1]] * 4])
    p = np.full((1, 4, 4, 1), 0.8, "float32")
    # -log(0.2) on class 0 pixels, -log(0.8) on class 1; weights 1, 6 | 6, 1 per row
    expected = (1 * -np.log(0.2) + 6 * -np.log(0.2) + 6 * -np.log(0.8) + 1 * -np.log(0.8)) / 4
    np.testing.assert_allclose(
        numpy(boundary_weighted_crossentropy(labels, p)), [expected], rtol=1e-5
    )


def test_mean_iou_from_probabilities_by_hand():
    metric = SegmentationMeanIoU(num_classes=2)
    metric.update_state(LABELS[..., None], PROBABILITIES)
    # predicted [[0, 1], [1, 0]]: class 0 IoU 1/2, class 1 IoU 2/3
    assert float(metric.result()) == pytest.approx((1 / 2 + 2 / 3) / 2)
    binary = SegmentationMeanIoU(num_classes=2, threshold=0.55)
    binary.update_state(LABELS, P1[..., None])  # sigmoid channel: same predictions
    assert float(binary.result()) == pytest.approx((1 / 2 + 2 / 3) / 2)


def test_mean_iou_of_all_background_and_per_image_weights():
    labels = np.array([[[0, 0], [1, 2]], [[0, 1], [1, 1]]])
    background = np.eye(3, dtype="float32")[np.zeros((2, 2, 2), int)]
    metric = SegmentationMeanIoU(num_classes=3)
    metric.update_state(labels, background)
    assert float(metric.result()) == pytest.approx((3 / 8) / 3)  # 3 background of 8
    metric.reset_state()
    metric.update_state(labels, background, sample_weight=np.array([1, 0]))
    assert float(metric.result()) == pytest.approx((2 / 4) / 3)  # first image only


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: DiceLoss(smooth=-1.0), "`smooth` must be a number >= 0"),
        (lambda: BoundaryWeightedCrossentropy(width=0), "`width` must be an integer >= 1"),
        (
            lambda: BoundaryWeightedCrossentropy(boundary_weight=-2),
            "`boundary_weight` must be a number >= 0",
        ),
        (lambda: SegmentationMeanIoU(num_classes=1), "`num_classes` must be an integer >= 2"),
    ],
)
def test_bad_arguments_raise_clear_errors(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_loss_classes_match_functions_and_round_trip_their_config():
    dice = DiceLoss(smooth=0.5)
    np.testing.assert_allclose(
        float(dice(LABELS, PROBABILITIES)),
        numpy(dice_loss(LABELS, PROBABILITIES, smooth=0.5))[0],
        rtol=1e-6,
    )
    boundary = BoundaryWeightedCrossentropy(width=2, boundary_weight=1.5)
    clone = BoundaryWeightedCrossentropy.from_config(boundary.get_config())
    assert (clone.width, clone.boundary_weight) == (2, 1.5)
    pixel = PixelCrossentropy.from_config(PixelCrossentropy(from_logits=True).get_config())
    assert pixel.from_logits and pixel.name == "pixel_crossentropy"
    metric = SegmentationMeanIoU.from_config(SegmentationMeanIoU(4, threshold=0.3).get_config())
    assert (metric.num_classes, metric.threshold) == (4, 0.3)


def test_binary_unet_trains_with_dice_loss_and_loads_in_safe_mode(recipe_check):
    x, y = recipes.data.arrays("shapes", "train", num_examples=8, image_size=16)
    y = (y > 0).astype("float32")  # any shape against background
    model = recipes.build_unet(
        input_shape=(16, 16, 3),
        num_classes=1,
        depth=1,
        filters=4,
        batch_norm=False,
        loss=DiceLoss(),
        learning_rate=1e-2,
    )
    loaded = recipe_check(model, x, y, steps=12)
    assert isinstance(loaded.loss, DiceLoss)
    # The loaded model evaluates with its deserialised loss and IoU metric: the mean
    # IoU of its own predictions thresholded at 0.5, counted here by hand...
    results = loaded.evaluate(x, y, batch_size=len(x), verbose=0, return_dict=True)
    predicted = loaded.predict(x, verbose=0) > 0.5
    truth = y.reshape(predicted.shape) > 0.5
    union = np.array([np.sum((predicted == c) | (truth == c)) for c in (False, True)])
    inter = np.array([np.sum((predicted == c) & (truth == c)) for c in (False, True)])
    assert union.all()  # both classes present: neither IoU is left out of the mean
    assert np.isfinite(results["loss"])
    assert results["mean_iou"] == pytest.approx(np.mean(inter / union), rel=1e-5)
    # ...and on the hand-made masks above, class 0 IoU 1/2 and class 1 IoU 2/3
    compiled = next(m for m in loaded.metrics if hasattr(m, "metrics")).metrics
    (metric,) = [m for m in compiled if isinstance(m, SegmentationMeanIoU)]
    metric.reset_state()
    metric.update_state(LABELS, P1[..., None])
    assert float(metric.result()) == pytest.approx((1 / 2 + 2 / 3) / 2)


@pytest.mark.parametrize(
    "loss",
    [
        dice_loss,
        boundary_weighted_crossentropy,
        BoundaryWeightedCrossentropy(width=2),
        PixelCrossentropy(),
    ],
    ids=[
        "dice_loss",
        "boundary_weighted_crossentropy",
        "BoundaryWeightedCrossentropy",
        "PixelCrossentropy",
    ],
)
def test_compiled_losses_and_metric_come_back_from_a_safe_mode_load(loss, tmp_path):
    model = keras.Sequential(
        [keras.Input((8, 8, 3)), keras.layers.Conv2D(3, 1, activation="softmax")]
    )
    model.compile("adam", loss=loss, metrics=[SegmentationMeanIoU(3)])
    x, y = recipes.data.arrays("shapes", "train", num_examples=4, image_size=16)
    x, y = x[:, :8, :8], y[:, :8, :8]
    path = str(tmp_path / "model.keras")
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    expected = model.evaluate(x, y, verbose=0, return_dict=True)
    results = loaded.evaluate(x, y, verbose=0, return_dict=True)
    assert results == pytest.approx(expected, rel=1e-5)
    assert "mean_iou" in results
