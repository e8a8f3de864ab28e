"""Data-parallel training on every local device (``recipes.distribute``).

The two-device runs happen in subprocesses: the CPU devices must exist before the
backend starts (``XLA_FLAGS`` on JAX, logical devices on TensorFlow).
"""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from recipes.distribute import (
    data_parallel_plan,
    global_batch_size,
    local_distribution,
    single_device_message,
)

# Trains digits_mlp on one device at global batch 64, then data-parallel over two
# (the preset's 32 per device x 2), and prints the losses and how many devices
# hold the first variable.
_SCRIPT = """
import json, os
if os.environ["KERAS_BACKEND"] == "tensorflow":
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from recipes.training import train_recipe
options = dict(epochs=3, verbose=0, hidden_units=(8,))
one = train_recipe("digits_mlp", distribute="none", batch_size=64, **options)
many = train_recipe("digits_mlp", distribute="auto", **options)
value = many.model.trainable_variables[0].value
holders = value.sharding.device_set if hasattr(value, "sharding") else value.values
print("RESULT", json.dumps({"one": one.history["loss"], "many": many.history["loss"],
      "holders": len(holders), "kind": type(value).__name__}))
"""


def _train_on_two_devices(backend):
    env = {
        **os.environ,
        "KERAS_BACKEND": backend,
        "XLA_FLAGS": "--xla_force_host_platform_device_count=2",
        "JAX_PLATFORMS": "cpu",
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "CUDA_VISIBLE_DEVICES": "",
    }
    done = subprocess.run(
        [sys.executable, "-c", _SCRIPT], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Data-parallel over 2 devices" in done.stdout
    assert "global batch 64 = the preset's 32 per device x 2" in done.stdout
    line = next(line for line in done.stdout.splitlines() if line.startswith("RESULT "))
    return json.loads(line[len("RESULT ") :])


@pytest.mark.parametrize(
    "backend, kind, tolerance",
    [("jax", "ArrayImpl", 1e-4), ("tensorflow", "MirroredVariable", 0.02)],
)
def test_two_devices_train_replicated_and_match_one_device(backend, kind, tolerance):
    result = _train_on_two_devices(backend)
    assert result["holders"] == 2  # the weights live on both devices
    assert result["kind"] == kind
    assert result["many"][-1] < result["many"][0]  # the loss goes down
    assert all(np.isfinite(result["many"]))  # keras#21061, keras#21467: NaN losses
    # The same global batch on one device gives the same losses.
    np.testing.assert_allclose(result["many"], result["one"], rtol=tolerance)


def test_one_device_trains_plainly_and_none_means_one_device(capsys):
    assert local_distribution("none") == (None, 1)
    assert local_distribution("auto") == (None, 1)  # one CPU device here
    assert data_parallel_plan("digits_mlp", "auto", None) == (None, None)
    assert capsys.readouterr().out == ""  # no line on one device


def test_global_batch_is_the_presets_times_the_devices_unless_given():
    assert global_batch_size("digits_mlp", None, 2) == 64
    assert global_batch_size("digits_mlp", 50, 2) == 50
    assert global_batch_size("digits_mlp", None, 1) is None
    assert global_batch_size("mouse_dqn_dense", None, 4) is None  # the trainer's own


def test_torch_message_names_the_backends_that_can():
    assert single_device_message(1) is None
    message = single_device_message(4)
    assert "PyTorch backend" in message and "no distribution module" in message
    assert "one of the 4 GPUs" in message and "KERAS_BACKEND=jax" in message


def test_distribute_must_be_auto_or_none():
    with pytest.raises(ValueError, match="`distribute` must be one of 'auto', 'none'"):
        local_distribution("all")
