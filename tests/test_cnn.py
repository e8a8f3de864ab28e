import keras
import numpy as np
import pytest

import recipes
from recipes.augment import build_augmentation
from recipes.compiling import compile_recipe
from recipes.layers import LocalResponseNormalization
from recipes.testing import assert_loss_decreases, run_layer_test

pytestmark = pytest.mark.backends

SGD = {"optimizer": "sgd", "learning_rate": 0.1}
CNN_PRESETS = ("cifar10_lenet", "cifar10_vgg", "zhang_alexnet_small", "zhang_inception_small")


def _trainable(model):
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


def _images(n=16, size=16, seed=0):
    """Noise images whose class (0, 1 or 2) is the brighter colour channel."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    x = 0.5 * rng.uniform(size=(n, size, size, 3))
    x[np.arange(n), :, :, y] += 0.5
    return x.astype("float32"), y


def _check(model, x, y, steps, roundtrip):
    """``recipe_check`` in one epoch: ``steps`` full-batch steps on the repeated
    batch (Keras's per-epoch overhead dominates at this size), the loss must fall
    below 0.9 x start, then the .keras round trip with ``safe_mode=True``.
    Tests train with plain SGD: tracing Adam's update costs TensorFlow 3x more."""
    assert_loss_decreases(
        model, np.concatenate([x] * steps), np.concatenate([y] * steps), steps=1, batch_size=len(x)
    )
    return roundtrip(model, x)


def test_presets_have_the_documented_parameter_counts():
    lenet = recipes.build("cifar10_lenet")
    assert lenet.count_params() == 62_006  # seed 004 model 2
    assert lenet.get_layer("flatten").output.shape == (None, 400)

    vgg = recipes.build("cifar10_vgg")
    assert _trainable(vgg) == 5_852_170  # seed 004 model 3
    assert vgg.count_params() == 5_853_002  # + the batch-norm moving statistics
    assert vgg.get_layer("flatten").output.shape == (None, 4096)
    assert [layer.name for layer in vgg.layers if layer.name.endswith("_bn")] == [
        "block1_conv1_bn",
        "block2_conv1_bn",
        "block3_conv1_bn",
    ]  # 1st, 3rd, 5th conv

    alexnet = recipes.build("zhang_alexnet_small")
    assert alexnet.count_params() == 1_387_786  # Zhang et al. 2017
    assert alexnet.get_layer("crop").output.shape == (None, 28, 28, 3)
    assert recipes.build_alexnet_small(input_shape=(28, 28, 3)).count_params() == 1_387_786

    # Zhang et al.'s Inception has 1,649,402 trainable parameters with and without
    # batch norm: with it, convolutions lose their bias and BN has beta but no gamma.
    with_bn = recipes.build("zhang_inception_small")
    without_bn = recipes.build("zhang_inception_small", batch_norm=False)
    assert _trainable(with_bn) == _trainable(without_bn) == 1_649_402
    assert without_bn.count_params() == 1_649_402
    assert with_bn.count_params() == 1_649_402 + 2 * 1_712  # moving mean and variance
    conv, bn = with_bn.get_layer("inception_1_3x3_conv"), with_bn.get_layer("inception_1_3x3_bn")
    assert not conv.use_bias and bn.center and not bn.scale
    assert without_bn.get_layer("inception_1_3x3_conv").use_bias
    assert not any(
        isinstance(layer, keras.layers.BatchNormalization) for layer in without_bn.layers
    )
    assert with_bn.get_layer("downsample_2_concat").output.shape == (None, 7, 7, 240)
    assert with_bn.get_layer("mean_pool").output.shape == (None, 336)


def test_lenet_trains_round_trips_and_pools_as_asked(roundtrip):
    x, y = _images()
    model = recipes.build("cifar10_lenet", input_shape=(16, 16, 3), **SGD)
    _check(model, x, y, 10, roundtrip)
    average = recipes.build_lenet(pooling="average", compile=False)
    assert isinstance(average.get_layer("pool_1"), keras.layers.AveragePooling2D)
    assert isinstance(model.get_layer("pool_1"), keras.layers.MaxPooling2D)
    assert average.count_params() == 62_006


def test_vgg_trains_and_places_batch_norm_as_asked(roundtrip):
    x, y = _images()
    model = recipes.build_vgg(
        input_shape=(16, 16, 3), blocks=((8, 8), (16,)), dense_units=(32, 16), **SGD
    )
    _check(model, x, y, 10, roundtrip)
    names = [layer.name for layer in model.layers]
    assert names.count("pool_dropout") == names.count("dense_dropout") == 1
    assert names.index("dense_dropout") == names.index("dense_2") + 1  # after the last
    expected = {
        "first": ["block1_conv1_bn", "block2_conv1_bn", "block3_conv1_bn"],
        "all": [f"block{b}_conv{c}_bn" for b in (1, 2, 3) for c in (1, 2)],
        "none": [],
    }
    for batch_norm, bn_names in expected.items():
        built = recipes.build_vgg(
            input_shape=(8, 8, 3), blocks=((4, 4),) * 3, batch_norm=batch_norm, compile=False
        )
        bns = [
            layer.name
            for layer in built.layers
            if isinstance(layer, keras.layers.BatchNormalization)
        ]
        assert bns == bn_names, batch_norm


def test_alexnet_small_with_crop_and_lrn_trains_and_round_trips(roundtrip):
    x, y = _images(size=20)
    augment = build_augmentation(flip="horizontal", crop=2, seed=0)
    model = recipes.build_alexnet_small(
        input_shape=(20, 20, 3),
        crop=16,
        filters=(8, 8),
        dense_units=(16, 8),
        augment=augment,
        **SGD,
    )
    assert isinstance(model.get_layer("lrn_2"), LocalResponseNormalization)
    assert [layer.name for layer in model.layers[:3]] == ["augmentation", "crop", "conv_1"]
    loaded = _check(model, x, y, 10, roundtrip)
    assert isinstance(loaded.get_layer("lrn_1"), LocalResponseNormalization)
    assert loaded.get_layer("lrn_1").get_config()["alpha"] == pytest.approx(0.001 / 9)
    plain = recipes.build_alexnet_small(local_response_norm=False, compile=False)
    assert not any(isinstance(layer, LocalResponseNormalization) for layer in plain.layers)


def test_inception_small_trains_and_round_trips(roundtrip):
    x, y = _images()
    # A short module list: the full one takes long to trace and is counted above.
    model = recipes.build_inception_small(
        input_shape=(16, 16, 3),
        stem_filters=8,
        modules=(("inception", 8, 8), ("downsample", 8), ("inception", 8, 8)),
        **SGD,
    )
    assert model.get_layer("inception_2_concat").output.shape == (None, 8, 8, 16)
    _check(model, x, y, 10, roundtrip)


def test_crop_keeps_the_centre_of_the_image():
    x = np.random.default_rng(0).uniform(size=(2, 32, 32, 3)).astype("float32")
    model = recipes.build("zhang_alexnet_small", compile=False)
    cropped = keras.ops.convert_to_numpy(model.get_layer("crop")(x))
    np.testing.assert_array_equal(cropped, x[:, 2:30, 2:30])
    odd = recipes.build_alexnet_small(input_shape=(31, 30, 3), crop=(28, 27), compile=False)
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(odd.get_layer("crop")(x[:, :31, :30])), x[:, 1:29, 1:28]
    )


