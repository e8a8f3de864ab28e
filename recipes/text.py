"""Text for the recurrent and text recipes: offline toy corpora, a
``TextVectorization`` helper, and the hashed n-gram layer of fastText.

Offline data (no download, reproducible):

- ``toy_corpus``: sentences of a small grammar in which words of one kind
  (animals, colours, objects...) share their contexts; for language models and
  word2vec.
- ``toy_reviews``: short "movie reviews" labelled positive (1) or negative (0).
  In the default ``"negation"`` grammar half of them are negated ("not good" is
  negative, "not bad" positive), so word order matters: a bag of single words
  cannot separate them, bigrams can. The ``"contrast"`` grammar ("dense but
  interesting") is the BERT recipe's corpus, and ``encode_reviews`` its
  word-level tokenizer over ``REVIEW_VOCABULARY``.

Example:

>>> texts, labels = toy_reviews("train", num_examples=500)
>>> vectorizer = make_vectorizer(texts, sequence_length=12)
>>> ids = vectorize(vectorizer, texts)    # int32 (500, 12), 0 is padding
"""

import re

import keras
import numpy as np
from keras import ops

from recipes.checks import check_choice, check_fraction, check_positive_int

SPLITS = ("train", "validation", "test")
_SPLIT_SEEDS = {"train": 0, "validation": 1, "test": 2}

ANIMALS = ("cat", "dog", "horse", "cow", "bird", "sheep")
COLOURS = ("red", "blue", "green", "yellow", "black", "white")
OBJECTS = ("ball", "box", "car", "house", "hat", "chair")
ACTIONS = ("chased", "watched", "found", "liked")
PLACES = ("garden", "field", "barn", "yard")

SUBJECTS = ("movie", "film", "plot", "story", "acting", "ending", "music", "cast")
POSITIVE = ("good", "great", "wonderful", "brilliant", "fun", "moving", "superb")
NEGATIVE = ("bad", "boring", "awful", "dull", "terrible", "weak", "poor")
_OPENERS = ("", "honestly", "i think", "well", "frankly", "in short")
_ADVERBS = ("", "really", "very", "quite", "truly")
_CLOSERS = ("", "overall", "to me", "this time", "in the end")
REVIEW_GRAMMARS = ("negation", "contrast")

# The "contrast" reviews and their word-level vocabulary (the BERT recipe's).
SPECIAL_TOKENS = ("[PAD]", "[CLS]", "[SEP]", "[MASK]", "[UNK]")
PAD_ID, CLS_ID, SEP_ID, MASK_ID, UNK_ID = range(len(SPECIAL_TOKENS))
_DETERMINERS = ("the", "this", "that")
_NOUNS = ("film", "movie", "lecture", "book", "course", "story", "plot", "show")
_VERBS = ("is", "was")
_INTENSIFIERS = ("very", "quite", "really", "so")
POSITIVE_WORDS = (
    "great",
    "good",
    "wonderful",
    "brilliant",
    "interesting",
    "excellent",
    "fun",
    "clever",
)
NEGATIVE_WORDS = ("terrible", "bad", "awful", "boring", "dull", "poor", "weak", "dense")
_FEELINGS = {1: ("loved", "liked", "enjoyed"), 0: ("hated", "disliked", "regretted")}
REVIEW_VOCABULARY = SPECIAL_TOKENS + tuple(
    dict.fromkeys(
        _DETERMINERS
        + _NOUNS
        + _VERBS
        + _INTENSIFIERS
        + POSITIVE_WORDS
        + NEGATIVE_WORDS
        + ("and", "but", "i", "it")
        + _FEELINGS[1]
        + _FEELINGS[0]
    )
)
REVIEW_VOCAB_SIZE = len(REVIEW_VOCABULARY)
REVIEW_LENGTH = 16
_WORD_IDS = {word: i for i, word in enumerate(REVIEW_VOCABULARY)}


