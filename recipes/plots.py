"""Pictures people would rather look at than numbers: segmentation masks, attention
maps, lines against a shared x (the reproductions' figures), and (from
``callbacks.plots``) training curves and samples."""

from callbacks.plots import plot_history, plot_samples, plt, save_figure

__all__ = [
    "plot_attention",
    "plot_attention_overlay",
    "plot_history",
    "plot_samples",
    "plot_series",
    "plot_segmentation",
    "plt",
]


def _class_map(masks):
    """Integer class maps ``(n, h, w)`` from integer masks, probabilities or 0/1."""
    import numpy as np

    masks = np.asarray(masks)
    if masks.ndim == 4 and masks.shape[-1] > 1:
        return masks.argmax(axis=-1)
    if masks.ndim == 4:
        masks = masks[..., 0]
    if np.issubdtype(masks.dtype, np.floating) and not np.all(masks == np.round(masks)):
        return (masks > 0.5).astype("int64")  # one sigmoid channel
    return masks.astype("int64")


def _rgb(image):
    """An ``(height, width, 3)`` image from one with 1 or 3 channels."""
    import numpy as np

    return np.repeat(image, 3, axis=-1) if image.shape[-1] == 1 else image


def plot_segmentation(
    images, true_masks, pred_masks, path, class_names=None, max_images=8, alpha=0.7, title=None
):
    """Saves a PNG grid: one row per image with the image, its true mask and the
    predicted mask, each mask drawn in colour over the image in grey.

    Args:
        images: ``(n, height, width, channels)`` with 1 or 3 channels in [0, 1].
        true_masks: integer masks ``(n, height, width)`` or ``(..., 1)``.
        pred_masks: integer masks, or a model's output: probabilities
            ``(n, height, width, classes)`` (argmax taken) or one sigmoid channel
            (thresholded at 0.5).
        path: where to write the PNG.
        class_names: names for the legend (default ``class 0``, ``class 1``...).
        max_images: the most rows drawn.
        alpha: opacity of the masks over the grey image.
        title: figure title.

    Returns:
        ``path``.

    Example:

    >>> x, y = recipes.data.arrays("shapes", "test", num_examples=4)
    >>> plot_segmentation(x, y, model.predict(x), "overlay.png")
    'overlay.png'
    """
    import numpy as np
    from matplotlib.patches import Patch

    images = np.clip(np.asarray(images, dtype="float32"), 0.0, 1.0)
    true_masks, pred_masks = _class_map(true_masks), _class_map(pred_masks)
    if not (len(images) == len(true_masks) == len(pred_masks)) or len(images) == 0:
        raise ValueError(
            "`images`, `true_masks` and `pred_masks` must hold the same number (> 0) of "
            f"examples. Received: {len(images)}, {len(true_masks)}, {len(pred_masks)}"
        )
    if images.shape[1:3] != true_masks.shape[1:] or true_masks.shape != pred_masks.shape:
        raise ValueError(
            "Images and masks must have the same height and width. Received shapes: "
            f"images {images.shape}, true_masks {true_masks.shape}, "
            f"pred_masks {pred_masks.shape}"
        )
    num_classes = int(max(true_masks.max(), pred_masks.max())) + 1
    if class_names is not None:
        num_classes = max(num_classes, len(class_names))
    names = list(class_names or []) + [
        f"class {i}" for i in range(len(class_names or []), num_classes)
    ]
    colours = plt.get_cmap("tab10" if num_classes <= 10 else "tab20")(np.arange(num_classes))[
        :, :3
    ]
    rows = min(len(images), max_images)
    figure, axes = plt.subplots(rows, 3, figsize=(7.5, 2.6 * rows), squeeze=False)
    for row in range(rows):
        image = _rgb(images[row])
        grey = np.repeat(image.mean(axis=-1, keepdims=True), 3, axis=-1)
        panels = [
            ("image", image),
            ("true mask", (1 - alpha) * grey + alpha * colours[true_masks[row]]),
            ("predicted mask", (1 - alpha) * grey + alpha * colours[pred_masks[row]]),
        ]
        for axis, (label, picture) in zip(axes[row], panels):
            axis.imshow(picture, interpolation="nearest")
            axis.set_xticks([])
            axis.set_yticks([])
            if row == 0:
                axis.set_title(label)
    figure.legend(
        handles=[Patch(color=colours[i], label=names[i]) for i in range(num_classes)],
        loc="lower center",
        ncol=min(num_classes, 5),
        frameon=False,
    )
    if title:
        figure.suptitle(title)
    return save_figure(figure, path, rect=(0, 0.04, 1, 0.97 if title else 1))


