"""Domain-adversarial neural networks, DANN (Ganin and Lempitsky 2015; seed 003).

A shared feature extractor feeds two heads: the *label* head classifies the task
(trained on the labelled source domain only) and the *domain* head guesses which
domain a sample comes from (trained on source and target samples). Between the
features and the domain head sits a ``GradientReversal`` layer: the domain head
learns to tell the domains apart while the features receive the *reversed*
gradient and learn to make the domains indistinguishable, so that the label head
also works on the unlabelled target domain.

Data: target samples have no label; ``make_dann_data`` marks them with the label
``-1``, which the label loss (``SparseCategoricalCrossentropy(ignore_class=-1)``) and
the ``IgnoreClassAccuracy`` metric skip.

Example:

>>> model = build_dann(input_shape=(8, 8, 1), num_classes=10)
>>> x, y = make_dann_data(x_source, y_source, x_target)
>>> model.fit(x, y, epochs=20, callbacks=[LambdaScheduler()])
>>> labels = model.predict(x_target)["label"].argmax(-1)
"""

import math

import keras
import numpy as np

from recipes.blocks import apply_trunk
from recipes.checks import (
    check_callable,
    check_choice,
    check_int_tuple,
    check_keys,
    check_non_negative,
    check_positive_int,
    check_same_length,
    check_same_sample_shape,
    check_shape,
)
from recipes.compiling import BuiltModel
from recipes.data import derived as _derived  # noqa: F401  (registers the derived sets)
from recipes.heads import HIDDEN_ACTIVATIONS, output_dense
from recipes.layers.gradient_reversal import GradientReversal
from recipes.losses.sequence import MaskedTokenAccuracy
from recipes.presets import dataset_arguments
from recipes.registry import register_builder, register_recipes

IGNORED_LABEL = -1
HEADS = ("label", "domain")


@register_builder(
    loss_doc="sparse categorical cross-entropy for both heads, the label one "
    "ignoring the label ``-1`` (unlabelled target samples); a dict completes it",
    metrics_doc='``IgnoreClassAccuracy`` for ``"label"`` and accuracy for '
    '``"domain"``; a dict completes it',
)
def build_dann(
    input_shape=(8, 8, 1),
    num_classes=10,
    num_domains=2,
    features=(64,),
    label_units=(),
    domain_units=(32,),
    activation="relu",
    lambda_=1.0,
    loss_weights=None,
    name="dann",
):
    """Builds a domain-adversarial network with a label head and a domain head.

    Args:
        input_shape: shape of one sample.
        num_classes: classes of the task (the label head).
        num_domains: domains the domain head tells apart (2: source and target;
            more for several source domains).
        features: the shared feature extractor: a tuple of Dense widths (after a
            flatten) or a Keras layer or model.
        label_units: hidden widths of the label head.
        domain_units: hidden widths of the domain head (after the reversal).
        activation: hidden activation, one of ``HIDDEN_ACTIVATIONS``.
        lambda_: starting strength of the gradient reversal; ``LambdaScheduler``
            or ``model.get_layer("gradient_reversal").set_lambda`` change it.
        loss_weights: a dict ``{"label": w1, "domain": w2}`` (default 1 and 1).
        name: model name.

    Returns:
        A functional ``keras.Model`` with outputs ``{"label": probabilities,
        "domain": probabilities}``.

    Example:

    >>> model = build_dann(input_shape=(8, 8, 1), num_classes=10, lambda_=0.5)
    >>> model.get_layer("gradient_reversal").get_lambda()
    0.5
    """
    input_shape = check_shape("input_shape", input_shape)
    check_positive_int("num_classes", num_classes, minimum=2)
    check_positive_int("num_domains", num_domains, minimum=2)
    label_units = check_int_tuple("label_units", label_units)
    domain_units = check_int_tuple("domain_units", domain_units)
    check_choice("activation", activation, HIDDEN_ACTIVATIONS)
    loss_weights = check_keys("loss_weights", loss_weights, HEADS, what="head")
    for head, weight in loss_weights.items():
        check_non_negative(f"loss_weights[{head!r}]", weight)

    inputs = keras.Input(shape=input_shape, name="inputs")
    shared = apply_trunk(features, inputs, activation, prefix="features")
    label = shared
    for i, units in enumerate(label_units, start=1):
        label = keras.layers.Dense(units, activation=activation, name=f"label_dense_{i}")(label)
    label = output_dense(num_classes, "softmax", name="label")(label)
    domain = GradientReversal(lambda_=lambda_, name="gradient_reversal")(shared)
    for i, units in enumerate(domain_units, start=1):
        domain = keras.layers.Dense(units, activation=activation, name=f"domain_dense_{i}")(domain)
    domain = output_dense(num_domains, "softmax", name="domain")(domain)
    model = keras.Model(inputs, {"label": label, "domain": domain}, name=name)
    return BuiltModel(
        model,
        loss={
            "label": keras.losses.SparseCategoricalCrossentropy(ignore_class=IGNORED_LABEL),
            "domain": "sparse_categorical_crossentropy",
        },
        metrics={"label": [IgnoreClassAccuracy(name="accuracy")], "domain": ["accuracy"]},
        compile_kwargs={
            "loss_weights": {head: float(loss_weights.get(head, 1.0)) for head in HEADS}
        },
    )