def toy_corpus(num_sentences=2000, seed=0):
    """Sentences of a small grammar for language models and word2vec.

    Words of one kind share their contexts: animals come after "the" and before
    an action or "sleeps", colours before an object or after "is", objects after
    a colour, places after "in the". So an embedding learned from contexts puts
    "cat" nearer "dog" than "red".

    Args:
        num_sentences: how many sentences.
        seed: the random seed (the same seed gives the same sentences).

    Returns:
        A list of lower-case strings, e.g. ``"the cat chased the red ball"``.

    Example:

    >>> toy_corpus(2, seed=1)
    ['...', '...']
    """
    check_positive_int("num_sentences", num_sentences)
    rng = np.random.default_rng(1000 + seed)

    def pick(words):
        return words[rng.integers(len(words))]

    templates = (
        lambda: f"the {pick(ANIMALS)} {pick(ACTIONS)} the {pick(COLOURS)} {pick(OBJECTS)}",
        lambda: f"the {pick(ANIMALS)} sleeps in the {pick(PLACES)}",
        lambda: f"the {pick(OBJECTS)} is {pick(COLOURS)}",
        lambda: f"a {pick(COLOURS)} {pick(OBJECTS)} is in the {pick(PLACES)}",
        lambda: f"the {pick(ANIMALS)} and the {pick(ANIMALS)} play in the {pick(PLACES)}",
    )
    return [templates[rng.integers(len(templates))]() for _ in range(num_sentences)]


def toy_reviews(split="train", num_examples=None, negation=0.5, grammar="negation", seed=None):
    """Short labelled reviews: 1 positive, 0 negative, from one of two grammars.

    ``grammar="negation"``: one opinion (``the <subject> was [adverb] [not]
    <adjective>``) between optional filler words. With probability ``negation``
    the adjective is negated, which flips the label: the label is the XOR of "the
    adjective is positive" and "not" being there, which no weighted sum of
    single-word features can compute (bigrams such as "not good" can).

    ``grammar="contrast"`` (the BERT recipe's corpus, in the words of
    ``REVIEW_VOCABULARY``): ``<det> <noun> <is|was> [<intensifier>] <adjective>``,
    then maybe ``and [<intensifier>] <adjective of the same polarity>`` or ``but
    [<intensifier>] <adjective of the other polarity>``, then maybe ``i <loved|
    hated...> it`` agreeing with the sentiment, which is the polarity of the last
    adjective ("the lecture was dense but interesting" is positive): structure
    that a masked language model can learn.

    Args:
        split: ``"train"``, ``"validation"`` or ``"test"`` (disjoint seeds).
        num_examples: reviews in the split (default 2000/300/500).
        negation: ``"negation"`` grammar: fraction of negated reviews, in
            ``[0, 1]``.
        grammar: ``"negation"`` or ``"contrast"``.
        seed: an int to draw other reviews than the split's (same seed, same
            reviews); ``None``: the split's seed.

    Returns:
        ``texts`` (a NumPy array of str) and ``labels`` (int32, 0 or 1).

    Example:

    >>> texts, labels = toy_reviews("test", num_examples=3)
    >>> texts, labels = toy_reviews(num_examples=2, grammar="contrast", seed=0)
    >>> str(texts[0])
    'this course is very great'
    """
    split_seed = _SPLIT_SEEDS[check_choice("split", split, SPLITS)]
    n = num_examples or {"train": 2000, "validation": 300, "test": 500}[split]
    check_positive_int("num_examples", n)
    negation = check_fraction("negation", negation)
    check_choice("grammar", grammar, REVIEW_GRAMMARS)
    seed = split_seed if seed is None else check_positive_int("seed", seed, minimum=0)
    if grammar == "negation":
        rng = np.random.default_rng(2000 + seed)
        reviews = [_negated_review(rng, negation) for _ in range(n)]
    else:
        rng = np.random.default_rng(seed)
        reviews = [_contrast_review(rng) for _ in range(n)]
    texts, labels = zip(*reviews)
    return np.array(texts), np.array(labels, "int32")


def _pick(rng, options):
    return options[rng.integers(len(options))]