def plot_attention_overlay(
    images, attention_maps, path, titles=None, max_images=8, alpha=0.5, cmap="jet", title=None
):
    """Saves a PNG with each image above its attention map drawn over it (the
    map, e.g. ``recipes.models.vit.vit_attention_maps``, is stretched to the
    image's size with bilinear smoothing and scaled to its own maximum).

    Args:
        images: ``(n, height, width, channels)`` with 1 or 3 channels in [0, 1].
        attention_maps: ``(n, grid_height, grid_width)`` non-negative weights.
        path: where to write the PNG.
        titles: one caption per image (e.g. the predicted class).
        max_images: the most columns drawn.
        alpha: opacity of the map over the image.
        cmap: matplotlib colour map of the attention.
        title: figure title.

    Returns:
        ``path``.

    Example:

    >>> maps = vit_attention_maps(model, x[:4])
    >>> plot_attention_overlay(x[:4], maps, "runs/vit/attention.png")
    'runs/vit/attention.png'
    """
    import numpy as np

    images = np.clip(np.asarray(images, dtype="float32"), 0.0, 1.0)
    maps = np.asarray(attention_maps, dtype="float32")
    if images.ndim != 4 or maps.ndim != 3 or len(images) != len(maps) or len(images) == 0:
        raise ValueError(
            "`images` must be (n, height, width, channels) and `attention_maps` "
            "(n, grid_height, grid_width) with the same n > 0. Received shapes: "
            f"images {images.shape}, attention_maps {maps.shape}"
        )
    if titles is not None and len(titles) < len(images):
        raise ValueError(
            f"`titles` needs one caption per image. Received {len(titles)} for "
            f"{len(images)} images."
        )
    columns = min(len(images), max_images)
    figure, axes = plt.subplots(2, columns, figsize=(2.2 * columns, 4.6), squeeze=False)
    height, width = images.shape[1:3]
    for column in range(columns):
        image = _rgb(images[column])
        weights = maps[column] / max(float(maps[column].max()), 1e-12)
        axes[0, column].imshow(image, interpolation="nearest")
        axes[1, column].imshow(image, interpolation="nearest")
        axes[1, column].imshow(
            weights,
            cmap=cmap,
            alpha=alpha,
            interpolation="bilinear",
            extent=(-0.5, width - 0.5, height - 0.5, -0.5),
            vmin=0,
            vmax=1,
        )
        for axis in axes[:, column]:
            axis.set_xticks([])
            axis.set_yticks([])
        if titles is not None:
            axes[0, column].set_title(str(titles[column]), fontsize=9)
    axes[0, 0].set_ylabel("image")
    axes[1, 0].set_ylabel("attention")
    if title:
        figure.suptitle(title)
    return save_figure(figure, path)


def plot_attention(
    weights, path, source_tokens=None, target_tokens=None, title=None, cmap="viridis"
):
    """Saves an encoder-decoder attention matrix as a heatmap PNG: one row per
    output token, one column per input token, brighter where the decoder looked.

    Args:
        weights: ``(output_steps, input_steps)`` weights, e.g. one example of
            ``Seq2Seq.generate(..., return_attention=True)``.
        path: where to write the PNG.
        source_tokens: labels of the columns (input tokens).
        target_tokens: labels of the rows (output tokens).
        title: figure title.
        cmap: matplotlib colour map.

    Returns:
        ``path``.

    Example:

    >>> tokens, weights = model.generate(x["encoder_inputs"][:1], return_attention=True)
    >>> plot_attention(weights[0], "runs/reverse_attention/attention.png")
    'runs/reverse_attention/attention.png'
    """
    import numpy as np

    weights = np.asarray(weights, dtype="float32")
    if weights.ndim != 2 or 0 in weights.shape:
        raise ValueError(
            "`weights` must be a non-empty (output_steps, input_steps) matrix. "
            f"Received shape: {weights.shape}"
        )
    for name, labels, size in (
        ("source_tokens", source_tokens, weights.shape[1]),
        ("target_tokens", target_tokens, weights.shape[0]),
    ):
        if labels is not None and len(labels) != size:
            raise ValueError(f"`{name}` needs {size} labels. Received {len(labels)}.")
    rows, columns = weights.shape
    figure, axis = plt.subplots(figsize=(1.0 + 0.35 * columns, 1.0 + 0.35 * rows))
    image = axis.imshow(
        weights,
        cmap=cmap,
        vmin=0.0,
        vmax=max(float(weights.max()), 1e-12),
        interpolation="nearest",
        aspect="equal",
    )
    axis.set_xticks(range(columns))
    axis.set_yticks(range(rows))
    axis.set_xticklabels(
        [str(t) for t in source_tokens] if source_tokens is not None else range(columns),
        fontsize=8,
    )
    axis.set_yticklabels(
        [str(t) for t in target_tokens] if target_tokens is not None else range(rows), fontsize=8
    )
    axis.set_xlabel("input")
    axis.set_ylabel("output")
    figure.colorbar(image, ax=axis, fraction=0.046, pad=0.04)
    if title:
        axis.set_title(title)
    return save_figure(figure, path)


def plot_series(path, series, xlabel, ylabel, title=None, xticks=None):
    """Draws lines against a shared x axis and writes them as a PNG.

    Args:
        path: where the PNG goes.
        series: label to ``(xs, ys)``.
        xlabel: the x axis' name.
        ylabel: the y axis' name.
        title: the figure's title.
        xticks: names for the x positions ``0, 1, ...`` (categories), or ``None``.

    Returns:
        ``path``.

    Example:

    >>> plot_series("accuracy.png", {"attention": ([5, 10], [100, 98])}, "length", "%")
    'accuracy.png'
    """
    figure, axis = plt.subplots(figsize=(9, 4.5))
    for label, (xs, ys) in series.items():
        axis.plot(xs, ys, marker="o", label=label)
    if xticks is not None:
        axis.set_xticks(range(len(xticks)), xticks, rotation=20, ha="right")
    axis.set_xlabel(xlabel)
    axis.set_ylabel(ylabel)
    axis.grid(alpha=0.3)
    axis.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small")
    if title:
        axis.set_title(title)
    return save_figure(figure, path)
