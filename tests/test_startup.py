"""The command lines start quietly: no TensorFlow or absl C++ start-up lines and
no warning the package causes itself, unless RECIPES_VERBOSE_STARTUP asks for
the start-up lines (recipes/startup.py)."""

import itertools
import os
import platform
import re
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from recipes import startup

START_UP_LINES = (
    "absl::InitializeLog()",
    "oneDNN custom operations are on",
    "Could not find cuda drivers",
    "failed call to cuInit",
    "This TensorFlow binary is optimized",
)


def run_command_line(*args, cwd, verbose=False, backend=None):
    """``python -m recipes ARGS`` in a fresh process, TF_CPP_MIN_LOG_LEVEL unset
    (on ``backend``, default the tests' own)."""
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    env.pop(startup.VERBOSE_VARIABLE, None)
    if backend:
        env["KERAS_BACKEND"] = backend
    if verbose:
        env[startup.VERBOSE_VARIABLE] = "1"
    return subprocess.run(
        [sys.executable, "-m", "recipes", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["python", "-m", "recipes", "info"], True),
        (["python", "-m", "tuning", "--list"], True),
        (["python", "-m", "recipes.__main__"], True),
        (["python", "-m", "pytest", "-m", "recipes"], False),
        (["python", "train.py"], False),
        (["python", "-c", "import recipes"], False),
        (["python", "-m"], False),
    ],
)
def test_only_the_package_command_lines_start_quietly(argv, expected):
    assert startup.is_command_line(argv) is expected


def test_a_program_importing_recipes_is_left_as_it_is(monkeypatch):
    monkeypatch.delenv(startup.QUIET_VARIABLE, raising=False)  # set by `make test`
    assert startup.quiet_start() is False  # pytest is no command line of the package


@pytest.mark.parametrize(
    "environ, argv, expected",
    [
        ({}, ["python", "-m", "recipes", "info"], True),
        ({}, ["python", "-m", "pytest"], False),
        ({"RECIPES_QUIET_STARTUP": "1"}, ["python", "-m", "pytest"], True),
        ({"RECIPES_QUIET_STARTUP": "0"}, ["python", "train.py"], False),
        ({"RECIPES_VERBOSE_STARTUP": "1"}, ["python", "-m", "recipes", "info"], False),
        ({"RECIPES_VERBOSE_STARTUP": "1", "RECIPES_QUIET_STARTUP": "1"}, ["x.py"], False),
    ],
)
def test_quiet_start_where_asked_unless_verbose_is(environ, argv, expected):
    assert startup.wants_quiet_start(environ, argv) is expected


def test_standard_error_is_silenced_inside_the_block_only(capfd):
    os.write(2, b"before\n")
    with startup.standard_error_silenced():
        os.write(2, b"hidden C++ line\n")
    os.write(2, b"after\n")
    assert capfd.readouterr().err == "before\nafter\n"


def test_train_prints_no_start_up_lines_and_no_shuffle_warning(tmp_path):
    result = run_command_line(
        "train", "digits_mlp", "--epochs", "1", "--verbose", "2", "--output", "run", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert "digits_mlp: test accuracy=" in result.stdout
    assert re.search(r"^\d+/\d+ - .*val_loss", result.stdout, re.M)  # Keras' progress stays
    printed = [line for line in START_UP_LINES if line in result.stderr]
    assert not printed, result.stderr
    assert "`shuffle=True` was passed" not in result.stderr


def test_on_jax_reading_images_through_tf_data_prints_no_start_up_lines(tmp_path):
    pytest.importorskip("jax")
    for split, label, i in itertools.product(("train", "test"), range(2), range(3)):
        folder = tmp_path / "tree" / split / f"class{label}"
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.full((8, 8, 3), 100 * label, np.uint8)).save(folder / f"{i}.png")
    result = run_command_line(
        "train",
        "cifar10_lenet",
        "--data-dir",
        "tree",
        "--epochs",
        "1",
        "--verbose",
        "0",
        "--output",
        "run",
        cwd=tmp_path,
        backend="jax",
    )
    assert result.returncode == 0, result.stderr
    assert "cifar10_lenet: test accuracy=" in result.stdout
    printed = [line for line in START_UP_LINES if line in result.stderr]
    assert not printed, result.stderr


def test_info_shows_the_start_up_lines_when_asked_and_still_reports_devices(tmp_path):
    result = run_command_line("info", cwd=tmp_path, verbose=True)
    assert result.returncode == 0, result.stderr
    assert "devices:" in result.stdout and "cpu:0" in result.stdout
    if not re.search(r"backend:\s+tensorflow", result.stdout):
        pytest.skip("the Keras backend is not TensorFlow: `info` does not load it")
    if (sys.platform, platform.machine()) != ("linux", "x86_64"):
        pytest.skip("which start-up lines TensorFlow writes depends on the platform")
    assert "absl::InitializeLog()" in result.stderr, result.stderr
    assert "oneDNN custom operations are on" in result.stderr, result.stderr


def test_processes_of_a_search_share_a_gpu_unless_the_user_chose():
    worker = {"KERASTUNER_TUNER_ID": "worker0"}
    assert startup.shared_gpu_settings(worker) == {
        "TF_FORCE_GPU_ALLOW_GROWTH": "true",
        "XLA_PYTHON_CLIENT_PREALLOCATE": "false",
    }
    chosen = {**worker, "XLA_PYTHON_CLIENT_PREALLOCATE": "true"}
    assert startup.shared_gpu_settings(chosen) == {"TF_FORCE_GPU_ALLOW_GROWTH": "true"}
    assert startup.shared_gpu_settings({"HOME": "/root"}) == {}  # not a search: untouched
