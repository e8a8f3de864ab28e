"""What the standard loop and the trainers that feed ``fit`` their own data
share: fit with the curves, TensorBoard logs and a backup to resume from, test
once, write the model and ``metrics.json``. It registers no trainer.

Resuming. With an ``output_dir`` (or a ``checkpoint_dir``), ``fit`` backs the run
up in its ``backup/`` folder after every epoch: ``keras.callbacks.BackupAndRestore``
keeps the weights, the optimizer's state and the epoch; beside them ``run_state.json``
keeps each epoch's logs, the seconds trained and the state of the callbacks that
have one (``callbacks.TrainingCurves``' curves, ``EarlyStopping``'s best value,
patience and best weights, ``ReduceLROnPlateau``'s, ``ModelCheckpoint``'s best).
Started again after a kill, the same call resumes after the last finished epoch,
and the curves, ``metrics.json`` and the ``TrainResult`` cover the whole run, each
epoch once. A finished run deletes its backup; a NaN loss stops the run with an
error and keeps the last good epoch's backup (a graceful ``TerminateOnNaN`` stop
would delete it, keras#21771). Not restored bit for bit: the order of the
training data (each session shuffles from its seed again) and the random draws
(dropout, augmentation), so a resumed run is a faithful continuation, not the
uninterrupted run's twin.

TensorBoard. With an ``output_dir``, ``tensorboard/`` receives the epoch scalars
(``keras.callbacks.TensorBoard``: ``train/`` and ``validation/``) and the HParams
plugin's session summaries (the run's settings, written by TensorBoard's own
event writer, on every Keras backend).

Example:

>>> result = fit_test_save(
...     request, model, {"x": train_episodes}, validation_episodes,
...     {"x": test_episodes}, {"dataset": "digits"}, epochs=5)
"""

import copy
import json
import math
import os
import shutil
import time

import keras
import numpy as np

from callbacks.curves import TrainingCurves
from recipes.trainers import TrainResult, read_json, write_json, write_metrics

BACKUP = "backup"  # the folder of BackupAndRestore and the run's state
RUN_STATE = "run_state.json"
TENSORBOARD = "tensorboard"
# The attributes that make a callback's state, restored when a run resumes (its
# best weights too, for EarlyStopping(restore_best_weights=True)).
_KEPT_STATE = (
    (TrainingCurves, ("history",)),
    (keras.callbacks.EarlyStopping, ("wait", "best", "best_epoch", "stopped_epoch")),
    (keras.callbacks.ReduceLROnPlateau, ("wait", "best", "cooldown_counter")),
    (keras.callbacks.ModelCheckpoint, ("best",)),
)


