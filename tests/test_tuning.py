import json
import os

import keras
import keras_tuner
import numpy as np
import pytest

import recipes
import tuning
from recipes import data
from tuning import report, search, spaces
from tuning.__main__ import main

pytestmark = pytest.mark.backends


def _random_draw(space_hp, seed):
    """A random point of a space, the way KerasTuner's oracles draw one."""
    hp = keras_tuner.HyperParameters()
    for parameter in space_hp.space:
        hp.merge([parameter])
        if hp.is_active(parameter):
            hp.values[parameter.name] = parameter.random_sample(seed)
            seed += 1
    return hp


def _output_shape(task):
    spec = data.get_spec(task.dataset)
    width = 1 if task.name == "moons" else spec.num_classes
    if spec.task == "segmentation":
        return (None, *spec.input_shape[:2], width)
    return (None, width)


READS_STRINGS = pytest.mark.skipif(
    keras.backend.backend() != "tensorflow",
    reason="TextHyperModel builds models that read raw strings: TensorFlow backend only; "
    "the refusal elsewhere is tested in test_text.py",
)


def _every_task():
    return [
        pytest.param(name, marks=READS_STRINGS)
        if isinstance(tuning.get_task(name).hypermodel(), tuning.TextHyperModel)
        else name
        for name in tuning.list_tasks()
    ]


@pytest.mark.parametrize("name", _every_task())
def test_every_space_builds_its_defaults_and_random_draws(name):
    task = tuning.get_task(name)
    space = task.hypermodel()
    hp = keras_tuner.HyperParameters()
    model = space.build(hp)
    assert model.output_shape == _output_shape(task)
    assert model.optimizer is not None and model.loss is not None
    drawn = []
    for seed in (1, 100):
        keras.backend.clear_session()
        point = _random_draw(hp, seed)
        model = space.build(point)
        assert model.output_shape == _output_shape(task)
        drawn.append(dict(point.values))
    assert drawn[0] != drawn[1]


def test_mlp_space_defaults_are_documented():
    space = tuning.MLPHyperModel(input_shape=(8, 8, 1), num_classes=10)
    hp = keras_tuner.HyperParameters()
    model = space.build(hp)
    assert [layer.units for layer in model.layers if hasattr(layer, "units")] == [128, 64, 10]
    assert model.count_params() == 17_226
    assert hp.values["optimizer"] == "adam" and hp.values["learning_rate"] == 1e-3
    assert hp.values["dropout"] == 0.1 and hp.values["weight_decay"] == 0.0
    assert model.optimizer.weight_decay is None


@pytest.mark.parametrize(
    "optimizer, kind",
    [
        ("adam", keras.optimizers.Adam),
        ("sgd", keras.optimizers.SGD),
        ("rmsprop", keras.optimizers.RMSprop),
    ],
)
def test_the_drawn_optimizer_and_weight_decay_are_used(optimizer, kind):
    space = tuning.MLPHyperModel(
        input_shape=(2,), num_classes=1, optimizers=("adam", "sgd", "rmsprop")
    )
    hp = keras_tuner.HyperParameters()
    hp.values.update(optimizer=optimizer, weight_decay=1e-2, learning_rate=3e-3)
    model = space.build(hp)
    # The class itself or, on PyTorch, Keras' backend subclass of the same name.
    assert isinstance(model.optimizer, kind) and type(model.optimizer).__name__ == kind.__name__
    assert model.optimizer.weight_decay == pytest.approx(1e-2)
    assert float(model.optimizer.learning_rate) == pytest.approx(3e-3)
    if optimizer == "sgd":
        assert model.optimizer.momentum == 0.9 and model.optimizer.nesterov


def test_image_spaces_put_the_drawn_augmentation_in_the_model():
    def layer_types(task, strength):
        hp = keras_tuner.HyperParameters()
        hp.values["augment"] = strength
        model = tuning.get_task(task).hypermodel().build(hp)
        if "augmentation" not in [layer.name for layer in model.layers]:
            return []
        return [type(layer).__name__ for layer in model.get_layer("augmentation").layers]

    assert layer_types("fashion_mnist", 0.1) == ["RandomFlip", "RandomAffine"]
    assert layer_types("mnist", 0.1) == ["RandomAffine"]  # digits are never flipped
    assert layer_types("fashion_mnist", 0.0) == []


