"""Adversarial examples (FGSM) and adversarial training (Goodfellow et al. 2015; seed 003).

The fast gradient sign method moves every input value by ``epsilon`` in the
direction that increases the loss most, to first order:

    x_adv = x + epsilon * sign(dL(x, y) / dx)

A small ``epsilon``, invisible to a person, is often enough to fool a trained
network. The defence of the course is adversarial training: train on adversarial
examples made on the fly from the current model, mixed with the clean ones,
``(1 - w) * L(x, y) + w * L(x_adv, y)``.

Gradients with respect to the *inputs* have no backend-neutral Keras API; they come
from ``recipes.autodiff.input_gradient``, the one module that calls each backend's
own differentiation. Everything here is ``keras`` and ``keras.ops``.

Example:

>>> x_adv = fgsm(model, x_test, y_test, epsilon=0.1, clip_range=(0.0, 1.0))
>>> model.evaluate(x_adv, y_test)            # much lower accuracy
>>> robust = build_adversarial_trainer(model, epsilon=0.1, clip_range=(0.0, 1.0))
>>> robust.fit(x_train, y_train, epochs=10)  # trains ``model`` itself
"""

import keras
import numpy as np
from keras import ops

from recipes.autodiff import input_gradient
from recipes.checks import (
    check_clip_range,
    check_fraction,
    check_instance,
    check_positive_int,
    check_positive_number,
    check_same_length,
)
from recipes.compiling import compile_recipe


def fgsm(model, x, y, epsilon, loss=None, clip_range=None, batch_size=256):
    """Fast gradient sign method: adversarial versions of ``x``.

    Args:
        model: a trained single-output ``keras.Model``.
        x: inputs (NumPy), ``(n, ...)``.
        y: their true targets.
        epsilon: the step size, > 0 (in the units of ``x``; for images in
            ``[0, 1]``, 0.1 is a tenth of the range).
        loss: the loss to increase; default the model's compiled loss, or sparse
            categorical cross-entropy when it has none.
        clip_range: ``(low, high)`` to clip the result to the valid input range,
            or ``None``.
        batch_size: samples per gradient computation.

    Returns:
        A float32 NumPy array shaped like ``x``.

    Example:

    >>> x_adv = fgsm(model, x, y, epsilon=0.1, clip_range=(0.0, 1.0))
    >>> np.abs(x_adv - x).max() <= 0.1 + 1e-6
    True
    """
    epsilon = check_positive_number("epsilon", epsilon)
    clip_range = check_clip_range(clip_range)
    check_positive_int("batch_size", batch_size)
    loss_fn = _attack_loss(model, loss)
    x = np.asarray(x, dtype="float32")
    y = np.asarray(y)
    check_same_length(x, y)
    out = []
    for start in range(0, len(x), batch_size):
        xb = x[start : start + batch_size]
        yb = ops.convert_to_tensor(y[start : start + batch_size])
        out.append(ops.convert_to_numpy(_perturb(model, loss_fn, xb, yb, epsilon, clip_range)))
    return np.concatenate(out) if out else x.copy()


