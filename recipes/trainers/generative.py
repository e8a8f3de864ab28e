"""The ``samples`` trainer of the generative presets (the GANs, the VAEs, RealNVP): the
standard loop (``recipes.trainers.standard``), then a look at what the model
makes, ``samples.png``, drawn with ``callbacks.plots.plot_samples``.

For images, a grid of ``num_samples`` generated images; a class-conditional GAN
gets one row per class (class ``k`` in row ``k``). For 2-D points, a scatter of
``num_samples`` generated points over the training data in grey. The noise is
drawn with the run's ``seed``.

Example:

>>> from recipes.training import train_recipe
>>> result = train_recipe("moons_gan", num_samples=500, output_dir="runs/moons_gan")
>>> result.paths["samples_png"]
'runs/moons_gan/samples.png'
"""

import math
import os

import numpy as np

from recipes import data
from recipes.checks import check_positive_int
from recipes.trainers import Trainer, register_trainer
from recipes.trainers.standard import train_standard


def train_samples(request):
    """Trains the requested preset as the standard loop does, then, with
    ``output_dir``, writes ``samples.png`` there.

    Args:
        request: a ``TrainRequest`` for a preset whose model has ``sample``
            (``sample(n, seed=...)``; a conditional GAN's ``sample(labels=...)``).
            Its option: ``num_samples``. Everything else as ``train_standard``
            takes it (the labels of the dataset serve a conditional GAN; the
            others ignore them).

    Returns:
        ``train_standard``'s ``TrainResult``; ``paths["samples_png"]`` holds the
        picture.

    Example:

    >>> result = train_samples(TrainRequest("moons_vae", options={"num_samples": 500}))
    """
    num_samples = check_positive_int("num_samples", request.options["num_samples"])
    result = train_standard(request)
    if request.output_dir:
        dataset = request.dataset or request.recipe.dataset
        path = os.path.join(request.output_dir, "samples.png")
        result.paths["samples_png"] = save_samples(
            result.model, path, num_samples, request.seed, dataset, title=request.name
        )
    return result


def save_samples(model, path, num_samples, seed, dataset=None, title=None):
    """Saves ``num_samples`` samples of ``model`` as a PNG (see the module).

    Args:
        model: a trained model with ``sample``; one with ``num_classes`` (a
            conditional GAN) draws ``ceil(num_samples / num_classes)`` of each
            class, a row each.
        path: where the PNG goes.
        num_samples: samples to draw.
        seed: seed of the noise.
        dataset: the training set, drawn under 2-D samples when it is offline.
        title: the picture's title.

    Returns:
        ``path``.

    Example:

    >>> save_samples(gan, "runs/gan/samples.png", 100, seed=0, dataset="moons")
    'runs/gan/samples.png'
    """
    from callbacks.plots import plot_samples

    num_classes = getattr(model, "num_classes", None)
    columns = None
    if num_classes is None:
        samples = model.sample(num_samples, seed=seed)
    else:
        columns = math.ceil(num_samples / num_classes)
        labels = np.repeat(np.arange(num_classes), columns)
        samples = model.sample(labels=labels, seed=seed)
    reference = None
    if samples.ndim == 2 and dataset is not None and data.get_spec(dataset).offline:
        reference = data.arrays(dataset, data.standard_splits(dataset)["train"])[0]
    return plot_samples(samples, path, title=title, columns=columns, reference=reference)


SAMPLES = register_trainer(
    Trainer(
        "samples",
        train_samples,
        "the standard loop, then samples.png: a grid of generated images (one row per "
        "class for a conditional GAN) or generated 2-D points over the data",
        options={"num_samples": (int, 100, "samples drawn for samples.png")},
    )
)
