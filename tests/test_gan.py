import os

import keras
import numpy as np
import pytest
from keras import ops

import recipes
from callbacks.samples import SampleGrid
from recipes import data
from recipes.autodiff import input_gradient
from recipes.models.gan import GAN
from recipes.plots import plot_samples


def _numpy(x):
    return np.asarray(ops.convert_to_numpy(x))


def _weights(model):
    return [_numpy(w) for w in model.trainable_weights]


def _moons_gan(**overrides):
    return recipes.build_gan(
        **{
            "input_shape": (2,),
            "latent_dim": 2,
            "generator_units": (16,),
            "discriminator_units": (16,),
            "output_activation": "linear",
            "seed": 0,
            **overrides,
        }
    )


def _variable_gradient(function, variable):
    """d function() / d variable on any backend: the variable's value goes in through
    a StatelessScope and is differentiated like an input. No gradient reads as zeros
    (TensorFlow says None, JAX zeros)."""

    def of_value(value):
        with keras.StatelessScope(state_mapping=[(variable, value)]):
            return function()

    gradient = input_gradient(of_value, ops.convert_to_tensor(variable))
    return np.zeros(variable.shape) if gradient is None else _numpy(gradient)


def test_frozen_discriminator_passes_gradients_to_its_inputs_only():
    model = _moons_gan()
    x = np.random.default_rng(0).normal(size=(16, 2)).astype("float32")

    def frozen(t=x):
        return ops.sum(model.frozen_discriminator(t))

    def plain(t=x):
        return ops.sum(model.discriminator(t, training=True))

    np.testing.assert_allclose(_numpy(frozen()), _numpy(plain()), rtol=1e-6)
    for variable in model.discriminator.trainable_variables:
        assert not _variable_gradient(frozen, variable).any(), variable.path
        assert _variable_gradient(plain, variable).any(), variable.path
    np.testing.assert_allclose(
        _numpy(input_gradient(frozen, x)), _numpy(input_gradient(plain, x)), rtol=1e-6
    )


@pytest.mark.parametrize("trained", ["discriminator", "generator"])
def test_each_network_moves_on_its_own_loss_with_its_own_optimizer(trained):
    rates = {"learning_rate": 0.0, "discriminator_learning_rate": 1e-2}
    if trained == "generator":
        rates = {"learning_rate": 1e-2, "discriminator_learning_rate": 0.0}
    model = _moons_gan(**rates)
    assert [float(o.learning_rate) for o in model.optimizer.optimizers] == pytest.approx(
        [rates["discriminator_learning_rate"], rates["learning_rate"]]
    )
    x, _ = data.arrays("moons", "train")
    generator, discriminator = _weights(model.generator), _weights(model.discriminator)
    history = model.fit(x[:256], epochs=6, batch_size=64, verbose=0).history

    moved, frozen = (
        (model.discriminator, model.generator)
        if trained == "discriminator"
        else (model.generator, model.discriminator)
    )
    before_moved, before_frozen = (
        (discriminator, generator) if trained == "discriminator" else (generator, discriminator)
    )
    for after, before in zip(_weights(frozen), before_frozen):
        np.testing.assert_array_equal(after, before)
    assert max(np.abs(a - b).max() for a, b in zip(_weights(moved), before_moved)) > 1e-3
    # The trained network lowers its own loss: D separates the fixed generator's
    # samples from the data; G moves its samples to where the fixed D says "real".
    key = "d_loss" if trained == "discriminator" else "g_loss"
    assert history[key][-1] < 0.9 * history[key][0]


def test_dcgan_trains_saves_sample_grids_and_round_trips(roundtrip, tmp_path):
    x, _ = data.arrays("digits", "train")
    model = recipes.build_dcgan(input_shape=(8, 8, 1), latent_dim=8, filters=(8, 16), seed=0)
    assert model.generator.output_shape == (None, 8, 8, 1)
    assert model.discriminator.output_shape == (None, 1)
    grids = SampleGrid(str(tmp_path / "grids"), num_samples=9, every=1)
    history = model.fit(x[:128], epochs=2, batch_size=64, callbacks=[grids], verbose=0).history
    for key in ("d_loss", "g_loss"):
        assert np.isfinite(history[key]).all() and history[key][0] != history[key][-1]
    assert [os.path.basename(p) for p in grids.paths] == [
        "samples_epoch_001.png",
        "samples_epoch_002.png",
    ]
    assert all(os.path.getsize(p) > 1000 for p in grids.paths)

    samples = model.sample(4, seed=1)
    assert samples.shape == (4, 8, 8, 1) and 0 <= samples.min() and samples.max() <= 1
    loaded = roundtrip(model, x[:16])  # predict: the discriminator's logits
    np.testing.assert_allclose(loaded.sample(4, seed=1), samples, atol=1e-5)
    assert isinstance(loaded.optimizer, keras.optimizers.MultiOptimizer)
    assert [int(o.iterations) for o in loaded.optimizer.optimizers] == [4, 4]


