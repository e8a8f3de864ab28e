"""recipes.text (toy corpora, vectorizer, hashed n-grams), fastText, the text
classifiers and the language model."""

import keras
import numpy as np
import pytest

import recipes
from recipes import text
from recipes.losses.sequence import Perplexity
from recipes.models.language_model import build_language_model, next_token_data
from recipes.models.text import build_fasttext, build_text_classifier
from recipes.testing import fit_steps, run_layer_test


def numpy(x):
    return keras.ops.convert_to_numpy(x)


@pytest.fixture(scope="module")
def reviews():
    texts, labels = text.toy_reviews("train", num_examples=1024)
    test_texts, test_labels = text.toy_reviews("test", num_examples=300)
    vectorizer = text.make_vectorizer(texts, sequence_length=12)
    return {
        "vocab_size": vectorizer.vocabulary_size(),
        "x": text.vectorize(vectorizer, texts),
        "y": labels,
        "x_test": text.vectorize(vectorizer, test_texts),
        "y_test": test_labels,
        "texts": texts,
        "test_texts": test_texts,
    }


def test_toy_reviews_are_reproducible_disjoint_and_labelled_by_the_negation_rule():
    texts, labels = text.toy_reviews("train", num_examples=200)
    again, _ = text.toy_reviews("train", num_examples=200)
    other, _ = text.toy_reviews("test", num_examples=200)
    assert list(texts) == list(again) and list(texts) != list(other)
    for review, label in zip(texts, labels):
        words = review.split()
        positive = any(w in text.POSITIVE for w in words)
        assert label == int(positive != ("not" in words)), review
    assert 0.3 < np.mean(["not" in t.split() for t in texts]) < 0.7
    assert 0.3 < labels.mean() < 0.7


def test_toy_corpus_gives_each_word_kind_its_own_contexts():
    sentences = text.toy_corpus(300, seed=3)
    assert sentences == text.toy_corpus(300, seed=3)
    for sentence in sentences:
        words = sentence.split()
        for i, word in enumerate(words):
            if word in text.ANIMALS:
                assert words[i - 1] == "the"
            if word in text.OBJECTS:
                assert words[i - 1] in text.COLOURS or words[i - 1] == "the"


def test_vectorizer_pads_with_zero_and_counts_unknown_words_as_one():
    vectorizer = text.make_vectorizer(["the cat sat", "the dog"], sequence_length=5)
    vocabulary = vectorizer.get_vocabulary()
    ids = text.vectorize(vectorizer, ["the cat flew"])
    assert ids.dtype == np.int32 and ids.shape == (1, 5)
    assert ids[0].tolist() == [vocabulary.index("the"), vocabulary.index("cat"), 1, 0, 0]
    assert text.decode(vocabulary, ids) == "the cat [UNK]"
    bags = text.vectorize(text.make_vectorizer(["a b b"], output_mode="count"), ["b b a"])
    assert bags.tolist() == [[0.0, 2.0, 1.0]]


def test_hashed_ngrams_follow_word_order_and_skip_padding(tmp_path):
    result = run_layer_test(
        text.HashedNGrams,
        {"vocab_size": 20, "max_n": 3, "num_buckets": 1000},
        input_data=np.array([[5, 7, 9, 0], [7, 5, 9, 0]], "int32"),
        expected_output_shape=(2, 4 + 3 + 2),
        expected_output_dtype="int32",
        expected_num_params=0,
        directory=tmp_path,
    )  # build, call, config round trip, safe-mode .keras round trip in a model
    layer, ids = result.layer, result.outputs
    words, bigrams, trigrams = ids[:, :4], ids[:, 4:7], ids[:, 7:]
    np.testing.assert_array_equal(words, [[5, 7, 9, 0], [7, 5, 9, 0]])
    assert bigrams[0, 2] == bigrams[1, 2] == 0 and trigrams[0, 1] == 0  # touch padding
    assert bigrams[0, 0] != bigrams[1, 0]  # "5 7" is not "7 5"
    valid = np.concatenate([bigrams[:, :2], trigrams[:, :1]], axis=1)
    assert valid.min() >= 20 and valid.max() < 1020
    again = numpy(layer(np.array([[1, 5, 7]])))
    assert again[0, 4] == bigrams[0, 0]  # the same bigram hashes the same anywhere


