"""Run a search end to end: tuner, trials, leaderboard, and the best model retrained
on train+validation and scored once on test.

Example:

>>> from tuning.search import tune
>>> result = tune("digits", tuner="random", max_trials=6, epochs=10,
...               directory="runs/tune")
>>> result.test_metrics["accuracy"]
0.97...
"""

import contextlib
import json
import os
import time
import zipfile
from dataclasses import dataclass, field

import keras
import keras_tuner

from recipes import data
from recipes.trainers import read_json, write_json
from recipes.trainers.fitting import (
    BACKUP,
    TENSORBOARD,
    EpochTensorBoard,
    RunState,
    write_hparams_end,
    write_hparams_start,
)
from tuning import distribute, report
from tuning.tasks import Task, get_task

TUNERS = ("random", "bayesian", "hyperband", "grid")
HYPERBAND_FACTOR = 3
MOCK_DATA_ENV = "RECIPES_TUNING_MOCK_DATA"
RUN_FILE = "run.json"  # which search a run folder holds


class _Progress:
    """Tuner mixin: a one-line report per trial (i/N, score, best so far, time),
    the per-trial seed, and ``run.json`` next to KerasTuner's ``trial.json``."""

    def __init__(self, *args, seed=0, print_fn=print, **kwargs):
        self.trial_seed = seed
        self.print_fn = print_fn
        self._started, self._trial_states = {}, {}
        # KerasTuner's oracles take seed 0 as "draw a random seed": shift by one.
        super().__init__(*args, seed=seed + 1, **kwargs)

    def on_trial_begin(self, trial):
        super().on_trial_begin(trial)
        self._started[trial.trial_id] = time.perf_counter()
        offset = int(trial.trial_id) if trial.trial_id.isdigit() else 0
        keras.utils.set_random_seed(self.trial_seed + offset)

    def search(self, *fit_args, **fit_kwargs):
        if distribute.role() != "chief":
            return super().search(*fit_args, **fit_kwargs)
        # KerasTuner's chief branch of ``search``, served by ``serve_oracle``.
        if "verbose" in fit_kwargs:
            self.oracle.verbose = fit_kwargs["verbose"]
        self.save()
        distribute.serve_oracle(self.oracle)

    def run_trial(self, trial, *args, **kwargs):
        backup = os.path.join(self.get_trial_dir(trial.trial_id), BACKUP)
        if os.path.isdir(backup):
            self.print_fn(f"[trial {trial.trial_id}] resumes from its backup in {backup}")
        try:
            with distribute.heartbeat(self.oracle, trial.trial_id):  # a dead worker's trial fails
                histories = super().run_trial(trial, *args, **kwargs)
        finally:
            state = self._trial_states.pop(trial.trial_id)
        for history in histories:
            if isinstance(history, keras.callbacks.History):
                history.history = state.history  # every epoch of the trial, to be scored
        return histories

    def _build_hypermodel(self, hp):
        # KerasTuner clears the Keras session before each build, and with it the
        # JAX DataParallel distribution: set it again (a no-op elsewhere).
        distribute.use_data_parallel()
        return super()._build_hypermodel(hp)

    def _configure_tensorboard_dir(self, callbacks, trial, execution=0):
        # KerasTuner's hook on each execution's own copy of the callbacks. It writes a
        # trial's TensorBoard logs and HParams on TensorFlow only, for a TensorBoard
        # callback given to search: every trial gets its epoch scalars here, on every
        # backend (its HParams at its end). And KerasTuner runs a trial that a kill
        # interrupted again from its start (its #439): a backup in the trial's
        # folder, saved after every epoch and deleted when the trial ends, resumes it
        # after its last finished epoch instead; the run state keeps the epochs before.
        backup = os.path.join(self.get_trial_dir(trial.trial_id), BACKUP)
        state = RunState(backup, {"trial": trial.trial_id}, callbacks)
        self._trial_states[trial.trial_id] = state
        callbacks += [EpochTensorBoard(self.tensorboard_dir(trial.trial_id)), state]
        callbacks.append(_TrialBackup(backup, double_checkpoint=True))

    def tensorboard_dir(self, trial_id=None):
        """The search's TensorBoard folder (``<run folder>/tensorboard``), or trial
        ``trial_id``'s in it (``trial_<id>``: ``train/``, ``validation/`` and its
        HParams session)."""
        folder = os.path.join(self.directory, TENSORBOARD)
        return folder if trial_id is None else os.path.join(folder, f"trial_{trial_id}")

    def on_trial_end(self, trial):
        seconds = time.perf_counter() - self._started.pop(trial.trial_id, time.perf_counter())
        error = None if trial.status == "COMPLETED" else report.last_line(trial.message)
        report.write_run_file(
            self.get_trial_dir(trial.trial_id),
            seconds=seconds,
            worker=self.tuner_id,
            status=trial.status,
            error=error,
        )
        # The values are complete only now (the space grows as trials build and fit).
        log_dir = self.tensorboard_dir(trial.trial_id)
        values = trial.hyperparameters.values
        hparams = {k: v for k, v in values.items() if k not in report.BOOKKEEPING}
        write_hparams_start(log_dir, hparams, f"trial {trial.trial_id}", time.time() - seconds)
        write_hparams_end(log_dir, "success" if trial.status == "COMPLETED" else "failure")
        super().on_trial_end(trial)  # hands the trial to the oracle, which scores it
        ended = self.oracle.get_trial(trial.trial_id)
        objective = self.oracle.objective.name
        best = [t for t in self.oracle.get_best_trials(1) if t.score is not None]
        total = self.oracle.max_trials
        number = f"{int(trial.trial_id) + 1}/{total}" if trial.trial_id.isdigit() else "?"
        if ended.status == "COMPLETED" and ended.score is not None:
            outcome = f"{objective}={ended.score:.4f}"
        else:
            outcome = f"FAILED ({error or ended.status})"
        best_text = (
            f"best so far {best[0].score:.4f} (trial {best[0].trial_id})"
            if best
            else "no successful trial yet"
        )
        self.print_fn(f"[trial {number}] {outcome} | {best_text} | {seconds:.1f} s")


