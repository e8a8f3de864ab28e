"""Timing helpers: warm-up, alternating best-of-N timing windows and their spread,
peak memory, tables.

A *runner* has ``examples`` and ``run(epochs)``, which trains on those examples
(the same batches in the same order every time) ``epochs`` times and returns the
seconds that took. ``measure`` warms each runner up once (compilation included,
timed separately), sizes the timing windows to last at least ``min_window_s``,
then times ``repeats`` windows of each runner in alternating order and keeps each
runner's best, so that load from other processes does not bias one side, and how
far its slowest window was from that best (the spread).
"""

import csv
import math
import os
import platform
import resource
import time

import keras
import numpy as np

MIB = 2**20


class EpochTimer(keras.callbacks.Callback):
    """Records the seconds from the start of a ``fit``'s first epoch to the end of
    its last (whose logs Keras has turned into Python floats by then, so the
    device work is done).

    Example:

    >>> timer = EpochTimer()
    >>> model.fit(x, y, epochs=3, callbacks=[timer])
    >>> timer.seconds
    """

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == 0:
            self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds = time.perf_counter() - self.start


class KerasRunner:
    """Timing windows of ``model.fit`` over ``(x, y)``.

    A window runs from the first epoch's first batch to the last epoch's logs,
    not over the whole ``fit`` call, whose one-off set-up (wrapping the arrays,
    making the callbacks) a real run pays once for many epochs.

    Args:
        model: a compiled ``keras.Model``.
        x: inputs (an array or a dict of arrays), ``steps * batch_size`` examples.
        y: targets, or ``None`` for models that compute their own loss.
        batch_size: examples per step.

    Example:

    >>> runner = KerasRunner(model, x, y, batch_size=32)
    >>> seconds = runner.run(epochs=2)
    """

    def __init__(self, model, x, y, batch_size):
        self.model = model
        self.x = x
        self.y = y
        self.batch_size = batch_size
        self.examples = len(next(iter(x.values())) if isinstance(x, dict) else x)
        self.timer = EpochTimer()

    def run(self, epochs=1):
        self.model.fit(
            self.x,
            self.y,
            batch_size=self.batch_size,
            epochs=epochs,
            shuffle=False,
            verbose=0,
            callbacks=[self.timer],
        )
        return self.timer.seconds


def memory_probe():
    """How peak memory is read here: ``(label, read)``, ``read()`` in bytes.

    Under JAX on a device that reports it (GPUs), the device's
    ``peak_bytes_in_use``; otherwise the process's maximum resident set size
    (``resource.getrusage``). Both are high-water marks that never go down.

    Example:

    >>> label, read = memory_probe()
    >>> label
    'max RSS+ MiB'
    """
    if keras.backend.backend() == "jax":
        import jax

        stats = jax.local_devices()[0].memory_stats() or {}
        if "peak_bytes_in_use" in stats:
            return "device peak+ MiB", lambda: jax.local_devices()[0].memory_stats()[
                "peak_bytes_in_use"
            ]
    return "max RSS+ MiB", lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def measure(makers, repeats=3, min_window_s=0.5):
    """Builds, warms up and times several runners of the same work.

    For each ``(name, make)`` in ``makers`` order: ``make()`` builds the runner,
    then one warm-up epoch runs (tracing and compilation; its wall time is
    ``warmup_s``); the growth of the memory high-water mark over both is
    recorded. Then ``repeats`` rounds time one window of every runner, the order
    reversed every other round. The first round runs one epoch per window; when
    the fastest runner took less than ``min_window_s``, that round only sizes the
    windows: every runner then gets ``repeats`` windows of as many epochs as
    bring the fastest to ``min_window_s``.

    Args:
        makers: a dict, name to a function returning a runner.
        repeats: timed windows per runner.
        min_window_s: the shortest window worth timing, in seconds.

    Returns:
        A dict, name to ``{"runner", "warmup_s", "memory_mib", "epochs",
        "windows_s", "best_s", "examples_per_s", "spread"}``: ``windows_s`` are
        the timed windows' seconds and ``spread`` is ``slowest / best - 1`` over
        them, how much the same work's timing varied (a ratio between two models
        that differ by less than their spreads is within the noise).

    Example:

    >>> results = measure({"recipe": make_recipe, "reference": make_reference})
    >>> results["recipe"]["examples_per_s"] / results["reference"]["examples_per_s"]
    """
    _, read_memory = memory_probe()
    results = {}
    for name, make in makers.items():
        before = read_memory()
        runner = make()
        start = time.perf_counter()
        runner.run()
        results[name] = {
            "runner": runner,
            "warmup_s": time.perf_counter() - start,
            "memory_mib": (read_memory() - before) / MIB,
        }
    names = list(results)
    first = {name: results[name]["runner"].run() for name in names}
    epochs = math.ceil(min_window_s / min(first.values()))
    for name in names:
        results[name]["epochs"] = max(epochs, 1)
        results[name]["windows_s"] = [first[name]] if epochs <= 1 else []
    for round_ in range(repeats - 1 if epochs <= 1 else repeats):
        for name in reversed(names) if round_ % 2 == 0 else names:
            result = results[name]
            result["windows_s"].append(result["runner"].run(result["epochs"]))
    for result in results.values():
        result["best_s"] = min(result["windows_s"])
        result["spread"] = max(result["windows_s"]) / result["best_s"] - 1
        result["examples_per_s"] = result["epochs"] * result["runner"].examples / result["best_s"]
    return results


