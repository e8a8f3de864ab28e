"""Reproductions: the documents' experiments, one command each, the document's
numbers beside ours.

An experiment is a module of this package that registers an ``Experiment``: a
name, what it reproduces, and a ``run(request)`` that trains what it must and
returns ``Row``s (one per line of the document's table: the document's figure,
ours, the conditions) and the figures it drew. ``reproduce(name)`` (behind
``python -m recipes reproduce NAME`` and ``make reproduce EXP=NAME``) runs it
and writes ``runs/reproduce/<name>/``: ``table.md``, ``table.csv``,
``metrics.json`` and the figures (PNG).

Every experiment has three sizes: the full one (what the document did, meant for
a GPU: its expected time is printed before it starts), ``quick`` (a few minutes
on 2 CPU cores: fewer epochs, a subset, said in the table's conditions, still
showing the document's effect) and ``tiny`` (seconds: for the tests).

Example:

>>> from recipes.experiments import reproduce
>>> result = reproduce("realnvp_moons", size="quick")
>>> print(result.markdown())
| row | metric | document | ours | difference | conditions |
...
"""

import contextlib
import csv
import dataclasses
import importlib
import json
import os
import pkgutil
import time
from collections.abc import Callable

import keras
import numpy as np

from recipes.debugging import training_accuracy
from recipes.environment import devices
from recipes.registry import Registry

EXPERIMENTS = Registry("experiment", "recipes.experiments.list_experiments()")
SIZES = ("full", "quick", "tiny")


@dataclasses.dataclass
class Row:
    """One line of an experiment's table.

    Attributes:
        label: what the line is, e.g. ``"MLP 1x512, random labels"``.
        metric: what is measured, e.g. ``"test accuracy (%)"``.
        document: the document's figure (a number), or ``None`` where it gives
            none (then ``note`` says what it claims instead).
        ours: our figure.
        conditions: how ours was measured: ``data`` (the source), ``epochs``,
            ``seeds``... (the backend and device are added by ``reproduce``).
        note: anything the reader must know to compare (e.g. a spread over seeds,
            or the document's claim when it gives no number).
    """

    label: str
    metric: str
    document: float | None
    ours: float
    conditions: dict = dataclasses.field(default_factory=dict)
    note: str = ""

    @property
    def difference(self):
        """``ours - document``, or ``None`` where the document gives no number."""
        return None if self.document is None else self.ours - self.document


@dataclasses.dataclass
class ExperimentRequest:
    """What an experiment's ``run`` is asked to do.

    Attributes:
        size: ``"full"``, ``"quick"`` or ``"tiny"`` (see the module).
        data_dir: a data copy to read (the CIFAR-10 JPEG copy), or ``None``.
        output_dir: where the figures go (the run folder).
        seed: the first seed; experiments that average over seeds use
            ``seed``, ``seed + 1``...
        progress: ``progress(label, done, total)`` reports a step (see
            ``Progress``).
    """

    size: str = "full"
    data_dir: str | None = None
    output_dir: str = "."
    seed: int = 0
    progress: Callable = dataclasses.field(default=lambda label, done, total: None)

    def pick(self, full, quick, tiny):
        """The value of a setting for this request's size.

        Example:

        >>> epochs = request.pick(full=100, quick=10, tiny=1)
        """
        return {"full": full, "quick": quick, "tiny": tiny}[self.size]

    def figure_path(self, name):
        """The path of figure ``name`` (``"curves"`` -> ``<output_dir>/curves.png``)."""
        return os.path.join(self.output_dir, f"{name}.png")


