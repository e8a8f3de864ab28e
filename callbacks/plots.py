"""Pictures of training: loss and metric curves, and grids (or scatters) of samples.

``TrainingCurves``, ``SampleGrid``, ``LRFinder.plot`` and ``plot_schedule`` draw
with these; ``recipes.plots`` re-exports them next to its other pictures.
matplotlib is set to its file-only ``Agg`` backend, so no display is needed.

Example:

>>> from callbacks.plots import plot_history
>>> plot_history({"loss": [1.0, 0.5], "val_loss": [1.1, 0.7]}, "curves.png")
'curves.png'
"""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def save_figure(figure, path, **layout):
    """Lays ``figure`` out (``tight_layout(**layout)``), writes it to ``path`` as a
    PNG and closes it.

    Args:
        figure: a matplotlib figure.
        path: where the PNG goes.
        **layout: ``Figure.tight_layout`` arguments (``rect``...).

    Returns:
        ``path``.

    Example:

    >>> figure, axis = plt.subplots()
    >>> save_figure(figure, "empty.png")
    'empty.png'
    """
    figure.tight_layout(**layout)
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def _metric_names(history):
    return [k for k in history if not k.startswith("val_") and k != "learning_rate"]


def plot_history(history, path, title=None):
    """Saves loss and metric curves (training and validation) as a PNG.

    Args:
        history: a dict of lists, e.g. ``model.fit(...).history``.
        path: where to write the PNG.
        title: figure title.

    Returns:
        ``path``.

    Example:

    >>> plot_history({"loss": [1.0, 0.5], "val_loss": [1.1, 0.7]}, "curves.png")
    'curves.png'
    """
    names = _metric_names(history)
    if not names:
        raise ValueError(f"`history` holds no metric to plot. Received keys: {list(history)}")
    figure, axes = plt.subplots(1, len(names), figsize=(4.5 * len(names), 3.5), squeeze=False)
    for axis, name in zip(axes[0], names):
        epochs = range(1, len(history[name]) + 1)
        axis.plot(epochs, history[name], label="train", marker=".")
        if f"val_{name}" in history:
            axis.plot(epochs, history[f"val_{name}"], label="validation", marker=".")
        axis.set_xlabel("epoch")
        axis.set_title(name)
        axis.grid(alpha=0.3)
        axis.legend()
    if title:
        figure.suptitle(title)
    return save_figure(figure, path)


def plot_samples(samples, path, title=None, columns=None, reference=None):
    """Saves generated samples as a PNG: a grid of images, or a scatter of 2-D
    points; a dict of name to samples draws one panel per entry, side by side.

    Images (``(n, h, w)`` or ``(n, h, w, 1 or 3)``) are drawn in a grid; values
    below 0 are taken as ``[-1, 1]`` (tanh outputs) and mapped to ``[0, 1]``.
    Points (``(n, 2)``) are scattered over ``reference`` points (e.g. the real
    data) in grey, on shared axes.

    Args:
        samples: an array, or a dict ``{panel title: array}``.
        path: where to write the PNG.
        title: figure title.
        columns: images per grid row (default about the square root of n).
        reference: ``(m, 2)`` points drawn under every scatter panel.

    Returns:
        ``path``.

    Example:

    >>> plot_samples({"VAE": vae.sample(500), "flow": flow.sample(500)},
    ...              "runs/generative/moons.png", reference=x_train)
    'runs/generative/moons.png'
    """
    import numpy as np

    panels = dict(samples) if isinstance(samples, dict) else {None: samples}
    if not panels:
        raise ValueError("`samples` holds no panel to draw.")
    panels = {name: np.asarray(values, dtype="float32") for name, values in panels.items()}
    for name, values in panels.items():
        points = values.ndim == 2 and values.shape[1] == 2
        images = values.ndim == 3 or (values.ndim == 4 and values.shape[-1] in (1, 3))
        if len(values) == 0 or not (points or images):
            raise ValueError(
                "Samples must be 2-D points (n, 2) or images (n, h, w[, 1 or 3]). "
                f"Received shape {values.shape} for panel {name!r}"
            )
    figure, axes = plt.subplots(1, len(panels), figsize=(4.5 * len(panels), 4.5), squeeze=False)
    all_points = [v for v in panels.values() if v.ndim == 2]
    if reference is not None:
        all_points.append(np.asarray(reference, dtype="float32"))
    if all_points:
        stacked = np.concatenate(all_points)
        low, high = np.percentile(stacked, 0.5, axis=0), np.percentile(stacked, 99.5, axis=0)
        margin = 0.1 * (high - low)
        low, high = low - margin, high + margin
    for axis, (name, values) in zip(axes[0], panels.items()):
        if values.ndim == 2:
            if reference is not None:
                axis.scatter(*np.asarray(reference).T, s=4, c="lightgrey", label="data")
            axis.scatter(*values.T, s=4, c="tab:blue", label="samples")
            axis.set_xlim(low[0], high[0])
            axis.set_ylim(low[1], high[1])
            axis.set_aspect("equal")
        else:
            axis.imshow(
                _image_grid(values, columns), cmap="gray", vmin=0, vmax=1, interpolation="nearest"
            )
            axis.set_xticks([])
            axis.set_yticks([])
        if name is not None:
            axis.set_title(str(name))
    if title:
        figure.suptitle(title)
    return save_figure(figure, path)


def _image_grid(images, columns=None):
    import numpy as np

    if images.ndim == 3:
        images = images[..., None]
    if images.min() < 0:
        images = (images + 1.0) / 2.0
    images = np.clip(images, 0.0, 1.0)
    count, height, width, channels = images.shape
    columns = columns or int(np.ceil(np.sqrt(count)))
    rows = int(np.ceil(count / columns))
    grid = np.ones((rows * (height + 1) - 1, columns * (width + 1) - 1, channels), "float32")
    for index, image in enumerate(images):
        row, column = divmod(index, columns)
        top, left = row * (height + 1), column * (width + 1)
        grid[top : top + height, left : left + width] = image
    return grid[..., 0] if channels == 1 else grid