def test_mixed_precision_keeps_float32_outputs_and_lrn_finite():
    with recipes.precision("mixed_float16"):
        models = [
            recipes.build_lenet(compile=False),
            recipes.build_alexnet_small(filters=(4, 4), dense_units=(8,), compile=False),
            recipes.build_inception_small(
                stem_filters=4, modules=(("downsample", 4),), compile=False
            ),
        ]
        lrn = LocalResponseNormalization()
    for model in models:
        assert model.layers[0].compute_dtype == "float16", model.name
        assert model.outputs[0].dtype == "float32", model.name
    # Squares of float16 activations above 256 overflow; the layer squares in float32.
    x = np.full((1, 2, 2, 5), 1000.0, "float16")
    out = keras.ops.convert_to_numpy(lrn(x))
    assert out.dtype == np.float16 and np.isfinite(out).all()
    np.testing.assert_allclose(
        out.astype("float32"), _lrn_reference(x.astype("float32"), 2, 2.0, 1e-4, 0.75), rtol=2e-3
    )


def _lrn_reference(x, depth_radius, bias, alpha, beta):
    out = np.empty_like(x)
    channels = x.shape[-1]
    for c in range(channels):
        low, high = max(0, c - depth_radius), min(channels, c + depth_radius + 1)
        total = (x[..., low:high] ** 2).sum(axis=-1)
        out[..., c] = x[..., c] / (bias + alpha * total) ** beta
    return out


