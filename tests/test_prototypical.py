import keras
import numpy as np
import pytest

import recipes
from recipes import data
from recipes.models.prototypical import EpisodeSampler, PrototypicalNetwork


def test_logits_are_minus_squared_distances_to_the_class_means():
    keras.utils.set_random_seed(0)
    model = recipes.build_prototypical(input_shape=(8, 8, 1), embedding_units=(16, 8))
    rng = np.random.default_rng(0)
    support = rng.uniform(size=(2, 3, 4, 8, 8, 1)).astype("float32")  # 2 episodes, 3-way 4-shot
    query = rng.uniform(size=(2, 5, 8, 8, 1)).astype("float32")
    logits = keras.ops.convert_to_numpy(model({"support": support, "query": query}))
    assert logits.shape == (2, 5, 3)
    embed = lambda a: keras.ops.convert_to_numpy(model.encoder(a.reshape(-1, 8, 8, 1)))  # noqa: E731
    prototypes = embed(support).reshape(2, 3, 4, -1).mean(axis=2)
    queries = embed(query).reshape(2, 5, -1)
    expected = -((queries[:, :, None, :] - prototypes[:, None, :, :]) ** 2).sum(-1)
    np.testing.assert_allclose(logits, expected, rtol=1e-4, atol=1e-4)
    # The order of the support samples within a class does not matter.
    shuffled = support[:, :, ::-1]
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(model({"support": shuffled, "query": query})),
        logits,
        rtol=1e-4,
        atol=1e-4,
    )


def test_episode_sampler_draws_consistent_episodes():
    # Each sample holds its class in every pixel, and a unique id in the first one.
    y = np.repeat(np.arange(6), 12)
    x = np.repeat(y[:, None, None, None], 4, axis=1).astype("float32").reshape(-1, 2, 2, 1)
    x[:, 0, 0, 0] = 100 + np.arange(len(y))
    sampler = EpisodeSampler(x, y, n_way=3, k_shot=2, n_query=4, classes=[1, 3, 4, 5], seed=3)
    inputs, labels = sampler.sample(5)
    assert inputs["support"].shape == (5, 3, 2, 2, 2, 1)
    assert inputs["query"].shape == (5, 12, 2, 2, 1) and labels.shape == (5, 12)
    for e in range(5):
        support_class = inputs["support"][e, :, :, 1, 1, 0]  # (N, K)
        assert (support_class == support_class[:, :1]).all()  # one class per row
        assert set(support_class[:, 0]) <= {1, 3, 4, 5}
        query_class = inputs["query"][e, :, 1, 1, 0]
        np.testing.assert_array_equal(query_class, support_class[labels[e], 0])
        ids = set(inputs["support"][e, ..., 0, 0, 0].ravel()) | set(inputs["query"][e, :, 0, 0, 0])
        assert len(ids) == 3 * (2 + 4)  # support and query never share a sample
    again = EpisodeSampler(x, y, n_way=3, k_shot=2, n_query=4, classes=[1, 3, 4, 5], seed=3)
    np.testing.assert_array_equal(again.sample(5)[1], labels)
    assert len(sampler) == sampler.steps
    batch_inputs, batch_labels = sampler[0]
    assert batch_labels.shape == (sampler.batch_size, 12)


BAD_SAMPLER_ARGUMENTS = [
    ({"n_way": 7}, "`n_way` must be at most the number of classes"),
    ({"k_shot": 0}, "`k_shot` must be an integer >= 1"),
    ({"k_shot": 10, "n_query": 5}, "samples are needed per class"),
    ({"n_way": 1}, "`n_way` must be an integer >= 2"),
]


def test_episode_sampler_rejects_bad_arguments():
    y = np.repeat(np.arange(6), 12)
    for arguments, message in BAD_SAMPLER_ARGUMENTS:
        with pytest.raises(ValueError, match=message):
            EpisodeSampler(np.zeros((72, 2)), y, **arguments)


def test_prototypical_trains_on_episodes_and_round_trips(recipe_check):
    x, y = data.arrays("digits", "train")
    inputs, labels = EpisodeSampler(x, y, n_way=3, k_shot=2, n_query=3, seed=0).sample(16)
    model = recipes.build_prototypical(input_shape=(8, 8, 1), embedding_units=(32, 16))
    loaded = recipe_check(model, inputs, labels, steps=15)
    assert isinstance(loaded, PrototypicalNetwork)
    assert loaded.encoder.output_shape == (None, 16)


