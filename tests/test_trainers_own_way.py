"""The presets that train their own way through the trainer protocol: the DQN
game (``dqn``), the generative models' sample pictures (``samples``) and greedy
layer-wise pre-training (``layerwise``). Each runs tiny, end to end, through
``train_recipe`` (the DQN preset also through ``python -m recipes train``); that
a trained mouse beats the random one is shown in tests/test_dqn.py."""

import json
import os

import keras
import numpy as np
import pytest
from PIL import Image

import callbacks.plots
import recipes
from recipes import data
from recipes.__main__ import main
from recipes.registry import scoped
from recipes.rl import MouseGame, greedy_policy, play, random_policy
from recipes.trainers import layerwise, reinforcement
from recipes.trainers.generative import save_samples
from recipes.training import train_recipe

TINY_GAME = {"episodes": 2, "max_steps": 10, "grid_size": 4, "eval_games": 3}


def _outputs(result, *extra):
    """Asserts the files of ``result.paths`` exist; returns its ``metrics.json``."""
    for key in ("model", "curves_png", "curves_csv", "metrics", *extra):
        assert os.path.isfile(result.paths[key]), key
    with open(result.paths["metrics"]) as handle:
        return json.load(handle)


def _valid_png(path):
    with Image.open(path) as image:
        image.verify()
        return image.format == "PNG"


def test_dqn_trainer_saves_the_trained_mouse_and_scores_it_on_shared_boards(tmp_path):
    result = train_recipe(
        "mouse_dqn_dense",
        output_dir=str(tmp_path),
        batch_size=8,
        hidden_units=(8,),
        verbose=0,
        **TINY_GAME,
    )
    metrics = _outputs(result)
    assert metrics["test"] == result.test_metrics and metrics["episodes"] == 2
    assert len(result.history["reward"]) == len(result.history["epsilon"]) == 2
    assert result.history["loss"]  # 20 moves: training began after 16 (two batches)
    # The saved model is the trained one: not the weights it was built with...
    keras.utils.set_random_seed(0)
    untrained = recipes.build("mouse_dqn_dense", hidden_units=(8,)).get_weights()
    loaded = keras.saving.load_model(result.paths["model"])
    assert any(not np.allclose(a, b) for a, b in zip(loaded.get_weights(), untrained))
    # ...and the scores are its and the random mouse's on the same evaluation boards.
    env = MouseGame(grid_size=4, max_steps=10, **reinforcement.GAME)
    boards = {"episodes": 3, "seed": reinforcement.EVALUATION_SEED}
    mouse = greedy_policy(loaded, epsilon=reinforcement.EVALUATION_EPSILON, seed=0)
    assert result.test_metrics == {
        "mean_reward": pytest.approx(np.mean(play(env, mouse, **boards))),
        "random_mean_reward": pytest.approx(np.mean(play(env, random_policy(seed=0), **boards))),
    }


def test_the_cli_trains_the_dqn_preset_and_refuses_epochs(tmp_path, capsys):
    flags = [f"--{key.replace('_', '-')}={value}" for key, value in TINY_GAME.items()]
    main(
        ["train", "mouse_dqn_conv", *flags, "--batch-size", "8", "--output", str(tmp_path)]
        + ["--set", "filters=(4,)", "--set", "hidden_units=(8,)", "--verbose", "0"]
    )
    printed = capsys.readouterr().out
    assert "mouse_dqn_conv: test mean_reward=" in printed and "random_mean_reward=" in printed
    assert sorted(os.listdir(tmp_path)) == [
        "curves.csv",
        "curves.png",
        "metrics.json",
        "model.keras",
    ]
    with pytest.raises(SystemExit, match=r"--episodes\): it takes no epochs. Received: epochs=3"):
        main(["train", "mouse_dqn_dense", "--epochs", "3"])


@pytest.fixture
def drawn(monkeypatch):
    """What ``plot_samples`` is asked to draw (its samples and options), drawn too."""
    calls = []
    plot_samples = callbacks.plots.plot_samples

    def spy(samples, path, **options):
        calls.append((samples, options))
        return plot_samples(samples, path, **options)

    monkeypatch.setattr(callbacks.plots, "plot_samples", spy)
    return calls