def test_fasttext_parameter_count_is_the_embedding_table_and_a_linear_softmax():
    model = build_fasttext(vocab_size=5000, max_n=2, num_buckets=20_000, compile=False)
    assert model.count_params() == (5000 + 20_000) * 10 + 10 * 2 + 2
    unigram = build_fasttext(vocab_size=5000, max_n=1, num_buckets=20_000, compile=False)
    assert unigram.count_params() == 5000 * 10 + 22


def test_fasttext_bigrams_learn_negation_that_words_alone_cannot(reviews, recipe_check):
    """The label is an XOR of "not" and the adjective's polarity: an average of
    word vectors followed by a linear softmax cannot fit it; bigrams can."""
    accuracy = {}
    for max_n in (1, 2):
        keras.utils.set_random_seed(0)
        model = build_fasttext(
            vocab_size=reviews["vocab_size"], max_n=max_n, num_buckets=2000, learning_rate=0.05
        )
        if max_n == 2:
            model = recipe_check(model, reviews["x"], reviews["y"], steps=12, batch_size=128)
        else:
            fit_steps(model, reviews["x"], reviews["y"], steps=12, batch_size=128)
        accuracy[max_n] = model.evaluate(
            reviews["x_test"], reviews["y_test"], verbose=0, return_dict=True
        )["accuracy"]
    assert accuracy[2] > 0.95, accuracy
    assert accuracy[1] < 0.8, accuracy


@pytest.mark.parametrize("kind", ["bow", "gru"])
def test_text_classifiers_learn_the_toy_reviews(reviews, recipe_check, kind):
    model = build_text_classifier(
        kind,
        vocab_size=reviews["vocab_size"],
        embedding_dim=16,
        units=16,
        hidden_units=(32,),
        learning_rate=0.02,
    )
    loaded = recipe_check(model, reviews["x"], reviews["y"], steps=5, batch_size=64)
    result = loaded.evaluate(reviews["x_test"], reviews["y_test"], verbose=0, return_dict=True)
    assert result["accuracy"] > 0.9, result


@pytest.mark.skipif(
    keras.backend.backend() != "tensorflow",
    reason="strings inside a model need the TensorFlow backend",
)
def test_string_model_learns_its_vocabulary_at_the_first_fit(reviews, tmp_path):
    model = build_fasttext(
        vocab_size=100,
        sequence_length=12,
        max_n=2,
        num_buckets=2000,
        text_input=True,
        learning_rate=0.05,
    )
    assert model.vectorizer.vocabulary_size() == 2  # padding and [UNK] only
    train = recipes.data.to_dataset(reviews["texts"], reviews["y"], batch_size=128)
    test = recipes.data.to_dataset(reviews["test_texts"], reviews["y_test"], batch_size=300)
    model.fit(train, epochs=12, verbose=0, shuffle=False)
    vocabulary = model.vectorizer.get_vocabulary()
    assert "not" in vocabulary and "superb" in vocabulary
    assert model.evaluate(test, verbose=0, return_dict=True)["accuracy"] > 0.95
    model.save(tmp_path / "strings.keras")
    loaded = keras.saving.load_model(tmp_path / "strings.keras", safe_mode=True)
    assert loaded.vectorizer.get_vocabulary() == vocabulary
    np.testing.assert_allclose(
        loaded.predict(test, verbose=0), model.predict(test, verbose=0), atol=1e-5
    )


def text_forms(texts):
    """The same texts as people hold them: list, NumPy str, NumPy object, tf string."""
    import tensorflow as tf

    return {
        "list": list(texts),
        "numpy_str": np.array(texts),
        "numpy_object": np.array(texts, dtype=object),
        "tf_string": tf.constant(list(texts)),
    }


