"""Scale: every local GPU inside a trial, and KerasTuner's chief/worker mode across
processes.

Inside a trial (``local_strategy``):

- TensorFlow backend with several GPUs: a ``tf.distribute.MirroredStrategy``
  that the tuner builds and trains every model under;
- JAX backend with several devices: ``keras.distribution.DataParallel`` over
  them (batches are split across devices, so batch sizes should be multiples of
  the device count). ``keras.backend.clear_session()``, which KerasTuner calls
  before each trial, forgets it, so it is set again before every build;
- otherwise (one device, or the PyTorch backend): nothing.

Across processes, KerasTuner's distributed mode: one *chief* process holds the
oracle and serves it over gRPC; *workers* ask it for trials, train, and report.
Every process runs the same command with three environment variables:
``KERASTUNER_TUNER_ID`` (``chief`` for the chief, any other unique id for a
worker), ``KERASTUNER_ORACLE_IP`` and ``KERASTUNER_ORACLE_PORT`` (where the chief
listens). ``launch_local`` starts a chief and N workers on this machine; the chief
serves with ``serve_oracle``, which ends as soon as the last worker is done.

A worker that dies: KerasTuner's oracle would keep its trial RUNNING and the chief
would wait for it forever. Here a worker tells the chief it is alive every few
seconds during a trial (``heartbeat``), and the chief records the trial of a
worker silent for ``TUNING_WORKER_TIMEOUT`` seconds (default 60) as FAILED, and
forgets the worker, so the other trials finish and the search ends.

Example:

>>> from tuning.distribute import launch_local
>>> launch_local(["--task", "digits", "--max-trials", "8"], workers=2)
0
"""

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time

import keras

from recipes.tensorflow_strategy import mirrored_strategy

ENV_TUNER_ID = "KERASTUNER_TUNER_ID"
ENV_ORACLE_IP = "KERASTUNER_ORACLE_IP"
ENV_ORACLE_PORT = "KERASTUNER_ORACLE_PORT"
ENV_WORKER_TIMEOUT = "TUNING_WORKER_TIMEOUT"
DEFAULT_WORKER_TIMEOUT = 60.0


def local_strategy():
    """Spreads each trial over the local accelerators (see the module docstring).

    Returns:
        A ``tf.distribute.MirroredStrategy`` on TensorFlow with several GPUs (for
        the tuner's ``distribution_strategy``), else ``None``.
    """
    if keras.backend.backend() == "tensorflow":
        if len(keras.distribution.list_devices("gpu")) > 1:
            return mirrored_strategy()  # the strategy object KerasTuner expects
        return None
    use_data_parallel()
    return None


def use_data_parallel():
    """On JAX with several devices, makes ``keras.distribution.DataParallel`` over
    all of them the current distribution (again after ``clear_session``).

    Returns:
        The distribution in use, or ``None``.
    """
    if keras.backend.backend() != "jax":
        return None
    devices = keras.distribution.list_devices()
    if len(devices) > 1 and keras.distribution.distribution() is None:
        keras.distribution.set_distribution(keras.distribution.DataParallel(devices=devices))
    return keras.distribution.distribution()


def role():
    """``"chief"``, ``"worker"`` or ``"single"`` (no distributed tuning), from the
    KerasTuner environment variables."""
    if ENV_ORACLE_IP not in os.environ:
        return "single"
    missing = [v for v in (ENV_ORACLE_PORT, ENV_TUNER_ID) if v not in os.environ]
    if missing:
        raise ValueError(
            f"{ENV_ORACLE_IP} is set, so distributed tuning needs {' and '.join(missing)} "
            f"too: {ENV_TUNER_ID}=chief for the chief, a unique id for each worker."
        )
    return "chief" if "chief" in os.environ[ENV_TUNER_ID] else "worker"


