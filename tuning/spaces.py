"""Search spaces: one ``keras_tuner.HyperModel`` per family, wrapping its builder.

Every space is declared once, in its ``build(hp)``, and its docstring lists the
ranges. Choices shared by all families live in ``RecipeHyperModel``:

=================  ==========================================  ==============
name               values                                      default
=================  ==========================================  ==============
``optimizer``      ``adam``, ``sgd`` (Nesterov momentum 0.9);  ``adam``
                   ``rmsprop`` too if a space asks for it
``learning_rate``  the space's ``learning_rates`` range, log   1e-3 (clipped
                   scale (default 1e-4 to 1e-2)                to the range)
``weight_decay``   0, 1e-4, 1e-3, 1e-2 (decoupled: Adam with   0
                   weight decay is AdamW)
``batch_size``     the space's ``batch_sizes`` (``fit``)       the middle one
``lr_schedule``    ``constant``, ``cosine`` to 1/100 (``fit``)  ``constant``
=================  ==========================================  ==============

Training-time choices (batch size, schedule) are drawn in ``fit``; the number of
epochs is the search's budget (Hyperband sets it per trial).

Example:

>>> import keras_tuner
>>> space = MLPHyperModel(input_shape=(8, 8, 1), num_classes=10)
>>> model = space.build(keras_tuner.HyperParameters())   # the defaults
>>> model.count_params()
17226
"""

import functools
import math

import keras
import keras_tuner
import numpy as np

from recipes.augment import build_augmentation
from recipes.models.cnn import build_vgg
from recipes.models.mlp import build_mlp
from recipes.models.resnet import build_resnet
from recipes.models.text import build_text_classifier
from recipes.models.unet import build_unet

OPTIMIZERS = ("adam", "sgd", "rmsprop")
SCHEDULES = ("constant", "cosine")


def cosine_decay(epoch, learning_rate=None, base=1e-3, epochs=10):
    """Learning rate of epoch ``epoch`` (0-based) under a cosine decay from ``base``
    to ``base / 100`` over ``epochs`` epochs (a ``LearningRateScheduler`` schedule).

    Example:

    >>> cosine_decay(0, base=0.1, epochs=10)
    0.1
    """
    progress = min(epoch / max(epochs, 1), 1.0)
    floor = base / 100
    return floor + (base - floor) * 0.5 * (1 + math.cos(math.pi * progress))


def check_finite_history(history):
    """Raises ``keras_tuner.errors.FailedTrialError`` when the training loss of a
    ``History`` became NaN or infinite, so that the trial is recorded as failed
    (diverged) instead of scored."""
    for epoch, value in enumerate(history.history.get("loss", [])):
        if not np.isfinite(value):
            raise keras_tuner.errors.FailedTrialError(
                f"training diverged: the loss became {value} in epoch {epoch + 1}"
            )
    return history


