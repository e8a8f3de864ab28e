"""Vision transformer (Dosovitskiy et al. 2021; seed 004's "visualizing
self-attention for images"): self-attention over image patches, with the
attention maps read out for a picture."""

import keras
import numpy as np

from recipes.blocks import apply_transformer_encoder
from recipes.checks import (
    check_choice,
    check_positive_int,
    check_shape,
    check_sides_divisible,
    check_transformer_arguments,
)
from recipes.heads import HEAD_DOCS, default_output_activation, head_model, output_dense
from recipes.layers.attention import (
    ClassToken,
    LearnedPositionalEmbedding,
    SelectToken,
    TransformerEncoderBlock,
)
from recipes.presets import dataset_arguments
from recipes.registry import register_builder, register_recipes

ATTENTION_MAP_METHODS = ("rollout", "last")


@register_builder(**HEAD_DOCS)
def build_vit(
    input_shape=(32, 32, 3),
    num_classes=10,
    patch_size=4,
    embed_dim=64,
    num_heads=4,
    feed_forward_dim=128,
    num_layers=4,
    dropout=0.1,
    activation="gelu",
    norm_first=True,
    output_activation=None,
    name="vit",
):
    """Builds a vision transformer classifier.

    The image is cut into ``patch_size`` x ``patch_size`` patches, each linearly
    embedded (a strided ``Conv2D`` named ``"patch_embedding"``); a learned class
    token is prepended, learned position embeddings are added, and
    ``num_layers`` encoder blocks (pre-norm by default, as in the paper) attend
    over the ``1 + (H / p) (W / p)`` tokens. The class token's final vector goes
    through a layer norm to ``Dense(num_classes)`` in float32. The blocks are
    named ``"encoder_block_1"``... and return their attention weights inside
    the graph, so ``vit_attention_weights`` and ``vit_attention_maps`` read them
    for any image, also after ``keras.saving.load_model``.

    Parameters: ``p^2 c d + d`` (patches) ``+ d`` (class token) ``+ (N + 1) d``
    (positions) ``+ num_layers * (4d^2 + 4d + 2df + f + d + 4d)`` ``+ 2d`` (final
    norm, pre-norm only) ``+ d K + K`` (head).

    Args:
        input_shape: ``(height, width, channels)``, both sides divisible by
            ``patch_size``.
        num_classes: classes; 1 gives one sigmoid output.
        patch_size: side of the square patches.
        embed_dim: width of the patch embeddings and of every block.
        num_heads: attention heads (must divide ``embed_dim``).
        feed_forward_dim: hidden width of each feed-forward network.
        num_layers: encoder blocks.
        dropout: dropout rate of the embeddings and blocks.
        activation: feed-forward activation (``"gelu"`` in the paper).
        norm_first: pre-norm blocks (True, ViT) or post-norm.
        output_activation: ``"softmax"`` or ``"sigmoid"`` (the default for
            ``num_classes=1``).
        name: model name.

    Returns:
        A functional ``keras.Model`` from images to class probabilities.

    Example:

    >>> model = build_vit(input_shape=(8, 8, 1), num_classes=10, patch_size=2,
    ...                   embed_dim=32, num_layers=2)
    >>> maps = vit_attention_maps(model, images)  # (n, 4, 4)
    """
    input_shape = check_shape("input_shape", input_shape, ndim=3)
    check_positive_int("num_classes", num_classes)
    check_positive_int("patch_size", patch_size)
    check_sides_divisible(input_shape, patch_size, f"`patch_size` = {patch_size}", known=True)
    check_transformer_arguments(
        embed_dim, num_heads, feed_forward_dim, num_layers, dropout, activation, norm_first
    )
    output_activation = output_activation or default_output_activation(num_classes)
    check_choice("output_activation", output_activation, ("softmax", "sigmoid"))
    height, width, _ = input_shape
    num_patches = (height // patch_size) * (width // patch_size)
    initializer = keras.initializers.TruncatedNormal(stddev=0.02)

    images = keras.Input(shape=input_shape, name="images")
    x = keras.layers.Conv2D(embed_dim, patch_size, strides=patch_size, name="patch_embedding")(
        images
    )
    x = keras.layers.Reshape((num_patches, embed_dim), name="patches")(x)
    x = ClassToken(initializer=initializer, name="class_token")(x)
    x = LearnedPositionalEmbedding(
        num_patches + 1, initializer=initializer, name="position_embedding"
    )(x)
    if dropout:
        x = keras.layers.Dropout(dropout, name="embedding_dropout")(x)
    block_arguments = (num_heads, feed_forward_dim, dropout, activation, norm_first)
    x = apply_transformer_encoder(x, num_layers, *block_arguments, return_attention_scores=True)
    x = SelectToken(0, name="class_output")(x)
    outputs = output_dense(num_classes, output_activation)(x)
    return head_model(keras.Model(images, outputs, name=name), output_activation)


def _encoder_blocks(model):
    blocks = [layer for layer in model.layers if isinstance(layer, TransformerEncoderBlock)]
    if not blocks:
        raise ValueError(f"Model {model.name!r} has no TransformerEncoderBlock: use build_vit.")
    return blocks


def vit_attention_weights(model, images, batch_size=64):
    """Every block's attention weights for ``images``.

    Args:
        model: a ``build_vit`` model (or one loaded from its ``.keras``).
        images: float array ``(n, height, width, channels)``.
        batch_size: batch size of the forward pass.

    Returns:
        A list, one float32 array ``(n, heads, tokens, tokens)`` per block; token
        0 is the class token, then the patches row by row.
    """
    blocks = _encoder_blocks(model)
    probe = keras.Model(model.input, [block.output[1] for block in blocks])
    images = np.asarray(images, "float32")
    batches = []
    for first in range(0, len(images), batch_size):
        outputs = probe(images[first : first + batch_size], training=False)
        batches.append(list(outputs) if isinstance(outputs, (list, tuple)) else [outputs])
    return [
        np.concatenate([keras.ops.convert_to_numpy(batch[k]) for batch in batches]).astype(
            "float32"
        )
        for k in range(len(blocks))
    ]


def vit_attention_maps(model, images, method="rollout", batch_size=64):
    """Where the class token looks: one ``(grid_height, grid_width)`` map per image.

    ``"last"`` averages the last block's heads and keeps the class token's row;
    ``"rollout"`` (Abnar and Zuidema 2020) multiplies the head-averaged weights
    of all blocks, each mixed half and half with the identity for the residual
    path, and keeps the class token's row. Each map sums to 1 over the patches.

    Args:
        model: a ``build_vit`` model.
        images: float array ``(n, height, width, channels)``.
        method: one of ``ATTENTION_MAP_METHODS``.
        batch_size: batch size of the forward pass.

    Returns:
        float32 array ``(n, height / patch_size, width / patch_size)``.

    Example:

    >>> maps = vit_attention_maps(model, images[:4])
    >>> recipes.plots.plot_attention_overlay(images[:4], maps, "attention.png")
    """
    check_choice("method", method, ATTENTION_MAP_METHODS)
    weights = [w.mean(axis=1) for w in vit_attention_weights(model, images, batch_size)]
    if method == "last":
        combined = weights[-1]
    else:
        tokens = weights[0].shape[-1]
        combined = np.broadcast_to(np.eye(tokens, dtype="float32"), weights[0].shape)
        for layer_weights in weights:
            mixed = 0.5 * layer_weights + 0.5 * np.eye(tokens, dtype="float32")
            mixed /= mixed.sum(axis=-1, keepdims=True)
            combined = mixed @ combined
    patches = combined[:, 0, 1:]
    patches = patches / np.maximum(patches.sum(axis=-1, keepdims=True), 1e-12)
    grid = model.get_layer("patch_embedding").output.shape[1:3]
    return patches.reshape(len(patches), *grid).astype("float32")


register_recipes(
    {
        "digits_vit": {
            "builder": build_vit,
            "summary": "Tiny vision transformer for the offline 8x8 digits: 2x2 patches, 2 blocks "
            "of width 32.",
            **dataset_arguments("digits"),
            "fit": {"epochs": 60, "batch_size": 64},
            "patch_size": 2,
            "embed_dim": 32,
            "num_heads": 4,
            "feed_forward_dim": 64,
            "num_layers": 2,
            "dropout": 0.0,
        },
    }
)
