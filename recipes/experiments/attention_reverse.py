"""Seed 002's sequence-to-sequence with and without attention (Bahdanau et al.
2014) on the offline ``reverse`` task: exact-match accuracy by sequence length.

The document gives no number. It says that the encoder's fixed-size sentence
embedding is a bottleneck ("everything must be encoded inside!") and that
attention, which lets the decoder look at the input words while it writes,
removes it: the model without attention should fall off as the strings grow,
the one with attention hold on.

The two models are the presets ``reverse_seq2seq`` and ``reverse_bahdanau`` (LSTM
encoder-decoder, teacher forcing; Bahdanau's additive score), trained on the same
strings for the same epochs from the same seed, and decoded greedily
(``Seq2Seq.generate``). A test string counts when every token up to END is right
(``recipes.losses.sequence.exact_match``). Sizes: full, the presets as registered
(128 units, 8,000 strings of 10-20 digits, 20 epochs, 1,000 test strings); quick,
48 units, 4,000 strings of 4-20 digits, 12 epochs; tiny, 8 units, 64 strings of
3-6 digits, one epoch.

Example:

>>> from recipes.experiments import reproduce
>>> result = reproduce("attention_reverse", size="quick")
>>> [row.ours for row in result.rows if "17-20" in row.label]   # no attention, attention
[0.0, 99.0...]
"""

import keras
import numpy as np

import recipes
from recipes import data
from recipes.experiments import Experiment, ExperimentResult, Row, register_experiment
from recipes.losses.sequence import exact_match
from recipes.plots import plot_series
from recipes.registry import get_recipe

MODELS = {"no attention": "reverse_seq2seq", "Bahdanau attention": "reverse_bahdanau"}
CLAIM = "document: attention helps most on long sequences (no number)"


def _buckets(low, high, count=4):
    """``(first, last)`` lengths of up to ``count`` contiguous buckets of
    ``low..high``."""
    parts = np.array_split(np.arange(low, high + 1), min(count, high - low + 1))
    return [(int(part[0]), int(part[-1])) for part in parts]


def _span(first, last):
    """``"lengths 4-7"``, or ``"length 4"`` for one length."""
    return f"lengths {first}-{last}" if last > first else f"length {first}"


def _accuracy(predicted, targets, lengths, first, last):
    """Exact match (%) over the test strings of ``first..last`` digits."""
    chosen = (lengths >= first) & (lengths <= last)
    return 100.0 * exact_match(predicted[chosen], targets[chosen]), int(chosen.sum())


def run(request):
    """Trains both presets and scores them by length; see the module."""
    # Source lengths, training strings, test strings, epochs (None: the presets'),
    # the models' widths (none: the presets').
    (low, high), train_size, test_size, epochs, sizes = request.pick(
        full=((10, 20), 8000, 1000, None, {}),
        quick=((4, 20), 4000, 1000, 12, {"units": 48, "embedding_dim": 16}),
        tiny=((3, 6), 64, 32, 1, {"units": 8, "embedding_dim": 8}),
    )
    lengths_wanted = {"min_length": low, "max_length": high}
    x, y = data.arrays("reverse", "train", num_examples=train_size, **lengths_wanted)
    x_test, y_test = data.arrays("reverse", "test", num_examples=test_size, **lengths_wanted)
    lengths = (x_test["encoder_inputs"] != 0).sum(axis=1)
    rows, curves = [], {}
    for done, (label, preset) in enumerate(MODELS.items(), start=1):
        fit = get_recipe(preset).fit
        model_epochs = epochs or fit["epochs"]
        keras.utils.set_random_seed(request.seed)
        model = recipes.build(preset, **sizes)
        model.fit(x, y, epochs=model_epochs, batch_size=fit["batch_size"], verbose=0)
        predicted = model.generate(x_test["encoder_inputs"])
        request.progress(label, done, len(MODELS))
        conditions = {
            "data": f"reverse (offline): {train_size:,} strings of {low}-{high} digits",
            "model": f"{preset}, {model.units} units",
            "epochs": model_epochs,
            "seed": request.seed,
        }
        for first, last in _buckets(low, high):
            accuracy, count = _accuracy(predicted, y_test, lengths, first, last)
            rows.append(
                Row(
                    f"{label}, {_span(first, last)}",
                    "exact match (%)",
                    None,
                    accuracy,
                    {**conditions, "test strings": count},
                    CLAIM,
                )
            )
        seen = [length for length in range(low, high + 1) if np.any(lengths == length)]
        curves[label] = (
            seen,
            [_accuracy(predicted, y_test, lengths, length, length)[0] for length in seen],
        )
    figure = plot_series(
        request.figure_path("accuracy_by_length"),
        curves,
        "source length (digits)",
        "exact match on test strings (%)",
        title="Reversing digit strings: sequence-to-sequence with and without attention",
    )
    longest = [row for row in rows if row.label.endswith(_span(*_buckets(low, high)[-1]))]
    return ExperimentResult(
        rows,
        figures={"accuracy_by_length": figure},
        notes=[
            "The document gives no number: it says the sentence embedding is a bottleneck "
            "and attention lets the decoder look at the input. Both models: the same "
            "strings, epochs and seed; greedy decoding; a string counts when it is "
            "reversed exactly.",
            "Longest strings: "
            + ", ".join(f"{row.label} {row.ours:.1f}%" for row in longest)
            + ".",
        ],
        extra={
            "accuracy_by_length": {label: dict(zip(*curve)) for label, curve in curves.items()}
        },
    )


register_experiment(
    Experiment(
        "attention_reverse",
        "seed 002's seq2seq with and without Bahdanau attention: exact match by length",
        "seed 002, Sequence to sequence (seq2seq) and Seq2seq with attention "
        "[Bahdanau et al., 2014]",
        run,
        "about 3 min on 2 CPU cores",
    )
)