def _negated_review(rng, negation):
    positive = bool(rng.integers(2))
    negated = bool(rng.random() < negation)
    adjective = (POSITIVE if positive else NEGATIVE)[rng.integers(len(POSITIVE))]
    words = [
        _pick(rng, _OPENERS),
        "the",
        _pick(rng, SUBJECTS),
        "was",
        _pick(rng, _ADVERBS) if not negated else "",
        "not" if negated else "",
        adjective,
        _pick(rng, _CLOSERS),
    ]
    return " ".join(w for w in words if w), int(positive != negated)


def _contrast_review(rng):
    adjectives = {1: POSITIVE_WORDS, 0: NEGATIVE_WORDS}
    polarity = int(rng.integers(2))
    words = [_pick(rng, _DETERMINERS), _pick(rng, _NOUNS), _pick(rng, _VERBS)]
    if rng.random() < 0.4:
        words.append(_pick(rng, _INTENSIFIERS))
    words.append(_pick(rng, adjectives[polarity]))
    connector = rng.random()
    if connector < 0.6:
        if connector >= 0.3:
            polarity = 1 - polarity
        words.append("but" if connector >= 0.3 else "and")
        if rng.random() < 0.3:
            words.append(_pick(rng, _INTENSIFIERS))
        words.append(_pick(rng, adjectives[polarity]))
    if rng.random() < 0.5:
        words += ["i", _pick(rng, _FEELINGS[polarity]), "it"]
    return " ".join(words), polarity


def encode_reviews(texts, max_length=REVIEW_LENGTH):
    """Word-level token ids of ``REVIEW_VOCABULARY`` (the tokenizer of the
    ``"contrast"`` reviews): ``[CLS] words... [SEP]``, padded with ``[PAD]`` (or
    cut) to ``max_length``; unknown words are ``[UNK]``.

    Example:

    >>> encode_reviews(["This film is great!"], max_length=8)
    array([[ 1,  6,  8, 16, 22,  2,  0,  0]], dtype=int32)
    """
    if isinstance(texts, str):
        texts = [texts]
    check_positive_int("max_length", max_length, minimum=2)
    ids = np.full((len(texts), max_length), PAD_ID, "int32")
    for row, text in enumerate(texts):
        words = re.findall(r"[a-z']+", str(text).lower())[: max_length - 2]
        tokens = [CLS_ID, *(_WORD_IDS.get(word, UNK_ID) for word in words), SEP_ID]
        ids[row, : len(tokens)] = tokens
    return ids


def make_vectorizer(texts, max_tokens=None, sequence_length=None, output_mode="int", ngrams=None):
    """A ``keras.layers.TextVectorization`` adapted to ``texts``.

    Text is lower-cased, stripped of punctuation and split on whitespace. In
    ``"int"`` mode, id 0 is padding and id 1 the out-of-vocabulary token
    ``[UNK]``; the most frequent words get the next ids.

    Args:
        texts: a list or array of strings (or a ``tf.data`` of strings).
        max_tokens: the largest vocabulary (padding and ``[UNK]`` included);
            ``None``: every word.
        sequence_length: pad or cut ``"int"`` outputs to this length.
        output_mode: ``"int"``, ``"multi_hot"``, ``"count"`` or ``"tf_idf"``.
        ngrams: also make n-gram tokens up to this n (``2``: bigrams).

    Returns:
        The adapted layer. ``vectorizer.get_vocabulary()`` lists its tokens.

    Example:

    >>> vectorizer = make_vectorizer(["the cat sat", "the dog"], sequence_length=4)
    >>> vectorize(vectorizer, ["the cat"]).tolist()
    [[2, 3, 0, 0]]
    """
    check_choice("output_mode", output_mode, ("int", "multi_hot", "count", "tf_idf"))
    if max_tokens is not None:
        check_positive_int("max_tokens", max_tokens, minimum=3)
    if sequence_length is not None:
        check_positive_int("sequence_length", sequence_length)
    vectorizer = keras.layers.TextVectorization(
        max_tokens=max_tokens,
        output_mode=output_mode,
        ngrams=ngrams,
        output_sequence_length=sequence_length if output_mode == "int" else None,
    )
    if isinstance(texts, (list, tuple, np.ndarray)):
        texts = [str(text) for text in texts]
    vectorizer.adapt(texts)
    return vectorizer