def test_unet_space_flips_image_and_mask_only_when_drawn():
    space = tuning.get_task("shapes").hypermodel()
    for flip in (True, False):
        hp = keras_tuner.HyperParameters()
        hp.values["flip"] = flip
        names = [layer.name for layer in space.build(hp).layers]
        assert ("augment_flip" in names) is flip and ("augment_unflip" in names) is flip


def test_bad_space_arguments_raise():
    with pytest.raises(ValueError, match="optimizers"):
        tuning.MLPHyperModel(input_shape=(2,), num_classes=1, optimizers=("lbfgs",))
    with pytest.raises(ValueError, match="learning_rates"):
        tuning.MLPHyperModel(input_shape=(2,), num_classes=1, learning_rates=(1e-2, 1e-4))


def test_fit_uses_the_drawn_batch_size_and_cosine_schedule():
    x, y = data.arrays("digits", "train")
    x, y = x[:64], y[:64]
    space = tuning.MLPHyperModel(
        input_shape=(8, 8, 1), num_classes=10, batch_sizes=(16, 32), xla=False
    )
    hp = keras_tuner.HyperParameters()
    hp.values.update(batch_size=16, lr_schedule="cosine", learning_rate=0.01)
    model = space.build(hp)
    history = space.fit(hp, model, x, y, validation_data=(x, y), epochs=2)
    assert int(model.optimizer.iterations) == 2 * 64 // 16  # steps of 16 examples
    rates = history.history["learning_rate"]
    assert rates[0] == pytest.approx(0.01)
    assert rates[1] == pytest.approx(spaces.cosine_decay(1, base=0.01, epochs=2), rel=1e-5)
    assert rates[1] < 0.6 * rates[0]
    assert "val_accuracy" in history.history


def test_a_diverging_history_fails_the_trial():
    history = keras.callbacks.History()
    history.history = {"loss": [1.0, float("nan")]}
    with pytest.raises(keras_tuner.errors.FailedTrialError, match="diverged.*epoch 2"):
        spaces.check_finite_history(history)
    history.history = {"loss": [1.0, 0.5]}
    assert spaces.check_finite_history(history) is history


def test_tiny_digits_search_writes_every_artifact_and_resumes(tmp_path):
    lines = []
    result = tuning.tune(
        "digits", max_trials=1, epochs=3, directory=str(tmp_path), print_fn=lines.append
    )
    run = tmp_path / "digits_random"
    assert result.run_dir == str(run)
    trial_lines = [line for line in lines if line.startswith("[trial")]
    assert len(trial_lines) == 1 and trial_lines[0].startswith("[trial 1/1] val_accuracy=")
    assert "best so far" in trial_lines[0]
    printed = "\n".join(lines)
    assert "Leaderboard (1 completed, 0 failed" in printed and "Test accuracy" in printed

    rows = (run / "leaderboard.csv").read_text().splitlines()
    assert rows[0].startswith("rank,trial_id,status,val_accuracy,")
    assert len(rows) == 2 and rows[1].startswith("1,0,COMPLETED,")
    best = json.loads((run / "best_hyperparameters.json").read_text())
    assert best["objective"] == "val_accuracy" and "learning_rate" in best["hyperparameters"]
    assert best["score"] == result.rows[0].score
    assert (run / "objective.png").read_bytes().startswith(b"\x89PNG")
    score = json.loads((run / "test_score.json").read_text())
    assert score["trained_on"] == "train+validation" and score["trial_id"] == best["trial_id"]
    model = keras.saving.load_model(run / "best_model.keras", safe_mode=True)
    x, y = data.arrays("digits", "test")
    accuracy = model.evaluate(x, y, verbose=0, return_dict=True)["accuracy"]
    assert accuracy == pytest.approx(score["test"]["accuracy"], abs=1e-4)
    assert accuracy == result.test_metrics["accuracy"] and accuracy > 0.5

    # The same command again: no trial runs, the retrained model is reused.
    first_trial = (run / "search" / "trial_0" / "trial.json").read_text()
    lines.clear()
    tuning.tune("digits", max_trials=1, epochs=3, directory=str(tmp_path), print_fn=lines.append)
    assert not [line for line in lines if line.startswith("[trial")]
    assert any(line.startswith("Resuming: 1 trial(s)") for line in lines)
    assert any("already retrained and tested" in line for line in lines)

    # A bigger budget runs only the new trial.
    lines.clear()
    tuning.tune(
        "digits",
        max_trials=2,
        epochs=3,
        directory=str(tmp_path),
        print_fn=lines.append,
        retrain=False,
    )
    assert [line.split("]")[0] for line in lines if line.startswith("[trial")] == ["[trial 2/2"]
    assert (run / "search" / "trial_0" / "trial.json").read_text() == first_trial
    assert len((run / "leaderboard.csv").read_text().splitlines()) == 3


