"""``recipes.info()``: the facts a bug report needs."""

import platform
import sys
from importlib import metadata

import keras

from recipes.compiling import steps_per_execution

_PACKAGES = (
    "keras",
    "tensorflow",
    "jax",
    "torch",
    "tensorflow-datasets",
    "keras-tuner",
    "scikit-learn",
    "numpy",
)


def _version(package):
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def devices():
    """The devices Keras trains on, as names (``"cpu:0"``, ``"gpu:0"``...):
    ``keras.distribution.list_devices()`` on the backends that have it (TensorFlow,
    JAX); Keras' PyTorch backend has no distribution API, so there the CPU and any
    CUDA devices torch sees."""
    try:
        if keras.backend.backend() != "torch":
            return list(keras.distribution.list_devices())
        import torch  # the one backend without keras.distribution

        return ["cpu", *(f"cuda:{i}" for i in range(torch.cuda.device_count()))]
    except Exception as error:  # a broken accelerator setup is itself worth reporting
        return [f"unknown ({error!r})"]


def info(print_=True):
    """Prints (and returns) the Keras backend, devices, precision policy and versions.

    The first thing to paste into a bug report.

    Args:
        print_: print the report; False only returns it.

    Returns:
        A dict with ``backend``, ``devices``, ``precision``,
        ``steps_per_execution`` (what builders compile with), ``python``,
        ``platform`` and ``versions``.

    Example:

    >>> report = info(print_=False)
    >>> report["backend"]
    'tensorflow'
    """
    report = {
        "backend": keras.backend.backend(),
        "devices": devices(),
        "precision": keras.mixed_precision.global_policy().name,
        "steps_per_execution": steps_per_execution(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "versions": {p: _version(p) for p in ("recipes", *_PACKAGES)},
    }
    if print_:
        print(f"backend:   {report['backend']}")
        print(f"devices:   {', '.join(report['devices'])}")
        print(f"precision: {report['precision']}")
        print(f"steps per compiled call: {report['steps_per_execution']}")
        print(f"python:    {report['python']} on {report['platform']}")
        for package, version in report["versions"].items():
            print(f"  {package:<20} {version}")
    return report
