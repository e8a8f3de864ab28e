"""word2vec (seeds 000 and 003; Mikolov et al. 2013): skip-gram and continuous
bag of words (CBoW) with negative sampling.

Both models score a word against candidate words with the dot product of two
embeddings, the word's (``word_embedding``, the one kept afterwards) and the
candidates' (``output_embedding``), and learn to tell the true candidate (label 1)
from ``negative_samples`` random ones (label 0), drawn from the unigram
distribution raised to the power 3/4:

- skip-gram: the word is the centre word; the true candidate one of its
  context words.
- CBoW: the "word" is the average of the context words' embeddings; the true
  candidate the centre word.

``skipgram_examples`` and ``cbow_examples`` (or ``Word2Vec.training_examples``)
make the training examples from token ids (e.g. ``recipes.text.vectorize``);
``Word2Vec.most_similar`` reads the learned embeddings.
"""

import keras
import numpy as np

from recipes.checks import check_choice, check_positive_int, check_token_ids, check_vocabulary
from recipes.data import derived as _derived  # noqa: F401  (registers the derived sets)
from recipes.functional import FunctionalModel
from recipes.registry import register_builder, register_recipes
from recipes.text import REVIEW_VOCAB_SIZE, REVIEW_VOCABULARY

MODES = ("skipgram", "cbow")


def negative_sampling_table(sequences, vocab_size, power=0.75):
    """The probability of drawing each id as a negative: its count in
    ``sequences`` to the power ``power``, normalised (padding 0 is never drawn).

    Example:

    >>> negative_sampling_table(np.array([[1, 1, 2, 0]]), 3, power=1.0)
    array([0.        , 0.66666667, 0.33333333])
    """
    sequences = check_token_ids(sequences, vocab_size, require_tokens=True)
    counts = np.bincount(sequences.ravel(), minlength=vocab_size).astype("float64")
    counts[0] = 0.0
    weights = counts**power
    return weights / weights.sum()


def _negatives(rng, table, size, negative_samples):
    return rng.choice(len(table), size=(size, negative_samples), p=table).astype("int32")


def skipgram_examples(sequences, vocab_size, window_size=2, negative_samples=4, seed=0):
    """Skip-gram training examples: every (centre word, context word) pair within
    ``window_size`` positions, with ``negative_samples`` random words.

    Args:
        sequences: int token ids ``(texts, steps)``, 0 for padding.
        vocab_size: number of ids.
        window_size: context words on each side.
        negative_samples: random words per pair.
        seed: seed of the negative draws.

    Returns:
        ``x`` a dict with ``words`` ``(pairs,)`` (centre words) and ``candidates``
        ``(pairs, 1 + negative_samples)`` (the context word, then the negatives),
        and ``y`` float32 ``(pairs, 1 + negative_samples)``: 1 then zeros.

    Example:

    >>> x, y = skipgram_examples(np.array([[2, 3, 4, 0]]), 5, window_size=1)
    >>> x["words"].tolist(), x["candidates"][:, 0].tolist()
    ([2, 3, 3, 4], [3, 2, 4, 3])
    """
    sequences, windows = _context_windows(sequences, vocab_size, window_size, negative_samples)
    words = np.array([word for word, around in windows for _ in around], "int32")
    contexts = np.array([context for _, around in windows for context in around], "int32")
    return _with_negatives(words, contexts, sequences, vocab_size, negative_samples, seed)


def cbow_examples(sequences, vocab_size, window_size=2, negative_samples=4, seed=0):
    """CBoW training examples: the words around each position (up to
    ``window_size`` on each side, 0-padded) and the centre word, with
    ``negative_samples`` random words.

    Returns:
        ``x`` a dict with ``words`` ``(positions, 2 * window_size)`` (the context,
        0 for missing) and ``candidates`` ``(positions, 1 + negative_samples)``
        (the centre word, then the negatives), and ``y`` as for
        ``skipgram_examples``.

    Example:

    >>> x, y = cbow_examples(np.array([[2, 3, 4]]), 5, window_size=1)
    >>> x["words"].tolist(), x["candidates"][:, 0].tolist()
    ([[3, 0], [2, 4], [3, 0]], [2, 3, 4])
    """
    sequences, windows = _context_windows(sequences, vocab_size, window_size, negative_samples)
    windows = [(word, around) for word, around in windows if around]
    contexts = [around + [0] * (2 * window_size - len(around)) for _, around in windows]
    centres = np.array([word for word, _ in windows], "int32")
    contexts = np.array(contexts, "int32").reshape(-1, 2 * window_size)
    return _with_negatives(contexts, centres, sequences, vocab_size, negative_samples, seed)


