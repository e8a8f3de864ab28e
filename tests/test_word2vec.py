"""word2vec: the example generators, negative sampling, and embeddings that put
words sharing contexts closer together than unrelated ones."""

import itertools

import keras
import numpy as np
import pytest

from recipes import text
from recipes.models.word2vec import (
    Word2Vec,
    build_word2vec,
    cbow_examples,
    negative_sampling_table,
    skipgram_examples,
)


def test_skipgram_examples_pair_each_word_with_its_window():
    x, y = skipgram_examples(np.array([[2, 3, 4, 0]]), 5, window_size=1, negative_samples=3)
    assert x["words"].tolist() == [2, 3, 3, 4]
    assert x["candidates"][:, 0].tolist() == [3, 2, 4, 3]
    assert x["candidates"].shape == (4, 4) and y.shape == (4, 4)
    assert (y[:, 0] == 1).all() and (y[:, 1:] == 0).all()
    assert (x["candidates"][:, 1:] != 0).all()  # padding is never a negative


def test_cbow_examples_pad_short_contexts():
    x, y = cbow_examples(np.array([[2, 3, 4, 0]]), 5, window_size=1, negative_samples=2)
    assert x["words"].tolist() == [[3, 0], [2, 4], [3, 0]]
    assert x["candidates"][:, 0].tolist() == [2, 3, 4]
    assert y.shape == (3, 3)


def test_negatives_follow_the_unigram_distribution_to_the_three_quarters():
    ids = np.array([[1] * 16 + [2] * 4 + [3] + [0] * 5])
    table = negative_sampling_table(ids, 4)
    weights = np.array([0.0, 16**0.75, 4**0.75, 1.0])
    np.testing.assert_allclose(table, weights / weights.sum())
    x, _ = skipgram_examples(ids, 4, window_size=2, negative_samples=5, seed=0)
    drawn = np.bincount(x["candidates"][:, 1:].ravel(), minlength=4) / x["candidates"][:, 1:].size
    np.testing.assert_allclose(drawn, table, atol=0.05)


@pytest.fixture(scope="module")
def corpus():
    sentences = text.toy_corpus(1200)
    vectorizer = text.make_vectorizer(sentences, sequence_length=11)
    return vectorizer.get_vocabulary(), text.vectorize(vectorizer, sentences)


def mean_similarity(model, first, second):
    pairs = [(a, b) for a, b in itertools.product(first, second) if a != b]
    return np.mean([model.similarity(a, b) for a, b in pairs])


@pytest.mark.parametrize("mode, make", [("skipgram", skipgram_examples), ("cbow", cbow_examples)])
def test_words_that_share_contexts_end_up_closer(corpus, recipe_check, mode, make):
    vocabulary, ids = corpus
    model = build_word2vec(
        len(vocabulary),
        embedding_dim=16,
        mode=mode,
        negative_samples=4,
        window_size=2,
        vocabulary=vocabulary,
        learning_rate=0.02,
    )
    x, y = model.training_examples(ids)
    expected_x, _ = make(ids, len(vocabulary), window_size=2, negative_samples=4)
    np.testing.assert_array_equal(x["candidates"], expected_x["candidates"])
    loaded = recipe_check(model, x, y, steps=3, batch_size=256, factor=0.8)
    animals, colours = text.ANIMALS, text.COLOURS
    within = mean_similarity(loaded, animals, animals)
    across = mean_similarity(loaded, animals, colours)
    assert within > across + 0.3, (within, across)
    for word in ("cat", "red"):
        kind = animals if word in animals else colours
        neighbours = [w for w, _ in loaded.most_similar(word, topn=3)]
        assert set(neighbours) <= set(kind), (word, neighbours)
    assert loaded.most_similar("cat") == model.most_similar("cat")  # vocabulary saved


def test_word2vec_shapes_parameters_and_lookups():
    model = build_word2vec(50, embedding_dim=8, negative_samples=2, compile=False)
    out = model({"words": np.array([3, 4]), "candidates": np.array([[5, 6, 7], [8, 9, 1]])})
    shapes = {tensor.name: tuple(tensor.shape) for tensor in model.inputs}
    assert out.shape == (2, 3) and shapes["candidates"] == (None, 3)
    assert model.count_params() == 2 * 50 * 8
    assert model.embeddings.shape == (50, 8)
    neighbours = model.most_similar(3, topn=4)
    assert len(neighbours) == 4 and all(
        isinstance(i, int) and i not in (0, 3) for i, _ in neighbours
    )
    cbow = build_word2vec(
        50, embedding_dim=8, mode="cbow", negative_samples=1, window_size=2, compile=False
    )
    assert cbow({"words": np.array([[3, 4, 0, 0]]), "candidates": np.array([[5, 6]])}).shape == (
        1,
        2,
    )
    assert {t.name: tuple(t.shape) for t in cbow.inputs}["words"] == (None, 4)


def test_cbow_averages_only_the_valid_context_words():
    wide = Word2Vec(20, embedding_dim=4, mode="cbow", negative_samples=2, window_size=2)
    narrow = Word2Vec(20, embedding_dim=4, mode="cbow", negative_samples=2, window_size=1)
    narrow.set_weights(wide.get_weights())
    candidates = np.array([[5, 6, 7]])
    short = keras.ops.convert_to_numpy(
        narrow({"words": np.array([[3, 4]]), "candidates": candidates})
    )
    padded = keras.ops.convert_to_numpy(
        wide({"words": np.array([[3, 4, 0, 0]]), "candidates": candidates})
    )
    np.testing.assert_allclose(padded, short, atol=1e-6)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: build_word2vec(10, mode="glove"), "`mode` must be one of"),
        (lambda: build_word2vec(10, vocabulary=["a", "b"]), "must name each of the 10 ids"),
        (lambda: build_word2vec(10, negative_samples=0), "`negative_samples` must be an"),
        (
            lambda: build_word2vec(3, vocabulary=["", "a", "b"], compile=False).most_similar("z"),
            "'z' is not in the vocabulary",
        ),
        (lambda: build_word2vec(3, compile=False).most_similar("a"), "Words need a model"),
        (lambda: skipgram_examples(np.array([[1, 7]]), 5), "must lie in \\[0, vocab_size=5\\)"),
        (lambda: cbow_examples(np.array([1, 2]), 5), "shape \\(texts, steps\\)"),
        (
            lambda: skipgram_examples(np.array([[1, 2]]), 5, window_size=0),
            "`window_size` must be an integer >= 1",
        ),
    ],
)
def test_bad_arguments_raise_early(make, message):
    with pytest.raises(ValueError, match=message):
        make()
