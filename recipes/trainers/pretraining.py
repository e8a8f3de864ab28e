"""The trainers of BERT (Devlin et al. 2019): masked language modelling on the
texts of a preset's dataset (``masked_lm``), and that pre-training followed by
fine-tuning a classifier on the labels (``bert_finetune``).

Both read an offline set of token ids (``toy_review_ids``: the toy reviews as
word ids); the labels serve the fine-tuning only. Masks are drawn afresh for
every training batch (``MaskedLanguageModelBatches``) and once, with a fixed
seed, for validation and test.

Example:

>>> from recipes.training import train_recipe
>>> result = train_recipe("reviews_bert", pretrain_epochs=10, output_dir="runs/bert")
>>> result.test_metrics["accuracy"]
0.9...
"""

import time

import keras

from recipes.checks import check_positive_int
from recipes.models.bert import MaskedLanguageModelBatches, build_bert, mask_tokens
from recipes.registry import build
from recipes.trainers import Trainer, register_trainer
from recipes.trainers.fitting import fit_test_save, offline_arrays

# The arguments of ``build_bert_classifier`` that shape its encoder: those of the
# encoder pre-trained by ``bert_finetune``.
ENCODER_ARGUMENTS = (
    "input_shape",
    "vocab_size",
    "embed_dim",
    "num_heads",
    "feed_forward_dim",
    "num_layers",
)


def train_masked_lm(request):
    """Pre-trains the requested preset (a ``build_bert`` model) by masked language
    modelling on its dataset's token ids, tested once on the test split's ids
    with fixed masks.

    Args:
        request: a ``TrainRequest`` (no options) for a preset whose builder is
            ``build_bert``, on an offline set of token ids. Batch size by
            default: the preset's, else 64; ``seed`` also seeds the masks.

    Returns:
        A ``TrainResult``; its ``accuracy`` counts the masked positions only.

    Example:

    >>> result = train_masked_lm(TrainRequest("reviews_bert_mlm", epochs=5))
    """
    seed = request.seed
    dataset, epochs, batch_size = request.settings(default_batch_size=64)
    with request.policy():
        keras.utils.set_random_seed(seed)
        splits = offline_arrays(request.name, dataset)
        model = build(request.name, **request.overrides)
        vocab_size = model.output_shape[-1]
        return fit_test_save(
            request,
            model,
            {"x": MaskedLanguageModelBatches(splits["train"][0], vocab_size, batch_size, seed)},
            mask_tokens(splits["validation"][0], vocab_size, seed=seed + 1),
            _masked(splits["test"][0], vocab_size, seed + 2, batch_size),
            {"dataset": dataset, "batch_size": batch_size},
            epochs=epochs,
        )


def train_bert_finetune(request):
    """Pre-trains a BERT encoder by masked language modelling on the training
    split's token ids (``pretrain_epochs``), then fine-tunes the requested preset
    (a ``build_bert_classifier``) on that encoder with the labels, validated and
    tested as the standard loop does.

    The encoder's architecture is the preset's (``input_shape``, ``vocab_size``,
    ``embed_dim``... with ``build_bert``'s defaults where it gives none).
    ``metrics.json`` records the pre-training's last loss and accuracy.

    Args:
        request: a ``TrainRequest`` for a preset whose builder is
            ``build_bert_classifier``, on an offline set of token ids and labels.
            Its option: ``pretrain_epochs``. ``overrides`` are the classifier's
            (its encoder's included); ``epochs`` are the fine-tuning's; the batch
            size (default: the preset's, else 64) serves both stages;
            ``callbacks`` and ``checkpoint_dir`` serve the fine-tuning.

    Returns:
        A ``TrainResult`` of the fine-tuned classifier.

    Example:

    >>> result = train_bert_finetune(TrainRequest("reviews_bert", options={...}))
    """
    name, overrides, seed = request.name, request.overrides, request.seed
    dataset, epochs, batch_size = request.settings(default_batch_size=64)
    pretrain_epochs = check_positive_int("pretrain_epochs", request.options["pretrain_epochs"])
    arguments = {**request.recipe.kwargs, **overrides}
    encoder = {key: arguments[key] for key in ENCODER_ARGUMENTS if arguments.get(key) is not None}
    with request.policy():
        keras.utils.set_random_seed(seed)
        splits = offline_arrays(name, dataset)
        bert = build_bert(**encoder, dropout=arguments.get("dropout", 0.1))
        start = time.perf_counter()
        batches = MaskedLanguageModelBatches(
            splits["train"][0], bert.output_shape[-1], batch_size, seed
        )
        pretraining = bert.fit(batches, epochs=pretrain_epochs, verbose=request.verbose).history
        pretrain_seconds = time.perf_counter() - start
        unset = dict.fromkeys(ENCODER_ARGUMENTS)  # the encoder brings its architecture
        model = build(name, **{**overrides, **unset, "pretrained_encoder": bert})
        return fit_test_save(
            request,
            model,
            {"x": splits["train"][0], "y": splits["train"][1], "batch_size": batch_size},
            splits["validation"],
            {"x": splits["test"][0], "y": splits["test"][1], "batch_size": batch_size},
            {
                "dataset": dataset,
                "batch_size": batch_size,
                "pretrain_epochs": pretrain_epochs,
                "pretrain_seconds": pretrain_seconds,
                "pretraining": {key: values[-1] for key, values in pretraining.items()},
            },
            epochs=epochs,
        )


def _masked(token_ids, vocab_size, seed, batch_size):
    """``evaluate`` arguments: the ids masked once with ``seed``, the chosen
    positions as sample weights."""
    x, y, weights = mask_tokens(token_ids, vocab_size, seed=seed)
    return {"x": x, "y": y, "sample_weight": weights, "batch_size": batch_size}


MASKED_LM = register_trainer(
    Trainer(
        "masked_lm",
        train_masked_lm,
        "masked language modelling on the dataset's token ids (masks drawn afresh)",
    )
)
BERT_FINETUNE = register_trainer(
    Trainer(
        "bert_finetune",
        train_bert_finetune,
        "masked-language-model pre-training of the encoder, then fine-tuning on the labels",
        options={"pretrain_epochs": (int, 10, "epochs of masked language modelling first")},
    )
)