class RecipeHyperModel(keras_tuner.HyperModel):
    """Base of the search spaces: the optimizer choices and the ``fit`` choices.

    Subclasses implement ``build(hp)`` and call ``self.compile_args(hp)`` for the
    builder's ``optimizer`` and ``learning_rate`` arguments.

    Args:
        input_shape: shape of one input example (``None`` for raw text).
        num_classes: classes (or output width) of the task.
        batch_sizes: the ``batch_size`` choices tried in ``fit``.
        learning_rates: ``(lowest, highest)`` learning rate, searched on a log scale.
        schedules: the ``lr_schedule`` choices tried in ``fit``, from ``SCHEDULES``.
        optimizers: the ``optimizer`` choices, a subset of ``OPTIMIZERS``.
        weight_decays: the ``weight_decay`` choices (the first is the default).
        xla: False turns XLA compilation off on the TensorFlow backend, for tiny
            models whose per-trial compile time exceeds their training time (it
            halves the digits search on CPU); other backends are left as they are.
        name: name of the space.
    """

    def __init__(
        self,
        input_shape,
        num_classes,
        batch_sizes=(32, 64, 128),
        learning_rates=(1e-4, 1e-2),
        schedules=SCHEDULES,
        optimizers=("adam", "sgd"),
        weight_decays=(0.0, 1e-4, 1e-3, 1e-2),
        xla=True,
        name=None,
    ):
        super().__init__(name=name or type(self).__name__)
        low, high = learning_rates
        if not 0 < low < high:
            raise ValueError(
                "`learning_rates` must be (lowest, highest) with 0 < lowest < highest. "
                f"Received: learning_rates={learning_rates!r}"
            )
        for argument, values, allowed in (
            ("optimizers", optimizers, OPTIMIZERS),
            ("schedules", schedules, SCHEDULES),
        ):
            if not values or set(values) - set(allowed):
                raise ValueError(
                    f"`{argument}` must be a non-empty subset of {allowed}. "
                    f"Received: {argument}={values!r}"
                )
        self.input_shape = None if input_shape is None else tuple(input_shape)
        self.num_classes = num_classes
        self.batch_sizes = tuple(batch_sizes)
        self.optimizers = tuple(optimizers)
        self.weight_decays = tuple(weight_decays)
        self.schedules = tuple(schedules)
        self.learning_rates = (float(low), float(high))
        self.xla = xla

    def compile_args(self, hp):
        """Declares the optimizer space; returns ``optimizer`` and ``learning_rate``
        arguments for a builder.

        (No conditional hyper-parameters: KerasTuner 1.4.8 prints a stray line for
        each one it sends between the processes of a distributed search.)
        """
        optimizer = hp.Choice("optimizer", list(self.optimizers), default=self.optimizers[0])
        low, high = self.learning_rates
        learning_rate = hp.Float(
            "learning_rate", low, high, sampling="log", default=min(max(1e-3, low), high)
        )
        weight_decay = hp.Choice(
            "weight_decay", list(self.weight_decays), default=self.weight_decays[0]
        )
        config = {"sgd": {"momentum": 0.9, "nesterov": True}}.get(optimizer, {})
        if weight_decay:
            config["weight_decay"] = weight_decay
        return {
            "optimizer": {"class_name": optimizer, "config": config},
            "learning_rate": learning_rate,
        }

    def fit(
        self,
        hp,
        model,
        x,
        y=None,
        validation_data=None,
        epochs=10,
        callbacks=None,
        verbose=0,
        **kwargs,
    ):
        """Trains ``model`` with the tuned batch size and learning-rate schedule.

        Args:
            hp: the trial's ``HyperParameters``.
            model: the model ``build(hp)`` returned.
            x: training data: a function ``batch_size -> dataset`` (so that the
                batch size can be tuned), or arrays (batched with the tuned size),
                or anything else ``Model.fit`` takes.
            validation_data: like ``x``, or ``None``.
            epochs: epochs to train (Hyperband passes its own).
            callbacks: more Keras callbacks (KerasTuner adds its own here).
            verbose: ``Model.fit`` verbosity.
            **kwargs: anything else for ``Model.fit`` (``initial_epoch``...).

        Returns:
            The ``History``.

        Raises:
            keras_tuner.errors.FailedTrialError: the loss became NaN or infinite.
        """
        default_batch = self.batch_sizes[len(self.batch_sizes) // 2]
        batch_size = hp.Choice("batch_size", list(self.batch_sizes), default=default_batch)
        schedule = hp.Choice("lr_schedule", list(self.schedules), default=self.schedules[0])
        callbacks = [*(callbacks or []), keras.callbacks.TerminateOnNaN()]
        if schedule == "cosine":
            decay = functools.partial(cosine_decay, base=hp.get("learning_rate"), epochs=epochs)
            callbacks.append(keras.callbacks.LearningRateScheduler(decay))
        if not self.xla and keras.backend.backend() == "tensorflow":
            model.jit_compile = False
        if callable(x):
            x = x(batch_size)
        if _is_arrays(x):
            kwargs["batch_size"] = batch_size
        else:
            kwargs.setdefault("shuffle", False)  # datasets come shuffled already
        if callable(validation_data):
            validation_data = validation_data(batch_size)
        history = model.fit(
            x,
            y,
            validation_data=validation_data,
            epochs=epochs,
            callbacks=callbacks,
            verbose=verbose,
            **kwargs,
        )
        return check_finite_history(history)


def _is_arrays(x):
    return isinstance(x, (np.ndarray, list, tuple, dict))


class MLPHyperModel(RecipeHyperModel):
    """Search space over ``recipes.build_mlp``.

    =================  ===================================================  =========
    name               values                                               default
    =================  ===================================================  =========
    ``num_layers``     1 to 3 hidden layers                                 2
    ``units``          32, 64, 128, 256 (first hidden layer)                128
    ``funnel``         halve the width at each deeper layer                 True
    ``activation``     ``relu``, ``elu``, ``swish``, ``tanh``               ``relu``
    ``dropout``        0.0, 0.1, 0.2, 0.3, 0.4, 0.5                         0.1
    ``batch_norm``     True, False                                          False
    =================  ===================================================  =========

    plus the optimizer and ``fit`` choices of ``RecipeHyperModel``.

    Example:

    >>> space = MLPHyperModel(input_shape=(2,), num_classes=1)
    >>> hp = keras_tuner.HyperParameters()
    >>> [layer.units for layer in space.build(hp).layers if hasattr(layer, "units")]
    [128, 64, 1]
    """

    def build(self, hp):
        num_layers = hp.Int("num_layers", 1, 3, default=2)
        units = hp.Choice("units", [32, 64, 128, 256], default=128)
        funnel = hp.Boolean("funnel", default=True)
        hidden_units = tuple(max(units // 2**i, 8) if funnel else units for i in range(num_layers))
        return build_mlp(
            input_shape=self.input_shape,
            num_classes=self.num_classes,
            hidden_units=hidden_units,
            activation=hp.Choice("activation", ["relu", "elu", "swish", "tanh"], default="relu"),
            dropout=hp.Choice("dropout", [0.0, 0.1, 0.2, 0.3, 0.4, 0.5], default=0.1),
            batch_norm=hp.Boolean("batch_norm", default=False),
            kernel_initializer="he",
            name="tuned_mlp",
            **self.compile_args(hp),
        )


def max_halvings(input_shape, limit):
    """How many times (up to ``limit``) the image sides divide by 2 exactly."""
    count = 0
    while count < limit and all(side % 2 ** (count + 1) == 0 for side in input_shape[:2]):
        count += 1
    return count


class ImageHyperModel(RecipeHyperModel):
    """Base of the image classifiers' spaces: adds the augmentation strength.

    ===========  ===========================================================  =======
    name         values                                                       default
    ===========  ===========================================================  =======
    ``augment``  0, 0.05, 0.1, 0.15: largest shift and zoom (fraction of the   0.05
                 image), rotation a third of it (fraction of a turn), plus a
                 random flip when the space has ``flip``; 0 turns it off
    ===========  ===========================================================  =======

    The augmentation (``recipes.augment.build_augmentation``) goes to the builder's
    ``augment`` argument: it runs only in training and is saved with the model.

    Args:
        flip: ``None`` or a flip mode (``"horizontal"`` for natural images; digits
            must not be flipped).
        **kwargs: see ``RecipeHyperModel``.
    """

    def __init__(self, input_shape, num_classes, flip=None, **kwargs):
        super().__init__(input_shape, num_classes, **kwargs)
        self.flip = flip

    def augmentation(self, hp):
        """The drawn augmentation layer, or ``None`` for strength 0."""
        strength = hp.Choice("augment", [0.0, 0.05, 0.1, 0.15], default=0.05)
        if not strength:
            return None
        return build_augmentation(
            flip=self.flip, rotation=strength / 3, zoom=strength, translation=strength
        )


class CNNHyperModel(ImageHyperModel):
    """Search space over ``recipes.build_vgg``: plain VGG-style CNNs (blocks of 3x3
    convolutions, each block ending in a 2x2 max-pooling, the width doubling from
    block to block), then one hidden dense layer.

    ==================  ======================================================  ========
    name                values                                                  default
    ==================  ======================================================  ========
    ``num_blocks``      1 to 3 (fewer when the image sides do not halve 3 times)  the most
    ``filters``         16, 32, 64 (first block)                                32
    ``convs_per_block`` 1, 2                                                    2
    ``batch_norm``      ``none``, ``first`` (of each block), ``all``            ``all``
    ``dense_units``     128, 256, 512                                           256
    ``dropout``         0.0, 0.1, 0.25, 0.4 (after pooling and dense)           0.25
    ==================  ======================================================  ========

    plus ``augment`` (``ImageHyperModel``) and the optimizer and ``fit`` choices.

    Example:

    >>> space = CNNHyperModel(input_shape=(28, 28, 1), num_classes=10)
    >>> space.build(keras_tuner.HyperParameters()).output_shape
    (None, 10)
    """

    def build(self, hp):
        most = max(max_halvings(self.input_shape, 3), 1)
        num_blocks = hp.Int("num_blocks", 1, most, default=most)
        filters = hp.Choice("filters", [16, 32, 64], default=32)
        convs = hp.Int("convs_per_block", 1, 2, default=2)
        return build_vgg(
            input_shape=self.input_shape,
            num_classes=self.num_classes,
            blocks=tuple((filters * 2**b,) * convs for b in range(num_blocks)),
            batch_norm=hp.Choice("batch_norm", ["none", "first", "all"], default="all"),
            dense_units=(hp.Choice("dense_units", [128, 256, 512], default=256),),
            dropout=hp.Choice("dropout", [0.0, 0.1, 0.25, 0.4], default=0.25),
            augment=self.augmentation(hp),
            name="tuned_cnn",
            **self.compile_args(hp),
        )


class ResNetHyperModel(ImageHyperModel):
    """Search space over ``recipes.build_resnet`` (CIFAR ResNets, basic blocks).

    ===========  ===========================================  =======
    name         values                                       default
    ===========  ===========================================  =======
    ``depth``    8, 14, 20, 32 (6n+2: n blocks per stack)     20
    ``filters``  16, 32 (first stack; doubled twice)          16
    ===========  ===========================================  =======

    plus ``augment`` (``ImageHyperModel``) and the optimizer and ``fit`` choices.

    Example:

    >>> space = ResNetHyperModel(input_shape=(32, 32, 3), num_classes=10,
    ...                          flip="horizontal")
    >>> space.build(keras_tuner.HyperParameters()).count_params() > 270_000
    True
    """

    def build(self, hp):
        return build_resnet(
            input_shape=self.input_shape,
            num_classes=self.num_classes,
            depth=hp.Choice("depth", [8, 14, 20, 32], default=20),
            filters=hp.Choice("filters", [16, 32], default=16),
            augment=self.augmentation(hp),
            name="tuned_resnet",
            **self.compile_args(hp),
        )


class UNetHyperModel(RecipeHyperModel):
    """Search space over ``recipes.build_unet`` (semantic segmentation).

    ===============  =================================================  ============
    name             values                                             default
    ===============  =================================================  ============
    ``depth``        2 to 4 levels (fewer when the sides do not halve)  3
    ``filters``      8, 16, 32 (first level; doubled at each level)     16
    ``batch_norm``   True, False                                        True
    ``dropout``      0.0, 0.1, 0.2 (after every conv block)             0.0
    ``upsampling``   ``transpose``, ``bilinear``                        ``transpose``
    ``flip``         random left-right flips of image and mask          True
    ===============  =================================================  ============

    plus the optimizer and ``fit`` choices of ``RecipeHyperModel``. Flips are the
    only augmentation a U-Net can undo exactly on its predicted mask.

    Example:

    >>> space = UNetHyperModel(input_shape=(64, 64, 3), num_classes=3)
    >>> space.build(keras_tuner.HyperParameters()).output_shape
    (None, 64, 64, 3)
    """

    def build(self, hp):
        most = max_halvings(self.input_shape, 4)
        flip = hp.Boolean("flip", default=True)
        return build_unet(
            input_shape=self.input_shape,
            num_classes=self.num_classes,
            depth=hp.Int("depth", min(2, most), most, default=min(3, most)),
            filters=hp.Choice("filters", [8, 16, 32], default=16),
            batch_norm=hp.Boolean("batch_norm", default=True),
            dropout=hp.Choice("dropout", [0.0, 0.1, 0.2], default=0.0),
            upsampling=hp.Choice("upsampling", ["transpose", "bilinear"], default="transpose"),
            augment=build_augmentation(flip="horizontal") if flip else None,
            name="tuned_unet",
            **self.compile_args(hp),
        )


class TextHyperModel(RecipeHyperModel):
    """Search space over ``recipes.build_text_classifier``: an embedding read by a
    recurrent layer, on raw strings (its ``TextVectorization`` learns the
    vocabulary from the training texts at the first ``fit``; TensorFlow backend).

    ===================  ==========================================  ========
    name                 values                                      default
    ===================  ==========================================  ========
    ``cell``             ``gru``, ``lstm``                           ``gru``
    ``bidirectional``    True, False                                 True
    ``vocab_size``       10,000, 20,000 words                        20,000
    ``sequence_length``  128, 256 tokens (longer texts are cut)      256
    ``embedding_dim``    32, 64, 128                                 64
    ``units``            32, 64, 128 (recurrent state)               64
    ``dropout``          0.0, 0.2, 0.4                               0.2
    ===================  ==========================================  ========

    plus the optimizer and ``fit`` choices of ``RecipeHyperModel``.

    Example:

    >>> space = TextHyperModel(input_shape=None, num_classes=2)
    >>> space.build(keras_tuner.HyperParameters()).output_shape
    (None, 2)
    """

    def build(self, hp):
        return build_text_classifier(
            kind=hp.Choice("cell", ["gru", "lstm"], default="gru"),
            vocab_size=hp.Choice("vocab_size", [10_000, 20_000], default=20_000),
            num_classes=self.num_classes,
            sequence_length=hp.Choice("sequence_length", [128, 256], default=256),
            embedding_dim=hp.Choice("embedding_dim", [32, 64, 128], default=64),
            units=hp.Choice("units", [32, 64, 128], default=64),
            bidirectional=hp.Boolean("bidirectional", default=True),
            dropout=hp.Choice("dropout", [0.0, 0.2, 0.4], default=0.2),
            text_input=True,
            name="tuned_text_classifier",
            **self.compile_args(hp),
        )
