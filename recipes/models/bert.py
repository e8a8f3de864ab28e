"""BERT (Devlin et al. 2019; seeds 000 and 004): an encoder pre-trained with masked
language modelling, then fine-tuned as a sentiment classifier.

Pre-training: 15% of the (non-special) tokens of each sequence are chosen; of
those, 80% become ``[MASK]``, 10% a random token and 10% stay as they are. The
model predicts the original token everywhere, but the loss and the accuracy
count the chosen positions only (``mask_tokens`` returns them as sample
weights, and the loss divides by their sum). Fine-tuning: ``build_bert_classifier``
copies the pre-trained encoder and puts a classification head on its [CLS]
output. The next-sentence task and segment embeddings of the paper are left out.

For a self-contained demonstration the recipes train on a tiny synthetic corpus
of reviews written by a small grammar with structure that a masked language
model can learn (a connector agrees with the polarities of the adjectives around
it, "i loved it" follows praise...): ``recipes.text.toy_reviews(...,
grammar="contrast")``, tokenized word by word by ``recipes.text.encode_reviews``.
``predict_sentiment`` asks a classifier in the manner of seed 004.

Example:

>>> texts, _ = toy_reviews(num_examples=4000, grammar="contrast", seed=0)
>>> bert = build_bert()
>>> bert.fit(MaskedLanguageModelBatches(encode_reviews(texts), REVIEW_VOCAB_SIZE), epochs=10)
"""

import inspect

import keras
import numpy as np

from recipes.checks import (
    check_bool,
    check_choice,
    check_instance,
    check_known_length,
    check_masking_rates,
    check_positive_int,
    check_rate,
    check_shape,
    check_transformer_arguments,
    check_unset,
)
from recipes.compiling import BuiltModel
from recipes.data import derived as _derived  # noqa: F401  (registers the derived sets)
from recipes.heads import default_output_activation, head_model, output_dense
from recipes.layers.attention import (
    LearnedPositionalEmbedding,
    PaddingMask,
    SelectToken,
    TransformerEncoderBlock,
)
from recipes.presets import dataset_arguments
from recipes.registry import register_builder, register_recipes
from recipes.text import (
    CLS_ID,
    MASK_ID,
    PAD_ID,
    REVIEW_LENGTH,
    REVIEW_VOCAB_SIZE,
    SEP_ID,
    encode_reviews,
)


def mask_tokens(
    token_ids,
    vocab_size,
    rate=0.15,
    mask_rate=0.8,
    random_rate=0.1,
    mask_id=MASK_ID,
    special_ids=(PAD_ID, CLS_ID, SEP_ID, MASK_ID),
    seed=None,
):
    """Corrupts token ids for masked language modelling, as BERT does.

    Each token whose id is not in ``special_ids`` is chosen with probability
    ``rate``; a chosen token becomes ``mask_id`` with probability ``mask_rate``,
    a random non-special token with probability ``random_rate``, and stays
    unchanged otherwise.

    Args:
        token_ids: int array ``(n, length)``.
        vocab_size: vocabulary size (random tokens are drawn from it).
        rate: fraction of tokens chosen (0.15).
        mask_rate: fraction of the chosen replaced by ``mask_id`` (0.8).
        random_rate: fraction of the chosen replaced by a random token (0.1).
        mask_id: the ``[MASK]`` id.
        special_ids: ids never chosen nor drawn (padding, [CLS], [SEP], [MASK]).
        seed: an int or a ``numpy.random.Generator``.

    Returns:
        ``(inputs, labels, weights)``: the corrupted ids, the original ids, and
        float32 weights that are 1 at the chosen positions and 0 elsewhere (pass
        them as ``sample_weight``).

    Example:

    >>> inputs, labels, weights = mask_tokens(encode_reviews(texts),
    ...                                       REVIEW_VOCAB_SIZE, seed=0)
    """
    check_masking_rates(rate, mask_rate, random_rate)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    labels = np.asarray(token_ids, "int32")
    candidates = np.setdiff1d(np.arange(vocab_size), special_ids)
    chosen = ~np.isin(labels, special_ids) & (rng.random(labels.shape) < rate)
    action = rng.random(labels.shape)
    inputs = labels.copy()
    masked = chosen & (action < mask_rate)
    randomised = chosen & (action >= mask_rate) & (action < mask_rate + random_rate)
    inputs[masked] = mask_id
    inputs[randomised] = rng.choice(candidates, size=int(randomised.sum()))
    return inputs, labels, chosen.astype("float32")


