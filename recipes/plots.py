"""Pictures people would rather look at than numbers: training curves for now."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


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
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path
