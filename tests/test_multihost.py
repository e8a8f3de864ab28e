"""Several hosts (``recipes.distribute.start_processes``): two processes on
127.0.0.1 train one model together with ``keras.distribution.initialize`` (JAX,
CPU collectives over gloo), and TensorFlow refuses with keras#20585."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from recipes.distribute import ENV_NUM_PROCESSES, multi_host_refusal, start_processes
from tuning.distribute import free_port

# Trains digits_mlp for two epochs in the process the environment names, then
# prints its weights and the data-parallel line.
_SCRIPT = """
import json, sys
from recipes.training import train_recipe
result = train_recipe("digits_mlp", output_dir=sys.argv[1], epochs=2, verbose=0,
                      hidden_units=(8,))
weights = [w.tolist() for w in result.model.get_weights()]
print("RESULT", json.dumps({"weights": weights, "loss": result.history["loss"]}))
"""


def _process(index, port, folder, scratch):
    env = {
        **os.environ,
        "TMPDIR": str(scratch),
        "KERAS_BACKEND": "jax",
        "JAX_PLATFORMS": "cpu",
        "CUDA_VISIBLE_DEVICES": "",
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "KERAS_DISTRIBUTION_JOB_ADDRESSES": f"127.0.0.1:{port}",
        ENV_NUM_PROCESSES: "2",
        "KERAS_DISTRIBUTION_PROCESS_ID": str(index),
    }
    return subprocess.Popen(
        [sys.executable, "-c", _SCRIPT, str(folder)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_two_processes_train_one_model_and_one_writes(tmp_path):
    port = free_port()
    folders = [tmp_path / "host0", tmp_path / "host1"]
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    processes = [_process(index, port, folder, scratch) for index, folder in enumerate(folders)]
    outputs = []
    try:
        for process in processes:
            out, err = process.communicate(timeout=120)
            assert process.returncode == 0, err[-3000:]
            outputs.append(out)
    finally:
        for process in processes:
            process.kill()
    results = [
        json.loads(next(line for line in out.splitlines() if line.startswith("RESULT "))[7:])
        for out in outputs
    ]
    assert "Data-parallel over 2 devices in 2 processes" in outputs[0]
    assert "Data-parallel" not in outputs[1]  # one line for the run
    for mine, theirs in zip(results[0]["weights"], results[1]["weights"], strict=True):
        np.testing.assert_array_equal(mine, theirs)  # one model, trained together
    assert results[0]["loss"] == results[1]["loss"]
    assert results[0]["loss"][-1] < results[0]["loss"][0]
    assert (folders[0] / "metrics.json").exists() and (folders[0] / "model.keras").exists()
    assert not folders[1].exists()  # only process 0 writes the run folder
    # Process 1 saved in step with it (Keras saves collectively) in its scratch folder.
    assert list(scratch.glob("recipes-process-1/*/run/metrics.json"))


def test_one_process_and_none_start_nothing(monkeypatch):
    monkeypatch.delenv(ENV_NUM_PROCESSES, raising=False)
    monkeypatch.delenv("TF_CONFIG", raising=False)
    assert start_processes("auto") == (0, 1)
    monkeypatch.setenv(ENV_NUM_PROCESSES, "2")
    assert start_processes("none") == (0, 1)


def test_checking_a_run_told_to_train_alone_joins_no_other_process(monkeypatch):
    from recipes.training import check_training

    monkeypatch.setenv(ENV_NUM_PROCESSES, "2")  # would join (or, off JAX, be refused)
    check_training("digits_mlp", distribute="none")


def test_several_processes_need_a_whole_number(monkeypatch):
    monkeypatch.setenv(ENV_NUM_PROCESSES, "two")
    with pytest.raises(ValueError, match="KERAS_DISTRIBUTION_NUM_PROCESSES` must be an integer"):
        start_processes("auto")


def test_tensorflow_multi_worker_is_refused_naming_the_bug_and_jax(monkeypatch):
    message = multi_host_refusal("tensorflow")
    assert "keras#20585" in message and "KERAS_BACKEND=jax" in message
    assert "MultiWorkerMirroredStrategy" in message
    monkeypatch.delenv(ENV_NUM_PROCESSES, raising=False)
    cluster = {"worker": ["10.0.0.1:2222", "10.0.0.2:2222"]}
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": cluster, "task": {"index": 0}}))
    monkeypatch.setattr("keras.backend.backend", lambda: "tensorflow")
    with pytest.raises(ValueError, match="keras#20585"):
        start_processes("auto")
