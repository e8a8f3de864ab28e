"""How builders compile the model they return: the recipe's defaults, the user's
overrides, or no compilation at all (``compile=False``)."""

import keras


def get_optimizer(optimizer="adam", learning_rate=None):
    """Returns a fresh optimizer.

    Args:
        optimizer: a name (``"adam"``, ``"sgd"``, ``"adamw"``, ``"rmsprop"``...), a
            config dict, or an optimizer instance.
        learning_rate: a float or a ``LearningRateSchedule``; ``None`` keeps the
            optimizer's own. Not allowed with an optimizer instance.

    Example:

    >>> get_optimizer("sgd", 0.01).learning_rate
    """
    if isinstance(optimizer, keras.optimizers.Optimizer):
        if learning_rate is not None:
            raise ValueError(
                "Pass `learning_rate` with an optimizer name, not with an optimizer "
                f"instance. Received: optimizer={optimizer!r}, "
                f"learning_rate={learning_rate!r}"
            )
        return optimizer
    if isinstance(optimizer, str):
        optimizer = {"class_name": optimizer, "config": {}}
    config = dict(optimizer.get("config", {}))
    if learning_rate is not None:
        config["learning_rate"] = learning_rate
    try:
        return keras.optimizers.get({**optimizer, "config": config})
    except ValueError as error:
        raise ValueError(
            "`optimizer` must be a Keras optimizer name such as 'adam', 'sgd', "
            f"'adamw' or 'rmsprop', or an optimizer. Received: optimizer={optimizer!r}"
        ) from error


def compile_recipe(
    model,
    compile=True,
    optimizer="adam",
    learning_rate=None,
    loss=None,
    metrics=None,
    **compile_kwargs,
):
    """Compiles ``model`` with a recipe's defaults unless ``compile`` is False.

    Builders call this last, passing their own defaults for ``loss`` and
    ``metrics`` when the user gave none.

    Args:
        model: the ``keras.Model`` to compile.
        compile: when False, return ``model`` uncompiled.
        optimizer: see ``get_optimizer``.
        learning_rate: see ``get_optimizer``.
        loss: a Keras loss (name, function or instance).
        metrics: a list of Keras metrics.
        **compile_kwargs: anything else ``Model.compile`` takes
            (``jit_compile``, ``steps_per_execution``, ``loss_weights``...).

    Returns:
        ``model``.
    """
    if compile:
        model.compile(
            optimizer=get_optimizer(optimizer, learning_rate),
            loss=loss,
            metrics=list(metrics or []),
            **compile_kwargs,
        )
    return model