def fit_test_save(request, model, train, validation, test, record, *, epochs):
    """Fits ``model`` with ``fit(**train, validation_data=validation)``, evaluates it
    once with ``evaluate(**test)`` and, with ``output_dir``, writes ``model.keras``,
    ``curves.png``, ``curves.csv``, ``metrics.json`` and the TensorBoard logs there,
    as the standard loop does. With ``output_dir`` or ``checkpoint_dir`` the run is
    backed up after every epoch and resumes after a kill (see the module);
    ``checkpoint_dir`` also receives ``latest.keras`` after every epoch.

    Args:
        request: the ``TrainRequest`` (its preset's name, ``options``,
            ``overrides``, data source, ``callbacks``, ``checkpoint_dir``,
            ``output_dir``, ``seed`` and ``verbose`` serve here).
        model: a compiled model.
        train: ``fit`` arguments giving the data (``{"x": batches}``, or ``x``,
            ``y`` and ``batch_size``).
        validation: ``fit``'s ``validation_data``.
        test: ``evaluate`` arguments giving the data.
        record: more entries for ``metrics.json`` (``dataset``, ``batch_size``...).
        epochs: epochs to train.

    Returns:
        A ``TrainResult``; its ``history`` covers the whole run, resumed or not.

    Raises:
        ValueError: the backup folder holds an unfinished run of other settings, or
            the loss became NaN (the backup is kept).
    """
    output_dir = request.output_dir
    callbacks, paths, state = _callbacks(request, model, epochs)
    hparams_dir = None
    if output_dir:
        hparams_dir = paths["tensorboard"]
        if not state.resuming:  # a fresh run: the logs of an earlier one go
            shutil.rmtree(hparams_dir, ignore_errors=True)
            settings = {"recipe": request.name, **record, "epochs": epochs, "seed": request.seed}
            settings.update(request.options, **request.overrides)
            write_hparams_start(
                hparams_dir, settings, os.path.basename(os.path.abspath(output_dir))
            )
    start = time.perf_counter()
    try:
        model.fit(
            **train,
            validation_data=validation,
            epochs=epochs,
            callbacks=callbacks,
            verbose=request.verbose,
        )
    except ValueError:  # a NaN loss, data that does not fit the model...
        if hparams_dir:
            write_hparams_end(hparams_dir, "failure")
        raise
    train_seconds = state.seconds_before + time.perf_counter() - start
    test_metrics = model.evaluate(**test, return_dict=True, verbose=0)
    if output_dir:
        write_hparams_end(hparams_dir, "success")
        paths["model"] = os.path.join(output_dir, "model.keras")
        model.save(paths["model"])
        paths["metrics"] = write_metrics(
            output_dir,
            {
                "recipe": request.name,
                **record,
                "epochs": epochs,
                "epochs_run": max(map(len, state.history.values()), default=0),
                "resumed_at_epoch": state.resumed_at,
                "train_seconds": train_seconds,
                "test": test_metrics,
                "history": state.history,
            },
        )
    return TrainResult(model, state.history, test_metrics, train_seconds, paths)


def backup_folder(checkpoint_dir, output_dir):
    """The folder a run is backed up in: ``<checkpoint_dir>/backup``, else
    ``<output_dir>/backup``; ``None`` with neither.

    Example:

    >>> backup_folder(None, "runs/digits_mlp")
    'runs/digits_mlp/backup'
    """
    folder = checkpoint_dir or output_dir
    return os.path.join(folder, BACKUP) if folder else None


def offline_arrays(name, dataset):
    """The ``(x, y)`` arrays of each split of offline ``dataset`` (preset
    ``name``'s data), keyed ``train``, ``validation``, ``test``.

    Raises:
        ValueError: ``dataset`` is not an offline set.
    """
    from recipes import data

    if not data.get_spec(dataset).offline:
        raise ValueError(
            f"Recipe {name!r} trains on an offline dataset "
            f"({', '.join(data.list_datasets(offline_only=True))}). Received: dataset={dataset!r}"
        )
    splits = data.standard_splits(dataset)
    return {
        split: data.arrays(dataset, splits[split]) for split in ("train", "validation", "test")
    }


class EpochTensorBoard(keras.callbacks.TensorBoard):
    """``keras.callbacks.TensorBoard`` writing the epoch scalars (``train/`` and
    ``validation/`` runs, tags ``epoch_loss``, ``epoch_accuracy``...), flushed at the
    end of every epoch, so that a dashboard watching a live run and the logs of a
    killed one hold every finished epoch (the writers flush every two minutes
    otherwise); no graph.

    Args:
        log_dir: the folder of the logs.

    Example:

    >>> model.fit(x, y, epochs=5, callbacks=[EpochTensorBoard("runs/x/tensorboard")])
    """

    def __init__(self, log_dir):
        super().__init__(log_dir, write_graph=False)

    def on_epoch_end(self, epoch, logs=None):
        super().on_epoch_end(epoch, logs)
        for writer in self._writers.values():
            writer.flush()


def write_summary(log_dir, summary):
    """Writes one TensorBoard ``Summary`` protobuf to a new event file of
    ``log_dir`` with TensorBoard's own writer (no ``tf.summary``, so on every Keras
    backend).

    Example:

    >>> write_summary("runs/x/tensorboard", hparams_pb({"dropout": 0.1}))
    """
    from tensorboard.compat.proto import event_pb2
    from tensorboard.summary.writer.event_file_writer import EventFileWriter

    writer = EventFileWriter(log_dir)
    writer.add_event(event_pb2.Event(wall_time=time.time(), summary=summary))
    writer.close()


