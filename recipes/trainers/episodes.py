"""The episodes trainer of the prototypical networks (Snell et al. 2017): N-way
K-shot episodes drawn afresh every step (``EpisodeSampler``) from the training
classes of an offline set, validated and tested on episodes of classes it never
saw in training.

Example:

>>> from recipes.training import train_recipe
>>> result = train_recipe("digits_prototypical", n_way=3, output_dir="runs/protonet")
>>> result.test_metrics["accuracy"]   # 3-way 5-shot, on digits 7, 8 and 9
0.9...
"""

import keras
import numpy as np

from recipes.checks import check_positive_int
from recipes.models.prototypical import EpisodeSampler
from recipes.registry import build
from recipes.trainers import Trainer, register_trainer
from recipes.trainers.fitting import fit_test_save, offline_arrays


def train_episodes(request):
    """Trains the requested preset on episodes of its dataset's training classes
    and tests it on episodes of the ``held_out`` classes (the highest labels),
    drawn from the validation and test splits.

    Args:
        request: a ``TrainRequest`` for a preset whose builder is
            ``build_prototypical``, on an offline dataset. Its options:
            ``n_way``, ``k_shot``, ``n_query`` (the episodes), ``steps``
            (batches of episodes per epoch) and ``held_out`` (classes kept for
            validation and test). ``batch_size`` counts episodes (default: the
            preset's, else 8); ``seed`` also seeds the episode draws.

    Returns:
        A ``TrainResult``; its test ``accuracy`` is the query accuracy on unseen
        classes.

    Example:

    >>> result = train_episodes(TrainRequest("digits_prototypical", options={...}))
    """
    name, options, seed = request.name, request.options, request.seed
    dataset, epochs, batch_size = request.settings(default_batch_size=8)
    held_out = check_positive_int("held_out", options["held_out"])
    with request.policy():
        keras.utils.set_random_seed(seed)
        splits = offline_arrays(name, dataset)
        classes = np.unique(splits["train"][1])
        if held_out >= len(classes):
            raise ValueError(
                f"`held_out` must leave training classes: {dataset!r} has {len(classes)}. "
                f"Received: held_out={held_out}"
            )
        episode = {key: options[key] for key in ("n_way", "k_shot", "n_query")}

        def sampler(split, chosen, steps, offset):
            x, y = splits[split]
            return EpisodeSampler(
                x,
                y,
                **episode,
                classes=chosen,
                batch_size=batch_size,
                steps=steps,
                seed=seed + offset,
            )

        steps = check_positive_int("steps", options["steps"])
        train = sampler("train", classes[:-held_out], steps, 0)
        validation = sampler("validation", classes[-held_out:], max(steps // 4, 1), 1)
        test = sampler("test", classes[-held_out:], steps, 2)
        model = build(name, **request.overrides)
        return fit_test_save(
            request,
            model,
            {"x": train},
            validation,
            {"x": test},
            {
                "dataset": dataset,
                "batch_size": batch_size,
                **episode,
                "test_classes": classes[-held_out:].tolist(),
            },
            epochs=epochs,
        )


EPISODES = register_trainer(
    Trainer(
        "episodes",
        train_episodes,
        "N-way K-shot episodes of the training classes; tested on unseen classes",
        options={
            "n_way": (int, 3, "classes per episode"),
            "k_shot": (int, 5, "support samples per class"),
            "n_query": (int, 5, "query samples per class"),
            "steps": (int, 40, "batches of episodes per epoch"),
            "held_out": (int, 3, "classes (the highest labels) kept for validation and test"),
        },
    )
)