def test_a_custom_encoder_works_with_any_episode_size(roundtrip):
    encoder = keras.Sequential(
        [keras.Input((8, 8, 1)), keras.layers.Conv2D(4, 3), keras.layers.GlobalAveragePooling2D()]
    )
    model = recipes.build_prototypical(input_shape=(8, 8, 1), encoder=encoder, compile=False)
    x, y = data.arrays("digits", "test")
    for way, shot in ((2, 1), (5, 3)):
        inputs, _ = EpisodeSampler(x, y, n_way=way, k_shot=shot, n_query=2).sample(3)
        assert model.predict(inputs, verbose=0).shape == (3, 2 * way, way)
    roundtrip(model, inputs)


def test_episodes_of_the_training_classes_improve_on_their_test_samples():
    x, y = data.arrays("digits", "train")
    x_test, y_test = data.arrays("digits", "test")
    keras.utils.set_random_seed(0)
    model = recipes.build_prototypical(input_shape=(8, 8, 1), embedding_units=(64, 64))
    train = EpisodeSampler(
        x, y, n_way=7, k_shot=5, n_query=5, classes=range(7), batch_size=8, steps=20, seed=0
    )
    seen = EpisodeSampler(
        x_test, y_test, n_way=7, k_shot=5, n_query=2, classes=range(7), seed=1
    ).sample(20)
    before = model.evaluate(*seen, verbose=0, return_dict=True)["accuracy"]
    model.fit(train, epochs=2, verbose=0)
    assert model.evaluate(*seen, verbose=0, return_dict=True)["accuracy"] > before + 0.05


def test_on_held_out_digit_classes_training_beats_the_untrained_encoder_clearly():
    """3-way 5-shot episodes of the digits 7, 8, 9, never seen in training (chance
    1/3), before and after training on episodes of 0 to 6. A small CNN encoder: the
    Dense one learns the training classes but its held-out accuracy stays that of
    the untrained network (0.83 -> 0.85, pixel distances already sort 8x8 digits),
    so it could not show that what is learnt transfers; the CNN's goes from 0.62 to
    0.78 untrained to 0.80 to 0.90 trained, 0.06 to 0.27 better (4 seeds each on
    TensorFlow and JAX)."""
    x, y = data.arrays("digits", "train")
    x_test, y_test = data.arrays("digits", "test")
    keras.utils.set_random_seed(0)
    encoder = keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            keras.layers.Conv2D(32, 3, padding="same", activation="relu"),
            keras.layers.MaxPooling2D(),
            keras.layers.Conv2D(32, 3, padding="same", activation="relu"),
            keras.layers.GlobalAveragePooling2D(),
        ]
    )
    model = recipes.build_prototypical(input_shape=(8, 8, 1), encoder=encoder, learning_rate=1e-2)
    train = EpisodeSampler(
        x, y, n_way=7, k_shot=5, n_query=5, classes=range(7), batch_size=8, steps=40, seed=0
    )
    held_out = EpisodeSampler(
        x_test, y_test, n_way=3, k_shot=5, n_query=5, classes=(7, 8, 9), seed=1
    ).sample(30)
    untrained = model.evaluate(*held_out, verbose=0, return_dict=True)["accuracy"]
    model.fit(train, epochs=3, verbose=0)
    trained = model.evaluate(*held_out, verbose=0, return_dict=True)["accuracy"]
    assert trained > untrained + 0.05 and trained > 0.75, (untrained, trained)


BAD_BUILDER_ARGUMENTS = [
    ({"embedding_units": ()}, "`embedding_units` must hold at least one width"),
    ({"embedding_units": (8, 0)}, r"`embedding_units\[1\]` must be an integer"),
    ({"encoder": "cnn"}, "`encoder` must be None or a Keras layer"),
    ({"activation": "relux"}, "`activation` must be one of"),
]


def test_bad_builder_arguments_raise_clear_errors():
    for arguments, message in BAD_BUILDER_ARGUMENTS:
        with pytest.raises(ValueError, match=message):
            recipes.build_prototypical(**arguments)
