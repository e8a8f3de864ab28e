"""A quiet start for the command lines: TensorFlow's C++ start-up lines are hidden.

Why: loading TensorFlow writes, from C++, straight to the process's standard
error: absl's ``WARNING: All log messages before absl::InitializeLog() ...``,
``oneDNN custom operations are on ...``, ``Could not find cuda drivers ...``,
``This TensorFlow binary is optimized ...``; looking for a GPU then writes
``failed call to cuInit: ... UNKNOWN ERROR (303)`` on a machine without one. The
first thing a newcomer read was an error that is not one. ``TF_CPP_MIN_LOG_LEVEL``
does not hide the oneDNN and CUDA lines (they are written while the libraries
load), and they do not go through Python's ``sys.stderr``; so ``quiet_start``
points file descriptor 2 at ``/dev/null`` only while Keras (and its backend) is
imported and its devices are listed (``recipes.environment.devices``), then puts
it back. On the JAX and PyTorch backends TensorFlow is loaded there too, where
it is installed (``recipes.data.preload``): the data pipelines (tf.data,
tensorflow-datasets) load it on every backend, and its lines would print then,
in the middle of the run. The module imports no backend by name.

Nothing is turned off: oneDNN stays on (the numbers do not change), the devices
found are the same (``recipes.info()`` reports them), and the warnings and errors
of the run itself print as before. ``TF_CPP_MIN_LOG_LEVEL`` defaults to 2 (as in
the Makefile), so TensorFlow's and XLA's info lines stay out of the training
output; a value you set is kept.

It acts only in the package's command lines (``python -m recipes``, ``python -m
tuning``, ``python -m benchmarks``, which the ``make`` targets run): ``recipes/__init__.py`` and
``tuning/__init__.py`` import this module first, and importing it runs
``quiet_start()``. ``import recipes`` in a program or a notebook is unchanged.
``RECIPES_VERBOSE_STARTUP=1`` shows the lines (for a bug report);
``RECIPES_QUIET_STARTUP=1`` makes any other process importing ``recipes`` start
quietly too (the Makefile sets it for the test runs: pytest would print its copy
of the lines at the end of the run).

In a process of a distributed search (``KERASTUNER_TUNER_ID`` set) it also lets
several processes share a GPU, where the user has not chosen otherwise
(``shared_gpu_settings``: memory growth on TensorFlow, no pre-allocation on JAX).

Example:

    RECIPES_VERBOSE_STARTUP=1 python -m recipes info
"""

import contextlib
import os
import sys

COMMAND_LINES = ("recipes", "tuning", "benchmarks")
VERBOSE_VARIABLE = "RECIPES_VERBOSE_STARTUP"
QUIET_VARIABLE = "RECIPES_QUIET_STARTUP"
# Set in every process of a distributed search (KerasTuner's chief and workers),
# where the user has not chosen, so that several of them share one GPU: TensorFlow
# grows its memory as it needs it instead of taking it all, JAX (XLA) does not
# take 75% of it at its first use.
TUNER_ID_VARIABLE = "KERASTUNER_TUNER_ID"
SHARED_GPU_SETTINGS = {
    "TF_FORCE_GPU_ALLOW_GROWTH": "true",
    "XLA_PYTHON_CLIENT_PREALLOCATE": "false",
}


def is_command_line(argv=None):
    """Whether ``argv`` (default: this process's) runs one of ``COMMAND_LINES``
    with ``python -m``.

    Example:

    >>> is_command_line(["python", "-m", "recipes", "info"])
    True
    """
    argv = list(getattr(sys, "orig_argv", sys.argv) if argv is None else argv)
    if "-m" not in argv[:-1]:
        return False
    return argv[argv.index("-m") + 1].partition(".")[0] in COMMAND_LINES


def wants_quiet_start(environ, argv=None):
    """Whether a process with the environment ``environ`` and the command line
    ``argv`` (default: this process's) starts quietly: a command line of the
    package, or any process with ``RECIPES_QUIET_STARTUP`` set, unless
    ``RECIPES_VERBOSE_STARTUP`` is set.

    Example:

    >>> wants_quiet_start({"RECIPES_QUIET_STARTUP": "1"}, ["python", "-m", "pytest"])
    True
    """
    if environ.get(VERBOSE_VARIABLE, "") not in ("", "0"):
        return False
    return is_command_line(argv) or environ.get(QUIET_VARIABLE, "") not in ("", "0")


@contextlib.contextmanager
def standard_error_silenced():
    """Points file descriptor 2 at ``/dev/null`` inside the block (C++ writes
    included), and back afterwards."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)


def shared_gpu_settings(environ):
    """The settings of ``SHARED_GPU_SETTINGS`` that a process of a distributed
    search (``KERASTUNER_TUNER_ID`` in ``environ``) lacks, so that several
    processes share a GPU; none for any other process, and none that ``environ``
    already sets (the user's choice is kept).

    Example:

    >>> shared_gpu_settings({"KERASTUNER_TUNER_ID": "worker0"})
    {'TF_FORCE_GPU_ALLOW_GROWTH': 'true', 'XLA_PYTHON_CLIENT_PREALLOCATE': 'false'}
    """
    if TUNER_ID_VARIABLE not in environ:
        return {}
    return {key: value for key, value in SHARED_GPU_SETTINGS.items() if key not in environ}


def quiet_start():
    """Imports Keras (and with it its backend's libraries: TensorFlow by default)
    and lists its devices, with standard error silenced, where
    ``wants_quiet_start``.

    Returns:
        ``True`` when the start was quiet, ``False`` when nothing was done.
    """
    os.environ.update(shared_gpu_settings(os.environ))  # before any GPU is touched
    if not wants_quiet_start(os.environ):
        return False
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with standard_error_silenced():
        if _one_of_several_processes():
            # JAX must not start before keras.distribution.initialize joins the
            # processes: the libraries load quietly, the devices are listed later.
            import keras  # noqa: F401
        else:
            from recipes.environment import devices

            devices()  # where a backend looks for GPUs ("failed call to cuInit")
        from recipes.data.preload import preload_tensorflow

        preload_tensorflow()
    return True


def _one_of_several_processes():
    """Whether this process trains with others (``KERAS_DISTRIBUTION_NUM_PROCESSES``
    above 1, see ``recipes.distribute``)."""
    return os.environ.get("KERAS_DISTRIBUTION_NUM_PROCESSES", "").strip() not in ("", "0", "1")


quiet_start()
