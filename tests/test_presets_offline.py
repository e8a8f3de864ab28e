"""Every builder has a preset, and every preset whose data is at hand offline
trains end to end through ``train_recipe``: one epoch, tiny widths, tiny copies of
its dataset, writing its model, curves and metrics."""

import dataclasses
import math
import os

import numpy as np
import pytest

import recipes
from recipes import data
from recipes.registry import get_recipe, scoped
from recipes.training import train_recipe

# Builder arguments (and trainer options) that make each offline preset tiny.
TINY = {
    "digits_autoencoder": {"encoder_units": (8, 4)},
    "digits_conv_autoencoder": {"filters": (4, 4)},
    "digits_layerwise": {"hidden_units": (8,), "pretrain_epochs": 1},
    "digits_mlp": {"hidden_units": (8,)},
    "digits_multitask": {"trunk": (8,)},
    "digits_p4cnn": {"filters": (2, 2, 2, 2)},
    "digits_prototypical": {"embedding_units": (8,), "steps": 2, "n_query": 2},
    "digits_softmax": {},
    "digits_vit": {"embed_dim": 8, "num_heads": 2, "feed_forward_dim": 8, "num_layers": 1},
    "moons_dann": {"features": (4,)},
    "moons_gan": {"generator_units": (8,), "discriminator_units": (8,)},
    "moons_logistic": {},
    "moons_mlp": {"hidden_units": (4,)},
    "moons_realnvp": {"num_couplings": 2, "hidden_units": 8},
    "moons_vae": {"hidden_units": (8,)},
    "reverse_bahdanau": {"units": 8},
    "reverse_seq2seq": {"units": 8},
    "reverse_transformer": {
        "embed_dim": 8,
        "num_heads": 2,
        "feed_forward_dim": 8,
        "num_layers": 1,
    },
    "reviews_bert": {
        "embed_dim": 8,
        "num_heads": 2,
        "feed_forward_dim": 8,
        "num_layers": 1,
        "pretrain_epochs": 1,
    },
    "reviews_bert_mlm": {"embed_dim": 8, "num_heads": 2, "feed_forward_dim": 8, "num_layers": 1},
    "reviews_language_model": {"embedding_dim": 4, "units": 8},
    "reviews_transformer": {"embed_dim": 8, "num_heads": 2, "feed_forward_dim": 8},
    "reviews_word2vec": {"embedding_dim": 4},
    "shapes_pix2pix": {"depth": 2, "filters": 4, "discriminator_filters": (4, 8)},
    "shapes_unet": {"depth": 2, "filters": 4},
    "sine_lstm": {"units": 4},
}
# Presets that need their dataset whole (episodes need enough samples per class).
WHOLE_DATASET = ("digits_prototypical",)
TINY_EXAMPLES = 32


def _offline(name):
    dataset = get_recipe(name).dataset
    return dataset is not None and data.get_spec(dataset).offline


OFFLINE = [name for name in recipes.list_recipes() if _offline(name)]


def _head(arrays):
    """The first ``TINY_EXAMPLES`` examples of ``(x, y)`` (dicts of arrays too)."""

    def cut(part):
        if isinstance(part, dict):
            return {key: value[:TINY_EXAMPLES] for key, value in part.items()}
        return part[:TINY_EXAMPLES]

    x, y = arrays
    return cut(x), cut(y)


def _tiny_copy(dataset):
    """Registers (inside a ``scoped`` block) a copy of ``dataset`` cut to
    ``TINY_EXAMPLES`` per split; returns its name."""
    spec = data.get_spec(dataset)
    tiny = dataclasses.replace(
        spec,
        name=f"tiny_{dataset}",
        arrays=lambda split="train", **options: _head(spec.arrays(split=split, **options)),
    )
    return data.register_dataset(tiny).name


def test_every_builder_has_a_preset():
    used = {get_recipe(name).builder.__name__ for name in recipes.list_recipes()}
    assert sorted(set(recipes.list_builders()) - used) == []


def test_every_offline_preset_has_tiny_settings():
    assert sorted(TINY) == OFFLINE


@pytest.mark.parametrize("name", OFFLINE)
def test_offline_preset_trains_end_to_end(name, tmp_path):
    with scoped():
        dataset = None if name in WHOLE_DATASET else _tiny_copy(get_recipe(name).dataset)
        result = train_recipe(
            name,
            output_dir=str(tmp_path),
            epochs=1,
            batch_size=8,
            dataset=dataset,
            verbose=0,
            **TINY[name],
        )
    for key in ("model", "curves_png", "curves_csv", "metrics"):
        assert os.path.isfile(result.paths[key]), key
    assert len(result.history["loss"]) == 1
    assert result.test_metrics and all(math.isfinite(v) for v in result.test_metrics.values())
    assert np.isfinite(result.history["loss"][0])
