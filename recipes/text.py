"""Text for the recurrent and text recipes: offline toy corpora, a
``TextVectorization`` helper, and the hashed n-gram layer of fastText.

Offline data (no download, reproducible):

- ``toy_corpus``: sentences of a small grammar in which words of one kind
  (animals, colours, objects...) share their contexts; for language models and
  word2vec.
- ``toy_reviews``: short "movie reviews" labelled positive (1) or negative (0),
  half of them negated ("not good" is negative, "not bad" positive), so word
  order matters: a bag of single words cannot separate them, bigrams can.

Example:

>>> texts, labels = toy_reviews("train", num_examples=500)
>>> vectorizer = make_vectorizer(texts, sequence_length=12)
>>> ids = vectorize(vectorizer, texts)    # int32 (500, 12), 0 is padding
"""

import keras
import numpy as np
from keras import ops

from recipes.checks import check_choice, check_positive_int

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


def _check_split(split):
    check_choice("split", split, SPLITS)
    return _SPLIT_SEEDS[split]


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


def toy_reviews(split="train", num_examples=None, negation=0.5):
    """Short labelled reviews: 1 positive, 0 negative.

    Each review is one opinion (``the <subject> was [adverb] [not] <adjective>``)
    between optional filler words. With probability ``negation`` the adjective
    is negated, which flips the label: the label is the XOR of "the adjective is
    positive" and "not" being there, which no weighted sum of single-word
    features can compute (bigrams such as "not good" can).

    Args:
        split: ``"train"``, ``"validation"`` or ``"test"`` (disjoint seeds).
        num_examples: reviews in the split (default 2000/300/500).
        negation: fraction of negated reviews, in ``[0, 1]``.

    Returns:
        ``texts`` (a NumPy array of str) and ``labels`` (int32, 0 or 1).

    Example:

    >>> texts, labels = toy_reviews("test", num_examples=3)
    >>> texts[0], labels[0]
    ('...', ...)
    """
    seed = _check_split(split)
    n = num_examples or {"train": 2000, "validation": 300, "test": 500}[split]
    check_positive_int("num_examples", n)
    if not isinstance(negation, (int, float)) or not 0 <= negation <= 1:
        raise ValueError(f"`negation` must be in [0, 1]. Received: negation={negation!r}")
    rng = np.random.default_rng(2000 + seed)
    texts, labels = [], []
    for _ in range(n):
        positive = bool(rng.integers(2))
        negated = bool(rng.random() < negation)
        adjective = (POSITIVE if positive else NEGATIVE)[rng.integers(len(POSITIVE))]
        words = [
            _OPENERS[rng.integers(len(_OPENERS))],
            "the",
            SUBJECTS[rng.integers(len(SUBJECTS))],
            "was",
            _ADVERBS[rng.integers(len(_ADVERBS))] if not negated else "",
            "not" if negated else "",
            adjective,
            _CLOSERS[rng.integers(len(_CLOSERS))],
        ]
        texts.append(" ".join(w for w in words if w))
        labels.append(int(positive != negated))
    return np.array(texts), np.array(labels, "int32")


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