def _context_windows(sequences, vocab_size, window_size, negative_samples):
    """Checks the arguments; returns the sequences and, for each real token, the
    token and the real tokens up to ``window_size`` positions away."""
    sequences = check_token_ids(sequences, vocab_size)
    check_positive_int("window_size", window_size)
    check_positive_int("negative_samples", negative_samples)
    windows = []
    for row in sequences:
        row = row[row != 0]
        for i, word in enumerate(row):
            first, last = max(0, i - window_size), min(len(row), i + window_size + 1)
            windows.append((word, [row[j] for j in range(first, last) if j != i]))
    return sequences, windows


def _with_negatives(words, positives, sequences, vocab_size, negative_samples, seed):
    rng = np.random.default_rng(seed)
    table = negative_sampling_table(sequences, vocab_size)
    negatives = _negatives(rng, table, len(positives), negative_samples)
    candidates = np.concatenate([positives[:, None], negatives], axis=1)
    labels = np.zeros(candidates.shape, "float32")
    labels[:, 0] = 1.0
    return {"words": words, "candidates": candidates}, labels


@keras.saving.register_keras_serializable(package="recipes")
class Word2Vec(FunctionalModel):
    """Skip-gram or CBoW with negative sampling; outputs one logit per candidate.

    Inputs: ``words`` (skip-gram: centre ids ``(batch,)``; CBoW: context ids
    ``(batch, 2 * window_size)``, 0-padded) and ``candidates`` ``(batch, 1 +
    negative_samples)``. Output: the logits ``(batch, 1 + negative_samples)``,
    ``word_vector . output_vector(candidate)``. ``training_examples(ids)`` makes
    matching examples.

    Args:
        vocab_size: number of token ids (0 is padding).
        embedding_dim: embedding width.
        mode: ``"skipgram"`` or ``"cbow"``.
        negative_samples: random words scored against each true one.
        window_size: context words on each side of the centre word.
        vocabulary: optional list of the words of each id (e.g.
            ``vectorizer.get_vocabulary()``), so that ``most_similar`` takes and
            returns words; saved with the model.
        name: model name.
        **kwargs: ``keras.Model`` arguments (``trainable``...).

    Example:

    >>> model = Word2Vec(vocab_size=100, embedding_dim=16, negative_samples=2)
    >>> model({"words": np.array([3]), "candidates": np.array([[4, 9, 1]])}).shape
    (1, 3)
    """

    def __init__(
        self,
        vocab_size=10_000,
        embedding_dim=64,
        mode="skipgram",
        negative_samples=4,
        window_size=2,
        vocabulary=None,
        name="word2vec",
        **kwargs,
    ):
        check_positive_int("vocab_size", vocab_size, minimum=2)
        check_positive_int("embedding_dim", embedding_dim)
        check_choice("mode", mode, MODES)
        check_positive_int("negative_samples", negative_samples)
        check_positive_int("window_size", window_size)
        if vocabulary is not None:
            vocabulary = check_vocabulary(vocabulary, vocab_size)
        words = keras.Input(
            shape=(2 * window_size,) if mode == "cbow" else (), dtype="int32", name="words"
        )
        candidates = keras.Input(shape=(1 + negative_samples,), dtype="int32", name="candidates")
        word_vectors = keras.layers.Embedding(
            vocab_size, embedding_dim, mask_zero=mode == "cbow", name="word_embedding"
        )(words)
        if mode == "cbow":
            word_vectors = keras.layers.GlobalAveragePooling1D(name="average")(word_vectors)
        candidate_vectors = keras.layers.Embedding(
            vocab_size, embedding_dim, name="output_embedding"
        )(candidates)
        # float32 logits under any precision policy, for a stable loss
        logits = keras.layers.Dot(axes=(1, 2), dtype="float32", name="logits")(
            [word_vectors, candidate_vectors]
        )
        super().__init__(
            {"words": words, "candidates": candidates},
            logits,
            arguments=locals(),
            name=name,
            **kwargs,
        )

    def training_examples(self, sequences, seed=0):
        """This model's training examples from token ids ``(texts, steps)``:
        ``skipgram_examples`` or ``cbow_examples`` with its ``window_size`` and
        ``negative_samples``. Draw again with a new ``seed`` for each epoch to
        see fresh negatives."""
        make = skipgram_examples if self.mode == "skipgram" else cbow_examples
        return make(
            sequences,
            self.vocab_size,
            window_size=self.window_size,
            negative_samples=self.negative_samples,
            seed=seed,
        )

    @property
    def embeddings(self):
        """The learned word vectors, a NumPy ``(vocab_size, embedding_dim)``."""
        return keras.ops.convert_to_numpy(self.get_layer("word_embedding").embeddings)

    def _id(self, word):
        if isinstance(word, str):
            if self.vocabulary is None:
                raise ValueError("Words need a model built with `vocabulary`; pass ids.")
            if word not in self.vocabulary:
                raise ValueError(f"{word!r} is not in the vocabulary.")
            return self.vocabulary.index(word)
        index = int(word)
        if not 0 <= index < self.vocab_size:
            raise ValueError(f"Ids must lie in [0, {self.vocab_size}). Received: {word!r}")
        return index

    def similarity(self, first, second):
        """Cosine similarity of two words' (or ids') vectors."""
        vectors = self.embeddings[[self._id(first), self._id(second)]]
        norms = np.linalg.norm(vectors, axis=1) + 1e-12
        return float(vectors[0] @ vectors[1] / (norms[0] * norms[1]))

    def most_similar(self, word, topn=5):
        """The ``topn`` words (or ids) whose vectors are closest in cosine
        similarity to ``word``'s, itself, padding and ``[UNK]`` left out.

        Returns:
            A list of ``(word or id, similarity)``, most similar first.
        """
        check_positive_int("topn", topn)
        index = self._id(word)
        vectors = self.embeddings
        unit = vectors / (np.linalg.norm(vectors, axis=1, keepdims=True) + 1e-12)
        scores = unit @ unit[index]
        skipped = {index, 0}
        if self.vocabulary is not None and "[UNK]" in self.vocabulary:
            skipped.add(self.vocabulary.index("[UNK]"))
        order = [i for i in np.argsort(-scores) if i not in skipped][:topn]
        names = self.vocabulary if self.vocabulary is not None else None
        return [(names[i] if names else int(i), float(scores[i])) for i in order]


