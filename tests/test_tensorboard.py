"""TensorBoard: ``python -m recipes train`` and every tuning trial write the epoch
scalars and the HParams plugin's summaries (read back with TensorBoard's own
reader, on whichever backend runs the tests), and ``make tensorboard`` serves them
on 127.0.0.1 only."""

import json
import os
import pathlib
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import api_pb2, metadata
from tensorboard.util import tensor_util

import recipes
import tuning
from recipes.__main__ import main

ROOT = pathlib.Path(__file__).resolve().parent.parent


def _read(folder):
    """TensorBoard's reader over one run folder."""
    accumulator = EventAccumulator(str(folder), size_guidance={"tensors": 0})  # every step
    accumulator.Reload()
    return accumulator


def _scalars(folder, tag):
    """The values of a scalar tag of a run folder, by step."""
    events = _read(folder).Tensors(tag)
    return {event.step: float(tensor_util.make_ndarray(event.tensor_proto)) for event in events}


def _session(folder):
    """The HParams session of a run folder: its start info and end info."""
    accumulator = _read(folder)
    start = accumulator.SummaryMetadata(metadata.SESSION_START_INFO_TAG).plugin_data.content
    end = accumulator.SummaryMetadata(metadata.SESSION_END_INFO_TAG).plugin_data.content
    return (
        metadata.parse_session_start_info_plugin_data(start),
        metadata.parse_session_end_info_plugin_data(end),
    )


def _value(hparam):
    return getattr(hparam, hparam.WhichOneof("kind"))


@pytest.mark.backends
def test_the_cli_writes_epoch_scalars_and_the_hparams_session(tmp_path):
    argv = ["train", "digits_mlp", "--epochs", "2", "--batch-size", "512", "--set"]
    main([*argv, "hidden_units=(4,)", "--output", str(tmp_path), "--verbose", "0"])
    logs = tmp_path / "tensorboard"
    history = json.loads((tmp_path / "metrics.json").read_text())["history"]
    for run, prefix in (("train", ""), ("validation", "val_")):
        for name in ("loss", "accuracy"):
            values = _scalars(logs / run, f"epoch_{name}")
            assert list(values) == [0, 1]
            np.testing.assert_allclose(list(values.values()), history[prefix + name], rtol=1e-6)
    start, end = _session(logs)
    hparams = {key: _value(value) for key, value in start.hparams.items()}
    assert hparams["recipe"] == "digits_mlp" and hparams["hidden_units"] == "(4,)"
    assert hparams["epochs"] == 2 and hparams["batch_size"] == 512
    assert start.group_name == tmp_path.name and end.status == api_pb2.STATUS_SUCCESS


class _TinySpace(tuning.MLPHyperModel):
    """Two trials: 4 or 8 hidden units."""

    def build(self, hp):
        units = hp.Choice("units", [4, 8])
        return recipes.build_mlp(
            input_shape=self.input_shape,
            num_classes=self.num_classes,
            hidden_units=(units,),
            **self.compile_args(hp),
        )


@pytest.mark.backends
def test_every_tuning_trial_writes_scalars_and_the_search_an_hparams_experiment(tmp_path):
    task = tuning.Task(
        "tiny_digits",
        "digits",
        lambda: _TinySpace(
            (8, 8, 1),
            10,
            batch_sizes=(256,),
            schedules=("constant",),
            optimizers=("adam",),
            weight_decays=(0.0,),
            xla=False,
        ),
        "val_accuracy",
        "max",
        max_trials=2,
        epochs=2,
        summary="test",
    )
    result = tuning.tune(
        task, tuner="grid", directory=str(tmp_path), retrain=False, print_fn=lambda *_: None
    )
    logs = tmp_path / "tiny_digits_grid" / "tensorboard"

    experiment = metadata.parse_experiment_plugin_data(
        _read(logs).SummaryMetadata(metadata.EXPERIMENT_TAG).plugin_data.content
    )
    infos = {info.name: info for info in experiment.hparam_infos}
    assert list(infos["units"].domain_discrete) == [4, 8]
    assert list(infos["optimizer"].domain_discrete) == ["adam"]
    interval = infos["learning_rate"].domain_interval
    assert (interval.min_value, interval.max_value) == task.hypermodel().learning_rates
    metrics = {(m.name.group, m.name.tag) for m in experiment.metric_infos}
    assert {("validation", "epoch_accuracy"), ("train", "epoch_loss")} <= metrics

    assert len(result.rows) == 2
    for row in result.rows:
        trial = logs / f"trial_{row.trial_id}"
        start, end = _session(trial)
        values = {key: _value(value) for key, value in start.hparams.items()}
        assert values == pytest.approx(row.hyperparameters)
        assert end.status == api_pb2.STATUS_SUCCESS
        accuracy = _scalars(trial / "validation", "epoch_accuracy")
        assert list(accuracy) == [0, 1] and max(accuracy.values()) == pytest.approx(row.score)
        assert list(_scalars(trial / "train", "epoch_loss")) == [0, 1]


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _accepts(host, port):
    try:
        socket.create_connection((host, port), timeout=0.5).close()
    except OSError:
        return False
    return True


def test_make_tensorboard_listens_on_127_0_0_1_only(tmp_path):
    port = _free_port()
    # TensorBoard runs without TensorFlow: hiding it saves its 5-second import here.
    hidden = tmp_path / "hidden"
    (hidden / "tensorflow").mkdir(parents=True)
    (hidden / "tensorflow" / "__init__.py").write_text("raise ImportError('hidden')\n")
    server = subprocess.Popen(
        ["make", "-s", "-o", ".venv/.install-stamp", "tensorboard", f"DIR={tmp_path}"]
        + [f"PORT={port}", f"BIN={os.path.dirname(sys.executable)}"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(hidden)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not _accepts("127.0.0.1", port):
            assert server.poll() is None, "make tensorboard ended"
            assert time.monotonic() < deadline, "TensorBoard did not listen in a minute"
            time.sleep(0.1)
        # Another loopback address of this machine is not served: it is not bound to all.
        assert not _accepts("127.0.0.2", port)
    finally:
        os.killpg(server.pid, signal.SIGTERM)  # make and the TensorBoard it started
        server.wait()