def test_samples_trainer_scatters_2d_samples_over_the_training_data(tmp_path, drawn):
    result = train_recipe(
        "moons_vae",
        output_dir=str(tmp_path),
        epochs=1,
        batch_size=128,
        num_samples=50,
        hidden_units=(4,),
        verbose=0,
    )
    _outputs(result, "samples_png")
    assert _valid_png(result.paths["samples_png"])
    ((samples, options),) = drawn
    assert samples.shape == (50, 2)
    np.testing.assert_array_equal(options["reference"], data.arrays("moons", "train")[0])


def test_samples_of_a_conditional_gan_have_one_row_per_class(tmp_path, drawn):
    model = recipes.build_conditional_gan(
        input_shape=(8, 8, 1),
        latent_dim=4,
        embedding_dim=4,
        generator_units=(8,),
        discriminator_units=(8,),
    )
    path = save_samples(model, str(tmp_path / "samples.png"), 20, seed=0, dataset="digits")
    assert _valid_png(path)
    ((samples, options),) = drawn
    assert samples.shape == (20, 8, 8, 1) and options["columns"] == 2  # 10 rows of 2
    rows = model.sample(labels=np.repeat(np.arange(10), 2), seed=0)
    np.testing.assert_allclose(samples, rows)  # row k: class k
    columns = model.sample(labels=np.arange(20) % 10, seed=0)  # column k: class k
    assert not np.allclose(samples, columns)


def test_layerwise_trainer_fine_tunes_from_the_pretrained_encoder(tmp_path, monkeypatch):
    encoders, starts = [], []
    pretrain = layerwise.pretrain_layerwise

    def spy(*args, **kwargs):
        encoders.append(pretrain(*args, **kwargs))
        return encoders[-1]

    def kernel(model, name):
        return keras.ops.convert_to_numpy(model.get_layer(name).kernel)

    monkeypatch.setattr(layerwise, "pretrain_layerwise", spy)
    snapshot = keras.callbacks.LambdaCallback(
        on_train_begin=lambda logs: starts.append(kernel(snapshot.model, "dense_1"))
    )
    result = train_recipe(
        "digits_layerwise",
        output_dir=str(tmp_path),
        epochs=1,
        batch_size=64,
        pretrain_epochs=2,
        hidden_units=(8,),
        callbacks=[snapshot],
        verbose=0,
    )
    metrics = _outputs(result)
    ((encoder,), (start,)) = encoders, starts
    # Fine-tuning starts from the pre-trained kernel, and trains it.
    np.testing.assert_array_equal(start, kernel(encoder, "encoder_dense_1"))
    assert not np.allclose(kernel(result.model, "dense_1"), start)
    # The (one) stage's reconstruction loss fell.
    ((first, last),) = metrics["pretraining_losses"]
    assert last < first


def test_layerwise_trainer_refuses_classifiers_the_encoder_does_not_fit():
    encoder = keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(3, name="encoder_dense_1")], name="encoder"
    )
    normalized = recipes.build_mlp(input_shape=(4,), hidden_units=(3,), batch_norm=True)
    with pytest.raises(ValueError, match="hidden layer dense_1 takes the pre-trained"):
        layerwise.load_encoder(normalized, encoder)
    plain = recipes.build_mlp(input_shape=(4,), hidden_units=(3,))
    layerwise.load_encoder(plain, encoder)
    for a, b in zip(plain.get_layer("dense_1").get_weights(), encoder.layers[0].get_weights()):
        np.testing.assert_array_equal(a, b)
    with scoped():
        recipes.register_recipe(
            "moons_layerwise_linear",
            recipes.build_linear,
            "A linear model: no hidden layer to pre-train.",
            dataset="moons",
            trainer="layerwise",
        )
        with pytest.raises(ValueError, match="builder takes no hidden_units, activation"):
            train_recipe("moons_layerwise_linear", verbose=0)
