"""A worker that dies (``tuning.distribute``): a chief and two workers search, one
worker is killed with SIGKILL during its first trial, and the search still ends,
in bounded time, with every trial finished or recorded as failed."""

import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from tuning import report
from tuning.distribute import (
    ENV_ORACLE_IP,
    ENV_ORACLE_PORT,
    ENV_TUNER_ID,
    ENV_WORKER_TIMEOUT,
    free_port,
    worker_timeout,
)


def _start(tuner_id, argv, env, lines):
    process = subprocess.Popen(
        [sys.executable, "-m", "tuning", *argv],
        env={**env, ENV_TUNER_ID: tuner_id},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    reader = threading.Thread(target=lambda: lines.extend(process.stdout), daemon=True)
    reader.start()
    return process, reader


def test_a_killed_worker_fails_its_trial_and_the_search_ends(tmp_path):
    argv = ["--task", "digits", "--max-trials", "3", "--epochs", "2", "--no-retrain"]
    argv += ["--verbose", "2", "--directory", str(tmp_path)]
    env = {
        **os.environ,
        ENV_ORACLE_IP: "127.0.0.1",
        ENV_ORACLE_PORT: str(free_port()),
        ENV_WORKER_TIMEOUT: "2",  # a heartbeat every 0.4 s
        "PYTHONUNBUFFERED": "1",
        "TF_CPP_MIN_LOG_LEVEL": "2",
    }
    outputs = {name: [] for name in ("chief", "worker0", "worker1")}
    started = {name: _start(name, argv, env, lines) for name, lines in outputs.items()}
    (chief, _), (doomed, _), (survivor, _) = started.values()
    try:
        deadline = time.monotonic() + 90
        while not any("Epoch 1/" in line for line in outputs["worker0"]):  # its first trial
            assert doomed.poll() is None and time.monotonic() < deadline, outputs["worker0"]
            time.sleep(0.05)
        doomed.send_signal(signal.SIGKILL)
        assert chief.wait(timeout=120) == 0, "".join(outputs["chief"])[-3000:]
        assert survivor.wait(timeout=30) == 0, "".join(outputs["worker1"])[-3000:]
    finally:
        for process, reader in started.values():
            process.kill()
            process.wait()
            reader.join(timeout=5)
    rows = report.load_trials(str(tmp_path / "digits_random" / "search"))
    statuses = sorted(row.status for row in rows)
    assert statuses == ["COMPLETED", "COMPLETED", "FAILED"]  # every trial ended
    chief_output = "".join(outputs["chief"])
    assert "Worker 'worker0' was silent for over 2 s" in chief_output
    assert "Leaderboard (2 completed, 1 failed" in chief_output


def test_worker_timeout_is_positive_seconds(monkeypatch):
    monkeypatch.delenv(ENV_WORKER_TIMEOUT, raising=False)
    assert worker_timeout() == 60.0
    monkeypatch.setenv(ENV_WORKER_TIMEOUT, "0")
    with pytest.raises(ValueError, match="TUNING_WORKER_TIMEOUT` must be a number"):
        worker_timeout()