class _FragileSpace(tuning.MLPHyperModel):
    """One good configuration, one that diverges (loss inf/NaN), one that raises."""

    def build(self, hp):
        mode = hp.Choice("mode", ["fine", "diverge", "crash"])
        if mode == "crash":
            raise RuntimeError("this trial raises on purpose")
        return recipes.build_mlp(
            input_shape=self.input_shape,
            num_classes=self.num_classes,
            hidden_units=(32,),
            optimizer="sgd" if mode == "diverge" else "adam",
            # 1e30 overflows the weights, so the loss is NaN on every backend; at 1e10
            # it is only on TensorFlow (JAX's cross-entropy clips the probabilities, and
            # the loss stays near -log(1e-7) while the weights blow up).
            learning_rate=1e30 if mode == "diverge" else 1e-2,
        )


def test_diverging_and_raising_trials_are_recorded_as_failed(tmp_path):
    task = tuning.Task(
        "fragile_digits",
        "digits",
        lambda: _FragileSpace(
            (8, 8, 1), 10, batch_sizes=(64,), schedules=("constant",), xla=False
        ),
        "val_accuracy",
        "max",
        max_trials=3,
        epochs=2,
        summary="test",
    )
    lines = []
    result = tuning.tune(
        task, tuner="grid", directory=str(tmp_path), print_fn=lines.append, retrain=False
    )
    by_mode = {row.hyperparameters["mode"]: row for row in result.rows}
    assert by_mode["fine"].status == "COMPLETED" and by_mode["fine"].score > 0.5
    assert by_mode["diverge"].status == "FAILED" and "diverged" in by_mode["diverge"].error
    assert by_mode["crash"].status == "FAILED" and "on purpose" in by_mode["crash"].error
    assert result.best_hyperparameters["mode"] == "fine"
    assert sum("FAILED (" in line for line in lines) == 2
    csv_text = (tmp_path / "fragile_digits_grid" / "leaderboard.csv").read_text()
    assert csv_text.count(",FAILED,") == 2 and "on purpose" in csv_text


def test_mock_cifar10_runs_end_to_end_from_the_command_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(search.MOCK_DATA_ENV, "40")
    # Seed 2 draws the smallest ResNet (depth 8, 16 filters), to keep the test short.
    main(
        [
            "--task",
            "cifar10",
            "--max-trials",
            "1",
            "--epochs",
            "1",
            "--seed",
            "2",
            "--directory",
            str(tmp_path),
            "--no-xla",
        ]
    )
    printed = capsys.readouterr().out
    assert "[trial 1/1]" in printed and "Test accuracy" in printed
    run = tmp_path / "cifar10_random"
    for name in (
        "leaderboard.csv",
        "best_hyperparameters.json",
        "objective.png",
        "best_model.keras",
        "test_score.json",
    ):
        assert (run / name).exists(), name


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--task", "cifar1O"], "Unknown tuning task 'cifar1O'. Did you mean: cifar10"),
        (["--task", "digits", "--tuner", "annealing"], "Unknown tuner 'annealing'"),
        (["--task", "digits", "--max-trials", "0"], "Impossible budget: `max_trials`"),
        (["--task", "digits", "--tuner", "hyperband", "--epochs", "2"], "needs epochs >= 3"),
    ],
)
def test_bad_task_tuner_or_budget_exit_with_a_clear_message(argv, message):
    with pytest.raises(SystemExit, match=message):
        main(argv)