@dataclasses.dataclass
class ExperimentResult:
    """What an experiment produced.

    Attributes:
        rows: the table's lines.
        figures: figure name to PNG path.
        notes: sentences printed under the table (what the comparison means).
        extra: more values for ``metrics.json`` (curves, per-seed values...).
    """

    rows: list
    figures: dict = dataclasses.field(default_factory=dict)
    notes: list = dataclasses.field(default_factory=list)
    extra: dict = dataclasses.field(default_factory=dict)

    def markdown(self):
        """The table as Markdown, the notes under it."""
        lines = [
            "| row | metric | document | ours | difference | conditions |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        for row in self.rows:
            conditions = "; ".join(f"{key}: {value}" for key, value in row.conditions.items())
            if row.note:
                conditions = f"{conditions}; {row.note}" if conditions else row.note
            lines.append(
                f"| {row.label} | {row.metric} | {_number(row.document)} | "
                f"{_number(row.ours)} | {_number(row.difference, signed=True)} | {conditions} |"
            )
        return "\n".join(lines + [""] + self.notes) + "\n"


def _number(value, signed=False):
    if value is None:
        return "-"
    return f"{value:+.4g}" if signed else f"{value:.4g}"


def over_seeds(runs):
    """The mean of each value over runs, and a note giving its range.

    Args:
        runs: one dict per seed, the same keys in each.

    Returns:
        A dict of key to ``(mean, note)``; the note is empty for one run.

    Example:

    >>> over_seeds([{"a": 1.0}, {"a": 3.0}])
    {'a': (2.0, 'mean of 2 seeds, range 1-3')}
    """
    summary = {}
    for key in runs[0]:
        values = np.array([run[key] for run in runs], dtype="float64")
        note = f"mean of {len(runs)} seeds, range {values.min():.4g}-{values.max():.4g}"
        summary[key] = (float(values.mean()), note if len(runs) > 1 else "")
    return summary


@dataclasses.dataclass
class Score:
    """What ``fit_and_score`` measured.

    Attributes:
        train: accuracy (%) on the training images, in inference mode.
        test: accuracy (%) on the test images.
        epochs: the epochs trained.
        history: ``fit``'s history (per-epoch ``loss``, ``accuracy``...).
    """

    train: float
    test: float
    epochs: int
    history: dict


def take(x, y, count, seed):
    """``count`` examples of ``(x, y)`` drawn at random without repeats, in a
    random order (all of them, as they are, when ``count`` is ``None``).

    Example:

    >>> x_small, y_small = take(x_train, y_train, 1000, seed=0)
    """
    if count is None:
        return x, y
    index = np.random.default_rng(seed).permutation(len(x))[:count]
    return x[index], y[index]


def fit_and_score(model, train, test, *, epochs, batch_size, eager=False, **fit_options):
    """Fits a compiled classifier on ``train``, then measures its accuracy on the
    training and test images (in inference mode).

    Args:
        model: a compiled model whose metrics include ``"accuracy"``.
        train: ``(x, y)`` arrays to fit.
        test: ``(x, y)`` arrays to test on.
        epochs: the most epochs to train (a callback may stop it sooner).
        batch_size: examples per step.
        eager: for a few images: run eagerly (no tracing or compilation) and
            measure the accuracies by calling the model on all the images at once.
        **fit_options: more ``fit`` arguments (``callbacks``, ``validation_data``).

    Returns:
        A ``Score``.

    Example:

    >>> score = fit_and_score(recipes.build("cifar10_lenet"), (x, y), (x_test, y_test),
    ...                       epochs=10, batch_size=64)
    """
    model.run_eagerly = eager
    history = model.fit(
        *train, epochs=epochs, batch_size=batch_size, verbose=0, **fit_options
    ).history
    if eager:
        scores = [training_accuracy(model, x, y) for x, y in (train, test)]
    else:
        scores = [
            model.evaluate(x, y, batch_size=max(batch_size, 256), verbose=0, return_dict=True)[
                "accuracy"
            ]
            for x, y in (train, test)
        ]
    return Score(100 * scores[0], 100 * scores[1], len(history["loss"]), history)


@dataclasses.dataclass(frozen=True)
class Experiment:
    """A reproduction, registered under its name.

    Attributes:
        name: e.g. ``"zhang2017"``.
        summary: one line saying what it reproduces.
        source: where the document's figures come from (seed and section).
        run: ``run(request)`` returning an ``ExperimentResult``.
        full_time: the expected time of the full size, said before it starts
            (e.g. ``"about 40 min on one GPU"``).
        needs: a dataset it reads that may be absent (``"cifar10"``), or ``None``.
    """

    name: str
    summary: str
    source: str
    run: Callable
    full_time: str
    needs: str | None = None


class Progress:
    """Prints one line per step with the time spent and left (assuming the
    remaining steps take as long as the done ones on average)."""

    def __init__(self, name, print_fn=print):
        self.name = name
        self.print_fn = print_fn
        self.start = time.perf_counter()

    def __call__(self, label, done, total):
        spent = time.perf_counter() - self.start
        left = spent / done * (total - done) if done else float("nan")
        self.print_fn(
            f"{self.name} [{done}/{total}] {label} ({spent:.0f} s spent, about {left:.0f} s left)",
            flush=True,
        )


def register_experiment(experiment):
    """Registers ``experiment`` (an ``Experiment``) under its name; returns it."""
    if not isinstance(experiment, Experiment):
        raise ValueError(f"`experiment` must be an Experiment. Received: {experiment!r}")
    return EXPERIMENTS.register(experiment.name, experiment)


def list_experiments(pattern="*"):
    """The sorted names of the registered experiments matching ``pattern``."""
    return EXPERIMENTS.names(pattern)


def get_experiment(name):
    """The ``Experiment`` named ``name`` (an unknown name says the closest)."""
    return EXPERIMENTS.get(name)


def reproduce(name, size="full", data_dir=None, output_dir=None, seed=0, print_fn=print):
    """Runs experiment ``name`` and writes its table, figures and metrics.

    Args:
        name: one of ``list_experiments()``.
        size: ``"full"`` (the document's sizes; its expected time is printed
            first), ``"quick"`` (minutes on 2 CPU cores) or ``"tiny"`` (seconds).
        data_dir: a data copy (the CIFAR-10 JPEG copy) for experiments that need
            one.
        output_dir: the run folder; default ``runs/reproduce/<name>``.
        seed: the first seed.
        print_fn: where progress and the table go.

    Returns:
        The ``ExperimentResult``; ``figures`` also holds ``table_md``,
        ``table_csv`` and ``metrics`` paths.

    Example:

    >>> reproduce("attention_reverse", size="quick").rows[0].ours
    """
    experiment = get_experiment(name)
    if size not in SIZES:
        raise ValueError(f"`size` must be one of {', '.join(SIZES)}. Received: size={size!r}")
    output_dir = output_dir or os.path.join("runs", "reproduce", name)
    os.makedirs(output_dir, exist_ok=True)
    if size == "full":
        print_fn(f"{name}: full size, expected time {experiment.full_time}.", flush=True)
    request = ExperimentRequest(size, data_dir, output_dir, seed, Progress(name, print_fn))
    start = time.perf_counter()
    result = experiment.run(request)
    seconds = time.perf_counter() - start
    machine = {"backend": keras.backend.backend(), "device": ", ".join(devices()), "size": size}
    for row in result.rows:
        row.conditions = {**row.conditions, **machine}
    result.figures.update(_write(experiment, result, output_dir, seconds, machine))
    print_fn(result.markdown())
    return result


def _write(experiment, result, output_dir, seconds, machine):
    """Writes ``table.md``, ``table.csv`` and ``metrics.json``; returns their paths."""
    paths = {
        "table_md": os.path.join(output_dir, "table.md"),
        "table_csv": os.path.join(output_dir, "table.csv"),
        "metrics": os.path.join(output_dir, "metrics.json"),
    }
    with open(paths["table_md"], "w") as handle:
        handle.write(f"# {experiment.name}: {experiment.summary}\n\n")
        handle.write(f"Document: {experiment.source}\n\n{result.markdown()}")
    keys = sorted({key for row in result.rows for key in row.conditions})
    with open(paths["table_csv"], "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["row", "metric", "document", "ours", "difference", "note", *keys])
        for row in result.rows:
            writer.writerow(
                [row.label, row.metric, row.document, row.ours, row.difference, row.note]
                + [row.conditions.get(key, "") for key in keys]
            )
    with open(paths["metrics"], "w") as handle:
        json.dump(
            {
                "experiment": experiment.name,
                "source": experiment.source,
                **machine,
                "seconds": seconds,
                "rows": [dataclasses.asdict(row) for row in result.rows],
                "figures": result.figures,
                "notes": result.notes,
                **result.extra,
            },
            handle,
            indent=2,
            default=str,
        )
    return paths


@contextlib.contextmanager
def scoped():
    """Experiments registered inside the block are gone afterwards (for tests)."""
    with EXPERIMENTS.scoped():
        yield


for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")
