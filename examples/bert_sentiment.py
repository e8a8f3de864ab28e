"""BERT, the seed 004 way: pre-train with masked language modelling, fine-tune for
sentiment, then predict the sentiment of a sentence.

The corpus is synthetic (``recipes.text.toy_reviews(grammar="contrast")``): reviews from
a small grammar, e.g. "the lecture was dense but interesting i enjoyed it", whose
sentiment is the polarity of the last adjective. A tiny BERT is pre-trained on
the reviews without labels (15% of the tokens chosen, 80% of those masked, 10%
random, 10% kept; loss on the chosen tokens only), and its masked-token accuracy
is compared with the best context-free guess (the most frequent token). The
pre-trained encoder is then fine-tuned on a few labelled reviews, next to the
same classifier trained from scratch on the same labels (the toy language is
easy: with 200 labels both reach about 100%, so try ``--labelled 48``), and
``predict_sentiment`` scores seed 004's sentences ("challenging" is not in the
toy vocabulary: it reads as unknown).

Run (about two minutes on 2 CPU cores):

    .venv/bin/python examples/bert_sentiment.py
    .venv/bin/python examples/bert_sentiment.py --labelled 48 --pretrain-epochs 30

Outputs: ``runs/bert/pretrained.keras`` and ``runs/bert/classifier.keras``.
"""

import argparse
import os

import keras
import numpy as np

import recipes
from recipes.models.bert import MaskedLanguageModelBatches, mask_tokens, predict_sentiment
from recipes.text import REVIEW_VOCAB_SIZE, encode_reviews, toy_reviews

SEED_004_SENTENCES = (
    "This film is terrible",
    "This film is great",
    "This lecture was quite boring",
    "This lecture was challenging",
    "This lecture was dense but interesting",
)


def masked_token_accuracy(model, ids, seed=0):
    """Accuracy on freshly masked held-out reviews, and the unigram baseline."""
    inputs, labels, weights = mask_tokens(ids, REVIEW_VOCAB_SIZE, seed=seed)
    chosen = labels[weights == 1]
    predicted = model.predict(inputs, verbose=0).argmax(axis=-1)[weights == 1]
    return float(np.mean(predicted == chosen)), float(np.bincount(chosen).max() / len(chosen))


def fine_tune(args, x, y, x_test, y_test, pretrained=None):
    keras.utils.set_random_seed(args.seed)
    architecture = (
        {}
        if pretrained is not None
        else dict(
            embed_dim=args.embed_dim,
            num_heads=args.num_heads,
            feed_forward_dim=2 * args.embed_dim,
            num_layers=args.num_layers,
        )
    )
    classifier = recipes.build_bert_classifier(
        pretrained_encoder=pretrained, num_classes=1, **architecture
    )
    classifier.fit(x, y, epochs=args.finetune_epochs, batch_size=16, verbose=0)
    accuracy = classifier.evaluate(x_test, y_test, verbose=0, return_dict=True)["accuracy"]
    return classifier, accuracy


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reviews", type=int, default=4000, help="unlabelled reviews")
    parser.add_argument("--labelled", type=int, default=200, help="labelled reviews")
    parser.add_argument("--pretrain-epochs", type=int, default=20)
    parser.add_argument("--finetune-epochs", type=int, default=10)
    parser.add_argument("--embed-dim", type=int, default=64)
    parser.add_argument("--num-heads", type=int, default=4)
    parser.add_argument("--num-layers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output-dir", default="runs/bert")
    args = parser.parse_args(argv)
    os.makedirs(args.output_dir, exist_ok=True)
    keras.utils.set_random_seed(args.seed)

    texts, _ = toy_reviews(num_examples=args.reviews, grammar="contrast", seed=args.seed)
    test_texts, test_labels = toy_reviews(
        num_examples=1000, grammar="contrast", seed=args.seed + 1
    )
    test_ids = encode_reviews(test_texts)
    print("Example reviews:", *texts[:3], sep="\n  ")

    # 1. Pre-training: masked language modelling on unlabelled reviews.
    bert = recipes.build_bert(
        embed_dim=args.embed_dim,
        num_heads=args.num_heads,
        feed_forward_dim=2 * args.embed_dim,
        num_layers=args.num_layers,
    )
    batches = MaskedLanguageModelBatches(
        encode_reviews(texts), REVIEW_VOCAB_SIZE, batch_size=64, seed=args.seed
    )
    bert.fit(batches, epochs=args.pretrain_epochs, verbose=2)
    accuracy, unigram = masked_token_accuracy(bert, test_ids)
    print(f"Masked-token accuracy {accuracy:.3f} (most frequent token: {unigram:.3f})")
    bert.save(os.path.join(args.output_dir, "pretrained.keras"))

    # 2. Fine-tuning on a few labelled reviews, against the same model from scratch.
    labelled_texts, labels = toy_reviews(
        num_examples=args.labelled, grammar="contrast", seed=args.seed + 2
    )
    x = encode_reviews(labelled_texts)
    classifier, tuned = fine_tune(args, x, labels, test_ids, test_labels, pretrained=bert)
    _, scratch = fine_tune(args, x, labels, test_ids, test_labels)
    print(
        f"Sentiment accuracy with {args.labelled} labels: pre-trained {tuned:.3f}, "
        f"from scratch {scratch:.3f}"
    )
    classifier.save(os.path.join(args.output_dir, "classifier.keras"))

    # 3. Predict the sentiment of a sentence (seed 004's examples).
    def sentiment(sentence):
        return predict_sentiment(classifier, sentence)

    for sentence in SEED_004_SENTENCES:
        print(f"predict_sentiment({sentence!r}) = {sentiment(sentence):.3f}")


if __name__ == "__main__":
    main()
