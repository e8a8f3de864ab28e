"""Q-networks for deep Q-learning (seed 004): fully connected and convolutional.

A Q-network maps a state to one value per action, ``Q(s, a)``: the expected
discounted return of taking ``a`` in ``s`` and acting well afterwards. It is trained
(``recipes.rl.train_dqn``) on the squared error between ``Q(s, a)`` and the target
``r + gamma * max_a' Q_target(s', a')``.
"""

import keras

from recipes.checks import (
    check_choice,
    check_int_tuple,
    check_layer_sizes,
    check_positive_int,
    check_shape,
)
from recipes.heads import HIDDEN_ACTIVATIONS, output_dense
from recipes.registry import register_builder, register_recipes

KINDS = ("dense", "conv")


@register_builder(loss="mean_squared_error", metrics=list)
def build_dqn(
    input_shape=(5, 5, 2),
    num_actions=4,
    kind="dense",
    hidden_units=(64, 64),
    filters=(16, 32),
    kernel_size=3,
    activation="relu",
    name="dqn",
):
    """Builds a Q-network: state in, one Q-value per action out (linear).

    The default loss is seed 004's squared error; ``loss="huber"`` is a common,
    more robust choice.

    Args:
        input_shape: shape of one state; ``(5, 5, 2)`` is the mouse's 5x5 view of
            ``recipes.rl.MouseGame`` (food and walls channels).
        num_actions: number of actions (outputs).
        kind: ``"dense"`` (seed 004's model 1: flatten and Dense layers) or
            ``"conv"`` (model 2: ``same``-padded convolutions, then Dense layers).
        hidden_units: widths of the Dense layers before the output.
        filters: filters of each convolution (``kind="conv"`` only).
        kernel_size: convolution kernel size (``kind="conv"`` only).
        activation: hidden activation, one of ``HIDDEN_ACTIVATIONS``.
        name: model name.

    Returns:
        A ``keras.Sequential`` model.

    Example:

    >>> model = build_dqn(kind="conv")
    >>> model.output_shape
    (None, 4)
    """
    input_shape = check_shape("input_shape", input_shape)
    check_positive_int("num_actions", num_actions)
    check_choice("kind", kind, KINDS)
    hidden_units = check_int_tuple("hidden_units", hidden_units)
    check_choice("activation", activation, HIDDEN_ACTIVATIONS)
    check_positive_int("kernel_size", kernel_size)
    if kind == "conv":
        check_shape("input_shape", input_shape, ndim=3)
        filters = check_layer_sizes("filters", filters)

    model = keras.Sequential(name=name)
    model.add(keras.Input(shape=input_shape, name="state"))
    if kind == "conv":
        for i, count in enumerate(filters, start=1):
            model.add(
                keras.layers.Conv2D(
                    count, kernel_size, padding="same", activation=activation, name=f"conv_{i}"
                )
            )
    if len(input_shape) > 1:
        model.add(keras.layers.Flatten(name="flatten"))
    for i, units in enumerate(hidden_units, start=1):
        model.add(keras.layers.Dense(units, activation=activation, name=f"dense_{i}"))
    model.add(output_dense(num_actions, None, name="q_values"))
    return model


register_recipes(
    {
        "mouse_dqn_dense": {
            "builder": build_dqn,
            "summary": "Seed 004's model 1 for the mouse-and-cheese game: fully connected "
            "Q-network on the 5x5x2 view, 4 actions.",
            "kind": "dense",
            "trainer": "dqn",
        },
        "mouse_dqn_conv": {
            "builder": build_dqn,
            "summary": "Seed 004's model 2 for the mouse-and-cheese game: convolutional Q-network "
            "on the 5x5x2 view, 4 actions.",
            "kind": "conv",
            "trainer": "dqn",
        },
    }
)
