"""Linear models (seeds 001 and 002): perceptron, logistic, softmax and linear
regression — one ``Dense`` layer each, told apart by output and loss."""

import keras

from recipes.checks import check_choice, check_linear_kind, check_non_negative, check_shape
from recipes.compiling import BuiltModel
from recipes.heads import head_model, output_dense
from recipes.losses import BinaryHinge, MulticlassHinge, sign_accuracy
from recipes.presets import dataset_arguments
from recipes.registry import register_builder, register_recipes

LINEAR_KINDS = ("perceptron", "logistic", "softmax", "linear")


@register_builder(
    optimizer="sgd",
    learning_rate=0.1,
    loss_doc="the kind's loss (table above)",
    metrics_doc="``sign_accuracy`` for a binary perceptron, accuracy for the other "
    "classifiers, the mean absolute error for ``linear``",
)
def build_linear(
    kind="logistic",
    input_shape=(2,),
    num_classes=None,
    margin=None,
    l1=0.0,
    l2=0.0,
    name=None,
):
    """Builds a linear model ``w = A x + b`` with the output and loss of its kind.

    ============  =====================  =====================================
    kind          output                 default loss (seed 002)
    ============  =====================  =====================================
    perceptron    raw score(s)           hinge: ``BinaryHinge`` for 2 classes
                                         (-1/1 or 0/1 labels), else
                                         ``MulticlassHinge`` (integer labels)
    logistic      one sigmoid unit       binary cross-entropy (0/1 labels)
    softmax       softmax over classes   sparse categorical cross-entropy
    linear        ``num_classes`` values squared error (``loss="mae"`` for the
                                         absolute error)
    ============  =====================  =====================================

    Image inputs are flattened first. A binary perceptron predicts the positive
    class when its score is ``> 0``; ``recipes.losses.sign_accuracy`` measures it.

    Args:
        kind: one of ``LINEAR_KINDS``.
        input_shape: shape of one sample, e.g. ``(2,)`` or ``(8, 8, 1)``.
        num_classes: classes for ``perceptron`` and ``softmax`` (default 2),
            must be 2 for ``logistic``; number of targets for ``linear``
            (default 1).
        margin: hinge margin of the perceptron (default 1.0); perceptron only.
        l1: L1 penalty on the weights.
        l2: L2 penalty on the weights.
        name: model name (default: ``kind``).

    Returns:
        A ``keras.Sequential`` model.

    Example:

    >>> model = build_linear("perceptron", input_shape=(2,))
    >>> model.output_shape, model.count_params()
    ((None, 1), 3)
    >>> build_linear("softmax", input_shape=(8, 8, 1), num_classes=10).count_params()
    650
    """
    check_choice("kind", kind, LINEAR_KINDS)
    input_shape = check_shape("input_shape", input_shape)
    num_classes, margin = check_linear_kind(kind, num_classes, margin)
    l1, l2 = check_non_negative("l1", l1), check_non_negative("l2", l2)

    binary = num_classes == 2 and kind in ("perceptron", "logistic")
    units = 1 if binary else num_classes
    activation = {"perceptron": None, "logistic": "sigmoid", "softmax": "softmax", "linear": None}[
        kind
    ]
    model = keras.Sequential(name=name or kind)
    model.add(keras.Input(shape=input_shape, name="inputs"))
    if len(input_shape) > 1:
        model.add(keras.layers.Flatten(name="flatten"))
    model.add(
        output_dense(
            units,
            activation,
            kernel_regularizer=keras.regularizers.L1L2(l1, l2) if l1 or l2 else None,
            name="scores" if activation is None else "predictions",
        )
    )
    if kind != "perceptron":
        return head_model(model, activation or "linear")
    if binary:
        return BuiltModel(model, loss=BinaryHinge(margin=margin), metrics=[sign_accuracy])
    return BuiltModel(
        model, loss=MulticlassHinge(margin=margin), metrics=["sparse_categorical_accuracy"]
    )


register_recipes(
    {
        "digits_softmax": {
            "builder": build_linear,
            "summary": "Softmax regression (one linear layer, 650 params) for the offline "
            "8x8 digits, SGD 0.1.",
            **dataset_arguments("digits"),
            "fit": {"epochs": 20, "batch_size": 32},
            "kind": "softmax",
        },
        "moons_logistic": {
            "builder": build_linear,
            "summary": "Logistic regression for the offline 2-D moons (a linear boundary, "
            "3 params), SGD 0.1.",
            **dataset_arguments("moons"),
            "fit": {"epochs": 20, "batch_size": 32},
            "kind": "logistic",
        },
    }
)
