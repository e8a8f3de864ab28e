"""Text classifiers (seeds 000, 003 and 004): a bag-of-words MLP, fastText
(averaged word and n-gram embeddings, Joulin et al. 2016) and an embedding +
GRU/LSTM sentiment classifier.

The models read int token ids, 0 being padding (``recipes.text.make_vectorizer``
and ``recipes.text.vectorize`` turn strings into them), on every backend. With
``text_input=True`` they read raw strings through a ``TextVectorization`` layer
inside the model (TensorFlow backend only); they take texts as people hold them
(a list of strings, a NumPy string or object array, a string tensor, or a
``tf.data`` of strings such as ``recipes.data.load("imdb_reviews")``), and their
vocabulary is learned from the training texts at the first ``fit`` unless
``adapt`` was called before.
"""

import keras
import numpy as np

from recipes.checks import (
    check_choice,
    check_int_tuple,
    check_positive_int,
    check_rate,
    check_text_input,
)
from recipes.functional import FunctionalModel
from recipes.heads import (
    HEAD_DOCS,
    OUTPUT_ACTIVATIONS,
    default_output_activation,
    head_model,
    output_dense,
)
from recipes.layers.recurrent import recurrent_layer
from recipes.registry import register_builder, register_recipes
from recipes.text import HashedNGrams

KINDS = ("bow", "fasttext", "gru", "lstm")
BAG_MODES = ("count", "multi_hot")


