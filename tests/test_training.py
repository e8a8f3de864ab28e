"""The trainer protocol (``recipes.trainers``): a trainer's options become flags of
``python -m recipes train``, which hands a preset to its trainer with them; the
standard loop's hooks (checkpoints, callbacks, distribution scope)."""

import contextlib
import dataclasses

import keras
import numpy as np
import pytest

import recipes
from recipes.__main__ import main
from recipes.registry import scoped
from recipes.trainers import (
    Trainer,
    TrainerOption,
    TrainResult,
    distribution_scope,
    get_trainer,
    register_trainer,
)
from recipes.training import train_recipe


@dataclasses.dataclass
class LapsResult(TrainResult):
    laps: int = 0

    def report(self):
        return [f"laps run: {self.laps}"]


@pytest.fixture
def laps():
    """A toy trainer ``"laps"`` (options ``laps`` and ``pace``) and a preset
    ``moons_laps`` that names it, both gone after the test; yields the list of
    the trainer's calls (its arguments, and ``events`` as they were)."""
    calls, events = [], []

    def run(request):
        events.append("run")
        calls.append(dict(vars(request)))
        model = recipes.build(request.name, compile=False, **request.overrides)
        laps = request.options["laps"]
        return LapsResult(model, {}, {"accuracy": 0.5}, 0.25, {}, laps=laps)

    options = {
        "laps": (int, 3, "laps to run"),
        "pace": TrainerOption(str, "slow", "how fast", ("slow", "fast")),
    }
    with scoped():
        register_trainer(Trainer("laps", run, "trains in laps", options=options))
        recipes.register_recipe(
            "moons_laps",
            recipes.build_mlp,
            "A moons MLP trained in laps.",
            dataset="moons",
            trainer="laps",
            input_shape=(2,),
            num_classes=2,
            hidden_units=(4,),
        )
        yield calls, events


def _help(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    return " ".join(capsys.readouterr().out.split())


def test_a_trainers_options_become_flags(laps, capsys):
    text = _help(capsys)
    assert "--laps LAPS" in text and "moons_laps: laps to run (default 3)" in text
    assert "--pace {slow,fast}" in text and "moons_laps: how fast (default slow)" in text
    assert "--tta {0,1,2}" in text  # the other presets' trainers keep theirs


def test_cifar10_fast_keeps_its_flags_and_defaults(capsys):
    text = _help(capsys)
    assert "--data-dir DATA_DIR cifar10_fast: a folder (or .tar.gz) of train/<class>/*" in text
    assert "--tta {0,1,2} cifar10_fast: test-time augmentation, 0 none, 1 mirror, 2" in text
    assert "mirror and shifts (default 2)" in text
    assert "--runs RUNS cifar10_fast: training runs from fresh weights" in text
    assert "--flip {alternating,random,none} cifar10_fast: flips: alternating" in text
    assert "(default float32; cifar10_fast: mixed_bfloat16 on a GPU)" in text
    assert "a fraction such as 9.9 where the trainer takes one" in text
    airbench = get_trainer(recipes.get_recipe("cifar10_fast").trainer)
    defaults = {k: o.default for k, o in airbench.options.items()}
    assert defaults == {"tta": 2, "flip": "alternating", "runs": 1}


def test_the_cli_hands_a_preset_to_its_trainer_with_its_options(laps, tmp_path, capsys):
    calls, _ = laps
    argv = ["train", "moons_laps", "--laps", "5", "--epochs", "2", "--output", str(tmp_path)]
    main([*argv, "--set", "hidden_units=(3,)", "--precision", "float32", "--seed", "7"])
    (call,) = calls
    assert call["name"] == "moons_laps"
    assert call["options"] == {"laps": 5, "pace": "slow"}  # pace: its default
    assert call["overrides"] == {"hidden_units": (3,)}
    assert call["epochs"] == 2 and call["seed"] == 7 and call["output_dir"] == str(tmp_path)
    assert call["precision_policy"] == "float32" and call["data_dir"] is None
    printed = capsys.readouterr().out
    assert "moons_laps: test accuracy=0.5000 (0.2 s of training)" in printed
    assert "  laps run: 5" in printed  # the result's own report


def test_flags_of_other_trainers_are_refused(laps):
    with pytest.raises(SystemExit, match="--laps and --pace train presets with the 'laps'"):
        main(["train", "moons_mlp", "--pace", "fast"])
    with pytest.raises(SystemExit, match="--data-dir, --tta, --flip and --runs train presets"):
        main(["train", "moons_laps", "--runs", "2"])
    with pytest.raises(SystemExit, match="which does not take --data-dir"):
        main(["train", "moons_laps", "--data-dir", "somewhere"])


def test_train_recipe_tells_options_from_builder_overrides(laps):
    calls, _ = laps
    result = train_recipe("moons_laps", laps=7, hidden_units=(2,), verbose=0)
    assert calls[0]["options"] == {"laps": 7, "pace": "slow"}
    assert calls[0]["overrides"] == {"hidden_units": (2,)}
    assert isinstance(result, TrainResult) and result.laps == 7


def test_training_runs_inside_the_distribution_scope(laps):
    calls, events = laps

    @contextlib.contextmanager
    def scope():
        events.append("enter")
        yield
        events.append("exit")

    class Strategy:  # what tf.distribute strategies and Keras distributions offer
        def scope(self):
            return scope()

    get_trainer("laps").train("moons_laps", distribution=scope())
    get_trainer("laps").train("moons_laps", distribution=Strategy())
    assert events == ["enter", "run", "exit"] * 2
    with pytest.raises(ValueError, match="`distribution` must be None, a strategy"):
        distribution_scope("mirrored")


def test_the_protocol_checks_what_it_is_given():
    standard = get_trainer(None)
    assert standard is get_trainer("standard") and standard.options == {}
    with pytest.raises(ValueError, match="`options` of the 'standard' trainer must be among"):
        standard.train("moons_mlp", options={"laps": 2})
    with pytest.raises(ValueError, match="trains image-classification presets.*data_dir='here'"):
        standard.train("moons_mlp", data_dir="here")
    with pytest.raises(ValueError, match="Did you mean: airbench"):
        get_trainer("airbenc")
    with pytest.raises(ValueError, match="must not be named like the protocol's"):
        Trainer("bad", print, "bad", options={"epochs": (int, 1, "clashes with --epochs")})


def test_the_standard_loop_checkpoints_and_calls_extra_callbacks(tmp_path):
    class CountEpochs(keras.callbacks.Callback):
        epochs = 0

        def on_epoch_end(self, epoch, logs=None):
            self.epochs += 1

    counter = CountEpochs()
    folder = tmp_path / "checkpoints"
    result = train_recipe(
        "moons_mlp",
        epochs=2,
        verbose=0,
        callbacks=[counter],
        checkpoint_dir=str(folder),
        hidden_units=(4,),
    )
    assert counter.epochs == 2
    assert result.paths["checkpoint"] == str(folder / "latest.keras")
    saved = keras.saving.load_model(folder / "latest.keras", safe_mode=True)
    x = np.random.default_rng(0).normal(size=(8, 2)).astype("float32")
    np.testing.assert_allclose(saved.predict(x, verbose=0), result.model.predict(x, verbose=0))
