"""Custom Keras layers of the recipes, each registered serializable under the
``recipes`` package name so that ``.keras`` files load with ``safe_mode=True``."""

from recipes.layers.additive_attention import BahdanauAttention, LuongAttention
from recipes.layers.airbench import PartialIdentity, ScaledBias
from recipes.layers.attention import (
    ClassToken,
    LearnedPositionalEmbedding,
    MultiHeadAttention,
    PaddingMask,
    ScaledDotProductAttention,
    SelectToken,
    SinusoidalPositionalEmbedding,
    TransformerDecoderBlock,
    TransformerEncoderBlock,
)
from recipes.layers.augmentation import ApplyFlips, RandomAffine, RandomFlip, RandomPadCrop
from recipes.layers.autoencoder import DenseTranspose
from recipes.layers.coupling import AffineCoupling
from recipes.layers.flow import Squeeze, Unsqueeze
from recipes.layers.gradient_reversal import GradientReversal
from recipes.layers.group_conv import P4ConvP4, P4ConvZ2, P4Pool
from recipes.layers.normalization import LocalResponseNormalization
from recipes.layers.recurrent import GRU1Cell, GRU2Cell, GRU3Cell, LayerNormGRUCell, MGUCell

__all__ = ["GradientReversal", "LocalResponseNormalization"]
__all__ += ["ApplyFlips", "RandomAffine", "RandomFlip", "RandomPadCrop"]
__all__ += ["Squeeze", "Unsqueeze", "P4ConvP4", "P4ConvZ2", "P4Pool"]
__all__ += [
    "ClassToken",
    "LearnedPositionalEmbedding",
    "MultiHeadAttention",
    "PaddingMask",
    "ScaledDotProductAttention",
    "SelectToken",
    "SinusoidalPositionalEmbedding",
    "TransformerDecoderBlock",
    "TransformerEncoderBlock",
]
__all__ += ["AffineCoupling", "DenseTranspose"]
__all__ += [
    "BahdanauAttention",
    "LuongAttention",
    "GRU1Cell",
    "GRU2Cell",
    "GRU3Cell",
    "LayerNormGRUCell",
    "MGUCell",
]
__all__ += ["PartialIdentity", "ScaledBias"]
