"""``GradientNormMonitor``: the global gradient norm of each epoch, in the logs."""

import keras
import numpy as np

from callbacks.optimizers import AutoClip


def find_autoclip(optimizer):
    """The ``AutoClip`` in an optimizer or its chain of wrappers, or ``None``."""
    while optimizer is not None:
        if isinstance(optimizer, AutoClip):
            return optimizer
        optimizer = getattr(optimizer, "inner_optimizer", None)
    return None


class GradientNormMonitor(keras.callbacks.Callback):
    """Adds the global gradient norm of each epoch to the logs.

    The norms are recorded at every step, inside the compiled training step, by
    an ``AutoClip`` wrapper around the optimizer: use ``AutoClip(optimizer,
    percentile=None)`` to record without clipping. At the end of each epoch this
    callback adds to the logs (and so to ``History``, ``TrainingCurves`` and
    ``CSVLogger``, when they come after it):

    - ``grad_norm``: the mean global norm over the epoch's steps,
    - ``grad_norm_max``: the largest,
    - ``clip_threshold``: AutoClip's current threshold (when it clips).

    Norms are read from AutoClip's history of ``history_size`` steps, so an epoch
    longer than that is summarised by its last ``history_size`` steps.

    Example:

    >>> model.compile(optimizer=AutoClip(keras.optimizers.Adam(), percentile=None),
    ...               loss="mse")
    >>> history = model.fit(x, y, epochs=5, callbacks=[GradientNormMonitor()])
    >>> history.history["grad_norm"]
    """

    def __init__(self):
        super().__init__()
        self.history = {}

    def on_train_begin(self, logs=None):
        self.history = {}
        self._autoclip = find_autoclip(self.model.optimizer)
        if self._autoclip is None:
            raise ValueError(
                "GradientNormMonitor reads the norms that AutoClip records: compile "
                "with optimizer=AutoClip(your_optimizer, percentile=None) to record "
                f"without clipping. Received optimizer: {self.model.optimizer!r}"
            )
        if not self._autoclip.built:
            self._autoclip.build(self.model.trainable_variables)
        self._seen = int(self._autoclip.norm_count.numpy())

    def on_epoch_end(self, epoch, logs=None):
        clip = self._autoclip
        count = int(clip.norm_count.numpy())
        history = clip.norm_history.numpy()
        new = min(count - self._seen, clip.history_size)
        self._seen = count
        if new <= 0:
            return
        norms = history[np.arange(count - new, count) % clip.history_size]
        values = {"grad_norm": float(norms.mean()), "grad_norm_max": float(norms.max())}
        if clip.percentile is not None:
            recorded = history[: min(count, clip.history_size)]
            values["clip_threshold"] = float(np.percentile(recorded, clip.percentile))
        for key, value in values.items():
            self.history.setdefault(key, []).append(value)
        if logs is not None:
            logs.update(values)