@pytest.mark.skipif(
    keras.backend.backend() != "tensorflow",
    reason="strings inside a model need the TensorFlow backend",
)
def test_string_model_takes_texts_as_people_hold_them(reviews):
    model = build_fasttext(vocab_size=50, sequence_length=12, num_buckets=100, text_input=True)
    texts, labels = reviews["test_texts"][:40], reviews["y_test"][:40]
    forms = text_forms(texts)
    for x in forms.values():  # no vocabulary yet: a clear error, not a TF trace
        for run in (model.predict, lambda x: model.evaluate(x, labels)):
            with pytest.raises(ValueError, match="not learned its vocabulary.*`fit`.*`adapt"):
                run(x)
    history = model.fit(
        list(reviews["texts"][:64]),
        reviews["y"][:64],
        validation_data=(np.array(texts, dtype=object), labels),
        epochs=1,
        batch_size=32,
        verbose=0,
    )  # learns the vocabulary from the list first
    assert "not" in model.vectorizer.get_vocabulary() and "val_loss" in history.history
    expected = model.predict(forms["tf_string"], verbose=0)
    loss = model.evaluate(forms["tf_string"], labels, verbose=0)[0]
    assert expected.shape == (40, 2)
    for form, x in forms.items():
        np.testing.assert_allclose(model.predict(x, verbose=0), expected, atol=1e-6, err_msg=form)
        assert model.evaluate(x, labels, verbose=0)[0] == pytest.approx(loss, rel=1e-5), form


@pytest.mark.skipif(
    keras.backend.backend() != "tensorflow",
    reason="strings inside a model need the TensorFlow backend",
)
@pytest.mark.parametrize(
    "x, message",
    [
        (np.array([[3, 4, 5]]), "`x` must hold strings.*Received: x of dtype int64"),
        (["good", float("nan")], "`x` must hold strings.*Received: x holding nan \\(float\\)"),
        ("a good movie", "`x` must be a batch of texts.*Received: x='a good movie'"),
    ],
    ids=["token_ids", "nan_in_list", "one_string"],
)
def test_string_model_refuses_what_is_not_a_batch_of_texts(x, message):
    model = build_fasttext(vocab_size=50, sequence_length=12, num_buckets=100, text_input=True)
    model.adapt(["a good movie", "not a good movie"])
    with pytest.raises(ValueError, match=message):
        model.predict(x, verbose=0)


@pytest.mark.skipif(
    keras.backend.backend() != "tensorflow",
    reason="the IMDB presets read raw strings: TensorFlow backend only",
)
def test_imdb_presets_build_with_an_empty_vocabulary():
    for name in ("imdb_gru", "imdb_fasttext"):
        model = recipes.build(name, compile=False)
        assert model.text_input and model.input_shape == (None,)
        assert recipes.describe(name)["dataset"] == "imdb_reviews"


def test_perplexity_of_a_uniform_model_is_the_vocabulary_size_and_padding_is_ignored():
    metric = Perplexity()
    y_true = np.array([[3, 1, 0, 0]])
    metric.update_state(y_true, np.full((1, 4, 8), 1 / 8, "float32"))
    assert float(metric.result()) == pytest.approx(8.0, rel=1e-5)
    sure = np.zeros((1, 4, 8), "float32")
    sure[0, [0, 1, 2, 3], [3, 1, 5, 5]] = 1.0  # right where it counts, wrong on padding
    metric.reset_state()
    metric.update_state(y_true, sure)
    assert float(metric.result()) == pytest.approx(1.0, rel=1e-4)
    assert Perplexity.from_config(metric.get_config()).ignore_class == 0


@pytest.fixture(scope="module")
def corpus():
    sentences = text.toy_corpus(512)
    vectorizer = text.make_vectorizer(sentences, sequence_length=11)
    vocabulary = vectorizer.get_vocabulary()
    return vocabulary, text.vectorize(vectorizer, sentences)