def write_hparams_start(log_dir, hparams, group, start_time=None):
    """Writes the HParams plugin's session-start summary of a run (or a tuning
    trial) in ``log_dir``: its hyper-parameters, as the dashboard compares them.

    Args:
        log_dir: the run's log folder (its ``train/`` and ``validation/`` hold the
            scalars the dashboard shows beside the values).
        hparams: name to value; booleans, numbers and strings are kept, ``None``
            and anything else become text.
        group: the session's name in the dashboard (a trial id, a run folder).
        start_time: when the session started (seconds since the epoch; default:
            now).

    Example:

    >>> write_hparams_start("runs/x/tensorboard", {"dropout": 0.1}, group="x")
    """
    from tensorboard.plugins.hparams import summary_v2

    values = {key: hparam_value(value) for key, value in hparams.items()}
    write_summary(log_dir, summary_v2.hparams_pb(values, group, start_time))


def write_hparams_end(log_dir, status):
    """Writes the HParams plugin's session-end summary in ``log_dir``.

    Args:
        log_dir: the run's log folder.
        status: ``"success"``, ``"failure"``, ``"aborted"`` or ``"running"``.

    Example:

    >>> write_hparams_end("runs/x/tensorboard", "success")
    """
    from tensorboard.compat.proto import summary_pb2
    from tensorboard.plugins.hparams import api_pb2, metadata, plugin_data_pb2

    # As tensorboard.plugins.hparams.summary.session_end_pb, which needs TensorFlow.
    end = plugin_data_pb2.SessionEndInfo(
        status=api_pb2.Status.Value(f"STATUS_{status.upper()}"), end_time_secs=time.time()
    )
    data = plugin_data_pb2.HParamsPluginData(session_end_info=end)
    summary = summary_pb2.Summary()
    summary.value.add(
        tag=metadata.SESSION_END_INFO_TAG,
        metadata=metadata.create_summary_metadata(data),
        tensor=metadata.NULL_TENSOR,
    )
    write_summary(log_dir, summary)


def hparam_value(value):
    """A value the HParams plugin takes: a boolean, number or string as it is
    (NumPy scalars as Python's), anything else as its ``repr``.

    Example:

    >>> hparam_value((64, 32))
    '(64, 32)'
    """
    if isinstance(value, np.generic):
        value = value.item()
    return value if isinstance(value, (bool, int, float, str)) else repr(value)


class _StopOnNaN(keras.callbacks.TerminateOnNaN):
    """``TerminateOnNaN(raise_error=True)``: a graceful stop would end ``fit``
    normally and so make ``BackupAndRestore`` delete its backup (keras#21771);
    raising keeps the last good epoch's. The error says what was kept."""

    def __init__(self, name, backup):
        super().__init__(raise_error=True)
        self.name, self.backup, self.epoch = name, backup, 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_batch_end(self, batch, logs=None):
        try:
            super().on_batch_end(batch, logs)
        except RuntimeError as error:
            kept = (
                f"the backup of epoch {self.epoch} is kept in {self.backup}: the same command "
                "resumes from it, restart=True (--restart) starts afresh"
                if self.backup and self.epoch
                else "no epoch had finished"
            )
            raise ValueError(
                f"The loss of {self.name} became NaN or infinite in epoch {self.epoch + 1}, "
                f"so training stopped; {kept}. A lower `learning_rate` (--set "
                f"learning_rate=...) often helps. Received: {error}"
            ) from None