@keras.saving.register_keras_serializable(package="recipes")
class AdversarialTrainer(keras.Model):
    """Wraps a classifier so that ``fit`` trains it on clean and FGSM examples.

    At each training step the batch ``x`` gets an FGSM twin ``x_adv`` made with
    the classifier's current weights, and the loss minimised is
    ``(1 - adversarial_weight) * L(x, y) + adversarial_weight * L(x_adv, y)``.
    Metrics, ``evaluate`` and ``predict`` use the clean inputs; the weights
    trained are the classifier's own (it is shared, not copied).

    Args:
        classifier: a single-output ``keras.Model``.
        epsilon: FGSM step size, > 0.
        adversarial_weight: weight of the adversarial loss, in ``[0, 1]``.
        clip_range: ``(low, high)`` valid input range, or ``None``.
        attack_loss: the loss FGSM increases (a Keras loss name or object).
        **kwargs: ``Model`` arguments (``name``...).

    Call arguments:
        inputs: a batch for the classifier.

    Returns:
        The classifier's output.

    Example:

    >>> trainer = AdversarialTrainer(classifier, epsilon=0.1)
    >>> trainer.compile("adam", loss="sparse_categorical_crossentropy")
    """

    def __init__(
        self,
        classifier,
        epsilon=0.1,
        adversarial_weight=0.5,
        clip_range=None,
        attack_loss="sparse_categorical_crossentropy",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.classifier = check_instance("classifier", classifier, keras.Model, "a keras.Model")
        self.epsilon = check_positive_number("epsilon", epsilon)
        self.adversarial_weight = check_fraction("adversarial_weight", adversarial_weight)
        self.clip_range = check_clip_range(clip_range)
        self.attack_loss = attack_loss
        self._attack_loss_fn = keras.losses.get(attack_loss)

    def call(self, inputs, training=False):
        return self.classifier(inputs, training=training)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        clean = super().compute_loss(x, y, y_pred, sample_weight, training=training)
        if not training or self.adversarial_weight == 0.0:
            return clean
        x_adv = _perturb(
            self.classifier, self._attack_loss_fn, x, y, self.epsilon, self.clip_range
        )
        adversarial = super().compute_loss(
            x_adv, y, self(x_adv, training=True), sample_weight, training=training
        )
        weight = self.adversarial_weight
        return (1.0 - weight) * clean + weight * adversarial

    def get_config(self):
        return {
            **super().get_config(),
            "classifier": keras.saving.serialize_keras_object(self.classifier),
            "epsilon": self.epsilon,
            "adversarial_weight": self.adversarial_weight,
            "clip_range": self.clip_range,
            "attack_loss": keras.saving.serialize_keras_object(self.attack_loss),
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["classifier"] = keras.saving.deserialize_keras_object(config["classifier"])
        config["attack_loss"] = keras.saving.deserialize_keras_object(config["attack_loss"])
        return cls(**config)


def build_adversarial_trainer(
    model,
    epsilon=0.1,
    adversarial_weight=0.5,
    clip_range=None,
    name=None,
    compile=True,
    optimizer="adam",
    learning_rate=1e-3,
    loss="sparse_categorical_crossentropy",
    metrics=None,
):
    """Wraps ``model`` in an ``AdversarialTrainer`` for FGSM adversarial training.

    ``fit`` on the result trains ``model``'s own weights on a mix of clean and
    FGSM examples; afterwards use ``model`` (or the trainer) as usual.

    Args:
        model: a single-output classifier (``keras.Model``), trained or not.
        epsilon: FGSM step size, > 0.
        adversarial_weight: weight ``w`` of the adversarial loss in
            ``(1 - w) * L(x, y) + w * L(x_adv, y)`` (Goodfellow et al. use 0.5).
        clip_range: ``(low, high)`` valid input range, or ``None``.
        name: model name; default ``f"{model.name}_adversarial"``.
        compile: compile with the defaults below (False: return uncompiled).
        optimizer: optimizer name, config or instance.
        learning_rate: learning rate of the optimizer.
        loss: the training loss, also the loss FGSM increases.
        metrics: default ``["accuracy"]`` (on clean inputs).

    Returns:
        An ``AdversarialTrainer`` (a ``keras.Model``).

    Example:

    >>> robust = build_adversarial_trainer(model, epsilon=0.1, clip_range=(0.0, 1.0))
    >>> robust.fit(x, y, epochs=10)
    """
    trainer = AdversarialTrainer(
        model,
        epsilon=epsilon,
        adversarial_weight=adversarial_weight,
        clip_range=clip_range,
        attack_loss=loss,
        name=name or f"{getattr(model, 'name', 'model')}_adversarial",
    )
    return compile_recipe(
        trainer,
        compile=compile,
        optimizer=optimizer,
        learning_rate=learning_rate,
        loss=loss,
        metrics=["accuracy"] if metrics is None else metrics,
    )


def _perturb(model, loss_fn, x, y, epsilon, clip_range):
    def attacked_loss(inputs):
        return ops.sum(loss_fn(y, model(inputs, training=False)))

    gradient = input_gradient(attacked_loss, x)
    x_adv = ops.convert_to_tensor(x) + epsilon * ops.sign(gradient)
    if clip_range is not None:
        x_adv = ops.clip(x_adv, clip_range[0], clip_range[1])
    return ops.stop_gradient(x_adv)


def _attack_loss(model, loss):
    if loss is None:
        loss = getattr(model, "loss", None)
        if loss is None or isinstance(loss, (dict, list, tuple)):
            loss = "sparse_categorical_crossentropy"
    try:
        return keras.losses.get(loss)
    except ValueError:
        raise ValueError(
            f"`loss` must be a Keras loss name, function or object. Received: loss={loss!r}"
        ) from None