def prime_backend():
    """Fits a one-layer model for two steps, so that the backend's one-off start-up
    (thread pools, the XLA compiler) is not charged to the first benchmark.

    Example:

    >>> prime_backend()
    """
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse", jit_compile=True)
    x = np.zeros((8, 4), "float32")
    model.fit(x, x[:, :1], batch_size=4, epochs=1, verbose=0)


def machine_description():
    """``"<platform>, <CPU model>, <n> CPU cores"``.

    Example:

    >>> machine_description()
    'Linux-6.1-x86_64-with-glibc2.36, AMD EPYC 7B13, 2 CPU cores'
    """
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            names = [
                line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")
            ]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{platform.platform()}, {cpu}, {cores} CPU cores"


COLUMNS = (
    ("benchmark", "name", "<24", "s"),
    ("recipe params", "recipe_params", ">13", ",d"),
    ("plain params", "reference_params", ">13", ",d"),
    ("recipe ex/s", "recipe_examples_per_s", ">12", ",.0f"),
    ("plain ex/s", "reference_examples_per_s", ">12", ",.0f"),
    ("ratio", "ratio", ">6", ".2f"),
    ("win steps", "window_steps", ">9", "d"),
    ("spread % r/p", "spread", ">12", "s"),
    ("warm-up s r/p", "warmup", ">14", "s"),
    ("{memory} r/p", "memory", ">20", "s"),
    ("torch ex/s", "torch_examples_per_s", ">11", ",.0f"),
    ("r/torch", "torch_ratio", ">8", ".2f"),
)


def _cell(row, key, align, spec):
    if key == "warmup":
        value = f"{row['recipe_warmup_s']:.1f}/{row['reference_warmup_s']:.1f}"
    elif key == "window_steps":
        value = row["steps"] * row["epochs_per_window"]
    elif key == "spread":
        value = f"{100 * row['recipe_spread']:.0f}/{100 * row['reference_spread']:.0f}"
    elif key == "memory":
        value = f"{row['recipe_memory_mib']:.0f}/{row['reference_memory_mib']:.0f}"
    else:
        value = row.get(key)
    if value is None:
        return format("-", align)
    return format(format(value, spec), align)


def table_header(memory_label):
    """The header line of the results table; ``memory_label`` names the memory
    column (see ``memory_probe``)."""
    return " ".join(
        format(title.format(memory=memory_label), align) for title, _, align, _ in COLUMNS
    )


def table_row(row):
    """One row of the results table (``-`` where a value is missing), flagged when
    a reference's parameter count differs from the recipe's."""
    line = " ".join(_cell(row, key, align, spec) for _, key, align, spec in COLUMNS)
    if row["recipe_params"] != row["reference_params"]:
        line += "  PARAMETER MISMATCH (plain)"
    if row.get("torch_params") not in (None, row["recipe_trainable_params"]):
        line += "  PARAMETER MISMATCH (torch)"
    return line


def write_csv(rows, path):
    """Writes result rows to ``path`` as CSV, one column per row field."""
    fields = list(dict.fromkeys(key for row in rows for key in row))
    with open(path, "w", newline="") as file:
        writer = csv.DictWriter(file, fields)
        writer.writeheader()
        writer.writerows(rows)
