import keras
import numpy as np
import pytest

from recipes import losses
from recipes.losses import (
    BinaryHinge,
    MulticlassHinge,
    binary_hinge,
    multiclass_hinge,
    sign_accuracy,
)


def _np(x):
    return keras.ops.convert_to_numpy(x)


SCORES = np.array([[2.0], [0.5], [-0.25], [-3.0], [0.0]], "float32")
SIGNED = np.array([1.0, 1.0, 1.0, -1.0, -1.0], "float32")
# max(0, 1 - y w) by hand: 1 - 2 < 0; 1 - 0.5; 1 + 0.25; 1 - 3 < 0; 1 - 0
EXPECTED_BINARY = np.array([0.0, 0.5, 1.25, 0.0, 1.0], "float32")


@pytest.mark.parametrize("labels", [SIGNED, (SIGNED + 1) / 2], ids=["minus_one_one", "zero_one"])
def test_binary_hinge_matches_the_hand_computed_values(labels):
    np.testing.assert_allclose(_np(binary_hinge(labels, SCORES)), EXPECTED_BINARY)
    np.testing.assert_allclose(_np(binary_hinge(labels[:, None], SCORES)), EXPECTED_BINARY)
    assert float(BinaryHinge()(labels, SCORES)) == pytest.approx(EXPECTED_BINARY.mean())


def test_binary_hinge_margin_moves_the_hinge():
    # max(0, m - y w) with m = 0: only misclassified points (and w = 0) cost.
    np.testing.assert_allclose(
        _np(binary_hinge(SIGNED, SCORES, margin=0.0)), [0.0, 0.0, 0.25, 0.0, 0.0]
    )
    np.testing.assert_allclose(
        _np(BinaryHinge(margin=2.0, reduction=None)(SIGNED, SCORES)), [0.0, 1.5, 2.25, 0.0, 2.0]
    )


CLASS_SCORES = np.array(
    [
        [2.0, 1.5, -1.0],  # gold 0 beats 1.5 by 0.5: 1 - 2 + 1.5 = 0.5
        [0.0, 3.0, 1.0],  # gold 1 beats 1.0 by 2: 0
        [-3.0, -1.0, -2.0],  # gold 2 loses to -1: 1 + 2 - 1 = 2 (negative scores too)
        [1.0, 1.0, 1.0],
    ],  # ties: 1 - 1 + 1 = 1
    "float32",
)
CLASS_IDS = np.array([0, 1, 2, 0])
EXPECTED_MULTICLASS = np.array([0.5, 0.0, 2.0, 1.0], "float32")


def test_multiclass_hinge_matches_the_hand_computed_values():
    np.testing.assert_allclose(_np(multiclass_hinge(CLASS_IDS, CLASS_SCORES)), EXPECTED_MULTICLASS)
    np.testing.assert_allclose(
        _np(multiclass_hinge(CLASS_IDS[:, None], CLASS_SCORES)), EXPECTED_MULTICLASS
    )
    one_hot = np.eye(3, dtype="float32")[CLASS_IDS]
    np.testing.assert_allclose(
        _np(multiclass_hinge(one_hot, CLASS_SCORES, sparse=False)), EXPECTED_MULTICLASS
    )
    loss = MulticlassHinge(margin=0.5)
    assert float(loss(CLASS_IDS, CLASS_SCORES)) == pytest.approx(np.mean([0, 0, 1.5, 0.5]))


def test_multiclass_hinge_differs_from_keras_categorical_hinge_on_negative_scores():
    # Keras's categorical_hinge takes max((1 - y) * w), which is 0 (the gold slot)
    # when every other score is negative; seed 002's loss takes the best other class.
    one_hot = np.eye(3, dtype="float32")[[2]]
    ours = float(_np(multiclass_hinge(one_hot, CLASS_SCORES[2:3], sparse=False))[0])
    theirs = float(_np(keras.losses.categorical_hinge(one_hot, CLASS_SCORES[2:3]))[0])
    assert ours == pytest.approx(2.0)
    assert theirs == pytest.approx(3.0)


def test_sign_accuracy_reads_both_label_conventions():
    expected = [1.0, 1.0, 0.0, 1.0, 1.0]
    np.testing.assert_allclose(_np(sign_accuracy(SIGNED, SCORES)), expected)
    np.testing.assert_allclose(_np(sign_accuracy((SIGNED + 1) / 2, SCORES)), expected)


@pytest.mark.parametrize("loss", [BinaryHinge(margin=0.5), MulticlassHinge(2.0, sparse=False)])
def test_hinge_losses_serialize_with_their_arguments(loss):
    restored = keras.losses.deserialize(keras.losses.serialize(loss))
    assert type(restored) is type(loss)
    assert restored.get_config() == loss.get_config()
    assert restored.margin == loss.margin


def test_loss_functions_are_registered_for_safe_loading():
    for function in (binary_hinge, multiclass_hinge, sign_accuracy):
        name = keras.saving.get_registered_name(function)
        assert name == f"recipes>{function.__name__}"
        assert keras.saving.get_registered_object(name) is function


def test_a_model_compiled_with_a_hinge_loss_saves_and_loads(tmp_path):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4)])
    model.compile("sgd", loss=MulticlassHinge(margin=0.25))
    x = np.ones((2, 3), "float32")
    model.fit(x, np.array([0, 1]), verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras", safe_mode=True)
    assert isinstance(loaded.loss, MulticlassHinge) and loaded.loss.margin == 0.25


def test_bad_margin_raises_a_clear_error():
    for margin in (-1.0, "1", True):
        for loss_class in (BinaryHinge, MulticlassHinge):
            with pytest.raises(ValueError, match="`margin` must be a number >= 0"):
                loss_class(margin=margin)


def test_package_exports():
    assert {
        "BinaryHinge",
        "MulticlassHinge",
        "binary_hinge",
        "multiclass_hinge",
        "sign_accuracy",
    } <= set(losses.__all__)
