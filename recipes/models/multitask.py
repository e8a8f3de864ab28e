"""Multitask networks: one shared trunk, several named heads (seed 003).

The trunk learns one representation for all tasks; each head turns it into the
output of its task, with its own loss and loss weight. The total loss that training
minimises is ``sum(loss_weights[head] * loss[head])``.
"""

import keras

from recipes.checks import check_choice, check_non_negative, check_positive_int, check_shape
from recipes.compiling import compile_recipe
from recipes.heads import HIDDEN_ACTIVATIONS, OUTPUT_ACTIVATIONS, default_loss_and_metrics
from recipes.registry import register_builder

_HEAD_KEYS = ("units", "activation", "hidden_units")


@register_builder
def build_multitask(
    input_shape=(8, 8, 1),
    trunk=(64,),
    heads=None,
    activation="relu",
    name="multitask",
    compile=True,
    optimizer="adam",
    learning_rate=1e-3,
    loss=None,
    loss_weights=None,
    metrics=None,
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
        name: model name.
        compile: compile with the defaults below (False: return uncompiled).
        optimizer: optimizer name, config or instance.
        learning_rate: learning rate of the optimizer.
        loss: a dict ``head -> loss``; heads left out get the loss that suits
            their activation (sparse categorical cross-entropy, binary
            cross-entropy, squared error or Poisson).
        loss_weights: a dict ``head -> weight >= 0`` (default 1 for each head);
            the training loss is the weighted sum of the heads' losses.
        metrics: a dict ``head -> list of metrics``; default accuracy for
            classification heads and MAE for regression heads.

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
    heads = _check_heads({"digit": 10, "parity": 1} if heads is None else heads)
    loss = _check_per_head("loss", loss, heads)
    metrics = _check_per_head("metrics", metrics, heads)
    loss_weights = _check_per_head("loss_weights", loss_weights, heads)
    for head, weight in loss_weights.items():
        check_non_negative(f"loss_weights[{head!r}]", weight)

    inputs = keras.Input(shape=input_shape, name="inputs")
    features = apply_trunk(trunk, inputs, activation)
    outputs = {}
    for head, spec in heads.items():
        x = features
        for i, units in enumerate(spec["hidden_units"], start=1):
            x = keras.layers.Dense(units, activation=activation, name=f"{head}_dense_{i}")(x)
        outputs[head] = keras.layers.Dense(  # float32: a stable loss in mixed precision
            spec["units"], activation=spec["activation"], dtype="float32", name=head
        )(x)
    model = keras.Model(inputs, outputs, name=name)

    losses, all_metrics = {}, {}
    for head, spec in heads.items():
        default_loss, default_metrics = default_loss_and_metrics(spec["activation"])
        losses[head] = loss.get(head) or default_loss
        all_metrics[head] = list(metrics.get(head, default_metrics))
    return compile_recipe(
        model,
        compile=compile,
        optimizer=optimizer,
        learning_rate=learning_rate,
        loss=losses,
        metrics=all_metrics,
        loss_weights={head: float(loss_weights.get(head, 1.0)) for head in heads},
    )


def _check_heads(heads):
    if not isinstance(heads, dict) or len(heads) < 2:
        raise ValueError(
            "`heads` must be a dict of two or more `name -> spec` entries. "
            f"Received: heads={heads!r}"
        )
    checked = {}
    for head, spec in heads.items():
        if not isinstance(head, str) or not head.isidentifier():
            raise ValueError(
                f"`heads` keys must be names (identifiers). Received: heads key {head!r}"
            )
        if isinstance(spec, int) and not isinstance(spec, bool):
            spec = {"units": spec}
        if not isinstance(spec, dict) or "units" not in spec:
            raise ValueError(
                f"`heads[{head!r}]` must be an int or a dict with 'units'. Received: {spec!r}"
            )
        unknown = sorted(set(spec) - set(_HEAD_KEYS))
        if unknown:
            raise ValueError(
                f"`heads[{head!r}]` has unknown key(s) {unknown}; allowed: {_HEAD_KEYS}."
            )
        units = check_positive_int(f"heads[{head!r}]['units']", spec["units"])
        activation = spec.get("activation") or ("softmax" if units > 1 else "sigmoid")
        check_choice(f"heads[{head!r}]['activation']", activation, OUTPUT_ACTIVATIONS)
        hidden = tuple(spec.get("hidden_units", ()))
        for i, width in enumerate(hidden):
            check_positive_int(f"heads[{head!r}]['hidden_units'][{i}]", width)
        checked[head] = {"units": units, "activation": activation, "hidden_units": hidden}
    return checked


def _check_per_head(argument, value, heads):
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError(
            f"`{argument}` must be a dict keyed by head name ({', '.join(heads)}). "
            f"Received: {argument}={value!r}"
        )
    unknown = sorted(set(value) - set(heads))
    if unknown:
        raise ValueError(
            f"`{argument}` names unknown head(s) {unknown}; the heads are {', '.join(heads)}."
        )
    return dict(value)


def apply_trunk(trunk, inputs, activation, prefix="trunk"):
    """Applies a shared trunk to ``inputs`` and returns flat features.

    ``trunk`` is a tuple of Dense widths (``f"{prefix}_dense_{i}"`` layers with
    ``activation``, after a flatten for inputs of rank > 1) or a Keras layer or
    model called as it is.
    """
    if isinstance(trunk, keras.layers.Layer):
        features = trunk(inputs)
    else:
        try:
            if isinstance(trunk, str):
                raise TypeError
            widths = tuple(trunk)
        except TypeError:
            raise ValueError(
                f"`{prefix}` must be a tuple of hidden widths or a Keras layer/model. "
                f"Received: {prefix}={trunk!r}"
            ) from None
        for i, width in enumerate(widths):
            check_positive_int(f"{prefix}[{i}]", width)
        features = inputs
        if len(inputs.shape) > 2:
            features = keras.layers.Flatten(name=f"{prefix}_flatten")(features)
        for i, width in enumerate(widths, start=1):
            features = keras.layers.Dense(
                width, activation=activation, name=f"{prefix}_dense_{i}"
            )(features)
    if len(features.shape) > 2:
        features = keras.layers.Flatten(name=f"{prefix}_features")(features)
    return features