def test_list_shows_every_task(capsys):
    main(["--list"])
    names = [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    assert names == tuning.list_tasks()


def test_hyperband_budget_caps_the_trials(tmp_path):
    lines = []
    result = tuning.tune(
        "moons",
        tuner="hyperband",
        max_trials=2,
        epochs=3,
        directory=str(tmp_path),
        print_fn=lines.append,
        retrain=False,
    )
    assert len(result.rows) == 2 and result.model is None
    assert [line.split("]")[0] for line in lines if line.startswith("[trial")] == [
        "[trial 1/2",
        "[trial 2/2",
    ]
    assert all(row.status == "COMPLETED" for row in result.rows)
    assert "tuner/epochs" not in result.best_hyperparameters


def test_chief_and_two_workers_share_one_search(tmp_path, capfd):
    # `python -m tuning --workers 2` runs `launch_local`: one chief, two workers.
    argv = ["--task", "digits", "--max-trials", "4", "--epochs", "1", "--no-retrain"]
    status = main([*argv, "--workers", "2", "--directory", str(tmp_path)])
    assert status == 0
    rows = report.load_trials(str(tmp_path / "digits_random" / "search"))
    assert len(rows) == 4 and all(row.status == "COMPLETED" for row in rows)
    assert {row.worker for row in rows} == {"worker0", "worker1"}
    printed = capfd.readouterr().out
    assert "[chief] Leaderboard (4 completed, 0 failed" in printed
    assert printed.count("[worker0] [trial") + printed.count("[worker1] [trial") == 4
    assert os.path.exists(tmp_path / "digits_random" / "best_hyperparameters.json")
    assert all(np.isfinite(row.seconds) for row in rows)


def test_jax_compilation_cache_is_used_on_jax_only(tmp_path):
    import jax

    from tuning.search import use_compilation_cache

    assert use_compilation_cache(str(tmp_path / "tf"), backend="tensorflow") is None
    assert not (tmp_path / "tf").exists()
    previous = jax.config.jax_compilation_cache_dir
    try:
        assert use_compilation_cache(str(tmp_path / "jax"), backend="jax")
        assert jax.config.jax_compilation_cache_dir == str(tmp_path / "jax")
        assert (tmp_path / "jax").is_dir()
    finally:
        jax.config.update("jax_compilation_cache_dir", previous)


@pytest.mark.skipif(
    keras.backend.backend() != "jax",
    reason="a persistent compilation cache exists on JAX only (run by `make test-backends`)",
)
def test_jax_compilation_cache_fills_when_a_model_trains(tmp_path):
    import jax
    from jax.experimental.compilation_cache import compilation_cache

    from tuning.search import use_compilation_cache

    previous = jax.config.jax_compilation_cache_dir
    try:
        # A first cache, in use, as after an earlier search in the same process:
        # the second directory must still be the one that fills.
        use_compilation_cache(str(tmp_path / "first"))
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)
        jax.jit(lambda t: t * 3.0)(np.ones(3))
        use_compilation_cache(str(tmp_path / "second"))
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
        model.compile("sgd", "mse")
        model.fit(np.zeros((8, 3)), np.zeros((8, 2)), epochs=1, verbose=0)
        assert any((tmp_path / "first").iterdir())
        assert any((tmp_path / "second").iterdir())
    finally:
        jax.config.update("jax_compilation_cache_dir", previous)
        compilation_cache.reset_cache()


def _listening_addresses(port):
    """The local addresses of the TCP sockets listening on ``port`` (Linux)."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as handle:
            for line in list(handle)[1:]:
                local, state = line.split()[1], line.split()[3]
                address, hex_port = local.split(":")
                if state == "0A" and int(hex_port, 16) == port:  # IPv4-mapped IPv6 as IPv4
                    found.append(address.removeprefix("0000000000000000FFFF0000"))
    return found


@pytest.mark.parametrize("ip", [None, ""])
def test_chief_serves_the_oracle_on_127_0_0_1_only_by_default(monkeypatch, ip):
    from keras_tuner.src.distribute import oracle_chief

    from tuning import distribute

    port = distribute.free_port()
    monkeypatch.setenv(distribute.ENV_ORACLE_PORT, str(port))
    if ip is None:
        monkeypatch.delenv(distribute.ENV_ORACLE_IP, raising=False)
    else:
        monkeypatch.setenv(distribute.ENV_ORACLE_IP, ip)
    assert distribute.oracle_address() == f"127.0.0.1:{port}"
    server = distribute.start_oracle_server(oracle_chief.OracleServicer(oracle=None))
    try:
        assert _listening_addresses(port) == ["0100007F"]  # 127.0.0.1, nothing else
    finally:
        server.stop(grace=None)
