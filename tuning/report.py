"""What a search leaves behind: the leaderboard (CSV and a printed table), the best
hyper-parameters (JSON), a picture of the objective per trial (PNG) and the
TensorBoard HParams plugin's experiment summary (the space and the metrics the
dashboard compares the trials by).

Everything is read back from the trials KerasTuner saved on disk
(``<project>/trial_*/trial.json``) plus the ``run.json`` each trial's worker
writes next to it (time taken, worker id, error), so a report can be made again
at any time, also for a distributed search.
"""

import csv
import glob
import json
import math
import os
from dataclasses import dataclass, field

from callbacks.plots import plt, save_figure
from recipes.trainers import read_json

RUN_FILE = "run.json"
# Logged by LearningRateScheduler during training, but not a measure of the model.
_NOT_METRICS = ("learning_rate",)
# KerasTuner's bookkeeping values of Hyperband trials: not hyper-parameters.
BOOKKEEPING = (
    "tuner/epochs",
    "tuner/initial_epoch",
    "tuner/bracket",
    "tuner/round",
    "tuner/trial_id",
)


@dataclass
class TrialRow:
    """One line of the leaderboard.

    Attributes:
        trial_id: KerasTuner's id (``"00"``, ``"01"``...).
        status: ``COMPLETED``, ``FAILED``, ``INVALID``, ``RUNNING``...
        score: the objective's best value, ``None`` unless completed.
        best_epoch: the epoch (1-based) the score was reached at.
        metrics: the other metrics at that epoch.
        hyperparameters: the trial's values (Hyperband bookkeeping left out).
        seconds: training time of the trial.
        worker: the tuner id that ran it (``tuner0`` when not distributed).
        error: for failed trials, the last line of the error.
    """

    trial_id: str
    status: str
    score: float | None
    best_epoch: int | None
    metrics: dict = field(default_factory=dict)
    hyperparameters: dict = field(default_factory=dict)
    seconds: float | None = None
    worker: str | None = None
    error: str | None = None


def write_run_file(trial_dir, **facts):
    """Writes ``run.json`` (seconds, worker, status, error) into a trial folder."""
    with open(os.path.join(trial_dir, RUN_FILE), "w") as handle:
        json.dump(facts, handle, indent=2)


def load_trials(project_dir):
    """Reads every trial of a KerasTuner project folder as ``TrialRow`` objects,
    sorted by trial id."""
    rows = []
    for path in glob.glob(os.path.join(project_dir, "trial_*", "trial.json")):
        with open(path) as handle:
            state = json.load(handle)
        run_path = os.path.join(os.path.dirname(path), RUN_FILE)
        run = read_json(run_path)
        metrics = {
            name: _last_value(history)
            for name, history in state["metrics"]["metrics"].items()
            if name not in _NOT_METRICS
        }
        completed = state["status"] == "COMPLETED" and state["score"] is not None
        values = state["hyperparameters"]["values"]
        rows.append(
            TrialRow(
                trial_id=state["trial_id"],
                status=state["status"],
                score=state["score"] if completed else None,
                best_epoch=state["best_step"] + 1 if completed else None,
                metrics={k: v for k, v in metrics.items() if v is not None},
                hyperparameters={k: v for k, v in values.items() if k not in BOOKKEEPING},
                seconds=run.get("seconds"),
                worker=run.get("worker"),
                error=last_line(state.get("message") or run.get("error")),
            )
        )
    return sorted(rows, key=_order)


def _order(row):
    return (int(row.trial_id) if row.trial_id.isdigit() else math.inf, row.trial_id)


def rank(rows, direction):
    """The rows best first: completed trials by score, then the others by id."""
    done = [r for r in rows if r.score is not None and math.isfinite(r.score)]
    done.sort(key=lambda r: r.score, reverse=direction == "max")
    return done + [r for r in rows if r not in done]


def write_leaderboard(rows, path, objective):
    """Writes the ranked rows as CSV: rank, trial, status, objective, the other
    metrics, epochs, seconds, worker, every hyper-parameter, error."""
    metric_names = sorted({m for r in rows for m in r.metrics} - {objective})
    hp_names = _hp_names(rows)
    header = [
        "rank",
        "trial_id",
        "status",
        objective,
        *metric_names,
        "best_epoch",
        "seconds",
        "worker",
        *hp_names,
        "error",
    ]
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for i, row in enumerate(rows, start=1):
            writer.writerow(
                [
                    i if row.score is not None else "",
                    row.trial_id,
                    row.status,
                    _fmt(row.score),
                    *(_fmt(row.metrics.get(m)) for m in metric_names),
                    row.best_epoch or "",
                    _fmt(row.seconds, 1),
                    row.worker or "",
                    *(row.hyperparameters.get(h, "") for h in hp_names),
                    row.error or "",
                ]
            )
    return path


def format_table(rows, objective, max_rows=20):
    """The leaderboard as a fixed-width text table (best first)."""
    hp_names = _hp_names(rows)
    header = ["#", "trial", "status", objective, "secs", *hp_names]
    lines = [header]
    for i, row in enumerate(rows[:max_rows], start=1):
        lines.append(
            [
                str(i) if row.score is not None else "-",
                row.trial_id,
                row.status,
                _fmt(row.score) or "-",
                _fmt(row.seconds, 1) or "-",
                *(_short(row.hyperparameters.get(h, "")) for h in hp_names),
            ]
        )
    widths = [max(len(line[c]) for line in lines) for c in range(len(header))]
    text = ["  ".join(cell.ljust(w) for cell, w in zip(line, widths)).rstrip() for line in lines]
    text.insert(1, "  ".join("-" * w for w in widths))
    failed = [r for r in rows[:max_rows] if r.error]
    text += [f"trial {r.trial_id} {r.status.lower()}: {r.error}" for r in failed]
    if len(rows) > max_rows:
        text.append(f"... and {len(rows) - max_rows} more trials in the CSV")
    return "\n".join(text)