def test_conditional_gan_generates_the_requested_classes(roundtrip):
    x, y = data.arrays("digits", "train")
    model = recipes.build_conditional_gan(
        input_shape=(8, 8, 1),
        num_classes=10,
        latent_dim=8,
        generator_units=(32,),
        discriminator_units=(32,),
        seed=0,
    )
    assert model.discriminator.output_shape == (None, 10)  # one logit per class
    history = model.fit(x[:128], y[:128], epochs=2, batch_size=64, verbose=0).history
    assert np.isfinite(history["d_loss"]).all() and np.isfinite(history["g_loss"]).all()

    z = np.random.default_rng(0).normal(size=(4, 8)).astype("float32")
    threes = model.generator.predict([z, np.full(4, 3)], verbose=0)
    sevens = model.generator.predict([z, np.full(4, 7)], verbose=0)
    assert np.abs(threes - sevens).max() > 1e-3  # the label steers the generator
    assert model.sample(labels=[3, 3, 7]).shape == (3, 8, 8, 1)
    assert model.sample(12).shape == (12, 8, 8, 1)
    with pytest.raises(ValueError, match=r"`labels` must be class ids in \[0, 10\)"):
        model.sample(labels=[10])
    loaded = roundtrip(model, x[:16])
    np.testing.assert_allclose(
        loaded.sample(labels=[1, 2], seed=0), model.sample(labels=[1, 2], seed=0), atol=1e-5
    )
    # Last: on JAX a fit that raises in its first step leaves the model's variables
    # empty (Keras 3.15 hands them to the step and gets nothing back to restore).
    with pytest.raises(ValueError, match="call fit\\(x, y\\) with the class labels"):
        model.fit(x[:64], epochs=1, verbose=0)


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
    assert model.generator.get_layer("encoder1_conv1") is not None  # build_unet's layers
    assert model.generator.output_shape == (None, 16, 16, 1)
    assert model.discriminator.output_shape == (None, 8, 8, 1)  # one logit per patch
    history = model.fit(sources, targets, epochs=8, batch_size=8, verbose=0).history
    assert history["l1"][-1] < 0.7 * history["l1"][0]
    assert model.predict(sources[:2], verbose=0).shape == (2, 16, 16, 1)
    roundtrip(model, sources[:4])
    # Last: on JAX a fit that raises empties the model's variables (see above).
    with pytest.raises(ValueError, match="target images as y"):
        model.fit(sources, epochs=1, verbose=0)


@pytest.mark.parametrize(
    "build, arguments",
    [
        (
            recipes.build_gan,
            {
                "input_shape": (4, 4, 1),
                "latent_dim": 2,
                "generator_units": (8,),
                "discriminator_units": (8,),
            },
        ),
        (recipes.build_dcgan, {"input_shape": (8, 8, 1), "latent_dim": 4, "filters": (4, 8)}),
        (
            recipes.build_conditional_gan,
            {
                "input_shape": (4, 4, 1),
                "num_classes": 3,
                "generator_units": (8,),
                "discriminator_units": (8,),
            },
        ),
        (
            recipes.build_pix2pix,
            {"input_shape": (8, 8, 1), "depth": 1, "filters": 4, "discriminator_filters": (4,)},
        ),
    ],
    ids=["gan", "dcgan", "conditional_gan", "pix2pix"],
)
def test_mixed_precision_networks_end_in_float32(build, arguments):
    # the losses (and pix2pix's L1 term) are computed on these outputs
    with recipes.precision("mixed_bfloat16"):
        model = build(**arguments, compile=False)
    for network in (model.generator, model.discriminator):
        assert "bfloat16" in {layer.compute_dtype for layer in network.layers}
        assert [keras.backend.standardize_dtype(output.dtype) for output in network.outputs] == [
            "float32"
        ], network.name


def test_discriminator_layers_must_be_named_for_their_optimizer():
    generator = keras.Sequential(
        [keras.Input((2,)), keras.layers.Dense(2, name="dense")], name="generator"
    )
    critic = keras.Sequential(
        [keras.Input((2,)), keras.layers.Dense(1, name="critic_dense")], name="critic"
    )
    with pytest.raises(ValueError, match="name every discriminator layer"):
        GAN(generator, critic)


def test_sample_grid_needs_a_sampler_and_plots_points(tmp_path):
    classifier = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    classifier.compile(optimizer="adam", loss="mse")
    with pytest.raises(ValueError, match="needs a model with a `sample"):
        classifier.fit(
            np.zeros((4, 2)), np.zeros((4, 1)), verbose=0, callbacks=[SampleGrid(str(tmp_path))]
        )
    points = np.random.default_rng(0).normal(size=(50, 2))
    path = plot_samples(
        {"a": points, "b": points + 1}, str(tmp_path / "points.png"), reference=points
    )
    assert os.path.getsize(path) > 1000
    with pytest.raises(ValueError, match="Samples must be 2-D points"):
        plot_samples(np.zeros((3, 5)), str(tmp_path / "bad.png"))
    with pytest.raises(ValueError, match="`every` must be an integer >= 1"):
        SampleGrid(str(tmp_path), every=0)


@pytest.mark.parametrize(
    "builder, arguments, message",
    [
        ("build_gan", {"output_activation": "softmax"}, "`output_activation` must be one of"),
        ("build_gan", {"latent_dim": 0}, "`latent_dim` must be an integer >= 1"),
        ("build_gan", {"generator_units": ()}, "`generator_units` must hold at least one"),
        ("build_gan", {"dropout": 1.0}, r"`dropout` must be in \[0, 1\)"),
        ("build_gan", {"loss": "binary_crossentropy"}, "`loss` must be None"),
        ("build_dcgan", {"input_shape": (10, 10, 1), "filters": (8, 16)}, "divisible by"),
        ("build_conditional_gan", {"num_classes": 1}, "`num_classes` must be an integer >= 2"),
        ("build_pix2pix", {"input_shape": (12, 12, 3), "depth": 3}, "divisible by 2\\*\\*depth"),
        ("build_pix2pix", {"output_channels": 0}, "`output_channels` must be an integer"),
    ],
)
def test_bad_arguments_raise_clear_errors(builder, arguments, message):
    with pytest.raises(ValueError, match=message):
        getattr(recipes, builder)(**arguments)
