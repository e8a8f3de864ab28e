"""The ``layerwise`` trainer: greedy layer-wise pre-training (seed 003) of a
classifier's hidden layers, then fine-tuning with the labels.

``recipes.models.autoencoder.pretrain_layerwise`` trains, on the training split's
inputs alone, one tied autoencoder layer at a time (the earlier ones frozen),
each reconstructing the input; the classifier (the preset's ``build_mlp``, its
``hidden_units`` and ``activation`` those pre-trained) starts from that encoder's
weights and is fine-tuned, validated and tested as the standard loop does.

Example:

>>> from recipes.training import train_recipe
>>> result = train_recipe("digits_layerwise", pretrain_epochs=10, output_dir="runs/layerwise")
>>> result.test_metrics["accuracy"]
0.9...
"""

import time

import keras
import numpy as np

from recipes.checks import check_positive_int
from recipes.models.autoencoder import pretrain_layerwise
from recipes.registry import build, describe
from recipes.trainers import Trainer, register_trainer
from recipes.trainers.fitting import fit_test_save, offline_arrays


def train_layerwise(request):
    """Pre-trains the requested classifier's hidden layers layer by layer as
    autoencoders on the training inputs (``pretrain_epochs`` each), then
    fine-tunes the whole classifier on the labels.

    The reconstructions are sigmoid for inputs in [0, 1], else linear.
    ``metrics.json`` records each stage's loss per epoch (``pretraining_losses``)
    and the time the pre-training took.

    Args:
        request: a ``TrainRequest`` for a preset whose builder is ``build_mlp``
            (hidden Dense layers ``dense_1``, ``dense_2``... with biases: no
            ``batch_norm``), on an offline dataset. Its option:
            ``pretrain_epochs``. ``epochs`` are the fine-tuning's; the batch size
            (default: the preset's, else 32) serves both; ``callbacks`` and
            ``checkpoint_dir`` serve the fine-tuning.

    Returns:
        A ``TrainResult`` of the fine-tuned classifier.

    Raises:
        ValueError: a preset whose builder takes no ``hidden_units`` or whose
            hidden layers cannot take the encoder's weights.

    Example:

    >>> result = train_layerwise(TrainRequest("digits_layerwise", options={...}))
    """
    name, seed = request.name, request.seed
    dataset, epochs, batch_size = request.settings(default_batch_size=32)
    pretrain_epochs = check_positive_int("pretrain_epochs", request.options["pretrain_epochs"])
    arguments = {**describe(name)["arguments"], **request.overrides}
    missing = [key for key in ("hidden_units", "activation") if key not in arguments]
    if missing:
        raise ValueError(
            f"The 'layerwise' trainer pre-trains the hidden layers of a build_mlp "
            f"classifier (`hidden_units`, `activation`); {name}'s builder takes no "
            f"{', '.join(missing)}. Received: name={name!r}"
        )
    with request.policy():
        keras.utils.set_random_seed(seed)
        splits = offline_arrays(name, dataset)
        x = splits["train"][0]
        encoder, losses, pretrain_seconds = _pretrain(
            x, arguments, pretrain_epochs, batch_size, request.verbose
        )
        model = build(name, **request.overrides)
        load_encoder(model, encoder)
        record = {
            "dataset": dataset,
            "batch_size": batch_size,
            "pretrain_epochs": pretrain_epochs,
            "pretrain_seconds": pretrain_seconds,
            "pretraining_losses": losses,
        }
        train, test = (
            dict(zip(("x", "y"), splits[split]), batch_size=batch_size)
            for split in ("train", "test")
        )
        return fit_test_save(
            request, model, train, splits["validation"], test, record, epochs=epochs
        )


def _pretrain(x, arguments, epochs, batch_size, verbose):
    """``pretrain_layerwise`` on ``x`` with the classifier's ``hidden_units`` and
    ``activation``; returns the encoder, each stage's loss per epoch and the
    seconds it took."""
    losses = []
    recorder = keras.callbacks.LambdaCallback(
        on_train_begin=lambda logs: losses.append([]),
        on_epoch_end=lambda epoch, logs: losses[-1].append(float(logs["loss"])),
    )
    start = time.perf_counter()
    encoder = pretrain_layerwise(
        x,
        units=arguments["hidden_units"],
        activation=arguments["activation"],
        output_activation="sigmoid" if 0 <= np.min(x) and np.max(x) <= 1 else "linear",
        epochs=epochs,
        batch_size=batch_size,
        callbacks=[recorder],
        verbose=verbose,
    )
    return encoder, losses, time.perf_counter() - start


def load_encoder(model, encoder):
    """Copies the weights of ``encoder``'s layers ``encoder_dense_<i>`` (from
    ``pretrain_layerwise``) into ``model``'s hidden layers ``dense_<i>``.

    Raises:
        ValueError: ``model`` has no such layer, or one of other weight shapes.

    Example:

    >>> load_encoder(recipes.build("digits_layerwise"), pretrain_layerwise(x, (32, 16)))
    """
    names = {layer.name for layer in model.layers}
    for i, source in enumerate(
        (layer for layer in encoder.layers if isinstance(layer, keras.layers.Dense)), start=1
    ):
        weights = source.get_weights()
        target = f"dense_{i}"
        shapes = [w.shape for w in weights]
        if target not in names or [w.shape for w in model.get_layer(target).weights] != shapes:
            raise ValueError(
                f"The 'layerwise' trainer fine-tunes a classifier whose hidden layer {target} "
                f"takes the pre-trained {source.name}'s weights {shapes} (build_mlp without "
                f"batch_norm). Received: model={model.name!r} with layers {sorted(names)}"
            )
        model.get_layer(target).set_weights(weights)


LAYERWISE = register_trainer(
    Trainer(
        "layerwise",
        train_layerwise,
        "greedy layer-wise autoencoder pre-training of the hidden layers, then "
        "fine-tuning on the labels",
        options={"pretrain_epochs": (int, 10, "epochs of pre-training per layer first")},
    )
)
