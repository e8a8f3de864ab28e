"""Fail fast, fail clean: both CLIs check their data and their model (or search
space) before training, and end a user's mistake with one message and status 2."""

import os
import subprocess
import sys

import keras_tuner
import numpy as np
import pytest

import tuning
from recipes import data
from recipes.__main__ import main as recipes_main
from recipes.data import image_folder
from recipes.training import check_label_range, train_recipe
from tuning.__main__ import main as tuning_main


@pytest.fixture
def no_cifar10(tmp_path, monkeypatch):
    """Neither tensorflow-datasets nor any JPEG copy has CIFAR-10 here."""
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path / "tfds"))
    monkeypatch.setenv("RECIPES_DOWNLOAD", "0")
    monkeypatch.delenv("RECIPES_CIFAR10_JPEG", raising=False)
    monkeypatch.delenv("RECIPES_TRACEBACK", raising=False)
    monkeypatch.setattr(image_folder, "default_cifar10_locations", lambda: [])


@pytest.mark.parametrize("batch_size", [0, -3, 2.5])
def test_a_batch_size_below_one_is_named(batch_size):
    message = f"`batch_size` must be an integer >= 1. Received: batch_size={batch_size}"
    with pytest.raises(ValueError, match=message.replace(".", "\\.")):
        data.load("digits", batch_size=batch_size)
    with pytest.raises(ValueError, match="`batch_size` must be an integer >= 1"):
        data.to_dataset(np.zeros((4, 2)), np.zeros(4), batch_size=batch_size)


def test_train_recipe_refuses_labels_outside_the_classes_before_training(tmp_path):
    with pytest.raises(ValueError, match="labels of 'digits' run from 0 to 9, outside \\[0, 5\\)"):
        train_recipe("digits_mlp", output_dir=str(tmp_path / "run"), num_classes=5)
    assert not (tmp_path / "run").exists()  # nothing was trained or written
    check_label_range("moons_mlp", 1, np.array([0, 1, 1]), "moons")  # a binary head
    with pytest.raises(ValueError, match="run from -1 to 1.*Received: num_classes=1"):
        check_label_range("moons_mlp", 1, np.array([-1, 1]), "moons")


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "digits_mpl"], "Unknown recipe 'digits_mpl'. Did you mean: digits_mlp"),
        (["train", "moons_mlp", "--set", "dropout"], "--set takes key=value"),
        (["train", "moons_mlp", "--set", "widht=3"], "got unknown argument(s) widht"),
        (["train", "moons_mlp", "--set", "dropout=1.5"], "`dropout`"),
        (["describe", "mnist_mpl"], "Did you mean: mnist_mlp"),
        (["train", "mnist_mlp"], "TFDS_DATA_DIR"),
        (["train", "digits_mlp", "--tta", "1"], "does not take --tta"),
    ],
)
def test_recipes_cli_ends_a_mistake_with_one_message(argv, message, no_cifar10, clean_exit):
    assert message in clean_exit(recipes_main, argv)


def test_recipes_cli_names_both_cifar10_routes(no_cifar10, clean_exit, tmp_path):
    error = clean_exit(recipes_main, ["train", "cifar10_lenet", "--epochs", "1"])
    assert "TFDS_DATA_DIR" in error and "RECIPES_CIFAR10_JPEG" in error
    assert "--data-dir" in error and "DATA_DIR=" in error
    error = clean_exit(recipes_main, ["train", "cifar10_lenet", "--data-dir", "nowhere"])
    assert "No image class folders at data_dir='nowhere'" in error


def test_the_traceback_is_there_when_asked_for(no_cifar10, monkeypatch, tmp_path):
    with pytest.raises(ValueError, match="Unknown recipe"):
        recipes_main(["--traceback", "train", "digits_mpl"])
    with pytest.raises(ValueError, match="Unknown recipe"):
        recipes_main(["train", "digits_mpl", "--traceback"])
    monkeypatch.setenv("RECIPES_TRACEBACK", "1")
    with pytest.raises(data.DatasetNotAvailableError, match="TFDS_DATA_DIR"):
        tuning_main(["--task", "cifar10", "--directory", str(tmp_path)])
    assert not any(tmp_path.iterdir())  # the check failed before anything was written


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--task", "cifar10"], "RECIPES_CIFAR10_JPEG"),
        (["--task", "mnist"], "TFDS_DATA_DIR"),
        (["--task", "moons", "--data-dir", "x"], "serves image-classification tasks"),
        (["--task", "cifar10", "--data-dir", "nowhere"], "No image class folders"),
        (["--task", "digits", "--max-trials", "0"], "Impossible budget: `max_trials`"),
        ([], "--task is required"),
    ],
)
def test_tuning_cli_ends_a_mistake_before_any_trial(
    argv, message, no_cifar10, clean_exit, tmp_path
):
    error = clean_exit(tuning_main, [*argv, "--directory", str(tmp_path)])
    assert message in error
    assert not any(tmp_path.iterdir())  # no run folder, no trial


def test_the_search_space_builds_before_the_first_trial(tmp_path):
    class Broken(keras_tuner.HyperModel):
        def build(self, hp):
            raise ValueError("`units` must be positive. Received: units=0")

    task = tuning.Task("broken", "moons", Broken, "val_accuracy", "max", 2, 1, "a broken space")
    lines = []
    with pytest.raises(ValueError, match="Received: units=0"):
        tuning.tune(task, directory=str(tmp_path), print_fn=lines.append)
    assert lines == []  # no search was started


def test_python_m_tuning_exits_2_without_a_traceback(tmp_path):
    env = {
        **os.environ,
        "TFDS_DATA_DIR": str(tmp_path / "tfds"),
        "RECIPES_DOWNLOAD": "0",
        "RECIPES_CIFAR10_JPEG": str(tmp_path / "no_copy_here"),
    }
    env.pop("RECIPES_TRACEBACK", None)
    done = subprocess.run(
        [sys.executable, "-m", "tuning", "--task", "cifar10", "--directory", str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and "TFDS_DATA_DIR" in done.stderr
    assert "RECIPES_CIFAR10_JPEG" in done.stderr and "--data-dir" in done.stderr
