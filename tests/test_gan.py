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

pytestmark = pytest.mark.backends


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


def _nearest_neighbour_distance(samples, data):
    """Mean distance from each sample to its nearest data point."""
    flat, reference = samples.reshape(len(samples), -1), data.reshape(len(data), -1)
    squared = ((flat[:, None, :] - reference[None, :, :]) ** 2).sum(-1)
    return float(np.sqrt(squared.min(axis=1)).mean())


def test_dcgan_samples_move_to_the_data_grids_are_saved_and_it_round_trips(roundtrip, tmp_path):
    x, _ = data.arrays("digits", "train")
    held_out, _ = data.arrays("digits", "test")
    model = recipes.build_dcgan(
        input_shape=(8, 8, 1), latent_dim=8, filters=(8, 16), seed=0, learning_rate=2e-3
    )
    assert model.generator.output_shape == (None, 8, 8, 1)
    assert model.discriminator.output_shape == (None, 1)

    def gaps(samples):  # to held-out digits: the mean image, and each nearest digit
        mean_gap = float(np.abs(samples.mean(axis=0) - held_out.mean(axis=0)).mean())
        return mean_gap, _nearest_neighbour_distance(samples, held_out)

    untrained = gaps(model.sample(256, seed=1))  # the baseline: the same G before training
    grids = SampleGrid(str(tmp_path / "grids"), num_samples=9, every=3)
    history = model.fit(x, epochs=6, batch_size=64, callbacks=[grids], verbose=0).history
    trained = gaps(model.sample(256, seed=1))
    assert np.isfinite(history["d_loss"]).all() and np.isfinite(history["g_loss"]).all()
    # Seeds 1234, 7 and 99 on TensorFlow, and JAX: mean gap 0.42-0.48x, neighbours 0.63-0.67x.
    assert trained[0] < 0.7 * untrained[0] and trained[1] < 0.8 * untrained[1]
    assert [os.path.basename(p) for p in grids.paths] == [
        "samples_epoch_003.png",
        "samples_epoch_006.png",
    ]
    assert all(os.path.getsize(p) > 1000 for p in grids.paths)

    samples = model.sample(4, seed=1)
    assert samples.shape == (4, 8, 8, 1) and 0 <= samples.min() and samples.max() <= 1
    loaded = roundtrip(model, x[:16])  # predict: the discriminator's logits
    np.testing.assert_allclose(loaded.sample(4, seed=1), samples, atol=1e-5)
    assert isinstance(loaded.optimizer, keras.optimizers.MultiOptimizer)
    steps = 6 * -(-len(x) // 64)
    assert [int(o.iterations) for o in loaded.optimizer.optimizers] == [steps, steps]


CENTRES = np.array([[2.0, 0.0], [-1.0, 1.7], [-1.0, -1.7]], "float32")


def test_conditional_gan_generates_the_requested_classes(roundtrip):
    # Three classes of 2-D points around three centres: a sample is of the class
    # whose centre is nearest, so the generator's classes can be read off.
    rng = np.random.default_rng(0)
    y = rng.integers(3, size=600)
    x = (CENTRES[y] + 0.2 * rng.standard_normal((600, 2))).astype("float32")
    model = recipes.build_conditional_gan(
        input_shape=(2,),
        num_classes=3,
        latent_dim=2,
        embedding_dim=4,
        generator_units=(32,),
        discriminator_units=(32,),
        output_activation="linear",
        seed=0,
        learning_rate=2e-3,
    )
    assert model.discriminator.output_shape == (None, 3)  # one logit per class

    def accuracy():  # of the classes asked for, read off by the nearest centre
        labels = np.repeat(np.arange(3), 100)
        samples = model.sample(labels=labels, seed=1)
        distances = ((samples[:, None, :] - CENTRES[None]) ** 2).sum(-1)
        return np.mean(distances.argmin(axis=1) == labels)

    untrained = accuracy()  # the baseline: the same G before training, about 1/3
    history = model.fit(x, y, epochs=15, batch_size=64, verbose=0).history
    assert np.isfinite(history["d_loss"]).all() and np.isfinite(history["g_loss"]).all()
    # A generator that ignored its label would give every class the same points:
    # one accuracy in three. Seeds 1234 (also on JAX), 1, 2 and 3: 1.0 after training.
    assert untrained < 0.6 and accuracy() > 0.9

    assert model.sample(labels=[2, 2, 0]).shape == (3, 2)
    assert model.sample(12).shape == (12, 2)
    with pytest.raises(ValueError, match=r"`labels` must be class ids in \[0, 3\)"):
        model.sample(labels=[3])
    loaded = roundtrip(model, x[:16])
    np.testing.assert_allclose(
        loaded.sample(labels=[1, 2], seed=0), model.sample(labels=[1, 2], seed=0), atol=1e-5
    )
    # Last: on JAX a fit that raises in its first step leaves the model's variables
    # empty (Keras 3.15 hands them to the step and gets nothing back to restore).
    with pytest.raises(ValueError, match="call fit\\(x, y\\) with the class labels"):
        model.fit(x[:64], epochs=1, verbose=0)


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
    ],
    ids=["gan", "dcgan", "conditional_gan"],
)
def test_mixed_precision_networks_end_in_float32(build, arguments):
    # the losses are computed on these outputs
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
        ("build_gan", {"loss": "binary_crossentropy"}, "`loss` and `metrics` must be None"),
        ("build_gan", {"generator_units": (8, 0)}, r"`generator_units\[1\]` must be an integer"),
        ("build_gan", {"input_shape": (None, 2)}, "`input_shape` must be fully known"),
        ("build_dcgan", {"input_shape": (10, 10, 1), "filters": (8, 16)}, "divisible by"),
        ("build_conditional_gan", {"num_classes": 1}, "`num_classes` must be an integer >= 2"),
    ],
)
def test_bad_arguments_raise_clear_errors(builder, arguments, message):
    with pytest.raises(ValueError, match=message):
        getattr(recipes, builder)(**arguments)