def serve_oracle(oracle, poll_seconds=0.2):
    """Serves ``oracle`` to the workers until every trial is over: the chief's part
    of a distributed search.

    It is KerasTuner's chief loop (``keras_tuner.src.distribute.oracle_chief.
    start_server``), except that once the trials run out it checks every
    ``poll_seconds`` whether the last worker is done, where KerasTuner sleeps 20 s
    between checks, so the chief writes its report as soon as the workers finish;
    and that the trial of a worker silent for ``worker_timeout()`` seconds is
    recorded as FAILED (see the module docstring).

    Args:
        oracle: the chief tuner's ``keras_tuner.Oracle``.
        poll_seconds: seconds between two checks.
    """
    from keras_tuner.src.distribute import oracle_chief

    timeout = worker_timeout()  # a malformed value fails before the port opens
    servicer = watchful_servicer(oracle)
    server = start_oracle_server(servicer)
    try:
        while not (servicer.stop_triggered and oracle_chief.exit_chief(oracle)):
            servicer.fail_silent_workers(timeout)
            time.sleep(poll_seconds)
    finally:
        server.stop(grace=None)


def watchful_servicer(oracle):
    """KerasTuner's ``OracleServicer`` for ``oracle``, noting when each worker was
    last heard from, with ``fail_silent_workers(timeout)`` to end the trials of
    the workers silent for longer.

    Example:

    >>> servicer = watchful_servicer(tuner.oracle)
    >>> servicer.fail_silent_workers(60.0)
    []
    """
    from keras_tuner.src.distribute import oracle_chief

    class WatchfulServicer(oracle_chief.OracleServicer):
        def __init__(self, oracle):
            super().__init__(oracle)
            self.last_heard, self.lock = {}, threading.Lock()

        def _heard(self, tuner_id=None, trial_id=None):
            holders = [
                holder
                for holder, trial in self.oracle.ongoing_trials.items()
                if trial.trial_id == trial_id
            ]
            for holder in [tuner_id] if tuner_id else holders:
                self.last_heard[holder] = time.monotonic()

        def CreateTrial(self, request, context):
            with self.lock:
                self._heard(tuner_id=request.tuner_id)
                return super().CreateTrial(request, context)

        def UpdateTrial(self, request, context):
            with self.lock:
                self._heard(trial_id=request.trial_id)
                return super().UpdateTrial(request, context)

        def EndTrial(self, request, context):
            with self.lock:
                trial_id = request.trial.trial_id
                if not any(t.trial_id == trial_id for t in self.oracle.ongoing_trials.values()):
                    return protos_service().EndTrialResponse()  # failed as silent already
                self._heard(trial_id=trial_id)
                return super().EndTrial(request, context)

        def GetTrial(self, request, context):  # also the workers' heartbeat
            with self.lock:
                self._heard(trial_id=request.trial_id)
                return super().GetTrial(request, context)

        def fail_silent_workers(self, timeout):
            """Records as FAILED the trials of the workers silent for over
            ``timeout`` seconds and forgets them; returns their ids."""
            with self.lock:
                now, silent = time.monotonic(), []
                for tuner_id, trial in list(self.oracle.ongoing_trials.items()):
                    if now - self.last_heard.get(tuner_id, now) > timeout:
                        silent.append(tuner_id)
                        trial.status = "FAILED"
                        trial.message = (
                            f"Worker {tuner_id!r} was silent for over {timeout:g} s "
                            f"({ENV_WORKER_TIMEOUT}) during this trial: it died or hung."
                        )
                        self.oracle.end_trial(trial)
                        self.oracle.tuner_ids.discard(tuner_id)
                        print(f"[chief] trial {trial.trial_id} failed: {trial.message}")
                return silent

    return WatchfulServicer(oracle)


def protos_service():
    """KerasTuner's gRPC message module."""
    from keras_tuner.src import protos

    return protos.get_service()


def worker_timeout():
    """Seconds of silence after which the chief fails a worker's trial:
    ``TUNING_WORKER_TIMEOUT``, default 60.

    Example:

    >>> worker_timeout()
    60.0
    """
    text = os.environ.get(ENV_WORKER_TIMEOUT, "").strip()
    try:
        seconds = float(text) if text else DEFAULT_WORKER_TIMEOUT
    except ValueError:
        seconds = 0.0
    if not seconds > 0:
        raise ValueError(
            f"`{ENV_WORKER_TIMEOUT}` must be a number of seconds > 0. Received: "
            f"{ENV_WORKER_TIMEOUT}={text!r}"
        )
    return seconds


