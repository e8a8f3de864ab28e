"""BERT: the 15% / 80-10-10 masking, a loss on the chosen positions only,
pre-training that beats the unigram baseline, fine-tuning a sentiment classifier
on the copied encoder, serialisation and mixed precision."""

import keras
import numpy as np
import pytest

import recipes
from recipes.models.bert import MaskedLanguageModelBatches, mask_tokens, predict_sentiment
from recipes.text import (
    CLS_ID,
    MASK_ID,
    NEGATIVE_WORDS,
    PAD_ID,
    POSITIVE_WORDS,
    REVIEW_VOCAB_SIZE,
    REVIEW_VOCABULARY,
    SEP_ID,
    UNK_ID,
    encode_reviews,
    toy_reviews,
)

TINY = dict(embed_dim=32, num_heads=2, feed_forward_dim=64, num_layers=1)


def reviews(num_examples, seed):
    """The BERT recipe's corpus: the "contrast" toy reviews."""
    return toy_reviews(num_examples=num_examples, grammar="contrast", seed=seed)


def run(model, x):
    return keras.ops.convert_to_numpy(model(x, training=False))


@pytest.fixture
def mixed_precision():
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy("float32")


@pytest.fixture(scope="module")
def pretrained():
    """A tiny BERT pre-trained on 2,000 toy reviews, and its history."""
    keras.utils.set_random_seed(0)
    texts, _ = reviews(2000, seed=0)
    model = recipes.build_bert(**TINY, dropout=0.0, learning_rate=5e-3)
    batches = MaskedLanguageModelBatches(
        encode_reviews(texts), REVIEW_VOCAB_SIZE, batch_size=128, seed=0
    )
    history = model.fit(batches, epochs=5, verbose=0)
    return model, history.history


def held_out_masking(seed=5):
    texts, labels = reviews(500, seed=1)
    ids = encode_reviews(texts)
    return ids, labels, mask_tokens(ids, REVIEW_VOCAB_SIZE, seed=seed)


def test_toy_reviews_follow_their_grammar():
    texts, labels = reviews(300, seed=3)
    for text, label in zip(texts, labels):
        words = text.split()
        adjectives = [w for w in words if w in POSITIVE_WORDS + NEGATIVE_WORDS]
        assert (adjectives[-1] in POSITIVE_WORDS) == bool(label)  # the last one decides
        if "but" in words:
            assert (adjectives[0] in POSITIVE_WORDS) != (adjectives[1] in POSITIVE_WORDS)
        if "and" in words:
            assert (adjectives[0] in POSITIVE_WORDS) == (adjectives[1] in POSITIVE_WORDS)
    again, same_labels = reviews(300, seed=3)
    assert np.array_equal(again, texts) and np.array_equal(same_labels, labels)
    assert 0.4 < labels.mean() < 0.6
    ids = encode_reviews(["This film is great!", "the film was zzz"], max_length=8)
    word = REVIEW_VOCABULARY.index
    np.testing.assert_array_equal(
        ids[0], [CLS_ID, word("this"), word("film"), word("is"), word("great"), SEP_ID, 0, 0]
    )
    assert ids[1, 4] == UNK_ID and ids[1, 5] == SEP_ID


def test_masking_chooses_15_percent_then_80_10_10():
    ids = np.random.default_rng(0).integers(5, REVIEW_VOCAB_SIZE, size=(400, 100))
    ids[:, 0], ids[:, -10:] = CLS_ID, PAD_ID
    inputs, labels, weights = mask_tokens(ids, REVIEW_VOCAB_SIZE, seed=1)
    chosen = weights == 1
    np.testing.assert_array_equal(labels, ids)
    assert not chosen[:, 0].any() and not chosen[:, -10:].any()  # specials never chosen
    assert abs(chosen.sum() / (400 * 89) - 0.15) < 0.01
    masked = inputs[chosen] == MASK_ID
    kept = inputs[chosen] == ids[chosen]
    randomised = ~masked & ~kept
    assert abs(masked.mean() - 0.8) < 0.02
    # A random draw equals the original 1 time in 43: "kept" is 10% + 10% / 43.
    assert abs(kept.mean() - (0.1 + 0.1 / 43)) < 0.015
    assert abs(randomised.mean() - (0.1 - 0.1 / 43)) < 0.015
    assert np.all(inputs[~chosen] == ids[~chosen])  # unchosen tokens are untouched
    assert np.isin(inputs[chosen][randomised], [PAD_ID, CLS_ID, SEP_ID, MASK_ID]).sum() == 0