def make_dann_data(x_source, y_source, x_target, shuffle=True, seed=0):
    """Stacks labelled source and unlabelled target samples for ``build_dann``.

    Args:
        x_source: source inputs (NumPy), ``(n_source, ...)``.
        y_source: integer source labels, ``(n_source,)``.
        x_target: target inputs, ``(n_target, ...)``; their labels are unknown.
        shuffle: shuffle the stacked samples (so that batches mix domains).
        seed: seed of the shuffle.

    Returns:
        ``(x, y)`` where ``y = {"label": labels, "domain": domains}``: target
        samples get the label ``-1`` (ignored by the label loss) and the domain
        ``1``, source samples the domain ``0``.

    Example:

    >>> x, y = make_dann_data(np.zeros((3, 2)), np.array([0, 1, 1]), np.zeros((2, 2)))
    >>> sorted(y["label"].tolist())
    [-1, -1, 0, 1, 1]
    """
    x_source, x_target = np.asarray(x_source), np.asarray(x_target)
    y_source = np.asarray(y_source)
    check_same_length(x_source, y_source, names=("x_source", "y_source"))
    check_same_sample_shape(x_source, x_target, names=("x_source", "x_target"))
    x = np.concatenate([x_source, x_target])
    labels = np.concatenate(
        [y_source.astype("int32"), np.full(len(x_target), IGNORED_LABEL, "int32")]
    )
    domains = np.concatenate([np.zeros(len(x_source), "int32"), np.ones(len(x_target), "int32")])
    if shuffle:
        order = np.random.default_rng(seed).permutation(len(x))
        x, labels, domains = x[order], labels[order], domains[order]
    return x, {"label": labels, "domain": domains}


def ganin_lambda(progress, gamma=10.0):
    """Ganin and Lempitsky's schedule ``2 / (1 + exp(-gamma * progress)) - 1``.

    It rises from 0 at the start of training (``progress=0``) to about 1 at the
    end (``progress=1``), so that the noisy early domain gradients do not spoil
    the features.
    """
    return 2.0 / (1.0 + math.exp(-gamma * progress)) - 1.0


class LambdaScheduler(keras.callbacks.Callback):
    """Sets the strength of every ``GradientReversal`` layer at each epoch start.

    Args:
        schedule: a function ``progress -> lambda`` where ``progress`` goes from 0
            (first epoch) to 1 (last epoch of the ``fit`` call); default
            ``ganin_lambda``.
        verbose: print the value at each epoch.

    Attributes:
        history: the values set, one per epoch.

    Example:

    >>> model.fit(x, y, epochs=10, callbacks=[LambdaScheduler()])
    """

    def __init__(self, schedule=ganin_lambda, verbose=False):
        super().__init__()
        self.schedule = check_callable("schedule", schedule)
        self.verbose = verbose
        self.history = []

    def on_train_begin(self, logs=None):
        self.history = []
        self._reversal_layers = [
            layer for layer in _all_layers(self.model) if isinstance(layer, GradientReversal)
        ]
        if not self._reversal_layers:
            raise ValueError("LambdaScheduler needs a model with a GradientReversal layer.")

    def on_epoch_begin(self, epoch, logs=None):
        epochs = self.params.get("epochs") or 1
        value = float(self.schedule(epoch / max(epochs - 1, 1)))
        for layer in self._reversal_layers:
            layer.set_lambda(value)
        self.history.append(value)
        if self.verbose:
            print(f"Epoch {epoch + 1}: gradient reversal lambda = {value:.4f}")


@keras.saving.register_keras_serializable(package="recipes")
class IgnoreClassAccuracy(MaskedTokenAccuracy):
    """Accuracy of integer labels that skips one label value (default ``-1``):
    ``recipes.losses.MaskedTokenAccuracy`` with DANN's defaults.

    In a DANN batch the target samples carry the label ``-1``; this metric counts
    only the labelled (source) samples.

    Args:
        ignore_class: the label value to skip.
        name: metric name.
        dtype: dtype of the result.

    Example:

    >>> metric = IgnoreClassAccuracy()
    >>> metric.update_state([1, -1, 0], [[0.1, 0.9], [0.9, 0.1], [0.2, 0.8]])
    >>> float(metric.result())
    0.5
    """

    def __init__(self, ignore_class=IGNORED_LABEL, name="ignore_class_accuracy", dtype=None):
        super().__init__(ignore_class=ignore_class, name=name, dtype=dtype)


def _all_layers(model):
    found = []
    for layer in getattr(model, "layers", []):
        found.append(layer)
        found.extend(_all_layers(layer))
    return found


register_recipes(
    {
        "moons_dann": {
            "builder": build_dann,
            "summary": "DANN from the moons to the moons turned by 35 degrees: features "
            "32-32, reversal strength 1; tested on the unlabelled (turned) domain.",
            **dataset_arguments("moons_domains"),
            "fit": {"epochs": 30, "batch_size": 64},
            "features": (32, 32),
            "lambda_": 1.0,
            "learning_rate": 3e-3,
        },
    }
)
