"""Transfer learning: reuse the lower layers of a trained network (seeds 000 and 003).

The recipe of the course: take a network trained on task A, keep its lower layers
(they detect generic features), put a new output layer on top for task B, *freeze*
the reused layers and train; then *unfreeze* one or two of the top hidden layers and
train again with a small learning rate. The more data task B has, the more layers
can be unfrozen.

Batch normalisation: a frozen ``BatchNormalization`` layer runs in inference mode
(it normalises with its moving statistics and does not update them). As Keras
recommends for fine-tuning, ``unfreeze_top`` leaves batch-norm layers frozen, and
so in inference mode, unless ``batch_norm=True``.

Changes to ``trainable`` take effect at the next ``compile()``: compile after
``freeze`` and after ``unfreeze_top``.

Example:

>>> new = reuse_layers(source_model, up_to=-2, num_classes=5)
>>> freeze(new)
>>> unfreeze_top(new, 1)          # only the new output layer trains
>>> new.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
>>> new.fit(x_few, y_few, epochs=50)
>>> unfreeze_top(new, 2)          # also the top reused hidden layer
>>> new.compile(optimizer=keras.optimizers.Adam(1e-4),
...             loss="sparse_categorical_crossentropy")
"""

import keras

from recipes.checks import check_choice, check_instance, check_positive_int
from recipes.heads import OUTPUT_ACTIVATIONS, default_output_activation


def reuse_layers(
    model,
    up_to,
    num_classes=None,
    output_activation=None,
    copy=True,
    name=None,
):
    """Builds a new model from the lower layers of a trained ``model``.

    Args:
        model: a built ``keras.Model`` (functional or ``Sequential`` with an
            ``Input``).
        up_to: the last layer to keep: its name, or its index in ``model.layers``
            (negative counts from the top: ``-2`` keeps all but the output layer).
        num_classes: when given, a new ``Dense(num_classes)`` output layer named
            ``"new_predictions"`` is put on top of the reused layers; ``None``
            returns the reused layers alone (a feature extractor).
        output_activation: activation of the new output layer; default softmax
            for ``num_classes > 1``, else sigmoid.
        copy: copy the reused layers and their weights, so that training the new
            model leaves ``model`` untouched (Hands-on ML's ``clone_model`` +
            ``set_weights``). ``False`` shares the layers with ``model``.
        name: name of the new model; default ``f"{model.name}_reused"``.

    Returns:
        An uncompiled functional ``keras.Model`` with the same inputs as ``model``
        (all layers trainable until you ``freeze`` them).

    Example:

    >>> source = recipes.build_mlp(input_shape=(8, 8, 1), hidden_units=(64, 32))
    >>> new = reuse_layers(source, up_to="relu_2", num_classes=5)
    >>> [layer.name for layer in new.layers][-2:]
    ['relu_2', 'new_predictions']
    """
    check_instance("model", model, keras.Model, "a keras.Model")
    inputs = _model_inputs(model)
    if inputs is None:
        raise ValueError(
            "`model` must be built with known inputs (a functional model, or a "
            f"Sequential model that starts with keras.Input). Received: model={model.name!r}"
        )
    layer = _find_layer(model, up_to)
    name = name or f"{model.name}_reused"
    features = keras.Model(inputs, layer.output, name=name)
    if copy:
        weights = features.get_weights()
        features = keras.models.clone_model(features)
        features.set_weights(weights)
    if num_classes is None:
        return features
    check_positive_int("num_classes", num_classes)
    output_activation = output_activation or default_output_activation(num_classes)
    check_choice("output_activation", output_activation, OUTPUT_ACTIVATIONS)
    hidden = features.outputs[0]
    if len(hidden.shape) > 2:
        hidden = keras.layers.Flatten(name="new_flatten")(hidden)
    outputs = keras.layers.Dense(
        num_classes, activation=output_activation, name="new_predictions"
    )(hidden)
    return keras.Model(features.input, outputs, name=name)


def freeze(model):
    """Freezes every layer of ``model`` (also inside nested models).

    Frozen layers keep their weights during training; frozen batch-norm layers
    also run in inference mode. ``model`` itself stays "trainable" as a container
    so that ``unfreeze_top`` can thaw single layers later. Compile afterwards.

    Args:
        model: a ``keras.Model`` or any layer.

    Returns:
        ``model``.

    Example:

    >>> freeze(model)
    >>> model.trainable_weights
    []
    """
    for layer in _leaf_layers(model):
        layer.trainable = False
    return model


def unfreeze_top(model, k, batch_norm=False):
    """Makes the ``k`` topmost layers that have weights trainable again.

    The other layers keep their state. Batch-norm layers are skipped (neither
    counted nor unfrozen, so they stay in inference mode) unless
    ``batch_norm=True``. Compile afterwards, usually with a smaller learning rate.

    Args:
        model: a ``keras.Model``.
        k: how many layers with weights to unfreeze, counted from the output;
            0 unfreezes nothing.
        batch_norm: also count and unfreeze ``BatchNormalization`` layers.

    Returns:
        The ``k`` layers this call made trainable (topmost last).

    Example:

    >>> freeze(model)
    >>> [layer.name for layer in unfreeze_top(model, 2)]
    ['dense_2', 'new_predictions']
    """
    check_positive_int("k", k, minimum=0)
    leaves = _leaf_layers(model)
    candidates = [
        layer
        for layer in leaves
        if layer.weights and (batch_norm or not isinstance(layer, keras.layers.BatchNormalization))
    ]
    top = candidates[len(candidates) - k :] if k else []
    wanted = {id(layer): layer.trainable or any(layer is t for t in top) for layer in leaves}
    # Setting ``trainable`` on a container cascades to all its layers, so the
    # containers are switched on first and each leaf gets its own state after.
    for container in _containers(model):
        container.trainable = True
    for layer in leaves:
        layer.trainable = wanted[id(layer)]
    return top


def _model_inputs(model):
    # A functional model keeps the structure of its inputs (a tensor, a list or a
    # dict) in ``input``; a Sequential model only has the flat ``inputs`` list.
    try:
        return model.input
    except (AttributeError, ValueError):
        pass
    try:
        inputs = model.inputs
    except (AttributeError, ValueError):
        return None
    return inputs[0] if inputs and len(inputs) == 1 else None


def _find_layer(model, up_to):
    if isinstance(up_to, str):
        names = [layer.name for layer in model.layers]
        if up_to not in names:
            raise ValueError(
                f"`up_to` must name a layer of the model, one of {names}. "
                f"Received: up_to={up_to!r}"
            )
        return model.get_layer(up_to)
    if isinstance(up_to, bool) or not isinstance(up_to, int):
        raise ValueError(f"`up_to` must be a layer name or an index. Received: up_to={up_to!r}")
    count = len(model.layers)
    if not -count <= up_to < count:
        raise ValueError(
            f"`up_to` must be an index in [-{count}, {count - 1}] (the model has {count} "
            f"layers). Received: up_to={up_to!r}"
        )
    layer = model.layers[up_to]
    if isinstance(layer, keras.layers.InputLayer):
        raise ValueError(f"`up_to` must not be the input layer. Received: up_to={up_to!r}")
    return layer


def _containers(model):
    if not isinstance(model, keras.Model):
        return []
    found = [model]
    for layer in model.layers:
        found.extend(_containers(layer))
    return found


def _leaf_layers(model):
    if not isinstance(model, keras.Model):
        return [model]
    leaves = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        leaves.extend(_leaf_layers(layer))
    return leaves
