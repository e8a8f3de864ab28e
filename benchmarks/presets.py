"""``python -m benchmarks.presets``: what each preset reaches, trained end to end by
the command a user types (``python -m recipes train NAME``), with the preset's
own defaults, one preset at a time.

Every preset whose data is at hand offline is trained (the CIFAR-10 ones too when
``--data-dir`` points to a copy such as ``shared/data/cifar10-jpeg.tar.gz``); the
others are listed with the dataset they would download. Each run writes its
folder under ``--output`` (``runs/presets/NAME``: model, curves, metrics.json,
``command.json``), so runs add up: train the small presets once, the CIFAR-10
ones another day with ``--only 'cifar10_*' --epochs 2``. The table of every
preset measured so far goes to ``--table`` (``docs/presets.md``), and with
``--readme README.md`` into the ``reaches`` column of the README's preset table.

Example:

    python -m benchmarks.presets --only 'digits_*' 'moons_*'
    python -m benchmarks.presets --only cifar10_lenet --data-dir ../shared/data/cifar10-jpeg.tar.gz
"""

import argparse
import fnmatch
import json
import os
import re
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

# The test metrics a row shows, in this order of preference; a model with several
# heads shows each head's accuracy.
HEADLINE_METRICS = ("tta_accuracy", "accuracy", "mean_reward")


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
    """The ``{name: value}`` a row shows: the first of ``HEADLINE_METRICS``
    present, else every ``*accuracy`` (one per head), else the loss."""
    for key in HEADLINE_METRICS:
        if key in test_metrics:
            return {key: test_metrics[key]}
    accuracies = {k: v for k, v in sorted(test_metrics.items()) if k.endswith("accuracy")}
    return accuracies or {"loss": test_metrics["loss"]}


def describe_run(folder):
    """What the table says of a finished run: ``reaches``, ``epochs``,
    ``seconds`` (the command's wall time) and ``command``."""
    with open(os.path.join(folder, "metrics.json")) as handle:
        metrics = json.load(handle)
    with open(os.path.join(folder, "command.json")) as handle:
        command = json.load(handle)
    test = metrics["test"]
    reaches = ", ".join(f"{key} {value:.4g}" for key, value in headline(test).items())
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


def readme_cell(name, output):
    """The README's ``reaches`` cell of preset ``name``: what its run reached (and
    the epochs it was cut to, if it was), or what it needs."""
    folder = os.path.join(output, name)
    if not os.path.isfile(os.path.join(folder, "command.json")):
        return _not_measured(name)
    row = describe_run(folder)
    cut = re.search(r"--epochs (\S+)", row["command"])
    return row["reaches"] + (f" (`--epochs {cut.group(1)}`)" if cut else "")


def update_readme(path, output):
    """Rewrites the ``reaches`` column of the preset table under ``## Presets`` in
    the README at ``path`` from the runs under ``output``.

    Raises:
        ValueError: the README has no preset table with a ``reaches`` column.
    """
    with open(path) as handle:
        lines = handle.read().split("\n")
    column, section, known = None, None, set(recipes.list_recipes())
    for i, line in enumerate(lines):
        if line.startswith("## "):
            section = line
        elif section == "## Presets" and line.startswith("| preset |"):
            cells = [cell.strip() for cell in line.strip("|").split("|")]
            column = cells.index("reaches") if "reaches" in cells else None
        elif section == "## Presets" and column is not None:
            match = re.match(r"\| `([a-z0-9_]+)` \|", line)
            if match and match.group(1) in known:
                cells = line[1:-1].split("|")
                cells[column] = f" {readme_cell(match.group(1), output)} "
                lines[i] = "|" + "|".join(cells) + "|"
    if column is None:
        raise ValueError(f"{path} has no preset table with a `reaches` column under ## Presets")
    with open(path, "w") as handle:
        handle.write("\n".join(lines))


def _not_measured(name):
    """Why a preset has no run: what it needs, or that it was not run yet."""
    dataset = get_recipe(name).dataset
    if dataset == "cifar10":
        return "not measured yet: `--data-dir` with the CIFAR-10 JPEG copy, meant for a GPU"
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
    parser.add_argument("--readme", help="a README whose preset table's reaches column to fill")
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
    if args.readme:
        update_readme(args.readme, args.output)
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