@pytest.mark.parametrize(
    "arguments",
    [
        {},
        {"depth_radius": 4, "bias": 1.0, "alpha": 0.5, "beta": 0.75},
        {"depth_radius": 0, "bias": 1.0, "alpha": 1.0, "beta": 1.0},
    ],
    ids=["defaults", "wide", "radius_0"],
)
def test_local_response_normalization_matches_the_formula(arguments, tmp_path):
    """The formula, through the layer harness (build, call, config round trip,
    safe-mode .keras round trip in a model)."""
    x = np.random.default_rng(0).normal(size=(2, 3, 3, 7)).astype("float32")
    result = run_layer_test(
        LocalResponseNormalization,
        arguments,
        input_data=x,
        expected_output_shape=x.shape,
        expected_output_dtype="float32",
        expected_num_params=0,
        directory=tmp_path,
    )
    config = result.layer.get_config()
    expected = _lrn_reference(x, *(config[k] for k in ("depth_radius", "bias", "alpha", "beta")))
    np.testing.assert_allclose(result.outputs, expected, rtol=1e-5, atol=1e-6)
    if arguments.get("depth_radius") == 0:  # x / (1 + x ** 2) channel by channel
        np.testing.assert_allclose(result.outputs, x / (1 + x**2), rtol=1e-5)


BAD_ARGUMENTS = [
    (recipes.build_lenet, {"pooling": "min"}, "`pooling` must be one of"),
    (recipes.build_lenet, {"input_shape": (32, 32)}, "`input_shape` must have 3"),
    (recipes.build_lenet, {"filters": (6, 0)}, r"`filters\[1\]` must be an integer >= 1"),
    (recipes.build_lenet, {"augment": "flip"}, "`augment` must be a Keras layer or None"),
    (recipes.build_vgg, {"batch_norm": "some"}, "`batch_norm` must be one of"),
    (recipes.build_vgg, {"input_shape": (30, 30, 3)}, "divisible by 8"),
    (recipes.build_vgg, {"blocks": ()}, "`blocks` must be a non-empty tuple"),
    (recipes.build_vgg, {"dropout": 1.0}, r"`dropout` must be in \[0, 1\)"),
    (recipes.build_alexnet_small, {"crop": 40}, "`crop` needs image inputs"),
    (recipes.build_alexnet_small, {"crop": (28,)}, "`crop` must be None, an int"),
    (recipes.build_inception_small, {"batch_norm": "yes"}, "`batch_norm` must be True"),
    (recipes.build_inception_small, {"num_classes": 0}, "`num_classes` must be an integer"),
    (recipes.build_inception_small, {"modules": (("pool", 8),)}, r"`modules\[0\]` must be"),
    (recipes.build_inception_small, {"modules": (("inception", 8),)}, r"`modules\[0\]` must"),
    (LocalResponseNormalization, {"depth_radius": -1}, "`depth_radius` must be an integer"),
    (LocalResponseNormalization, {"bias": 0.0}, "`bias` must be a number > 0"),
    (LocalResponseNormalization, {"beta": -1.0}, "`beta` must be a number >= 0"),
]


def test_bad_arguments_raise_clear_errors():
    for builder, arguments, message in BAD_ARGUMENTS:
        with pytest.raises(ValueError, match=message):
            builder(**arguments)


def test_every_cnn_preset_keeps_xla_on():
    """Compiled with ``jit_compile=True``, every preset keeps it, with and without
    augmentation: no layer opts out of XLA (Keras turns XLA off for the whole model
    when one does, and train steps only read the flag). The custom LRN layer then
    runs a real XLA train step in a small AlexNet (XLA-compiling a full-size
    preset takes tens of seconds on CPU)."""
    for name in CNN_PRESETS:
        for augment in (None, build_augmentation(flip="horizontal", rotation=0.05, crop=4)):
            model = recipes.build(name, augment=augment, compile=False)
            compile_recipe(model, loss="sparse_categorical_crossentropy", jit_compile=True)
            assert model.jit_compile is True, (name, augment)
    model = recipes.build_alexnet_small(
        input_shape=(20, 20, 3),
        crop=16,
        filters=(4, 4),
        dense_units=(8,),
        compile=False,
        augment=build_augmentation(flip="horizontal", crop=2),
    )
    compile_recipe(
        model, optimizer="sgd", loss="sparse_categorical_crossentropy", jit_compile=True
    )
    x, y = _images(n=4, size=20)
    assert np.isfinite(model.train_on_batch(x, y)) and model.jit_compile is True