class _TrialBackup(keras.callbacks.BackupAndRestore):
    """``BackupAndRestore`` for a trial's model, which may be unbuilt before ``fit``
    (a text space's): such a model starts its trial again."""

    def on_train_begin(self, logs=None):
        if self.model.built:
            super().on_train_begin(logs)


class RandomSearch(_Progress, keras_tuner.RandomSearch):
    """``keras_tuner.RandomSearch`` with the package's progress lines."""


class BayesianOptimization(_Progress, keras_tuner.BayesianOptimization):
    """``keras_tuner.BayesianOptimization`` with the package's progress lines."""


class Hyperband(_Progress, keras_tuner.Hyperband):
    """``keras_tuner.Hyperband`` with the package's progress lines."""


class GridSearch(_Progress, keras_tuner.GridSearch):
    """``keras_tuner.GridSearch`` with the package's progress lines."""


@dataclass
class TuneResult:
    """What ``tune`` produced.

    Attributes:
        task: the ``Task``.
        rows: the leaderboard, best first (``report.TrialRow``).
        best_hyperparameters: the best trial's values.
        test_metrics: the retrained best model's test metrics.
        model: the retrained best model.
        paths: the files written (``leaderboard``, ``best_hyperparameters``,
            ``objective_png``, ``model``, ``test_score``).
        run_dir: the run folder.
    """

    task: Task
    rows: list
    best_hyperparameters: dict
    test_metrics: dict
    model: keras.Model | None
    paths: dict = field(default_factory=dict)
    run_dir: str = ""


