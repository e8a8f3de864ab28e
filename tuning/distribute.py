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

Example:

>>> from tuning.distribute import launch_local
>>> launch_local(["--task", "digits", "--max-trials", "8"], workers=2)
0
"""

import os
import socket
import subprocess
import sys
import threading
import time

import keras

ENV_TUNER_ID = "KERASTUNER_TUNER_ID"
ENV_ORACLE_IP = "KERASTUNER_ORACLE_IP"
ENV_ORACLE_PORT = "KERASTUNER_ORACLE_PORT"


def local_strategy():
    """Spreads each trial over the local accelerators (see the module docstring).

    Returns:
        A ``tf.distribute.MirroredStrategy`` on TensorFlow with several GPUs (for
        the tuner's ``distribution_strategy``), else ``None``.
    """
    if keras.backend.backend() == "tensorflow":
        if len(keras.distribution.list_devices("gpu")) > 1:
            import tensorflow as tf  # the strategy object KerasTuner expects

            return tf.distribute.MirroredStrategy()
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
    between checks; so the chief writes its report as soon as the workers finish.

    Args:
        oracle: the chief tuner's ``keras_tuner.Oracle``.
        poll_seconds: seconds between two checks.
    """
    from keras_tuner.src.distribute import oracle_chief

    servicer = oracle_chief.OracleServicer(oracle)
    server = start_oracle_server(servicer)
    try:
        while not (servicer.stop_triggered and oracle_chief.exit_chief(oracle)):
            time.sleep(poll_seconds)
    finally:
        server.stop(grace=None)


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
