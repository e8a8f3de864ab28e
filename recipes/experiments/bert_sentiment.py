"""Seed 004's BERT sentiment scores: its five sentences, the document's
``predict_sentiment`` beside ours.

The document fine-tunes a pre-trained BERT for sentiment and prints the positive
probability of five sentences (0.028 for "This film is terrible" to 0.975 for
"This film is great"). Ours is the ``reviews_bert`` preset trained by its
``bert_finetune`` trainer: a small BERT pre-trained by masked language modelling
on the offline toy reviews (``toy_review_ids``: 2,000 synthetic reviews of the
"contrast" grammar, ``recipes.text.toy_reviews``, 48 word ids), then fine-tuned on
their labels. No IMDB, no pre-trained weights: the figures cannot match one for
one, so what is compared is the sign (which side of 0.5 each sentence falls) and
the order of the five scores (Spearman's rank correlation). Words our vocabulary
lacks read as [UNK] ("challenging").

Sizes: full, the preset's 10 epochs of pre-training and 5 of fine-tuning, mean
over 3 seeds; quick, the same with one seed; tiny, one epoch each of a width-8
encoder.

Example:

>>> from recipes.experiments import reproduce
>>> reproduce("bert_sentiment", size="quick").rows[-2].ours    # Spearman's rho
0.8...
"""

import numpy as np
from scipy.stats import spearmanr

from recipes.experiments import (
    Experiment,
    ExperimentResult,
    Row,
    over_seeds,
    register_experiment,
)
from recipes.models.bert import predict_sentiment
from recipes.plots import plot_series
from recipes.text import REVIEW_VOCABULARY
from recipes.trainers import get_trainer

PRESET = "reviews_bert"
# The document's ``predict_sentiment`` outputs (seed 004, In [117] to In [121]).
DOCUMENT_SCORES = {
    "This film is terrible": 0.028073227033019066,
    "This film is great": 0.9749133586883545,
    "This lecture was quite boring": 0.0537508986890316,
    "This lecture was challenging": 0.6184227466583252,
    "This lecture was dense but interesting": 0.7105910181999207,
}
NOTE = (
    "Ours was trained on the offline toy reviews only (2,000 synthetic reviews of the "
    "'contrast' grammar, pre-trained by masked language modelling on the same texts): no "
    "IMDB and no pre-trained weights, unlike the document's BERT. The scores cannot match "
    "one for one; the comparison is their sign (the side of 0.5) and their order."
)


def _unknown_words(sentence):
    return [word for word in sentence.lower().split() if word not in REVIEW_VOCABULARY]


def _one_seed(settings, seed):
    """The five scores and the held-out accuracy of one fine-tuned classifier."""
    result = get_trainer("bert_finetune").train(
        PRESET,
        options={"pretrain_epochs": settings["pretrain_epochs"]},
        overrides=settings["sizes"],
        epochs=settings["epochs"],
        seed=seed,
        verbose=0,
    )
    scores = predict_sentiment(result.model, list(DOCUMENT_SCORES))
    return {
        **dict(zip(DOCUMENT_SCORES, scores.tolist())),
        "accuracy": 100.0 * result.test_metrics["accuracy"],
    }


def run(request):
    """Trains ``reviews_bert`` and scores the document's sentences; see the module."""
    settings = request.pick(
        full={"pretrain_epochs": 10, "epochs": 5, "seeds": 3, "sizes": {}},
        quick={"pretrain_epochs": 10, "epochs": 5, "seeds": 1, "sizes": {}},
        tiny={
            "pretrain_epochs": 1,
            "epochs": 1,
            "seeds": 1,
            "sizes": {"embed_dim": 8, "num_heads": 1, "feed_forward_dim": 16, "num_layers": 1},
        },
    )
    runs = []
    for done, seed in enumerate(range(request.seed, request.seed + settings["seeds"]), start=1):
        runs.append(_one_seed(settings, seed))
        request.progress(f"{PRESET}, seed {seed}", done, settings["seeds"])
    summary = over_seeds(runs)
    conditions = {
        "data": "toy_review_ids: 2,000 synthetic reviews (no IMDB, no pre-trained weights)",
        "model": PRESET + "".join(f", {key} {value}" for key, value in settings["sizes"].items()),
        "epochs": f"{settings['pretrain_epochs']} masked LM + {settings['epochs']} fine-tuning",
        "seeds": settings["seeds"],
    }
    rows = []
    for sentence, document in DOCUMENT_SCORES.items():
        ours, note = summary[sentence]
        unknown = ", ".join(_unknown_words(sentence))
        note = "; ".join(part for part in (note, unknown and f"read as [UNK]: {unknown}") if part)
        rows.append(Row(f'"{sentence}"', "P(positive)", document, ours, conditions, note))
    documents = np.array(list(DOCUMENT_SCORES.values()))
    ours = np.array([summary[sentence][0] for sentence in DOCUMENT_SCORES])
    agree = int(np.sum((ours > 0.5) == (documents > 0.5)))
    rounded = np.round(ours, 3)  # differences below 0.001 say nothing about the order
    rho = float(spearmanr(documents, rounded).statistic) if np.ptp(rounded) > 0 else 0.0
    accuracy, note = summary["accuracy"]
    rows += [
        Row("sentences on the document's side of 0.5", "count of 5", 5, agree, conditions),
        Row(
            "order of the five scores",
            "Spearman rank correlation",
            1.0,
            rho,
            conditions,
            "ours rounded to 0.001 first; tied scores share a rank",
        ),
        Row(
            "held-out toy reviews (500)",
            "test accuracy (%)",
            None,
            accuracy,
            conditions,
            "; ".join(part for part in ("the document gives none", note) if part),
        ),
    ]
    short = [sentence.removeprefix("This ") for sentence in DOCUMENT_SCORES]
    figure = plot_series(
        request.figure_path("sentiment_scores"),
        {
            "document (pre-trained BERT)": (range(5), documents),
            "ours (toy reviews)": (range(5), ours),
        },
        "sentence",
        "P(positive)",
        title="Seed 004's predict_sentiment: the document's scores and ours",
        xticks=short,
    )
    return ExperimentResult(rows, {"sentiment_scores": figure}, [NOTE], {"runs": runs})


register_experiment(
    Experiment(
        "bert_sentiment",
        "seed 004's five predict_sentiment scores beside ours (toy reviews, no IMDB)",
        "seed 004, Sentiment analysis with transformers and GRU (In [117] to In [121])",
        run,
        "about 1 min on 2 CPU cores (3 seeds)",
    )
)
