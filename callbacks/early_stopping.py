"""``EarlyStopping`` that works for every recipe, custom ``train_step`` models included."""

import warnings

import keras

# Substrings that tell whether a logged quantity should go down or up. Checked in
# this order, so "val_accuracy_loss" would count as a loss.
_LOWER_IS_BETTER = (
    "loss",
    "error",
    "nll",
    "mse",
    "mae",
    "kl",
    "divergence",
    "perplexity",
    "distance",
    "bits_per",
)
_HIGHER_IS_BETTER = (
    "acc",
    "auc",
    "precision",
    "recall",
    "iou",
    "f1",
    "psnr",
    "ssim",
    "dice",
    "r2",
    "score",
)


def metric_direction(name):
    """``"min"`` or ``"max"`` for a logged metric name, from its wording, or ``None``.

    Example:

    >>> metric_direction("val_g_loss"), metric_direction("val_accuracy")
    ('min', 'max')
    """
    name = name.lower().removeprefix("val_")
    if any(word in name for word in _LOWER_IS_BETTER):
        return "min"
    if any(word in name for word in _HIGHER_IS_BETTER):
        return "max"
    return None


class EarlyStopping(keras.callbacks.EarlyStopping):
    """Keras' ``EarlyStopping`` with defaults that suit recipes, and support for
    models that report their own metrics.

    Differences from ``keras.callbacks.EarlyStopping``:

    - ``monitor="auto"`` (default) watches ``val_loss`` when validation runs,
      else ``loss``. A model whose logs hold neither (a GAN reporting
      ``d_loss``/``g_loss``) gets a ``ValueError`` naming the keys to choose from.
    - ``mode="auto"`` also understands metrics that a custom ``train_step``
      reports through its own trackers (``g_loss``, ``kl_loss``, ``nll``,
      ``psnr``...): Keras only knows compiled metrics and raises for these. The
      direction comes from the name (see ``metric_direction``).
    - ``restore_best_weights=True`` and ``patience=5`` by default. The best
      weights are every weight of the model (``model.get_weights()``): both
      networks of a GAN, the encoder and decoder of a VAE.

    Args:
        monitor: a key of the epoch logs, or ``"auto"``.
        min_delta: smallest change that counts as an improvement.
        patience: epochs without improvement before stopping.
        verbose: print when stopping and restoring.
        mode: ``"auto"``, ``"min"`` or ``"max"``.
        baseline: a value the monitored quantity must beat.
        restore_best_weights: restore the weights of the best epoch at the end.
        start_from_epoch: epochs to wait before watching.

    Example:

    >>> gan.fit(x, epochs=50, callbacks=[EarlyStopping(monitor="g_loss", patience=3)])
    """

    def __init__(
        self,
        monitor="auto",
        min_delta=0,
        patience=5,
        verbose=0,
        mode="auto",
        baseline=None,
        restore_best_weights=True,
        start_from_epoch=0,
    ):
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 0:
            raise ValueError(
                f"`patience` must be an integer >= 0. Received: patience={patience!r}"
            )
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"`mode` must be 'auto', 'min' or 'max'. Received: mode={mode!r}")
        super().__init__(
            monitor=monitor,
            min_delta=min_delta,
            patience=patience,
            verbose=verbose,
            mode=mode,
            baseline=baseline,
            restore_best_weights=restore_best_weights,
            start_from_epoch=start_from_epoch,
        )
        self._requested_monitor = monitor
        self._requested_min_delta = min_delta

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        # A new fit may log different keys: choose the monitor and mode again.
        self.monitor = self._requested_monitor
        self.min_delta = abs(self._requested_min_delta)
        self.monitor_op = None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.monitor == "auto":
            self.monitor = self._auto_monitor(logs)
        super().on_epoch_end(epoch, logs)

    def _auto_monitor(self, logs):
        for key in ("val_loss", "loss"):
            if key in logs:
                return key
        raise ValueError(
            "EarlyStopping(monitor='auto') found neither 'val_loss' nor 'loss' in the "
            f"logs. Pass monitor= one of: {', '.join(sorted(logs))}."
        )

    def _set_monitor_op(self):
        if self.mode == "auto":
            direction = None
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    super()._set_monitor_op()
                return
            except ValueError:
                direction = metric_direction(self.monitor)
            if direction is None:
                raise ValueError(
                    f"EarlyStopping cannot tell whether {self.monitor!r} should go up or "
                    "down. Pass mode='min' or mode='max'."
                )
            self.mode = direction
            try:
                super()._set_monitor_op()
            finally:
                self.mode = "auto"
            return
        super()._set_monitor_op()