@register_builder(
    learning_rate=1e-2,
    loss=lambda: keras.losses.BinaryCrossentropy(from_logits=True),
    metrics=lambda: [keras.metrics.BinaryAccuracy(threshold=0.0)],
    loss_doc="binary cross-entropy on the logits (true candidate vs negatives)",
    metrics_doc="binary accuracy on the logits",
)
def build_word2vec(
    vocab_size=10_000,
    embedding_dim=64,
    mode="skipgram",
    negative_samples=4,
    window_size=2,
    vocabulary=None,
    name="word2vec",
):
    """Builds word2vec with negative sampling (``Word2Vec``), skip-gram or CBoW.

    ``model.training_examples(ids)`` makes its training examples from token ids
    (``skipgram_examples`` or ``cbow_examples`` with the model's window and
    number of negatives).

    Args:
        vocab_size: number of token ids (0 is padding).
        embedding_dim: embedding width.
        mode: ``"skipgram"`` or ``"cbow"``.
        negative_samples: random words (from the unigram distribution to the
            3/4) scored against each true one.
        window_size: context words on each side of the centre word.
        vocabulary: optional words of the ids, for ``most_similar("cat")``.
        name: model name.

    Returns:
        A ``Word2Vec`` model with ``most_similar``, ``similarity`` and
        ``embeddings``.

    Example:

    >>> ids = recipes.text.vectorize(vectorizer, recipes.text.toy_corpus())
    >>> model = build_word2vec(vocab_size, 16, negative_samples=4,
    ...                        vocabulary=vectorizer.get_vocabulary())
    >>> x, y = model.training_examples(ids)
    >>> model.fit(x, y, epochs=3, batch_size=256)
    >>> model.most_similar("cat", topn=3)
    """
    return Word2Vec.from_arguments(locals())


register_recipes(
    {
        "reviews_word2vec": {
            "builder": build_word2vec,
            "summary": "Skip-gram word2vec (16-D, window 2, 4 negatives) of the offline toy "
            "reviews' words; most_similar('great').",
            "dataset": "toy_review_skipgrams",
            "fit": {"epochs": 5, "batch_size": 256},
            "vocab_size": REVIEW_VOCAB_SIZE,
            "embedding_dim": 16,
            "negative_samples": _derived.SKIPGRAM_NEGATIVES,
            "window_size": _derived.SKIPGRAM_WINDOW,
            "vocabulary": REVIEW_VOCABULARY,
        },
    }
)