class MaskedLanguageModelBatches(keras.utils.PyDataset):
    """Batches for MLM pre-training, masked afresh every time a batch is drawn
    (dynamic masking, as RoBERTa does), so each epoch sees new masks.

    Args:
        token_ids: int array ``(n, length)`` of the corpus.
        vocab_size: vocabulary size.
        batch_size: sequences per batch.
        seed: seed of the shuffling and masking.
        **mask_arguments: more arguments of ``mask_tokens`` (``rate``...).

    Example:

    >>> batches = MaskedLanguageModelBatches(encode_reviews(texts), vocab_size=45)
    >>> model.fit(batches, epochs=10)
    """

    def __init__(self, token_ids, vocab_size, batch_size=64, seed=0, **mask_arguments):
        super().__init__()
        self.token_ids = np.asarray(token_ids, "int32")
        self.vocab_size = check_positive_int("vocab_size", vocab_size, minimum=2)
        self.batch_size = check_positive_int("batch_size", batch_size)
        self.mask_arguments = mask_arguments
        self.rng = np.random.default_rng(seed)
        self.order = self.rng.permutation(len(self.token_ids))

    def __len__(self):
        return -(-len(self.token_ids) // self.batch_size)

    def __getitem__(self, index):
        rows = self.order[index * self.batch_size : (index + 1) * self.batch_size]
        return mask_tokens(
            self.token_ids[rows], self.vocab_size, seed=self.rng, **self.mask_arguments
        )

    def on_epoch_end(self):
        self.order = self.rng.permutation(len(self.token_ids))


def _bert_encoder(
    input_shape,
    vocab_size,
    embed_dim,
    num_heads,
    feed_forward_dim,
    num_layers,
    dropout,
    activation,
    pad_id,
):
    """The encoder, its arguments checked: token ids -> ``(batch, length,
    embed_dim)``, a nested model named ``"bert_encoder"``."""
    input_shape = check_shape("input_shape", input_shape, ndim=1)
    check_known_length("input_shape", input_shape)
    check_positive_int("vocab_size", vocab_size, minimum=2)
    check_transformer_arguments(
        embed_dim, num_heads, feed_forward_dim, num_layers, dropout, activation
    )
    check_positive_int("pad_id", pad_id, minimum=0)

    initializer = keras.initializers.TruncatedNormal(stddev=0.02)
    tokens = keras.Input(shape=input_shape, dtype="int32", name="token_ids")
    mask = PaddingMask(pad_id, name="padding_mask")(tokens)
    x = keras.layers.Embedding(
        vocab_size, embed_dim, embeddings_initializer=initializer, name="token_embedding"
    )(tokens)
    x = LearnedPositionalEmbedding(
        input_shape[0], initializer=initializer, name="position_embedding"
    )(x)
    x = keras.layers.LayerNormalization(epsilon=1e-6, name="embedding_norm")(x)
    if dropout:
        x = keras.layers.Dropout(dropout, name="embedding_dropout")(x)
    for i in range(1, num_layers + 1):
        x = TransformerEncoderBlock(
            num_heads=num_heads,
            feed_forward_dim=feed_forward_dim,
            dropout=dropout,
            activation=activation,
            kernel_initializer=initializer,
            name=f"encoder_block_{i}",
        )(x, padding_mask=mask)
    return keras.Model(tokens, x, name="bert_encoder")


@register_builder(
    loss=lambda: keras.losses.SparseCategoricalCrossentropy(reduction="mean_with_sample_weight"),
    loss_doc="sparse cross-entropy averaged over the chosen positions",
    metrics=list,
    metrics_doc="none besides the weighted accuracy that is always reported",
)
def build_bert(
    input_shape=(REVIEW_LENGTH,),
    vocab_size=REVIEW_VOCAB_SIZE,
    embed_dim=64,
    num_heads=4,
    feed_forward_dim=128,
    num_layers=2,
    dropout=0.1,
    activation="gelu",
    pad_id=PAD_ID,
    name="bert",
):
    """Builds a BERT encoder with its masked-language-model head, for pre-training.

    Token ids -> token + learned position embeddings -> layer norm -> dropout ->
    ``num_layers`` post-norm encoder blocks (GELU; the nested model
    ``"bert_encoder"``) -> ``Dense(embed_dim, gelu)`` -> layer norm ->
    float32 softmax over the vocabulary at every position. Train it on
    ``mask_tokens`` output (or ``MaskedLanguageModelBatches``): inputs the
    corrupted ids, targets the original ids, sample weights the chosen positions.
    The default loss is sparse cross-entropy averaged over the chosen positions
    only (``reduction="mean_with_sample_weight"``), and the model reports
    ``accuracy``, a weighted metric that too counts only the chosen positions
    (metrics given as ``metrics`` count every position).

    Args:
        input_shape: ``(sequence_length,)``.
        vocab_size: vocabulary size (the toy reviews' by default).
        embed_dim: model width.
        num_heads: attention heads (must divide ``embed_dim``).
        feed_forward_dim: hidden width of each feed-forward network.
        num_layers: encoder blocks.
        dropout: dropout rate.
        activation: feed-forward activation.
        pad_id: the padding token id (masked in attention).
        name: model name.

    Returns:
        A functional ``keras.Model``; ``model.get_layer("bert_encoder")`` is the
        encoder.

    Example:

    >>> texts, _ = toy_reviews(num_examples=4000, grammar="contrast", seed=0)
    >>> ids = encode_reviews(texts)
    >>> model = build_bert()
    >>> model.fit(MaskedLanguageModelBatches(ids, REVIEW_VOCAB_SIZE), epochs=10)
    """
    # Every argument but the name is the encoder's.
    encoder = _bert_encoder(**{key: value for key, value in locals().items() if key != "name"})
    tokens = keras.Input(shape=encoder.input_shape[1:], dtype="int32", name="token_ids")
    x = encoder(tokens)
    x = keras.layers.Dense(embed_dim, activation="gelu", name="mlm_transform")(x)
    x = keras.layers.LayerNormalization(epsilon=1e-6, name="mlm_norm")(x)
    outputs = output_dense(vocab_size, "softmax", name="mlm_predictions")(x)
    accuracy = keras.metrics.SparseCategoricalAccuracy(name="accuracy")
    return BuiltModel(
        keras.Model(tokens, outputs, name=name), compile_kwargs={"weighted_metrics": [accuracy]}
    )


def _find_encoder(pretrained_encoder):
    check_instance(
        "pretrained_encoder",
        pretrained_encoder,
        keras.Model,
        "a model from build_bert (or its 'bert_encoder')",
    )
    if pretrained_encoder.name == "bert_encoder":
        return pretrained_encoder
    try:
        return pretrained_encoder.get_layer("bert_encoder")
    except ValueError:
        raise ValueError(
            "`pretrained_encoder` holds no layer named 'bert_encoder': pass a model from "
            f"build_bert or its encoder. Received: {pretrained_encoder.name!r}"
        ) from None


@register_builder(
    loss_doc="the loss that suits the output activation", metrics_doc="``['accuracy']``"
)
def build_bert_classifier(
    pretrained_encoder=None,
    num_classes=2,
    input_shape=None,
    vocab_size=None,
    embed_dim=None,
    num_heads=None,
    feed_forward_dim=None,
    num_layers=None,
    dropout=0.1,
    pooling="mean",
    freeze_encoder=False,
    output_activation=None,
    name="bert_classifier",
):
    """Builds a BERT sequence classifier, by default on a pre-trained encoder.

    With ``pretrained_encoder`` (a ``build_bert`` model or its ``"bert_encoder"``)
    the encoder is copied, weights included, so fine-tuning leaves the
    pre-trained model as it was; the architecture then comes from it, and the
    architecture arguments must stay ``None``. Without it, a fresh encoder is
    built from those arguments (``None`` means ``build_bert``'s default), which
    gives the no-pre-training baseline. The head reads the mean over the real
    tokens (``pooling="mean"``) or the [CLS] position (``"first"``, the paper's
    choice, where next-sentence prediction trains that position; masked language
    modelling alone never does, and on the toy reviews the mean fine-tunes
    faster and more reliably), then dropout and ``Dense(num_classes)`` in float32.

    Args:
        pretrained_encoder: a ``build_bert`` model, its encoder, or ``None``.
        num_classes: classes; 1 gives one sigmoid output (binary sentiment).
        input_shape: ``(sequence_length,)`` of a fresh encoder.
        vocab_size: vocabulary of a fresh encoder.
        embed_dim: width of a fresh encoder.
        num_heads: heads of a fresh encoder.
        feed_forward_dim: feed-forward width of a fresh encoder.
        num_layers: blocks of a fresh encoder.
        dropout: dropout before the head (and inside a fresh encoder).
        pooling: ``"mean"`` or ``"first"`` ([CLS]).
        freeze_encoder: keep the encoder's weights fixed (train the head only).
        output_activation: ``"softmax"``/``"sigmoid"``; defaults from
            ``num_classes``.
        name: model name.

    Returns:
        A functional ``keras.Model``.

    Example:

    >>> bert = build_bert()
    >>> bert.fit(MaskedLanguageModelBatches(ids, REVIEW_VOCAB_SIZE), epochs=10)
    >>> classifier = build_bert_classifier(pretrained_encoder=bert, num_classes=1)
    >>> classifier.fit(ids, labels, epochs=3)
    >>> predict_sentiment(classifier, "This film is great")
    0.97...
    """
    check_positive_int("num_classes", num_classes)
    check_rate("dropout", dropout)
    check_choice("pooling", pooling, ("first", "mean"))
    check_bool("freeze_encoder", freeze_encoder)
    output_activation = output_activation or default_output_activation(num_classes)
    check_choice("output_activation", output_activation, ("softmax", "sigmoid"))
    architecture = {
        "input_shape": input_shape,
        "vocab_size": vocab_size,
        "embed_dim": embed_dim,
        "num_heads": num_heads,
        "feed_forward_dim": feed_forward_dim,
        "num_layers": num_layers,
    }
    if pretrained_encoder is not None:
        check_unset(architecture, "The architecture comes from `pretrained_encoder`")
        source = _find_encoder(pretrained_encoder)
        encoder = keras.models.clone_model(source)
        encoder.set_weights(source.get_weights())
    else:
        defaults = inspect.signature(build_bert).parameters
        arguments = {
            key: defaults[key].default if value is None else value
            for key, value in architecture.items()
        }
        encoder = _bert_encoder(**arguments, dropout=dropout, activation="gelu", pad_id=PAD_ID)
    encoder.trainable = not freeze_encoder

    tokens = keras.Input(shape=encoder.input_shape[1:], dtype="int32", name="token_ids")
    x = encoder(tokens)
    if pooling == "first":
        x = SelectToken(0, name="cls_token")(x)
    else:
        mask = PaddingMask(_pad_id(encoder), name="padding_mask")(tokens)
        x = keras.layers.GlobalAveragePooling1D(name="mean_pooling")(x, mask=mask)
    if dropout:
        x = keras.layers.Dropout(dropout, name="head_dropout")(x)
    outputs = output_dense(num_classes, output_activation)(x)
    return head_model(keras.Model(tokens, outputs, name=name), output_activation)


def _pad_id(encoder):
    return encoder.get_layer("padding_mask").pad_id


def predict_sentiment(model, sentence, encode=encode_reviews):
    """Probability that ``sentence`` is positive, as seed 004's
    ``predict_sentiment(model, tokenizer, sentence)``.

    Args:
        model: a binary classifier (one sigmoid output, or two softmax outputs
            with class 1 positive) reading token ids.
        sentence: a string, or a list of strings.
        encode: ``encode(texts, max_length)`` -> token ids (the toy reviews'
            word tokenizer by default).

    Returns:
        A float, or a float array for a list.

    Example:

    >>> predict_sentiment(classifier, "This film is terrible")
    0.02...
    """
    single = isinstance(sentence, str)
    ids = encode([sentence] if single else list(sentence), model.input_shape[1])
    probabilities = keras.ops.convert_to_numpy(model(ids, training=False)).astype("float32")
    positive = probabilities[:, 0] if probabilities.shape[-1] == 1 else probabilities[:, 1]
    return float(positive[0]) if single else positive


register_recipes(
    {
        "reviews_bert_mlm": {
            "builder": build_bert,
            "summary": "BERT pre-training alone: masked language modelling (2 blocks of width "
            "64) on the offline toy reviews, masks drawn afresh each batch.",
            **dataset_arguments("toy_review_ids", "input_shape"),
            "fit": {"epochs": 10, "batch_size": 64},
            "trainer": "masked_lm",
        },
        "reviews_bert": {
            "builder": build_bert_classifier,
            "summary": "BERT on the offline toy reviews: masked-language-model pre-training "
            "(10 epochs), then fine-tuning a sentiment classifier on the encoder.",
            **dataset_arguments("toy_review_ids"),
            "fit": {"epochs": 5, "batch_size": 64},
            "trainer": "bert_finetune",
        },
    }
)
