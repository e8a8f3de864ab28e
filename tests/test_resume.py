"""Resumable training: a run killed mid-way starts again after its last finished
epoch, with its weights, optimizer, curves and callbacks' state; a NaN stop keeps
the backup; other settings are refused and ``--restart`` starts afresh."""

import json
import pathlib
import subprocess
import sys
import time

import keras
import numpy as np
import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.util import tensor_util

import callbacks
from recipes.__main__ import main
from recipes.trainers import fitting
from recipes.trainers.fitting import BACKUP, RUN_STATE
from recipes.training import train_recipe
from tuning.__main__ import main as tuning_main

ROOT = pathlib.Path(__file__).resolve().parent.parent
TINY = {"epochs": 6, "batch_size": 512, "verbose": 0, "hidden_units": (4,)}


class _Killed(Exception):
    """Stands for a kill in the middle of a run."""


class _KillAt(keras.callbacks.Callback):
    def __init__(self, epoch):
        super().__init__()
        self.at = epoch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.at:
            raise _Killed


def _backed_up_epochs(path):
    """The epochs ``BackupAndRestore`` has saved so far (0 before its first)."""
    try:
        return json.loads(path.read_text())["epoch"]
    except (OSError, ValueError, KeyError):
        return 0


def _kill_after_three_checkpoints(command, metadata):
    """Runs ``python -m <command>`` and kills it (SIGKILL) once ``BackupAndRestore``
    has saved its third epoch in ``metadata``'s folder."""
    run = subprocess.Popen(
        [sys.executable, "-m", *command],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while _backed_up_epochs(metadata) < 3:
            assert run.poll() is None, "the run ended before its third checkpoint"
            assert time.monotonic() < deadline, "no third checkpoint in 2 minutes"
            time.sleep(0.01)
    finally:
        run.kill()  # SIGKILL: nothing of the run's own ends
        run.wait()


def test_a_killed_cli_run_resumes_after_its_last_checkpoint(tmp_path):
    output = tmp_path / "run"
    argv = ["train", "digits_mlp", "--epochs", "30", "--batch-size", "512", "--set"]
    argv += ["hidden_units=(8,)", "--output", str(output), "--verbose", "0"]
    _kill_after_three_checkpoints(["recipes", *argv], output / BACKUP / "training_metadata.json")
    killed = json.loads((output / BACKUP / RUN_STATE).read_text())["epochs"]

    main(argv)  # the same command again

    metrics = json.loads((output / "metrics.json").read_text())
    (resumed,) = metrics["resumed_at_epoch"]
    assert resumed >= 4 and str(resumed - 1) in killed
    assert metrics["epochs_run"] == 30
    assert {len(values) for values in metrics["history"].values()} == {30}
    # The epochs before the kill were kept as they were, not trained again.
    kept = killed[str(resumed - 1)]["history"]
    assert {key: values[: resumed - 1] for key, values in metrics["history"].items()} == kept
    rows = [row.split(",") for row in (output / "curves.csv").read_text().splitlines()]
    assert [int(row[0]) for row in rows[1:]] == list(range(1, 31))
    losses = [float(row[rows[0].index("loss")]) for row in rows[1:]]
    assert losses == metrics["history"]["loss"]
    assert not (output / BACKUP).exists()  # a finished run deletes its backup


def test_a_killed_tuning_trial_resumes_after_its_last_finished_epoch(
    tmp_path, capsys, monkeypatch
):
    argv = ["--task", "moons", "--max-trials", "1", "--epochs", "30", "--no-retrain"]
    argv += ["--no-xla", "--directory", str(tmp_path)]
    trial = tmp_path / "moons_random" / "search" / "trial_0"
    metadata = trial / BACKUP / "training_metadata.json"
    _kill_after_three_checkpoints(["tuning", *argv], metadata)
    done = _backed_up_epochs(metadata)
    trained = []
    end_epoch = fitting.RunState.on_epoch_end

    def counted(state, epoch, logs=None):
        trained.append(epoch)
        end_epoch(state, epoch, logs)

    monkeypatch.setattr(fitting.RunState, "on_epoch_end", counted)
    tuning_main(argv)  # the same command again

    assert "[trial 0] resumes from its backup" in capsys.readouterr().out
    # It went on after the last epoch backed up (the one before, had the kill cut the
    # last backup short): the epochs before were not trained again.
    assert trained[0] in (done - 1, done) and trained == list(range(trained[0], 30))
    state = json.loads((trial / "trial.json").read_text())
    assert state["status"] == "COMPLETED" and not (trial / BACKUP).exists()
    # The trial is scored over all its epochs, those before the kill included.
    logs = tmp_path / "moons_random" / "tensorboard" / "trial_0" / "validation"
    accuracy = EventAccumulator(str(logs), size_guidance={"tensors": 0})  # every step
    accuracy.Reload()
    values = [tensor_util.make_ndarray(e.tensor_proto) for e in accuracy.Tensors("epoch_accuracy")]
    assert len(values) == 30
    assert state["best_step"] == int(np.argmax(values))
    assert state["score"] == pytest.approx(float(np.max(values)))


@pytest.mark.backends
def test_a_resumed_run_keeps_the_optimizer_and_the_early_stopping_state(tmp_path):
    def stopper():  # never improves after the first epoch: stops after patience + 1
        return callbacks.EarlyStopping(monitor="loss", min_delta=1e9, patience=3)

    seen = {}
    recorder = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: seen.setdefault(
            epoch, (recorder.model.get_weights(), int(recorder.model.optimizer.iterations))
        )
    )
    with pytest.raises(_Killed):
        train_recipe(
            "digits_mlp",
            output_dir=str(tmp_path),
            callbacks=[stopper(), recorder, _KillAt(2)],
            **TINY,
        )
    result = train_recipe("digits_mlp", output_dir=str(tmp_path), callbacks=[stopper()], **TINY)

    # Uninterrupted it stops after 4 epochs; a stopper that forgot its best value
    # and patience would run 6.
    assert [len(values) for values in result.history.values()] == [4] * len(result.history)
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["resumed_at_epoch"] == [3] and metrics["epochs_run"] == 4
    # The optimizer went on counting its steps: 4 epochs of them.
    assert int(result.model.optimizer.iterations) == 2 * seen[1][1]
    # The best weights (epoch 1's) were kept across the kill and put back at the end.
    for restored, best in zip(result.model.get_weights(), seen[0][0]):
        np.testing.assert_array_equal(restored, best)