@keras.saving.register_keras_serializable(package="recipes")
class TextClassifier(FunctionalModel):
    """A text classifier over token ids (or raw strings with ``text_input``).

    ``kind`` picks the body:

    - ``"bow"``: bag of words (``CategoryEncoding`` of the ids, counts or
      multi-hot) into an MLP.
    - ``"fasttext"``: word ids plus hashed n-gram ids (``HashedNGrams``), one
      embedding for both, averaged over the valid positions, then a linear
      softmax (Joulin et al. 2016: no hidden layer).
    - ``"gru"`` / ``"lstm"``: an embedding (padding masked) read by a recurrent
      layer (bidirectional on request; its last states are the sentence
      representation).

    Args:
        kind: one of ``KINDS``.
        vocab_size: number of token ids (the ``max_tokens`` of the vectorizer).
        num_classes: output width (1 with a sigmoid, or classes for a softmax).
        sequence_length: ids per text (``None``: any length; required with
            ``text_input``).
        embedding_dim: embedding width (``fasttext``, ``gru``, ``lstm``).
        hidden_units: widths of the MLP's hidden layers (``bow``).
        bag_mode: ``"count"`` or ``"multi_hot"`` (``bow``).
        units: recurrent state size (``gru``, ``lstm``).
        bidirectional: read both directions (``gru``, ``lstm``).
        max_n: longest hashed n-gram (``fasttext``; 1: words only).
        num_buckets: hash buckets of the n-grams (``fasttext``).
        dropout: dropout before the output layer (and inside the RNN's input).
        output_activation: default softmax for ``num_classes > 1``, else sigmoid.
        text_input: read raw strings through a ``TextVectorization`` layer
            (TensorFlow backend only).
        name: model name.
        **kwargs: ``keras.Model`` arguments (``trainable``...).

    Example:

    >>> model = TextClassifier("fasttext", vocab_size=1000, max_n=2)
    >>> model(np.array([[5, 8, 9, 0]])).shape
    (1, 2)
    """

    def __init__(
        self,
        kind="gru",
        vocab_size=20_000,
        num_classes=2,
        sequence_length=None,
        embedding_dim=64,
        hidden_units=(64,),
        bag_mode="count",
        units=64,
        bidirectional=False,
        max_n=2,
        num_buckets=100_000,
        dropout=0.0,
        output_activation=None,
        text_input=False,
        name="text_classifier",
        **kwargs,
    ):
        check_choice("kind", kind, KINDS)
        check_positive_int("vocab_size", vocab_size, minimum=3)
        check_positive_int("num_classes", num_classes)
        if sequence_length is not None:
            check_positive_int("sequence_length", sequence_length)
        check_positive_int("embedding_dim", embedding_dim)
        hidden_units = check_int_tuple("hidden_units", hidden_units)
        check_choice("bag_mode", bag_mode, BAG_MODES)
        check_positive_int("units", units)
        check_positive_int("max_n", max_n)
        check_rate("dropout", dropout)
        output_activation = output_activation or default_output_activation(num_classes)
        check_choice("output_activation", output_activation, OUTPUT_ACTIVATIONS)
        if text_input:
            check_text_input(sequence_length)

        if text_input:
            inputs = keras.Input(shape=(), dtype="string", name="text")
            ids = keras.layers.TextVectorization(
                max_tokens=vocab_size,
                output_sequence_length=sequence_length,
                name="vectorizer",
            )(inputs)
        else:
            inputs = ids = keras.Input(shape=(sequence_length,), dtype="int32", name="tokens")
        if kind == "bow":
            x = keras.layers.CategoryEncoding(
                vocab_size, output_mode=bag_mode, name="bag_of_words"
            )(ids)
            for i, width in enumerate(hidden_units, start=1):
                x = keras.layers.Dense(width, activation="relu", name=f"dense_{i}")(x)
                if dropout:
                    x = keras.layers.Dropout(dropout, name=f"dropout_{i}")(x)
        elif kind == "fasttext":
            if max_n > 1:
                ids = HashedNGrams(
                    vocab_size, max_n=max_n, num_buckets=num_buckets, name="ngrams"
                )(ids)
            x = keras.layers.Embedding(
                vocab_size + (num_buckets if max_n > 1 else 0),
                embedding_dim,
                mask_zero=True,
                name="embedding",
            )(ids)
            x = keras.layers.GlobalAveragePooling1D(name="average")(x)
            if dropout:
                x = keras.layers.Dropout(dropout, name="dropout")(x)
        else:
            x = keras.layers.Embedding(
                vocab_size, embedding_dim, mask_zero=True, name="embedding"
            )(ids)
            layer = recurrent_layer(
                kind, units, dropout=dropout, name=None if bidirectional else "recurrent"
            )
            if bidirectional:
                layer = keras.layers.Bidirectional(layer, name="recurrent")
            x = layer(x)
            if dropout:
                x = keras.layers.Dropout(dropout, name="dropout")(x)
        outputs = output_dense(num_classes, output_activation)(x)
        super().__init__(inputs, outputs, arguments=locals(), name=name, **kwargs)

    @property
    def vectorizer(self):
        """The ``TextVectorization`` layer (``text_input=True``), else ``None``."""
        return self.get_layer("vectorizer") if self.text_input else None

    def adapt(self, texts):
        """Learns the vocabulary of the ``TextVectorization`` layer from
        ``texts`` (a list or array of strings, a string tensor, or a ``tf.data``
        of strings or of ``(text, label)``)."""
        if not self.text_input:
            raise ValueError("`adapt` is for models built with text_input=True.")
        texts = self._texts(texts, "texts")
        if hasattr(texts, "element_spec") and isinstance(texts.element_spec, tuple):
            texts = texts.map(lambda text, *_: text)
        self.vectorizer.adapt(texts)

    def fit(self, x=None, y=None, *args, **kwargs):
        """``keras.Model.fit``; a string model takes texts as people hold them
        (``x`` and ``validation_data``'s texts) and, while its vectorizer has no
        vocabulary yet, first adapts it on the training texts ``x``."""
        if self.text_input:
            x = self._texts(x)
            validation = kwargs.get("validation_data")
            if isinstance(validation, (tuple, list)) and validation:
                texts = self._texts(validation[0], "validation_data[0]")
                kwargs["validation_data"] = (texts, *validation[1:])
            if not self._has_vocabulary():
                self.adapt(x)
        return super().fit(x, y, *args, **kwargs)

    def evaluate(self, x=None, y=None, *args, **kwargs):
        """``keras.Model.evaluate``; a string model takes texts as people hold
        them and refuses to run before it has a vocabulary."""
        return super().evaluate(self._ready_texts(x), y, *args, **kwargs)

    def predict(self, x, *args, **kwargs):
        """``keras.Model.predict``; a string model takes texts as people hold
        them and refuses to run before it has a vocabulary."""
        return super().predict(self._ready_texts(x), *args, **kwargs)

    def _has_vocabulary(self):
        return self.vectorizer.vocabulary_size() > 2  # more than padding and [UNK]

    def _ready_texts(self, x):
        """``x`` for a string model that must already have learned its vocabulary."""
        if not self.text_input:
            return x
        x = self._texts(x)
        if not self._has_vocabulary():
            raise ValueError(
                f"Model {self.name!r} has not learned its vocabulary yet: call "
                "`fit` (it learns the vocabulary from the training texts) or "
                "`adapt(texts)` first."
            )
        return x

    def _texts(self, x, name="x"):
        """A batch of texts (a list or tuple of strings, a NumPy string or object
        array, a string tensor) as the string tensor the vectorizer reads; other
        inputs (a ``tf.data`` pipeline, a ``PyDataset``...) are returned as
        they are."""
        if keras.ops.is_tensor(x):
            if keras.backend.standardize_dtype(x.dtype) != "string":
                raise ValueError(
                    f"`{name}` must hold strings (the model reads raw text). "
                    f"Received: {name} of dtype {x.dtype.name}"
                )
            return x
        if isinstance(x, (str, bytes)):
            raise ValueError(
                f"`{name}` must be a batch of texts (a list of strings), not one "
                f"string. Received: {name}={x[:50]!r}"
            )
        if not isinstance(x, (list, tuple, np.ndarray)):
            return x
        texts = np.asarray(x, dtype=object if isinstance(x, (list, tuple)) else None)
        if texts.dtype.kind not in "USO":
            raise ValueError(
                f"`{name}` must hold strings (the model reads raw text). "
                f"Received: {name} of dtype {texts.dtype}"
            )
        for value in texts.flat if texts.dtype == object else ():
            if not isinstance(value, (str, bytes)):
                raise ValueError(
                    f"`{name}` must hold strings (the model reads raw text). "
                    f"Received: {name} holding {value!r} ({type(value).__name__})"
                )
        return keras.ops.convert_to_tensor(texts, dtype="string")


