"""Losses and metrics of the recipes, each registered serializable under the
``recipes`` package name so that models compiled with them save and load with
``safe_mode=True``.

Example:

>>> from recipes.losses import BinaryHinge
>>> model.compile(optimizer="sgd", loss=BinaryHinge(margin=1.0))
"""

from recipes.losses.classification import (
    BinaryHinge,
    MulticlassHinge,
    binary_hinge,
    multiclass_hinge,
    sign_accuracy,
)
from recipes.losses.label_smoothing import SparseSmoothedCrossentropy
from recipes.losses.segmentation import (
    BoundaryWeightedCrossentropy,
    DiceLoss,
    PixelCrossentropy,
    SegmentationMeanIoU,
    boundary_weighted_crossentropy,
    dice_loss,
    pixel_crossentropy,
)
from recipes.losses.sequence import MaskedTokenAccuracy, Perplexity, exact_match, sequence_loss

__all__ = [
    "BinaryHinge",
    "MulticlassHinge",
    "binary_hinge",
    "multiclass_hinge",
    "sign_accuracy",
]
__all__ += ["BoundaryWeightedCrossentropy", "DiceLoss", "PixelCrossentropy", "SegmentationMeanIoU"]
__all__ += ["boundary_weighted_crossentropy", "dice_loss", "pixel_crossentropy"]
__all__ += ["MaskedTokenAccuracy", "Perplexity", "exact_match", "sequence_loss"]
__all__ += ["SparseSmoothedCrossentropy"]