class RunState(keras.callbacks.Callback):
    """What a resumed run needs besides what ``BackupAndRestore`` keeps: each
    epoch's logs (``history``, the whole run's), the seconds trained, the epochs
    it resumed at and the state of the callbacks listed in ``_KEPT_STATE``. With a
    backup folder it is saved there (``run_state.json``) after every epoch, the
    last two epochs' (so that one matches the weights' backup whichever was written
    last), and put back when ``fit`` resumes; place it before the
    ``BackupAndRestore`` of the same folder.

    Args:
        folder: the backup folder, or ``None`` (the logs are kept, nothing saved).
        identity: the run's settings (a JSON-able dict), saved with the state.
        callbacks: the run's callbacks (a list, read when training begins): the
            state of those in ``_KEPT_STATE`` is kept.
        verbose: say when a run resumes.

    Raises:
        ValueError: ``folder`` holds the state of a run of other settings.

    Example:

    >>> state = RunState("runs/x/backup", {"recipe": "x"}, callbacks)
    >>> model.fit(x, y, epochs=5, callbacks=[*callbacks, state,
    ...           keras.callbacks.BackupAndRestore("runs/x/backup")])
    >>> state.history["loss"]  # every epoch of the run, resumed or not
    """

    def __init__(self, folder, identity, callbacks=(), verbose=0):
        super().__init__()
        self.folder, self.identity, self.verbose = folder, identity, verbose
        self.callbacks, self.kept = callbacks, {}
        self.saved = _check_backup(folder, identity).get("epochs", {})
        self.history, self.resumed_at, self.seconds_before = {}, [], 0.0
        self._first_epoch = None

    @property
    def resuming(self):
        """Whether ``folder`` holds the state of an unfinished run."""
        return bool(self.saved)

    def on_train_begin(self, logs=None):
        self._start, self._first_epoch = time.perf_counter(), None
        self.kept = _kept_callbacks(self.callbacks)

    def on_epoch_begin(self, epoch, logs=None):
        if self._first_epoch is None:
            self._first_epoch = epoch
            entry = self.saved.get(str(epoch)) if epoch else None
            if entry is not None:
                self._restore(entry, epoch)

    def on_epoch_end(self, epoch, logs=None):
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(float(value))
        if self.folder:
            self._save(epoch + 1)

    def on_train_end(self, logs=None):
        if self._first_epoch is None and self.saved:  # no epoch was left to run
            entry = self.saved[max(self.saved, key=int)]
            self.history, self.seconds_before = entry["history"], entry["seconds"]
            self.resumed_at = entry["resumed_at"]

    def _restore(self, entry, epoch):
        self.history = {key: values[:epoch] for key, values in entry["history"].items()}
        self.seconds_before = entry["seconds"]
        self.resumed_at = [*entry["resumed_at"], epoch + 1]
        for key, (callback, names) in self.kept.items():
            state = entry["callbacks"].get(key)
            if state is None:
                continue
            for name in names:
                setattr(callback, name, copy.deepcopy(state[name]))
            if state.get("best_weights"):
                with np.load(os.path.join(self.folder, state["best_weights"])) as arrays:
                    callback.best_weights = [arrays[f"arr_{i}"] for i in range(len(arrays.files))]
        if self.verbose:
            print(
                f"Resuming from the backup in {self.folder} at epoch {epoch + 1}: the "
                f"weights, the optimizer and {epoch} epochs of curves are back "
                "(restart=True or --restart starts afresh)."
            )

    def _save(self, epochs_done):
        os.makedirs(self.folder, exist_ok=True)
        entry = {
            "history": self.history,
            "seconds": self.seconds_before + time.perf_counter() - self._start,
            "resumed_at": self.resumed_at,
            "callbacks": {key: self._state(key, *kept) for key, kept in self.kept.items()},
        }
        previous = self.saved.get(str(epochs_done - 1))
        self.saved = {str(epochs_done): json.loads(json.dumps(entry, default=float))}
        if previous is not None:
            self.saved[str(epochs_done - 1)] = previous
        write_json(
            os.path.join(self.folder, RUN_STATE),
            {"identity": self.identity, "epochs": self.saved},
        )
        _remove_unused_weights(self.folder, self.saved)

    def _state(self, key, callback, names):
        state = {name: getattr(callback, name) for name in names}
        weights = getattr(callback, "best_weights", None)
        if weights is not None:
            state["best_weights"] = f"{key}_best_epoch{callback.best_epoch}.npz"
            path = os.path.join(self.folder, state["best_weights"])
            if not os.path.exists(path):
                np.savez(path, *weights)
        return state


