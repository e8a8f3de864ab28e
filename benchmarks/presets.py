"""``python -m benchmarks.presets``: what each preset reaches, trained end to end by
the command a user types (``python -m recipes train NAME``), with the preset's
own defaults, one preset at a time.

Every preset whose data is at hand offline is trained (the CIFAR-10 ones too when
``--data-dir`` points to a copy such as ``shared/data/cifar10-jpeg.tar.gz``); the
others are listed with the dataset they would download. Each run writes its
folder under ``--output`` (``runs/presets/NAME``: model, curves, metrics.json,
``command.json``), so runs add up: train the small presets once, the CIFAR-10
ones another day with ``--only 'cifar10_*' --epochs 2``. The table of every
preset measured so far goes to ``--table`` (``docs/presets.md``).

Example:

    python -m benchmarks.presets --only 'digits_*' 'moons_*'
    python -m benchmarks.presets --only cifar10_lenet --data-dir ../shared/data/cifar10-jpeg.tar.gz
"""

import argparse
import fnmatch
import json
import os
import shlex
import subprocess
import sys
import time

from recipes.startup import quiet_start

quiet_start()

import keras  # noqa: E402

import recipes  # noqa: E402
import recipes.environment  # noqa: E402
from recipes import data  # noqa: E402
from recipes.registry import get_recipe  # noqa: E402

# The test metric a row shows first, in this order of preference.
HEADLINE_METRICS = ("tta_accuracy", "accuracy", "mean_reward", "loss")


def measurable(name, data_dir):
    """Whether preset ``name`` trains here: its dataset is offline (or it has
    none), or it is a CIFAR-10 preset and ``data_dir`` holds a copy."""
    dataset = get_recipe(name).dataset
    if dataset is None or data.get_spec(dataset).offline:
        return True
    return dataset == "cifar10" and data_dir is not None


def train_command(name, data_dir=None, epochs=None):
    """The command line that trains preset ``name`` (without ``--output``)."""
    command = ["python", "-m", "recipes", "train", name]
    if data_dir is not None and get_recipe(name).dataset == "cifar10":
        command += ["--data-dir", data_dir]
    if epochs is not None:
        command += ["--epochs", str(epochs)]
    return command


def run_preset(name, output, data_dir=None, epochs=None):
    """Trains preset ``name`` in a subprocess into ``output/name``; records the
    command and its wall time in ``command.json`` there.

    Returns:
        The run's folder.

    Raises:
        RuntimeError: the command failed (its last output lines say why).
    """
    folder = os.path.join(output, name)
    command = train_command(name, data_dir, epochs)
    start = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, *command[1:], "--output", folder],
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - start
    if completed.returncode != 0:
        tail = "\n".join((completed.stdout + completed.stderr).splitlines()[-8:])
        raise RuntimeError(f"{shlex.join(command)} failed:\n{tail}")
    with open(os.path.join(folder, "command.json"), "w") as handle:
        json.dump({"command": shlex.join(command), "wall_seconds": seconds}, handle, indent=2)
    return folder


def headline(test_metrics):
    """``(name, value)`` of the metric a row shows (see ``HEADLINE_METRICS``)."""
    for key in HEADLINE_METRICS:
        if key in test_metrics:
            return key, test_metrics[key]
    key = sorted(test_metrics)[0]
    return key, test_metrics[key]


def describe_run(folder):
    """What the table says of a finished run: ``reaches``, ``epochs``,
    ``seconds`` (the command's wall time) and ``command``."""
    with open(os.path.join(folder, "metrics.json")) as handle:
        metrics = json.load(handle)
    with open(os.path.join(folder, "command.json")) as handle:
        command = json.load(handle)
    test = metrics["test"]
    key, value = headline(test)
    reaches = f"{key} {value:.4g}"
    if "random_mean_reward" in test:
        reaches += f" (random mouse {test['random_mean_reward']:.3g})"
    epochs = metrics.get("epochs", metrics.get("episodes", "-"))
    return {
        "reaches": reaches,
        "epochs": epochs,
        "seconds": command["wall_seconds"],
        "command": command["command"],
    }


def table(output):
    """The Markdown table of every preset: what its last run under ``output``
    reached, or why it has none."""
    lines = [
        "| preset | reaches (test) | epochs | wall time | command |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name in recipes.list_recipes():
        folder = os.path.join(output, name)
        if os.path.isfile(os.path.join(folder, "command.json")):
            row = describe_run(folder)
            lines.append(
                f"| `{name}` | {row['reaches']} | {row['epochs']} | {row['seconds']:.0f} s "
                f"| `{row['command']}` |"
            )
        else:
            lines.append(f"| `{name}` | {_not_measured(name)} | - | - | - |")
    return "\n".join(lines) + "\n"


def _not_measured(name):
    """Why a preset has no run: what it needs, or that it was not run yet."""
    dataset = get_recipe(name).dataset
    if dataset == "cifar10":
        return "not run yet: needs `--data-dir` (the CIFAR-10 JPEG copy)"
    if measurable(name, None):
        return "not run yet"
    return f"needs tensorflow-datasets' `{dataset}` (a download)"


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.presets",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--only", nargs="+", default=["*"], help="preset name patterns")
    parser.add_argument("--data-dir", help="a CIFAR-10 copy, for the CIFAR-10 presets")
    parser.add_argument("--epochs", type=int, help="train this many epochs instead")
    parser.add_argument("--output", default=os.path.join("runs", "presets"))
    parser.add_argument("--table", default=os.path.join("docs", "presets.md"))
    parser.add_argument("--table-only", action="store_true", help="train nothing")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    names = [
        name
        for name in recipes.list_recipes()
        if any(fnmatch.fnmatch(name, pattern) for pattern in args.only)
        and measurable(name, args.data_dir)
    ]
    for name in [] if args.table_only else names:
        print(f"{name}: {shlex.join(train_command(name, args.data_dir, args.epochs))}", flush=True)
        try:
            row = describe_run(run_preset(name, args.output, args.data_dir, args.epochs))
        except RuntimeError as error:
            print(f"  {error}", flush=True)
            continue
        print(f"  {row['reaches']} in {row['seconds']:.0f} s", flush=True)
    text = table(args.output)
    if args.table:
        with open(args.table, "w") as handle:
            handle.write(PAGE_HEADER.format(machine=machine()) + text)
    print(text)


def machine():
    """One line naming what measured: the Keras backend and version, the CPU
    cores, the devices Keras trains on."""
    devices = ", ".join(recipes.environment.devices())
    return (
        f"Keras {keras.__version__} ({keras.backend.backend()} backend), "
        f"{os.cpu_count()} CPU cores, {devices}"
    )


PAGE_HEADER = """# What each preset reaches

Each preset trained end to end by the command in its row, with the preset's own
defaults (a row whose command says `--epochs` was cut to that many), the test
split used once. `python -m benchmarks.presets` measures them again (see its
`--help`); its runs go to `runs/presets/`. Measured with {machine}.

"""

if __name__ == "__main__":
    main()
