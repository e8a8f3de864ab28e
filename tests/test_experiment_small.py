"""The four small reproductions (``attention_reverse``, ``bert_sentiment``,
``fgsm``, ``realnvp_moons``) at their tiny size: each writes its table (the
expected rows, the document's figures where it gives some), its figure and one
progress line per model, and the claims that hold even after an epoch or two.

What tiny runs cannot show (attention beating no attention, adversarial training
paying off, the flow near the document's NLL) is measured in quick mode:
``docs/reproductions.md``."""

import csv
import math

import pytest

from recipes.experiments import reproduce
from recipes.experiments.bert_sentiment import DOCUMENT_SCORES

COLUMNS = ["row", "metric", "document", "ours", "difference", "note"]


def _tiny(name, tmp_path):
    """Runs ``name`` at the tiny size; returns the result, the rows of
    ``table.csv`` by label, and the progress lines."""
    printed = []
    result = reproduce(
        name,
        size="tiny",
        output_dir=str(tmp_path),
        print_fn=lambda *parts, **_: printed.append(" ".join(map(str, parts))),
    )
    with open(tmp_path / "table.csv") as handle:
        reader = csv.DictReader(handle)
        assert reader.fieldnames[:6] == COLUMNS
        table = {row["row"]: row for row in reader}
    assert list(table) == [row.label for row in result.rows]
    assert all(row["size"] == "tiny" and row["backend"] for row in table.values())
    pictures = [path for path in result.figures.values() if path.endswith(".png")]
    assert len(pictures) == 1
    with open(pictures[0], "rb") as handle:
        assert handle.read(8) == b"\x89PNG\r\n\x1a\n"
    progress = [line for line in printed if line.startswith(f"{name} [")]
    return result, table, progress


def test_attention_reverse_scores_both_models_by_length(tmp_path):
    result, table, progress = _tiny("attention_reverse", tmp_path)
    models = ("no attention", "Bahdanau attention")
    assert list(table) == [f"{model}, length {n}" for model in models for n in range(3, 7)]
    assert [line.split("] ")[1].split(" (")[0] for line in progress] == list(models)
    for row in result.rows:
        assert row.document is None and "attention helps" in row.note
        assert 0.0 <= row.ours <= 100.0 and row.metric == "exact match (%)"
    for model in models:  # every test string falls in one bucket
        counts = [row.conditions["test strings"] for row in result.rows if model in row.label]
        assert sum(counts) == 32
    assert set(result.extra["accuracy_by_length"]) == set(models)
    assert "accuracy_by_length" in result.figures


def test_bert_sentiment_puts_the_documents_five_scores_beside_ours(tmp_path):
    result, table, progress = _tiny("bert_sentiment", tmp_path)
    sentences = result.rows[:5]
    assert [row.label for row in sentences] == [f'"{text}"' for text in DOCUMENT_SCORES]
    assert [row.document for row in sentences] == pytest.approx(
        [0.028, 0.975, 0.054, 0.618, 0.711], abs=5e-4
    )
    assert all(0.0 < row.ours < 1.0 for row in sentences)
    assert "[UNK]: challenging" in sentences[3].note
    side, order, accuracy = result.rows[5:]
    agreeing = sum((row.ours > 0.5) == (row.document > 0.5) for row in sentences)
    assert (side.document, side.ours) == (5, agreeing)
    assert order.document == 1.0 and -1.0 <= order.ours <= 1.0
    assert accuracy.document is None and 0.0 <= accuracy.ours <= 100.0
    assert "no IMDB" in table['"This film is great"']["data"] and "no IMDB" in result.notes[0]
    assert len(progress) == 1


def test_fgsm_lowers_accuracy_below_the_clean_one(tmp_path):
    result, table, progress = _tiny("fgsm", tmp_path)
    assert list(table) == [
        "clean model",
        "epsilon 0.2: clean model, FGSM",
        "epsilon 0.2: clean model, random signs of the same size",
        "epsilon 0.2: 1 more clean epochs (control), FGSM",
        "epsilon 0.2: 1 adversarial epochs at this epsilon, FGSM",
        "epsilon 0.2: 1 adversarial epochs at this epsilon, clean inputs",
    ]
    ours = {row.label: row.ours for row in result.rows}
    assert all(row.document is None for row in result.rows)
    # Even after one epoch, an attack along the gradient's signs costs accuracy.
    assert ours["epsilon 0.2: clean model, FGSM"] <= ours["clean model"]
    adversarial = "epsilon 0.2: 1 adversarial epochs at this epsilon"
    assert ours[f"{adversarial}, FGSM"] <= ours[f"{adversarial}, clean inputs"]
    assert len(progress) == 3  # the clean model, the control, one adversarial training


def test_realnvp_moons_puts_its_nll_beside_the_documents_and_kernel_density(tmp_path):
    result, table, progress = _tiny("realnvp_moons", tmp_path)
    flow, kde, gaussian = result.rows
    assert flow.label.startswith("RealNVP") and flow.document == 1.3
    assert "noisy training log" in flow.note
    assert kde.label.startswith("KernelDensity") and kde.document is None
    assert all(math.isfinite(row.ours) for row in result.rows)
    assert kde.ours < gaussian.ours  # the moons are no Gaussian, even on 240 points
    assert "make_moons(300, noise=0.05)" in table[flow.label]["data"]
    assert len(progress) == 2