def _kept_callbacks(callbacks):
    """The callbacks with a state to keep, by a key that survives a change of the
    others (``EarlyStopping0``: the first ``EarlyStopping``): ``{key: (callback,
    attribute names)}``."""
    kept = {}
    for callback in callbacks:
        names = next((names for kind, names in _KEPT_STATE if isinstance(callback, kind)), ())
        if names:
            kind = type(callback).__name__
            count = sum(key.rstrip("0123456789") == kind for key in kept)
            kept[f"{kind}{count}"] = (callback, names)
    return kept


def _remove_unused_weights(folder, saved):
    used = {
        state.get("best_weights")
        for entry in saved.values()
        for state in entry["callbacks"].values()
    }
    for file in os.listdir(folder):
        if "_best_epoch" in file and file.endswith(".npz") and file not in used:
            os.remove(os.path.join(folder, file))


def _identity(request):
    """The settings a backup belongs to (all but ``epochs``), as JSON values."""
    return {
        "recipe": request.name,
        "options": {key: repr(value) for key, value in request.options.items()},
        "overrides": {key: repr(value) for key, value in request.overrides.items()},
        "dataset": request.dataset,
        "data_dir": request.data_dir,
        "batch_size": request.batch_size,
        "seed": request.seed,
        "precision_policy": request.precision_policy,
    }


def _check_backup(backup, identity):
    """The saved run state in ``backup`` (``{}`` with none, or no ``backup``);
    raises ``ValueError`` when it belongs to a run of other settings."""
    saved = read_json(os.path.join(backup, RUN_STATE)) if backup else {}
    if saved and saved.get("identity") != identity:
        before = saved.get("identity") or {}
        changed = sorted(
            key for key in {**before, **identity} if before.get(key) != identity.get(key)
        )
        raise ValueError(
            f"{backup} holds the backup of an unfinished run of other settings "
            f"({', '.join(f'{key}={before.get(key)!r}' for key in changed)}): run it again "
            "with those to resume it, start afresh with restart=True (--restart), or write "
            "to another folder (--output). Received: "
            + ", ".join(f"{key}={identity.get(key)!r}" for key in changed)
        )
    return saved


def _callbacks(request, model, epochs):
    """``fit``'s callbacks: the NaN stop, the user's, the curves and TensorBoard
    (``output_dir``), the run state, the backup and ``latest.keras``
    (``checkpoint_dir``), in the order they must run; the paths they write; the
    run state."""
    backup = backup_folder(request.checkpoint_dir, request.output_dir)
    callbacks, paths = [_StopOnNaN(request.name, backup), *request.callbacks], {}
    if request.output_dir:
        os.makedirs(request.output_dir, exist_ok=True)
        # Drawing the PNG takes longer than an epoch of a small model: five times a run
        # and at its end (TensorBoard shows the curves live).
        curves = TrainingCurves(request.output_dir, plot_every=math.ceil(epochs / 5))
        paths.update(
            curves_png=curves.png_path,
            curves_csv=curves.csv_path,
            tensorboard=os.path.join(request.output_dir, TENSORBOARD),
        )
        callbacks += [curves, EpochTensorBoard(paths["tensorboard"])]
    if backup and not model.built:
        print(f"{request.name} is not built before fit, so it is not backed up to resume.")
        backup = None
    state = RunState(backup, _identity(request), callbacks, request.verbose)
    callbacks.append(state)
    if backup:
        callbacks.append(keras.callbacks.BackupAndRestore(backup, double_checkpoint=True))
    if request.checkpoint_dir:
        paths["checkpoint"] = os.path.join(request.checkpoint_dir, "latest.keras")
        callbacks.append(keras.callbacks.ModelCheckpoint(paths["checkpoint"]))
    return callbacks, paths, state