def vectorize(vectorizer, texts):
    """Runs a ``TextVectorization`` on a list of strings and returns NumPy
    (int32 ids or float32 bags), on any backend."""
    values = ops.convert_to_numpy(vectorizer(np.asarray([str(text) for text in texts])))
    return values.astype("int32") if vectorizer.get_config()["output_mode"] == "int" else values


def decode(vocabulary, ids):
    """Turns token ids back into a string, skipping padding (id 0)."""
    return " ".join(vocabulary[i] for i in np.asarray(ids).ravel() if i != 0)


@keras.saving.register_keras_serializable(package="recipes")
class HashedNGrams(keras.layers.Layer):
    """Appends hashed n-gram ids to a sequence of token ids (fastText's "bag of
    tricks", Joulin et al. 2016).

    For every run of ``n`` consecutive tokens (``n = 2 .. max_n``) it computes a
    multiplicative hash of their ids into ``num_buckets`` buckets and returns the
    bucket id shifted past the vocabulary, ``vocab_size + hash``, so that one
    ``Embedding(vocab_size + num_buckets, ...)`` embeds words and n-grams alike.
    n-grams that touch padding (id 0) become 0 (padding too). Different n-grams
    may share a bucket; more buckets, fewer collisions.

    Args:
        vocab_size: the number of token ids (ids are ``0 .. vocab_size - 1``).
        max_n: the longest n-gram (2: bigrams, 3: bigrams and trigrams).
        num_buckets: hash buckets for all n-grams, at most 2**20.
        **kwargs: ``Layer`` arguments (``name``...).

    Call arguments:
        inputs: int token ids ``(batch, steps)``, 0 for padding.

    Returns:
        Int32 ids ``(batch, steps + (steps - 1) + ... + (steps - max_n + 1))``: the
        tokens, then the bigrams, then the trigrams...

    Example:

    >>> layer = HashedNGrams(vocab_size=10, max_n=2, num_buckets=100)
    >>> layer(np.array([[4, 5, 6, 0]])).shape
    (1, 7)
    """

    _MULTIPLIER = 1009  # a prime; with num_buckets <= 2**20 the hash fits in int32

    def __init__(self, vocab_size, max_n=2, num_buckets=10_000, **kwargs):
        super().__init__(**kwargs)
        self.vocab_size = check_positive_int("vocab_size", vocab_size, minimum=2)
        self.max_n = check_positive_int("max_n", max_n, minimum=1)
        self.num_buckets = check_positive_int("num_buckets", num_buckets)
        if num_buckets > 2**20:
            raise ValueError(
                f"`num_buckets` must be at most 2**20. Received: num_buckets={num_buckets}"
            )
        if vocab_size + num_buckets >= 2**31:
            raise ValueError(
                "`vocab_size + num_buckets` must fit in int32. Received: "
                f"vocab_size={vocab_size}, num_buckets={num_buckets}"
            )

    def call(self, inputs):
        tokens = ops.cast(inputs, "int32")
        steps = tokens.shape[1]
        pieces = [tokens]
        for n in range(2, self.max_n + 1):
            if steps is not None and steps < n:
                break
            length = ops.shape(tokens)[1] - n + 1  # n-grams in a sequence
            code = tokens[:, :length]
            valid = code > 0
            code = ops.mod(code, self.num_buckets)
            for k in range(1, n):
                following = tokens[:, k : length + k]
                valid = ops.logical_and(valid, following > 0)
                code = ops.mod(
                    code * self._MULTIPLIER + ops.mod(following, self.num_buckets),
                    self.num_buckets,
                )
            code = ops.mod(code + n, self.num_buckets)  # n-grams of different n differ
            pieces.append(ops.where(valid, code + self.vocab_size, ops.zeros_like(code)))
        return ops.concatenate(pieces, axis=1)

    def compute_output_shape(self, input_shape):
        steps = input_shape[1]
        if steps is None:
            return (input_shape[0], None)
        return (input_shape[0], sum(max(steps - n + 1, 0) for n in range(1, self.max_n + 1)))

    def get_config(self):
        return {
            **super().get_config(),
            "vocab_size": self.vocab_size,
            "max_n": self.max_n,
            "num_buckets": self.num_buckets,
        }