def test_language_model_perplexity_drops_and_it_samples(corpus, recipe_check):
    vocabulary, ids = corpus
    x, y = next_token_data(ids)
    model = build_language_model(
        vocab_size=len(vocabulary), embedding_dim=16, units=32, learning_rate=0.02
    )
    assert model.optimizer.clipnorm == 1.0
    before = model.evaluate(x, y, verbose=0, return_dict=True)["perplexity"]
    loaded = recipe_check(model, x, y, steps=6, batch_size=32)
    after = loaded.evaluate(x, y, verbose=0, return_dict=True)["perplexity"]
    # Untrained: about uniform over the vocabulary. Trained: a few words per slot.
    assert before > 0.7 * len(vocabulary), before
    assert after < 5.0, after

    the = vocabulary.index("the")
    greedy = loaded.generate([the], num_tokens=5, temperature=0)
    assert greedy.shape == (1, 6) and greedy[0, 0] == the
    np.testing.assert_array_equal(greedy, loaded.generate([the], 5, temperature=0, seed=7))
    first = loaded.generate([[the]] * 4, num_tokens=5, temperature=1.0, seed=1)
    np.testing.assert_array_equal(first, loaded.generate([[the]] * 4, 5, 1.0, seed=1))
    assert (first != 0).all()  # padding is never sampled
    # After "the" comes an animal or an object: the greedy pick is one of them.
    assert vocabulary[greedy[0, 1]] in text.ANIMALS + text.OBJECTS


def test_language_model_stacks_layers_of_any_cell():
    model = build_language_model(
        vocab_size=30, embedding_dim=8, units=6, num_layers=2, cell="gru1", compile=False
    )
    assert model(np.array([[3, 4, 5]])).shape == (1, 3, 30)
    assert model.count_params() == (
        30 * 8 + (6 * 8 + 3 * 36 + 18) + (6 * 6 + 3 * 36 + 18) + 6 * 30 + 30
    )


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: build_text_classifier("cnn"), "`kind` must be one of"),
        (lambda: build_text_classifier("bow", bag_mode="tfidf"), "`bag_mode` must be one of"),
        (lambda: build_text_classifier("gru", text_input=True), "needs a `sequence_length`"),
        (lambda: build_fasttext(num_buckets=2**21), "`num_buckets` must be at most"),
        (lambda: build_language_model(cell="cnn"), "`cell` must be one of"),
        (lambda: build_language_model(clipnorm=-1.0), "`clipnorm` must be a number >= 0"),
        (lambda: text.toy_reviews("dev"), "`split` must be one of"),
        (lambda: text.make_vectorizer(["a"], output_mode="ids"), "`output_mode` must be one of"),
        (lambda: next_token_data(np.array([1, 2, 3])), "shape \\(batch, steps >= 2\\)"),
    ],
)
def test_bad_arguments_raise_early(build, message):
    with pytest.raises(ValueError, match=message):
        build()


def test_sampling_checks_its_arguments():
    model = build_language_model(vocab_size=10, embedding_dim=4, units=4, compile=False)
    with pytest.raises(ValueError, match="`temperature` must be a number >= 0"):
        model.generate([2], 3, temperature=-1)
    with pytest.raises(ValueError, match="`num_tokens` must be an integer >= 1"):
        model.generate([2], 0)


@pytest.mark.backends  # run by make test-jax, make test-torch and CI's make test-jax-smoke
@pytest.mark.smoke
@pytest.mark.skipif(
    keras.backend.backend() == "tensorflow", reason="checks the error raised on the other backends"
)
def test_string_models_need_the_tensorflow_backend():
    with pytest.raises(ValueError, match="needs the TensorFlow backend"):
        build_text_classifier("gru", sequence_length=8, text_input=True)


@pytest.mark.skipif(
    keras.backend.backend() != "tensorflow",
    reason="the IMDB presets read raw strings: TensorFlow backend only",
)
def test_imdb_preset_trains_end_to_end_on_mock_reviews():
    """train_recipe on tfds mock data (no download): the preset learns its
    vocabulary at the first fit and trains on the raw-string pipeline."""
    tfds = pytest.importorskip("tensorflow_datasets")
    from recipes.training import train_recipe

    with tfds.testing.mock_data(num_examples=64):
        result = train_recipe(
            "imdb_fasttext", epochs=1, batch_size=32, verbose=0, num_buckets=1000
        )
    assert result.model.vectorizer.vocabulary_size() > 2
    assert np.isfinite(result.test_metrics["loss"])