class TaskData:
    """The task's splits as functions ``batch_size -> tf.data.Dataset``, so that
    ``RecipeHyperModel.fit`` can tune the batch size.

    With ``data_dir`` an image-classification task reads a class-folder tree
    (``train/<class>/*``, ``test/<class>/*``, such as the CIFAR-10 JPEG copy)
    instead of its dataset: the images are resized to the task's input size, and
    the space takes the folder's channels and classes (``space_overrides``).

    Under a JAX ``DataParallel`` distribution every batch must split evenly across
    the devices, so the training and validation pipelines drop their last partial
    batch; the test split never does (``tune`` scores it on one device).

    Args:
        task: the ``Task``.
        seed: the shuffling seed.
        data_dir: an image-folder tree (or its ``.tar.gz``), or ``None``.

    Raises:
        ValueError: ``data_dir`` for a task that is not image classification.
        DatasetNotAvailableError: no image folder at ``data_dir``.
    """

    def __init__(self, task, seed=0, data_dir=None):
        self.task = task
        self.seed = seed
        self.folder = None
        self.dataset, self.load_options = task.dataset, dict(task.load_options)
        if data_dir is not None:
            from recipes.data.image_folder import inspect_image_folder

            shape = data.get_spec(task.dataset).input_shape
            if data.get_spec(task.dataset).task != "classification" or len(shape or ()) != 3:
                raise ValueError(
                    f"`data_dir` (images in class folders) serves image-classification "
                    f"tasks; {task.name!r} trains on {task.dataset!r}. "
                    f"Received: data_dir={data_dir!r}"
                )
            self.folder = inspect_image_folder(data_dir)
            self.dataset = "image_folder"
            self.load_options = {"data_dir": self.folder.root, "image_size": tuple(shape[:2])}
        self.splits = data.standard_splits(self.dataset)

    def space_overrides(self):
        """The search space's ``input_shape`` and ``num_classes`` for an image
        folder (its channels and classes at the task's size); ``{}`` otherwise."""
        if self.folder is None:
            return {}
        height, width = self.load_options["image_size"]
        return {
            "input_shape": (height, width, self.folder.channels),
            "num_classes": len(self.folder.classes),
        }

    def describe(self):
        """One line: where the data comes from."""
        if self.folder is None:
            return f"data: {self.dataset!r} (recipes.data)"
        overrides = self.space_overrides()
        return (
            f"data: {self.folder.describe()}; resized to "
            f"{'x'.join(map(str, overrides['input_shape'][:2]))}, so input_shape="
            f"{overrides['input_shape']} and num_classes={overrides['num_classes']}"
        )

    def check(self):
        """Loads one training example, so that a missing or broken dataset fails
        before the first trial."""
        next(iter(self._load(self.splits["train"], 1, False, shuffle=False, cache=False)))

    def _load(self, split, batch_size, drop_remainder=None, **options):
        dataset = data.load(
            self.dataset,
            split,
            batch_size=batch_size,
            seed=self.seed,
            **{**self.load_options, **options},
        )
        if drop_remainder is None:
            drop_remainder = distribute.use_data_parallel() is not None
        return _drop_remainder(dataset, batch_size) if drop_remainder else dataset

    def train(self, batch_size):
        return self._load(self.splits["train"], batch_size)

    def validation(self, batch_size):
        return self._load(self.splits["validation"], batch_size)

    def test(self, batch_size):
        return self._load(self.splits["test"], batch_size, drop_remainder=False)

    def train_and_validation(self, batch_size):
        """Training and validation examples together, shuffled, for the final fit."""
        if data.get_spec(self.dataset).offline:
            import numpy as np

            parts = [
                data.arrays(self.dataset, self.splits[s], **self.load_options)
                for s in ("train", "validation")
            ]
            x = np.concatenate([p[0] for p in parts])
            y = np.concatenate([p[1] for p in parts])
            dataset = data.to_dataset(x, y, batch_size, shuffle=True, seed=self.seed)
            if distribute.use_data_parallel() is not None:
                dataset = _drop_remainder(dataset, batch_size)
            return dataset
        split = f"{self.splits['train']}+{self.splits['validation']}"
        return self._load(split, batch_size, shuffle=True)


