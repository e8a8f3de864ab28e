"""``TrainingCurves``: loss and metric curves written as PNG and CSV every epoch."""

import csv
import os

import keras


class TrainingCurves(keras.callbacks.Callback):
    """Writes the training curves of a ``fit`` as ``<name>.csv`` and ``<name>.png``.

    Both files are rewritten at the end of each epoch, so they can be watched
    while a long run trains. One instance serves several ``fit`` calls: its
    history restarts in ``on_train_begin``.

    Args:
        directory: folder for the files (created if missing).
        name: file stem.
        plot_every: redraw the PNG every this many epochs (the CSV is written
            every epoch, the PNG also at the end of training).

    Example:

    >>> model.fit(x, y, epochs=5, callbacks=[TrainingCurves("runs/demo")])
    """

    def __init__(self, directory, name="curves", plot_every=1):
        super().__init__()
        self.directory = directory
        self.name = name
        self.plot_every = plot_every
        self.history = {}

    @property
    def csv_path(self):
        return os.path.join(self.directory, f"{self.name}.csv")

    @property
    def png_path(self):
        return os.path.join(self.directory, f"{self.name}.png")

    def on_train_begin(self, logs=None):
        self.history = {}
        os.makedirs(self.directory, exist_ok=True)

    def on_epoch_end(self, epoch, logs=None):
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(float(value))
        self._write_csv()
        if (epoch + 1) % self.plot_every == 0:
            self._plot()

    def on_train_end(self, logs=None):
        if self.history:
            self._plot()

    def _write_csv(self):
        keys = sorted(self.history)
        rows = zip(*(self.history[k] for k in keys))
        with open(self.csv_path, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["epoch", *keys])
            writer.writerows([i + 1, *row] for i, row in enumerate(rows))

    def _plot(self):
        from callbacks.plots import plot_history

        plot_history(self.history, self.png_path, title=self.name)