@register_builder(**HEAD_DOCS)
def build_text_classifier(
    kind="gru",
    vocab_size=20_000,
    num_classes=2,
    sequence_length=None,
    embedding_dim=64,
    hidden_units=(64,),
    bag_mode="count",
    units=64,
    bidirectional=False,
    dropout=0.0,
    output_activation=None,
    text_input=False,
    name="text_classifier",
):
    """Builds a bag-of-words MLP or an embedding + GRU/LSTM text classifier.

    Speed: ``kind="gru"``/``"lstm"`` keep the fused cuDNN path (padding must be
    at the end of each sequence, as ``TextVectorization`` puts it).

    Args:
        kind: ``"bow"`` (bag-of-words MLP), ``"gru"`` or ``"lstm"``.
        vocab_size: number of token ids (vocabulary size, padding and ``[UNK]``
            included).
        num_classes: output width.
        sequence_length: ids per text; required with ``text_input``.
        embedding_dim: embedding width (``gru``, ``lstm``).
        hidden_units: hidden widths of the MLP (``bow``).
        bag_mode: ``"count"`` or ``"multi_hot"`` (``bow``).
        units: recurrent state size.
        bidirectional: bidirectional recurrent layer.
        dropout: dropout rate.
        output_activation: default softmax for ``num_classes > 1``, else sigmoid.
        text_input: the model reads raw strings (TensorFlow backend only).
        name: model name.

    Returns:
        A ``TextClassifier`` (a functional ``keras.Model``).

    Example:

    >>> texts, labels = recipes.text.toy_reviews("train")
    >>> vectorizer = recipes.text.make_vectorizer(texts, sequence_length=12)
    >>> ids = recipes.text.vectorize(vectorizer, texts)
    >>> model = build_text_classifier("gru", vocab_size=vectorizer.vocabulary_size())
    >>> model.fit(ids, labels, epochs=5)
    """
    check_choice("kind", kind, ("bow", "gru", "lstm"))
    model = TextClassifier.from_arguments(locals())
    return head_model(model, model.output_activation)


@register_builder(**HEAD_DOCS, learning_rate=1e-2)
def build_fasttext(
    vocab_size=20_000,
    num_classes=2,
    sequence_length=None,
    embedding_dim=10,
    max_n=2,
    num_buckets=100_000,
    dropout=0.0,
    output_activation=None,
    text_input=False,
    name="fasttext",
):
    """Builds fastText (Joulin et al. 2016, "Bag of tricks"): averaged embeddings
    of the words and of their hashed n-grams, then a linear softmax.

    The n-grams restore some word order to the bag: with bigrams the model
    tells "not good" from "good" (see ``recipes.text.toy_reviews``). The paper's
    embeddings are 10-wide, the bigram buckets 10 million; use ``num_buckets``
    near the number of distinct n-grams of your corpus.

    Args:
        vocab_size: number of word ids (padding and ``[UNK]`` included).
        num_classes: output width.
        sequence_length: ids per text; required with ``text_input``.
        embedding_dim: embedding width (the paper's is 10).
        max_n: longest n-gram (1: words only, 2: + bigrams, 3: + trigrams).
        num_buckets: hash buckets shared by all n-grams.
        dropout: dropout on the averaged embedding.
        output_activation: default softmax for ``num_classes > 1``, else sigmoid.
        text_input: the model reads raw strings (TensorFlow backend only).
        name: model name.

    Returns:
        A ``TextClassifier`` with ``kind="fasttext"``.

    Example:

    >>> model = build_fasttext(vocab_size=5000, max_n=2, num_buckets=20_000)
    >>> model.count_params()  # (5000 + 20000) * 10 + 10 * 2 + 2
    250022
    """
    model = TextClassifier.from_arguments({**locals(), "kind": "fasttext"})
    return head_model(model, model.output_activation)


register_recipes(
    {
        "imdb_gru": {
            "builder": build_text_classifier,
            "summary": "Embedding + bidirectional GRU sentiment classifier on raw IMDB reviews "
            "(seed 004); the vocabulary (20k words) is learned at the first fit.",
            "dataset": "imdb_reviews",
            "fit": {"epochs": 3, "batch_size": 64},
            "kind": "gru",
            "vocab_size": 20_000,
            "sequence_length": 256,
            "embedding_dim": 64,
            "units": 64,
            "bidirectional": True,
            "text_input": True,
        },
        "imdb_fasttext": {
            "builder": build_fasttext,
            "summary": "fastText with hashed bigrams on raw IMDB reviews (Joulin et al. 2016); "
            "the vocabulary (20k words) is learned at the first fit.",
            "dataset": "imdb_reviews",
            "fit": {"epochs": 5, "batch_size": 64},
            "vocab_size": 20_000,
            "sequence_length": 400,
            "max_n": 2,
            "num_buckets": 200_000,
            "text_input": True,
        },
    }
)