@pytest.mark.backends
def test_a_nan_stop_keeps_the_backup_and_a_restart_starts_afresh(tmp_path):
    class Poison(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 2:
                for variable in self.model.trainable_variables:
                    variable.assign(np.full(variable.shape, np.nan, variable.dtype))

    # A graceful TerminateOnNaN of the user's would delete the backup (keras#21771).
    with pytest.raises(ValueError, match=r"NaN or infinite in epoch 3.*backup of epoch 2"):
        train_recipe(
            "digits_mlp",
            output_dir=str(tmp_path),
            callbacks=[keras.callbacks.TerminateOnNaN(), Poison()],
            **TINY,
        )
    assert _backed_up_epochs(tmp_path / BACKUP / "training_metadata.json") == 2

    # Other settings are refused: their weights would not be this run's.
    with pytest.raises(ValueError, match=r"other settings.*--restart.*hidden_units.*\(5,\)"):
        train_recipe("digits_mlp", output_dir=str(tmp_path), **{**TINY, "hidden_units": (5,)})

    argv = ["train", "digits_mlp", "--epochs", "3", "--batch-size", "512", "--set"]
    argv += ["hidden_units=(4,)", "--output", str(tmp_path), "--verbose", "0", "--restart"]
    main(argv)
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["resumed_at_epoch"] == [] and metrics["epochs_run"] == 3
