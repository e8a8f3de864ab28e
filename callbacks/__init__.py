"""Training toolkit: callbacks, learning-rate schedules and gradient clipping.

Keras' own callbacks are re-exported here so that one import serves, next to what
Keras lacks:

- ``EarlyStopping``: Keras' with ``restore_best_weights=True``, ``patience=5``,
  and support for custom ``train_step`` models (GAN, VAE, flow) that log their
  own metrics.
- schedules, over ``keras.optimizers.schedules``: ``StepDecay``,
  ``FlooredExponentialDecay`` (Keras' ``ExponentialDecay`` with a floor),
  ``WarmupCosineDecay`` (Keras' ``CosineDecay`` and its warm-up, by total length),
  ``OneCycle`` (rate and momentum), ``schedule(name, ...)``, ``plot_schedule``.
- ``LRFinder``: the learning-rate range test; ``single_steps``, for callbacks that
  must see every step.
- ``AutoClip`` (adaptive gradient clipping), ``ScheduledMomentum``,
  ``Lookahead`` (airbench94's EMA of the weights), ``FreezeAfter`` (optimizer
  wrappers), ``ConvMuon`` (Muon for convolution filters too) and
  ``GradientNormMonitor``. Fixed clipping is an optimizer
  argument: ``keras.optimizers.Adam(1e-3, global_clipnorm=1.0)``.
- ``TrainingCurves``: loss and metric curves as PNG and CSV every epoch;
  ``SampleGrid``: samples of a generative model as PNG while it trains.

The toolkit stands alone: it imports nothing from ``recipes`` (which uses it).

Example:

>>> from callbacks import EarlyStopping, TrainingCurves
>>> model.fit(x, y, validation_split=0.1,
...           callbacks=[EarlyStopping(patience=5), TrainingCurves("runs/demo")])
"""

from keras.callbacks import (
    CSVLogger,
    LearningRateScheduler,
    ModelCheckpoint,
    ReduceLROnPlateau,
    TerminateOnNaN,
)

from callbacks.curves import TrainingCurves
from callbacks.early_stopping import EarlyStopping, metric_direction
from callbacks.lr_finder import LRFinder
from callbacks.monitors import GradientNormMonitor
from callbacks.optimizers import (
    AutoClip,
    ConvMuon,
    FreezeAfter,
    Lookahead,
    OptimizerWrapper,
    ScheduledMomentum,
)
from callbacks.samples import SampleGrid
from callbacks.schedules import (
    FlooredExponentialDecay,
    OneCycle,
    StepDecay,
    WarmupCosineDecay,
    plot_schedule,
    schedule,
    schedule_values,
)
from callbacks.steps import single_steps

__all__ = [
    "SampleGrid",
    "AutoClip",
    "CSVLogger",
    "EarlyStopping",
    "FlooredExponentialDecay",
    "GradientNormMonitor",
    "LRFinder",
    "LearningRateScheduler",
    "ModelCheckpoint",
    "OneCycle",
    "Lookahead",
    "FreezeAfter",
    "ConvMuon",
    "OptimizerWrapper",
    "ReduceLROnPlateau",
    "ScheduledMomentum",
    "StepDecay",
    "TerminateOnNaN",
    "TrainingCurves",
    "WarmupCosineDecay",
    "metric_direction",
    "plot_schedule",
    "schedule",
    "schedule_values",
    "single_steps",
]
