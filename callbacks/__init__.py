"""Training callbacks. Keras' own callbacks are re-exported here so that one import
serves, next to what Keras lacks.

Example:

>>> from callbacks import EarlyStopping, TrainingCurves
>>> model.fit(x, y, validation_split=0.1,
...           callbacks=[EarlyStopping(patience=5), TrainingCurves("runs/demo")])
"""

from keras.callbacks import (
    CSVLogger,
    EarlyStopping,
    LearningRateScheduler,
    ModelCheckpoint,
    ReduceLROnPlateau,
    TerminateOnNaN,
)

from callbacks.curves import TrainingCurves

__all__ = [
    "CSVLogger",
    "EarlyStopping",
    "LearningRateScheduler",
    "ModelCheckpoint",
    "ReduceLROnPlateau",
    "TerminateOnNaN",
    "TrainingCurves",
]