def test_batches_are_masked_afresh_each_time():
    ids = encode_reviews(reviews(64, seed=0)[0])
    batches = MaskedLanguageModelBatches(ids, REVIEW_VOCAB_SIZE, batch_size=32, seed=0)
    assert len(batches) == 2
    first, again = batches[0], batches[0]
    assert first[0].shape == (32, 16) and first[2].dtype == np.float32
    assert not np.array_equal(first[2], again[2])  # new positions chosen


def test_mlm_loss_counts_only_the_chosen_positions():
    model = recipes.build_bert(**TINY)
    ids, _, (inputs, labels, weights) = held_out_masking()
    probabilities = run(model, inputs[:64])
    labels, weights = labels[:64], weights[:64]
    loss = float(model.loss(labels, probabilities, sample_weight=weights))
    picked = np.take_along_axis(probabilities, labels[..., None], axis=-1)[..., 0]
    expected = -np.sum(np.log(picked) * weights) / weights.sum()
    assert loss == pytest.approx(expected, rel=1e-4)  # mean over chosen positions
    other = labels.copy()
    other[weights == 0] = 7  # change every unchosen target
    assert float(model.loss(other, probabilities, sample_weight=weights)) == pytest.approx(loss)
    other[weights == 1] = 7
    assert float(model.loss(other, probabilities, sample_weight=weights)) != pytest.approx(loss)


def test_bert_parameter_count():
    model = recipes.build_bert(
        input_shape=(10,),
        vocab_size=30,
        embed_dim=16,
        num_heads=2,
        feed_forward_dim=24,
        num_layers=3,
        compile=False,
    )
    d, f, v, length = 16, 24, 30, 10
    block = 4 * d * d + 4 * d + 2 * d * f + f + d + 4 * d
    embeddings = v * d + length * d + 2 * d
    head = d * d + d + 2 * d + d * v + v
    assert model.count_params() == embeddings + 3 * block + head
    assert model.get_layer("bert_encoder").count_params() == embeddings + 3 * block


def test_pretraining_beats_the_unigram_baseline_by_far(pretrained):
    model, history = pretrained
    assert history["loss"][-1] < 0.7 * history["loss"][0]
    _, _, (inputs, labels, weights) = held_out_masking()
    chosen = labels[weights == 1]
    unigram = np.bincount(chosen).max() / len(chosen)  # best context-free guess
    predicted = run(model, inputs).argmax(-1)[weights == 1]
    accuracy = np.mean(predicted == chosen)
    assert unigram < 0.1
    assert accuracy > 3 * unigram


def test_pretrained_bert_round_trips(pretrained, roundtrip):
    model, _ = pretrained
    ids, _, (inputs, _, _) = held_out_masking()
    roundtrip(model, inputs[:32])


def test_fine_tuning_starts_from_the_pretrained_encoder(pretrained, roundtrip):
    bert, _ = pretrained
    encoder = bert.get_layer("bert_encoder")
    before = [w.copy() for w in encoder.get_weights()]
    keras.utils.set_random_seed(1)
    classifier = recipes.build_bert_classifier(
        pretrained_encoder=bert, num_classes=1, learning_rate=3e-3
    )
    copied = classifier.get_layer("bert_encoder")
    assert copied is not encoder
    for ours, theirs in zip(copied.get_weights(), before):
        np.testing.assert_array_equal(ours, theirs)
    texts, labels = reviews(500, seed=2)
    classifier.fit(encode_reviews(texts), labels, epochs=3, batch_size=32, verbose=0)
    for ours, theirs in zip(encoder.get_weights(), before):
        np.testing.assert_array_equal(ours, theirs)  # the pre-trained model is untouched
    ids, test_labels, _ = held_out_masking()
    assert np.mean((run(classifier, ids)[:, 0] > 0.5) == test_labels) > 0.9
    great = predict_sentiment(classifier, "This film is great")
    terrible = predict_sentiment(classifier, "This film is terrible")
    assert great > 0.5 > terrible
    mixed = predict_sentiment(
        classifier,
        ["This lecture was dense but interesting", "This lecture was interesting but dense"],
    )
    assert mixed[0] > 0.5 > mixed[1]
    roundtrip(classifier, ids[:32])


