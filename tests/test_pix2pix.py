"""pix2pix: the U-Net generator and PatchGAN discriminator, learning a translation,
float32 outputs under mixed precision, serialisation and clear errors."""

import keras
import pytest

import recipes
from recipes import data
from recipes.models.pix2pix import Pix2Pix


def test_pix2pix_uses_the_unet_learns_the_translation_and_round_trips(roundtrip):
    sources, _ = data.arrays("shapes", "train", num_examples=16, image_size=16)
    targets = sources.mean(axis=-1, keepdims=True)  # translate colour to grey
    model = recipes.build_pix2pix(
        input_shape=(16, 16, 3),
        output_channels=1,
        depth=1,
        filters=8,
        discriminator_filters=(8, 16),
        learning_rate=3e-3,
    )
    assert isinstance(model, Pix2Pix)
    assert model.generator.get_layer("encoder1_conv1") is not None  # build_unet's layers
    assert model.generator.output_shape == (None, 16, 16, 1)
    assert model.discriminator.output_shape == (None, 8, 8, 1)  # one logit per patch
    history = model.fit(sources, targets, epochs=8, batch_size=8, verbose=0).history
    assert history["l1"][-1] < 0.7 * history["l1"][0]
    assert model.predict(sources[:2], verbose=0).shape == (2, 16, 16, 1)
    roundtrip(model, sources[:4])
    # Last: on JAX a fit that raises empties the model's variables (see test_gan.py).
    with pytest.raises(ValueError, match="target images as y"):
        model.fit(sources, epochs=1, verbose=0)


def test_two_optimizers_and_the_discriminator_learning_rate():
    model = recipes.build_pix2pix(
        input_shape=(8, 8, 1),
        depth=1,
        filters=4,
        discriminator_filters=(4,),
        learning_rate=1e-3,
        discriminator_learning_rate=5e-4,
    )
    assert isinstance(model.optimizer, keras.optimizers.MultiOptimizer)
    assert [float(o.learning_rate) for o in model.optimizer.optimizers] == pytest.approx(
        [5e-4, 1e-3]
    )
    assert not recipes.build_pix2pix(input_shape=(8, 8, 1), depth=1, compile=False).compiled


def test_mixed_precision_networks_end_in_float32():
    # the losses and the L1 term are computed on these outputs
    with recipes.precision("mixed_bfloat16"):
        model = recipes.build_pix2pix(
            input_shape=(8, 8, 1), depth=1, filters=4, discriminator_filters=(4,), compile=False
        )
    for network in (model.generator, model.discriminator):
        assert "bfloat16" in {layer.compute_dtype for layer in network.layers}
        assert [keras.backend.standardize_dtype(output.dtype) for output in network.outputs] == [
            "float32"
        ], network.name


@pytest.mark.parametrize(
    "arguments, message",
    [
        ({"input_shape": (12, 12, 3), "depth": 3}, "divisible by 2\\*\\*depth"),
        ({"output_channels": 0}, "`output_channels` must be an integer"),
        ({"discriminator_filters": ()}, "`discriminator_filters` must hold at least one"),
        ({"output_activation": "softmax"}, "`output_activation` must be one of"),
        ({"input_shape": (None, 8, 1)}, "`input_shape` must be fully known"),
        ({"loss": "mae"}, "`loss` and `metrics` must be None"),
    ],
)
def test_bad_arguments_raise_clear_errors(arguments, message):
    with pytest.raises(ValueError, match=message):
        recipes.build_pix2pix(**arguments)
