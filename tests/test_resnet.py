import keras
import numpy as np
import pytest

import recipes
from recipes.augment import build_augmentation
from recipes.compiling import compile_recipe
from recipes.testing import assert_loss_decreases

pytestmark = pytest.mark.backends

SGD = {"optimizer": "sgd", "learning_rate": 0.1}
RESNET_PRESETS = ("cifar10_resnet20", "cifar10_resnet56", "cifar10_resnet9")


def _trainable(model):
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


def _images(n=16, size=16, seed=0):
    """Noise images whose class (0, 1 or 2) is the brighter colour channel."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    x = 0.5 * rng.uniform(size=(n, size, size, 3))
    x[np.arange(n), :, :, y] += 0.5
    return x.astype("float32"), y


def _decreases(model, x, y, steps=10):
    """``steps`` full-batch SGD steps in one epoch (Keras's per-epoch overhead
    dominates at this size); the loss must fall below 0.9 x start."""
    assert_loss_decreases(
        model, np.concatenate([x] * steps), np.concatenate([y] * steps), steps=1, batch_size=len(x)
    )


def _expected_counts(depth, block="basic", width=16, classes=10):
    """(trainable, total) parameters of a CIFAR ResNet, counted by hand: bias-free
    convolutions, each with a batch norm (beta and gamma trainable, moving mean and
    variance not), 1x1 projections where the shape changes, a dense head."""
    basic = block == "basic"
    blocks = (depth - 2) // (3 * (2 if basic else 3))
    counts = {"trainable": 0, "statistics": 0}

    def conv_bn(cin, cout, k):
        counts["trainable"] += k * k * cin * cout + 2 * cout
        counts["statistics"] += 2 * cout

    conv_bn(3, width, 3)
    cin = width
    for stage in range(3):
        w = width * 2**stage
        out = w if basic else 4 * w
        for b in range(blocks):
            stride = 2 if stage and b == 0 else 1
            if basic:
                conv_bn(cin, w, 3)
                conv_bn(w, w, 3)
            else:
                conv_bn(cin, w, 1)
                conv_bn(w, w, 3)
                conv_bn(w, out, 1)
            if stride != 1 or cin != out:
                conv_bn(cin, out, 1)
            cin = out
    counts["trainable"] += cin * classes + classes
    return counts["trainable"], counts["trainable"] + counts["statistics"]


def test_cifar_resnets_have_the_hand_counted_parameters():
    resnet20 = recipes.build("cifar10_resnet20", compile=False)
    assert (_trainable(resnet20), resnet20.count_params()) == (272_474, 274_042)
    assert abs(resnet20.count_params() - 270_000) < 5_000  # "about 0.27M" (He et al.)
    assert resnet20.name == "resnet20"
    resnet56 = recipes.build("cifar10_resnet56", compile=False)
    assert (_trainable(resnet56), resnet56.count_params()) == _expected_counts(56)
    assert resnet56.count_params() == 860_026  # He et al.: 0.85M
    bottleneck = recipes.build_resnet(block="bottleneck", depth=29, compile=False)
    assert (_trainable(bottleneck), bottleneck.count_params()) == _expected_counts(
        29, "bottleneck"
    )
    assert _expected_counts(20) == (272_474, 274_042)


def test_resnet9_has_the_fast_network_layout():
    model = recipes.build("cifar10_resnet9", compile=False)
    convs = {
        "prep": (3, 64),
        "layer1": (64, 128),
        "layer1_res_a": (128, 128),
        "layer1_res_b": (128, 128),
        "layer2": (128, 256),
        "layer3": (256, 512),
        "layer3_res_a": (512, 512),
        "layer3_res_b": (512, 512),
    }
    trainable = sum(9 * cin * cout + 2 * cout for cin, cout in convs.values()) + 512 * 10 + 10
    assert _trainable(model) == trainable == 6_573_130
    assert model.count_params() == trainable + sum(2 * c for _, c in convs.values())
    for name, size in (("layer1_pool", 16), ("layer2_pool", 8), ("layer3_pool", 4)):
        assert model.get_layer(name).output.shape[1] == size
    assert isinstance(model.get_layer("max_pool"), keras.layers.GlobalMaxPooling2D)


def test_blocks_have_predictable_names_and_projection_shortcuts():
    model = recipes.build_resnet(depth=20, compile=False)
    names = {layer.name for layer in model.layers}
    assert "stack1_block1_shortcut_conv" not in names  # identity: same shape
    shortcut = model.get_layer("stack2_block1_shortcut_conv")
    assert shortcut.strides == (2, 2) and shortcut.kernel_size == (1, 1)
    assert "stack2_block2_shortcut_conv" not in names
    for stack, size, width in ((1, 32, 16), (2, 16, 32), (3, 8, 64)):
        assert model.get_layer(f"stack{stack}_block3_out").output.shape == (
            None,
            size,
            size,
            width,
        )
    bottleneck = recipes.build_resnet(block="bottleneck", depth=11, compile=False)
    assert bottleneck.get_layer("stack1_block1_shortcut_conv").filters == 64  # 16 -> 4 x 16
    assert bottleneck.get_layer("stack3_block1_out").output.shape == (None, 8, 8, 256)


def test_mixed_precision_keeps_a_float32_output():
    with recipes.precision("mixed_bfloat16"):
        model = recipes.build_resnet(input_shape=(8, 8, 3), depth=8, filters=4, compile=False)
    assert model.get_layer("stack1_block1_conv1").compute_dtype == "bfloat16"
    assert model.outputs[0].dtype == "float32"


def test_the_skip_connection_carries_the_input_through_a_silenced_block():
    model = recipes.build_resnet(input_shape=(8, 8, 3), depth=8, filters=4, compile=False)
    block = keras.Model(
        model.get_layer("stem_relu").output, model.get_layer("stack1_block1_out").output
    )
    bn2 = model.get_layer("stack1_block1_bn2")
    gamma, beta, mean, variance = bn2.get_weights()
    bn2.set_weights([np.zeros_like(gamma), beta, mean, variance])  # residual branch -> 0
    x = np.random.default_rng(0).uniform(size=(2, 8, 8, 4)).astype("float32")  # >= 0
    np.testing.assert_allclose(keras.ops.convert_to_numpy(block(x)), x, atol=1e-6)
    # Without the skip the block would output relu(beta) = 0, not its input.
    assert np.abs(x).mean() > 0.1


def test_small_resnet_with_augmentation_trains_and_round_trips(roundtrip):
    x, y = _images()
    augment = build_augmentation(flip="horizontal", crop=2, seed=0)
    model = recipes.build_resnet(
        input_shape=(16, 16, 3), depth=8, filters=4, l2=1e-4, augment=augment, **SGD
    )
    assert model.get_layer("stem_conv").input is model.get_layer("augmentation").output
    # One L2 penalty per kernel: stem, 3 blocks x 2 convs, 2 projections, the head.
    assert len(model.losses) == 1 + 3 * 2 + 2 + 1
    _decreases(model, x, y)
    roundtrip(model, x)


def test_resnet9_trains_and_round_trips(roundtrip):
    x, y = _images()
    fast = recipes.build_resnet(input_shape=(16, 16, 3), variant="resnet9", filters=4, **SGD)
    assert fast.name == "resnet9"
    _decreases(fast, x, y)
    roundtrip(fast, x)


BAD_ARGUMENTS = [
    ({"depth": 21}, r"`depth` must be 6n\+2 for block='basic' \(e.g. 8, 20, 32, 44, 56, 110"),
    ({"depth": 2}, r"`depth` must be 6n\+2"),
    ({"depth": "20"}, r"`depth` must be 6n\+2"),
    ({"depth": 20.0}, r"`depth` must be 6n\+2"),
    ({"depth": 32, "block": "bottleneck"}, r"`depth` must be 9n\+2 for block='bottleneck'"),
    ({"block": "wide"}, "`block` must be one of"),
    ({"variant": "imagenet"}, "`variant` must be one of"),
    ({"variant": "resnet9", "depth": 20}, "variant='resnet9' has depth 9"),
    ({"variant": "resnet9", "block": "bottleneck"}, "variant='resnet9' has its own blocks"),
    ({"filters": 0}, "`filters` must be an integer >= 1"),
    ({"l2": -1e-4}, "`l2` must be a number >= 0"),
    ({"input_shape": (32, 32)}, "`input_shape` must have 3"),
    ({"augment": lambda x: x}, "`augment` must be a Keras layer or None"),
]


def test_bad_arguments_raise_clear_errors():
    for arguments, message in BAD_ARGUMENTS:
        with pytest.raises(ValueError, match=message):
            recipes.build_resnet(**arguments)


def test_every_resnet_preset_keeps_xla_on():
    """Compiled with ``jit_compile=True``, every preset keeps it, with and without
    augmentation: no layer opts out of XLA (Keras then turns it off for the whole
    model, and train steps only read the flag). A real XLA compile of these
    presets takes tens of seconds on CPU, so none is run here; the augmentation
    layers' own tests run theirs."""
    for name in RESNET_PRESETS:
        for augment in (None, build_augmentation(flip="horizontal", rotation=0.05, crop=4)):
            model = recipes.build(name, augment=augment, compile=False)
            compile_recipe(model, loss="sparse_categorical_crossentropy", jit_compile=True)
            assert model.jit_compile is True, (name, augment)