def write_best(row, path, objective, extra=None):
    """Writes the best trial's hyper-parameters and score as JSON."""
    with open(path, "w") as handle:
        json.dump(
            {
                "trial_id": row.trial_id,
                "objective": objective,
                "score": row.score,
                "best_epoch": row.best_epoch,
                "hyperparameters": row.hyperparameters,
                **(extra or {}),
            },
            handle,
            indent=2,
        )
    return path


def plot_objective(rows, path, objective, direction, title=None):
    """Saves a PNG of the objective per trial (in trial order), the best so far as
    a step line, and failed trials as red crosses on the axis."""
    rows = sorted(rows, key=_order)
    figure, axis = plt.subplots(figsize=(7, 4))
    numbers = [int(r.trial_id) + 1 if r.trial_id.isdigit() else i + 1 for i, r in enumerate(rows)]
    done = [(n, r.score) for n, r in zip(numbers, rows) if r.score is not None]
    if done:
        xs, ys = zip(*done)
        axis.plot(xs, ys, "o", label="trial")
        best, running = [], None
        for y in ys:
            better = running is None or (y > running if direction == "max" else y < running)
            running = y if better else running
            best.append(running)
        axis.step(xs, best, where="post", color="tab:green", label="best so far")
    failed = [n for n, r in zip(numbers, rows) if r.score is None]
    if failed:
        floor = min((s for _, s in done), default=0.0)
        axis.plot(
            failed, [floor] * len(failed), "x", color="tab:red", markersize=9, label="failed"
        )
    axis.set_xlabel("trial")
    axis.set_ylabel(objective)
    axis.grid(alpha=0.3)
    axis.legend()
    if title:
        axis.set_title(title)
    return save_figure(figure, path)


def write_hparams_experiment(project_dir, log_dir, rows):
    """Writes the HParams plugin's experiment summary in ``log_dir`` (the parent of
    the trials' log folders), replacing an earlier one: every hyper-parameter of
    the space in ``<project_dir>/oracle.json`` with its domain, and every metric
    the trials logged (``val_*`` as the ``validation`` run's ``epoch_*`` scalars,
    the others as the ``train`` run's). Written with TensorBoard's own event writer,
    so on every Keras backend.

    Args:
        project_dir: the KerasTuner project folder.
        log_dir: the search's TensorBoard folder.
        rows: the trials (``TrialRow``), for the metrics' names.

    Returns:
        ``log_dir``.

    Example:

    >>> write_hparams_experiment("runs/tune/digits_random/search",
    ...                          "runs/tune/digits_random/tensorboard", rows)
    """
    from tensorboard.plugins.hparams import summary_v2

    from recipes.trainers.fitting import write_summary

    with open(os.path.join(project_dir, "oracle.json")) as handle:
        space = json.load(handle)["hyperparameters"]["space"]
    hparams = [
        summary_v2.HParam(item["config"]["name"], _domain(item, summary_v2))
        for item in space
        if item["config"]["name"] not in BOOKKEEPING
    ]
    names = sorted({name for row in rows for name in row.metrics})
    metrics = [
        summary_v2.Metric(
            f"epoch_{name.removeprefix('val_')}",
            group="validation" if name.startswith("val_") else "train",
            display_name=name,
        )
        for name in names
    ]
    os.makedirs(log_dir, exist_ok=True)
    for old in glob.glob(os.path.join(log_dir, "events.out.tfevents.*")):
        os.remove(old)
    write_summary(log_dir, summary_v2.hparams_config_pb(hparams, metrics))
    return log_dir


def _domain(item, summary_v2):
    """The HParams domain of a KerasTuner hyper-parameter's config, or ``None``."""
    kind, config = item["class_name"], item["config"]
    if kind == "Int":
        return summary_v2.IntInterval(config["min_value"], config["max_value"])
    if kind == "Float":
        return summary_v2.RealInterval(float(config["min_value"]), float(config["max_value"]))
    values = {"Choice": config.get("values"), "Boolean": [False, True]}.get(kind)
    if kind == "Fixed":
        values = [config["value"]]
    if not values:
        return None
    return summary_v2.Discrete(hparam_values(values))


def hparam_values(values):
    """``values`` as one type the HParams plugin takes: all booleans, all numbers
    (as floats) or else all text (``repr`` of what is not a string).

    Example:

    >>> hparam_values([32, 64]), hparam_values([None, "relu"])
    ([32.0, 64.0], ['None', 'relu'])
    """
    values = list(values)
    if all(isinstance(v, bool) for v in values):
        return values
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return [float(v) for v in values]
    return [v if isinstance(v, str) else repr(v) for v in values]


def _hp_names(rows):
    names = []
    for row in rows:
        names += [n for n in row.hyperparameters if n not in names]
    return names


def _last_value(history):
    observations = history.get("observations") or []
    if not observations:
        return None
    value = observations[-1]["value"]
    return float(value[0] if isinstance(value, list) else value)


def last_line(message):
    """The last non-empty line of an error message or traceback, or ``None``."""
    if not message:
        return None
    lines = [line.strip() for line in str(message).strip().splitlines() if line.strip()]
    return lines[-1] if lines else None


def _fmt(value, digits=4):
    if value is None:
        return ""
    return f"{value:.{digits}f}"


def _short(value, width=12):
    text = f"{value:.3g}" if isinstance(value, float) else str(value)
    return text if len(text) <= width else text[: width - 1] + "~"
