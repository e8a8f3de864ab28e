"""Q-networks for deep Q-learning (seed 004): fully connected and convolutional.

A Q-network maps a state to one value per action, ``Q(s, a)``: the expected
discounted return of taking ``a`` in ``s`` and acting well afterwards. It is trained
(``recipes.rl.train_dqn``) on the squared error between ``Q(s, a)`` and the target
``r + gamma * max_a' Q_target(s', a')``.
"""

import keras

from recipes.checks import check_choice, check_positive_int, check_shape
from recipes.compiling import compile_recipe
from recipes.heads import HIDDEN_ACTIVATIONS
from recipes.registry import register_builder, register_recipe

KINDS = ("dense", "conv")


@register_builder
def build_dqn(
    input_shape=(5, 5, 2),
    num_actions=4,
    kind="dense",
    hidden_units=(64, 64),
    filters=(16, 32),
    kernel_size=3,
    activation="relu",
    name="dqn",
    compile=True,
    optimizer="adam",
    learning_rate=1e-3,
    loss=None,
    metrics=None,
):
    """Builds a Q-network: state in, one Q-value per action out (linear).

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
        compile: compile with the defaults below (False: return uncompiled).
        optimizer: optimizer name, config or instance.
        learning_rate: learning rate of the optimizer.
        loss: default the squared error of the seed (``"mean_squared_error"``);
            ``"huber"`` is a common, more robust choice.
        metrics: default none.

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
    hidden_units = tuple(hidden_units)
    for i, units in enumerate(hidden_units):
        check_positive_int(f"hidden_units[{i}]", units)
    check_choice("activation", activation, HIDDEN_ACTIVATIONS)
    check_positive_int("kernel_size", kernel_size)
    filters = tuple(filters)
    if kind == "conv":
        check_shape("input_shape", input_shape, ndim=3)
        if not filters:
            raise ValueError("`filters` must hold at least one value for kind='conv'.")
        for i, count in enumerate(filters):
            check_positive_int(f"filters[{i}]", count)

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
    model.add(keras.layers.Dense(num_actions, dtype="float32", name="q_values"))
    return compile_recipe(
        model,
        compile=compile,
        optimizer=optimizer,
        learning_rate=learning_rate,
        loss=loss or "mean_squared_error",
        metrics=[] if metrics is None else metrics,
    )


register_recipe(
    "mouse_dqn_dense",
    build_dqn,
    "Seed 004's model 1 for the mouse-and-cheese game: fully connected Q-network on "
    "the 5x5x2 view, 4 actions.",
    kind="dense",
)

register_recipe(
    "mouse_dqn_conv",
    build_dqn,
    "Seed 004's model 2 for the mouse-and-cheese game: convolutional Q-network on "
    "the 5x5x2 view, 4 actions.",
    kind="conv",
)