def _drop_remainder(dataset, batch_size):
    # unbatch + batch reads the pipeline to its end, so that its cache completes.
    return dataset.unbatch().batch(batch_size, drop_remainder=True)


def use_compilation_cache(directory, backend=None):
    """On JAX, keeps compiled XLA programs in ``directory`` so that a resumed
    search, the retraining of the best trial and distributed workers reuse the
    programs earlier trials compiled instead of compiling them again. The other
    backends have no persistent cache; nothing happens there.

    Args:
        directory: the cache folder (made if missing).
        backend: the Keras backend name (default: the active one).

    Returns:
        ``directory`` when the cache is on, else ``None``.

    Example:

    >>> use_compilation_cache("runs/tune/jax_cache")
    """
    if (backend or keras.backend.backend()) != "jax":
        return None
    import jax
    from jax.experimental.compilation_cache import compilation_cache

    os.makedirs(directory, exist_ok=True)
    jax.config.update("jax_compilation_cache_dir", os.path.abspath(directory))
    # JAX opens its cache once per process, at the first compilation, and ignores a
    # later directory until the cache is reset (a second search in one process).
    compilation_cache.reset_cache()
    # Trials compile small programs: cache those too, not only the slow ones.
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.2)
    return directory


def check_budget(tuner, max_trials, epochs, max_failures=3):
    """Raises ``ValueError`` for a tuner name or a budget that cannot work."""
    if tuner not in TUNERS:
        raise ValueError(f"Unknown tuner {tuner!r}. Choose one of: {', '.join(TUNERS)}.")
    for name, value in (
        ("max_trials", max_trials),
        ("epochs", epochs),
        ("max_failures", max_failures),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(
                f"Impossible budget: `{name}` must be an integer >= 1. Received: {name}={value!r}"
            )
    if tuner == "hyperband" and epochs < HYPERBAND_FACTOR:
        raise ValueError(
            f"Impossible budget: Hyperband trains for 1 to `epochs` epochs and keeps "
            f"the best 1/{HYPERBAND_FACTOR} at each step, so it needs epochs >= "
            f"{HYPERBAND_FACTOR}. Received: epochs={epochs}. Use more epochs or "
            f"--tuner random."
        )


def check_search(task_data, hypermodel):
    """Checks, before the first trial, that the task's data loads (one training
    example) and that its search space builds (the default model; the Keras
    session is cleared after).

    Args:
        task_data: the ``TaskData``.
        hypermodel: the task's ``keras_tuner.HyperModel``.

    Raises:
        DatasetNotAvailableError: the dataset is not there.
        ValueError, TypeError: the data or the space is broken.

    Example:

    >>> check_search(TaskData(get_task("digits")), get_task("digits").hypermodel())
    """
    task_data.check()
    hypermodel.build(keras_tuner.HyperParameters())
    keras.backend.clear_session()


def make_tuner(
    name,
    hypermodel,
    objective,
    max_trials,
    epochs,
    directory,
    seed=0,
    max_failures=3,
    strategy=None,
    print_fn=print,
    project_name="search",
):
    """Creates one of ``TUNERS`` over ``hypermodel``, resuming the project in
    ``directory/project_name`` when it exists.

    Hyperband's number of trials follows from ``epochs`` (its ``max_epochs``) and
    its factor 3; ``max_trials`` caps it.
    """
    common = dict(
        hypermodel=hypermodel,
        objective=objective,
        seed=seed,
        directory=directory,
        project_name=project_name,
        overwrite=False,
        max_consecutive_failed_trials=max_failures,
        distribution_strategy=strategy,
        print_fn=print_fn,
    )
    if name == "random":
        tuner = RandomSearch(max_trials=max_trials, **common)
    elif name == "bayesian":
        tuner = BayesianOptimization(max_trials=max_trials, **common)
    elif name == "grid":
        tuner = GridSearch(max_trials=max_trials, **common)
    else:
        tuner = Hyperband(max_epochs=epochs, factor=HYPERBAND_FACTOR, **common)
        tuner.oracle.max_trials = max_trials
    return tuner


def tune(
    task,
    tuner="random",
    max_trials=None,
    epochs=None,
    directory="runs/tune",
    seed=0,
    verbose=0,
    max_failures=3,
    retrain=True,
    xla=None,
    print_fn=print,
    data_dir=None,
):
    """Searches a task's space, then retrains the best model and tests it once.

    The run folder is ``directory/<task>_<tuner>``; it holds KerasTuner's project
    (``search/``, one folder per trial), ``run.json`` (which task, tuner and
    data it holds: a folder of another search is refused, see ``claim_run_dir``)
    and, at the end, ``leaderboard.csv``,
    ``best_hyperparameters.json``, ``objective.png``, ``best_model.keras`` and
    ``test_score.json``. Running the same call again resumes: finished trials
    are not run again, and more ``max_trials`` adds trials. On JAX, compiled
    programs are cached in ``directory/jax_cache`` across runs and processes
    (``use_compilation_cache``). Before the first trial the data loads and the
    space builds (``check_search``), so that a missing dataset or a broken space
    fails at once. A trial whose loss
    becomes NaN or that raises is recorded as failed and the search goes on
    (``max_failures`` failures in a row stop it).

    In KerasTuner's distributed mode (see ``tuning.distribute``) workers only run
    trials; the chief serves them, then writes the report and retrains.

    Args:
        task: a name from ``list_tasks()`` or a ``Task``.
        tuner: one of ``TUNERS``.
        max_trials: trials to run (default: the task's).
        epochs: epochs per trial, Hyperband's maximum (default: the task's).
        directory: parent folder of the run folder.
        seed: seeds the oracle, the data shuffling and each trial's weights.
        verbose: ``Model.fit`` verbosity (1 or 2 also shows KerasTuner's tables).
        max_failures: stop after this many failed trials in a row.
        retrain: retrain the best model on train+validation and test it.
        xla: ``False`` turns XLA compilation off on the TensorFlow backend (for
            tiny budgets on a CPU, where compiling costs more than it saves);
            ``None`` keeps the space's own setting.
        print_fn: where the progress lines go.
        data_dir: an image-folder tree (``train/<class>/*``, ``test/<class>/*``,
            or its ``.tar.gz``) to read instead of an image-classification
            task's dataset (see ``TaskData``).

    Returns:
        A ``TuneResult``, or ``None`` in a distributed worker.

    Raises:
        DatasetNotAvailableError: the dataset is not there (before any trial).
        ValueError: a bad argument, a space that does not build, or a run folder
            that holds another search.
    """
    task = task if isinstance(task, Task) else get_task(task)
    max_trials = task.max_trials if max_trials is None else max_trials
    epochs = task.epochs if epochs is None else epochs
    check_budget(tuner, max_trials, epochs, max_failures)
    role = distribute.role()
    run_dir = os.path.join(directory, f"{task.name}_{tuner}")
    use_compilation_cache(os.path.join(directory, "jax_cache"))
    with _mock_data_if_asked():
        task_data = TaskData(task, seed, data_dir)
        hypermodel = task.hypermodel(**task_data.space_overrides())
        check_search(task_data, hypermodel)  # before anything is written
        claim_run_dir(run_dir, _run_identity(task, tuner, task_data))
        strategy = distribute.local_strategy()
        if xla is not None:
            hypermodel.xla = xla
        search = make_tuner(
            tuner,
            hypermodel,
            task.keras_objective(),
            max_trials,
            epochs,
            run_dir,
            seed,
            max_failures,
            strategy,
            print_fn,
        )
        if role != "worker":
            print_fn(
                f"Tuning {task.name!r} ({task.summary}) with {tuner} search: "
                f"{max_trials} trials of up to {epochs} epochs, objective "
                f"{task.objective} ({task.direction}); run folder {run_dir}; "
                f"{task_data.describe()}"
            )
            _print_resume(search, print_fn)
        try:
            search.search(
                task_data.train,
                validation_data=task_data.validation,
                epochs=epochs,
                verbose=verbose,
            )
        except RuntimeError as error:
            if "consecutive failures" not in str(error):
                raise
            _report(task, search.project_dir, run_dir, print_fn)
            raise RuntimeError(
                f"The search stopped: {max_failures} trials failed in a row (the space "
                f"or the data is probably broken; see {run_dir}/leaderboard.csv). "
                f"Last error: {report.last_line(str(error))}"
            ) from error
        if role == "worker":
            return None
        rows, paths = _report(task, search.project_dir, run_dir, print_fn)
        best = next((r for r in rows if r.score is not None), None)
        if best is None:
            raise RuntimeError(f"No trial succeeded; see {paths['leaderboard']}.")
        model, test_metrics = None, {}
        if retrain:
            model, test_metrics, final_paths = _retrain_best(
                task, search, best, task_data, epochs, run_dir, strategy, verbose, print_fn
            )
            paths.update(final_paths)
    return TuneResult(task, rows, best.hyperparameters, test_metrics, model, paths, run_dir)


def claim_run_dir(run_dir, identity):
    """Makes ``run_dir`` the folder of the search ``identity`` (a dict: task,
    tuner, data), recorded in ``run_dir/run.json``; raises ``ValueError`` if it
    holds another search (another task, tuner or data), so that two searches are
    never mixed in one KerasTuner project.

    Example:

    >>> claim_run_dir("runs/tune/digits_random", {"task": "digits", "tuner": "random"})
    """
    path = os.path.join(run_dir, RUN_FILE)
    previous = read_json(path)
    if previous and previous != identity:
        raise ValueError(
            f"The run folder {run_dir} holds another search ({path}: {previous}), not this "
            f"one ({identity}): pass another `directory` (--directory) or delete that "
            f"folder. Received: directory={os.path.dirname(run_dir)!r}"
        )
    os.makedirs(run_dir, exist_ok=True)
    write_json(path, identity, indent=2)


def _run_identity(task, tuner, task_data):
    data_dir = task_data.load_options.get("data_dir")
    return {
        "task": task.name,
        "tuner": tuner,
        "dataset": task_data.dataset,
        "data_dir": None if data_dir is None else os.path.abspath(data_dir),
    }


def load_saved_model(path):
    """Loads a ``.keras`` file, raising ``ValueError`` naming it when it cannot be
    read (a truncated or foreign file).

    Example:

    >>> model = load_saved_model("runs/tune/digits_random/best_model.keras")
    """
    try:
        return keras.saving.load_model(path)
    except (ValueError, OSError, KeyError, zipfile.BadZipFile) as error:
        raise ValueError(
            f"{path} is not a readable .keras model file (truncated, or not one): delete "
            f"it to train it again. Received: path={path!r} ({error})"
        ) from error


def _print_resume(search, print_fn):
    done = [t for t in search.oracle.trials.values() if t.status != "RUNNING"]
    if done:
        print_fn(
            f"Resuming: {len(done)} trial(s) already finished in "
            f"{search.project_dir} will not run again."
        )


def _report(task, project_dir, run_dir, print_fn):
    rows = report.rank(report.load_trials(project_dir), task.direction)
    report.write_hparams_experiment(project_dir, os.path.join(run_dir, TENSORBOARD), rows)
    paths = {
        "leaderboard": report.write_leaderboard(
            rows, os.path.join(run_dir, "leaderboard.csv"), task.objective
        ),
        "objective_png": report.plot_objective(
            rows,
            os.path.join(run_dir, "objective.png"),
            task.objective,
            task.direction,
            title=f"{task.name}: {task.objective} per trial",
        ),
    }
    completed = sum(r.score is not None for r in rows)
    print_fn(
        f"\nLeaderboard ({completed} completed, {len(rows) - completed} failed or "
        f"unfinished):\n{report.format_table(rows, task.objective)}"
    )
    best = next((r for r in rows if r.score is not None), None)
    if best is not None:
        paths["best_hyperparameters"] = report.write_best(
            best, os.path.join(run_dir, "best_hyperparameters.json"), task.objective
        )
    return rows, paths


def _retrain_best(task, search, best, task_data, epochs, run_dir, strategy, verbose, print_fn):
    paths = {
        "model": os.path.join(run_dir, "best_model.keras"),
        "test_score": os.path.join(run_dir, "test_score.json"),
    }
    hp = search.oracle.get_trial(best.trial_id).hyperparameters
    previous = read_json(paths["test_score"])
    if (
        previous.get("trial_id") == best.trial_id
        and previous.get("epochs") == epochs
        and os.path.exists(paths["model"])
    ):
        print_fn(
            f"\nBest trial {best.trial_id} was already retrained and tested: "
            f"reusing {paths['model']}."
        )
        return load_saved_model(paths["model"]), previous["test"], paths
    print_fn(
        f"\nRetraining trial {best.trial_id}'s model on train+validation for "
        f"{epochs} epochs, then testing it once."
    )
    hypermodel = search.hypermodel
    keras.backend.clear_session()
    distribute.use_data_parallel()  # the JAX distribution does not survive clear_session
    keras.utils.set_random_seed(task_data.seed)
    start = time.perf_counter()
    with strategy.scope() if strategy is not None else contextlib.nullcontext():
        model = hypermodel.build(hp)
    hypermodel.fit(hp, model, task_data.train_and_validation, epochs=epochs, verbose=verbose)
    seconds = time.perf_counter() - start
    model.save(paths["model"])
    if keras.distribution.distribution() is not None:
        # Every test example counts, and the last batch need not split across
        # the devices: score the saved model on one device.
        keras.distribution.set_distribution(None)
        model = load_saved_model(paths["model"])
    batch_size = hp.values.get("batch_size", 32)
    test_metrics = {
        k: float(v)
        for k, v in model.evaluate(task_data.test(batch_size), return_dict=True, verbose=0).items()
    }
    with open(paths["test_score"], "w") as handle:
        json.dump(
            {
                "task": task.name,
                "dataset": task_data.dataset,
                "data_dir": task_data.load_options.get("data_dir"),
                "trial_id": best.trial_id,
                "trained_on": "train+validation",
                "epochs": epochs,
                "train_seconds": seconds,
                "test": test_metrics,
                "backend": keras.backend.backend(),
            },
            handle,
            indent=2,
        )
    score = test_metrics.get(task.test_metric)
    shown = (
        f"{task.test_metric} {score:.4f}"
        if score is not None
        else ", ".join(f"{k} {v:.4f}" for k, v in test_metrics.items())
    )
    print_fn(
        f"Test {shown} (best trial {best.trial_id}, {task.objective} "
        f"{best.score:.4f}); model: {paths['model']}"
    )
    return model, test_metrics, paths


@contextlib.contextmanager
def _mock_data_if_asked():
    """For tests only: with ``RECIPES_TUNING_MOCK_DATA=N`` set, tensorflow-datasets
    sets are replaced by N random examples per split (``tfds.testing.mock_data``)."""
    examples = os.environ.get(MOCK_DATA_ENV)
    if not examples:
        yield
        return
    import tensorflow_datasets as tfds

    with tfds.testing.mock_data(num_examples=int(examples)):
        yield
