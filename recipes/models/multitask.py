"""Multitask networks: one shared trunk, several named heads (seed 003).

The trunk learns one representation for all tasks; each head turns it into the
output of its task, with its own loss and loss weight. The total loss that training
minimises is ``sum(loss_weights[head] * loss[head])``.
"""

import keras

from recipes.blocks import apply_trunk
from recipes.checks import (
    check_choice,
    check_head_specs,
    check_keys,
    check_non_negative,
    check_shape,
)
from recipes.compiling import BuiltModel
from recipes.data import derived as _derived  # noqa: F401  (registers the derived sets)
from recipes.heads import HIDDEN_ACTIVATIONS, default_loss_and_metrics, output_dense
from recipes.presets import dataset_arguments
from recipes.registry import register_builder, register_recipes


@register_builder(
    loss_doc="a dict ``head -> loss`` whose heads get the loss that suits their "
    "activation (sparse categorical cross-entropy, binary cross-entropy, squared "
    "error or Poisson); a user's dict completes it",
    metrics_doc="a dict ``head -> list of metrics``: accuracy for classification "
    "heads, MAE for regression heads; a user's dict completes it",
)
def build_multitask(
    input_shape=(8, 8, 1),
    trunk=(64,),
    heads=None,
    activation="relu",
    loss_weights=None,
    name="multitask",
):
    """Builds a shared trunk with several named output heads.

    Args:
        input_shape: shape of one sample; inputs of more than one dimension are
            flattened before a Dense trunk.
        trunk: the shared part: a tuple of hidden widths (a Dense stack with
            ``activation``) or any Keras layer or model, e.g. a small CNN, called
            on the inputs.
        heads: a dict ``name -> spec``, two or more heads. A spec is an int (the
            number of classes: softmax for more than one, else sigmoid) or a dict
            with ``units``, optional ``activation`` (one of
            ``OUTPUT_ACTIVATIONS``; ``"linear"`` for regression) and optional
            ``hidden_units`` (a private Dense stack of that head). Default
            ``{"digit": 10, "parity": 1}``.
        activation: hidden activation of the Dense trunk and of the heads' hidden
            layers, one of ``HIDDEN_ACTIVATIONS``.
        loss_weights: a dict ``head -> weight >= 0`` (default 1 for each head);
            the training loss is the weighted sum of the heads' losses.
        name: model name.

    Returns:
        A functional ``keras.Model`` whose output is a dict ``head -> tensor``.
        ``fit`` takes ``y`` as a dict with the same keys.

    Example:

    >>> model = build_multitask(
    ...     input_shape=(8, 8, 1), trunk=(64,),
    ...     heads={"digit": 10, "parity": 1, "ink": {"units": 1, "activation": "linear"}},
    ...     loss_weights={"digit": 1.0, "parity": 0.5, "ink": 2.0})
    >>> sorted(model.output)
    ['digit', 'ink', 'parity']
    """
    input_shape = check_shape("input_shape", input_shape)
    check_choice("activation", activation, HIDDEN_ACTIVATIONS)
    heads = check_head_specs({"digit": 10, "parity": 1} if heads is None else heads)
    loss_weights = check_keys("loss_weights", loss_weights, tuple(heads), what="head")
    for head, weight in loss_weights.items():
        check_non_negative(f"loss_weights[{head!r}]", weight)

    inputs = keras.Input(shape=input_shape, name="inputs")
    features = apply_trunk(trunk, inputs, activation)
    outputs = {}
    for head, spec in heads.items():
        x = features
        for i, units in enumerate(spec["hidden_units"], start=1):
            x = keras.layers.Dense(units, activation=activation, name=f"{head}_dense_{i}")(x)
        outputs[head] = output_dense(spec["units"], spec["activation"], name=head)(x)
    model = keras.Model(inputs, outputs, name=name)

    defaults = {head: default_loss_and_metrics(spec["activation"]) for head, spec in heads.items()}
    return BuiltModel(
        model,
        loss={head: loss for head, (loss, _) in defaults.items()},
        metrics={head: metrics for head, (_, metrics) in defaults.items()},
        compile_kwargs={
            "loss_weights": {head: float(loss_weights.get(head, 1.0)) for head in heads}
        },
    )


register_recipes(
    {
        "digits_multitask": {
            "builder": build_multitask,
            "summary": "Shared 64-unit trunk for the offline 8x8 digits with two heads: the "
            "digit (softmax) and its parity (sigmoid, loss weight 0.5).",
            **dataset_arguments("digits_multitask", "input_shape"),
            "fit": {"epochs": 20, "batch_size": 32},
            "trunk": (64,),
            "heads": {"digit": 10, "parity": 1},
            "loss_weights": {"digit": 1.0, "parity": 0.5},
        },
    }
)