def test_classifier_without_pretraining_and_frozen_encoder():
    classifier = recipes.build_bert_classifier(
        num_classes=3,
        input_shape=(12,),
        vocab_size=40,
        embed_dim=16,
        num_heads=2,
        feed_forward_dim=24,
        num_layers=1,
        pooling="first",
        compile=False,
    )
    d, f = 16, 24
    encoder = 40 * d + 12 * d + 2 * d + (4 * d * d + 4 * d + 2 * d * f + f + d + 4 * d)
    assert classifier.count_params() == encoder + d * 3 + 3
    probabilities = run(classifier, np.array([[1, 5, 6, 2] + [0] * 8], "int32"))
    np.testing.assert_allclose(probabilities.sum(-1), 1.0, atol=1e-5)
    frozen = recipes.build_bert_classifier(
        pretrained_encoder=classifier.get_layer("bert_encoder"), num_classes=2, freeze_encoder=True
    )
    assert len(frozen.trainable_weights) == 2  # the head's kernel and bias


def test_builders_run_under_mixed_precision(mixed_precision):
    bert = recipes.build_bert(**TINY)
    ids, _, (inputs, labels, weights) = held_out_masking()
    assert bert.get_layer("bert_encoder").get_layer("encoder_block_1").compute_dtype == ("float16")
    probabilities = run(bert, inputs[:16])
    assert probabilities.dtype == np.float32
    np.testing.assert_allclose(probabilities.sum(-1), 1.0, atol=1e-3)
    assert np.isfinite(float(bert.loss(labels[:16], probabilities, sample_weight=weights[:16])))
    classifier = recipes.build_bert_classifier(pretrained_encoder=bert, num_classes=1)
    assert classifier.get_layer("bert_encoder").dtype_policy.name == "mixed_float16"
    sentiment = predict_sentiment(classifier, ["This film is great", "so boring"])
    assert sentiment.dtype == np.float32 and np.isfinite(sentiment).all()


@pytest.mark.parametrize(
    "builder, arguments, message",
    [
        ("build_bert", {"input_shape": (None,)}, "need a known length"),
        ("build_bert", {"embed_dim": 30, "num_heads": 4}, "divisible by `num_heads`"),
        ("build_bert", {"activation": "sigmoid"}, "`activation` must be one of"),
        ("build_bert", {"vocab_size": 1}, "`vocab_size` must be an integer >= 2"),
        ("build_bert_classifier", {"pretrained_encoder": "bert"}, "`pretrained_encoder` must"),
        ("build_bert_classifier", {"pooling": "max"}, "`pooling` must be one of"),
        ("build_bert_classifier", {"freeze_encoder": 1}, "`freeze_encoder` must be True"),
    ],
)
def test_bad_arguments_raise_clear_errors(builder, arguments, message):
    with pytest.raises(ValueError, match=message):
        getattr(recipes, builder)(**arguments)


def test_architecture_comes_from_the_pretrained_encoder():
    bert = recipes.build_bert(**TINY, compile=False)
    with pytest.raises(ValueError, match="leave embed_dim, num_layers as None"):
        recipes.build_bert_classifier(pretrained_encoder=bert, embed_dim=64, num_layers=1)
    with pytest.raises(ValueError, match="no layer named 'bert_encoder'"):
        recipes.build_bert_classifier(pretrained_encoder=recipes.build_vit(compile=False))
    with pytest.raises(ValueError, match="must be in"):
        mask_tokens(np.ones((2, 3), "int32"), 10, rate=1.5)
    with pytest.raises(ValueError, match="mask_rate \\+ random_rate"):
        mask_tokens(np.ones((2, 3), "int32"), 10, mask_rate=0.8, random_rate=0.3)