@contextlib.contextmanager
def heartbeat(oracle, trial_id):
    """Inside the block, tells the chief every fifth of ``worker_timeout()`` that
    this worker is alive and running ``trial_id`` (a ``GetTrial`` call to the
    ``oracle`` client); nothing outside a distributed worker.

    Example:

    >>> with heartbeat(tuner.oracle, trial.trial_id):
    ...     tuner.run_trial(trial)
    """
    if role() != "worker":
        yield
        return
    done = threading.Event()
    interval = worker_timeout() / 5  # read here: an error in the thread would be silent

    def beat():
        while not done.wait(interval):
            with contextlib.suppress(Exception):  # the chief may be gone at the end
                oracle.get_trial(trial_id)

    thread = threading.Thread(target=beat, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


def start_oracle_server(servicer):
    """Starts a gRPC server for KerasTuner's ``OracleServicer`` at
    ``oracle_address()``.

    Returns:
        The started ``grpc.Server``.
    """
    from concurrent import futures

    import grpc
    from keras_tuner.src import protos

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=1))
    protos.get_service_grpc().add_OracleServicer_to_server(servicer, server)
    server.add_insecure_port(oracle_address())
    server.start()
    return server


def oracle_address():
    """Where the chief serves its oracle, ``host:port``: ``KERASTUNER_ORACLE_IP``
    (127.0.0.1 when it is empty, never every interface: the gRPC port has no
    login) and ``KERASTUNER_ORACLE_PORT``.

    Example:

    >>> os.environ.update({ENV_ORACLE_IP: "", ENV_ORACLE_PORT: "8000"})
    >>> oracle_address()
    '127.0.0.1:8000'
    """
    host = os.environ.get(ENV_ORACLE_IP, "").strip() or "127.0.0.1"
    return f"{host}:{os.environ[ENV_ORACLE_PORT]}"


def free_port(host="127.0.0.1"):
    """A TCP port on ``host`` that nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def launch_local(args, workers=2, host="127.0.0.1", port=None, stream=None):
    """Runs ``python -m tuning ARGS`` as one chief and ``workers`` workers on this
    machine, and waits for all of them.

    Each line a process prints is shown prefixed by its id (``[chief]``,
    ``[worker0]``...). If one process fails, the others are stopped.

    Args:
        args: the ``python -m tuning`` arguments, e.g. ``["--task", "digits"]``.
        workers: number of worker processes (at least 1).
        host: the address the chief listens on.
        port: its port (default: a free one).
        stream: where the prefixed output goes (default ``sys.stdout``).

    Returns:
        0 when every process succeeded, else the first non-zero exit status.
    """
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"`workers` must be an integer >= 1. Received: workers={workers!r}")
    stream = stream or sys.stdout
    port = port or free_port(host)
    base = {**os.environ, ENV_ORACLE_IP: host, ENV_ORACLE_PORT: str(port), "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "tuning", *args]
    ids = ["chief", *(f"worker{i}" for i in range(workers))]
    processes, pumps = [], []
    lock = threading.Lock()
    for tuner_id in ids:
        process = subprocess.Popen(
            command,
            env={**base, ENV_TUNER_ID: tuner_id},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        pump = threading.Thread(target=_pump, args=(process, tuner_id, stream, lock), daemon=True)
        pump.start()
        processes.append(process)
        pumps.append(pump)
    status = 0
    try:
        while any(p.poll() is None for p in processes):
            failed = [p.returncode for p in processes if p.returncode not in (None, 0)]
            if failed:
                status = failed[0]
                break
            time.sleep(0.2)
    finally:
        for process in processes:
            if process.poll() is None:
                process.terminate()
        for process in processes:
            process.wait()
        for pump in pumps:
            pump.join()
    return status or next((p.returncode for p in processes if p.returncode), 0)


def _pump(process, tuner_id, stream, lock):
    for line in process.stdout:
        with lock:
            stream.write(f"[{tuner_id}] {line}")
            stream.flush()
