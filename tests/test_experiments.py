"""The experiment registry (``recipes.experiments``): ``reproduce`` runs an
experiment at the size asked for and writes its table (the document's figure,
ours, the difference, the conditions), ``table.csv``, ``metrics.json``; the CLI
lists them and refuses an unknown one by name."""

import csv
import json

import pytest

from recipes import experiments
from recipes.__main__ import main


def _toy(request):
    """A toy experiment: its figure is its size's epochs."""
    epochs = request.pick(full=100, quick=10, tiny=1)
    for step in range(2):
        request.progress(f"model {step}", step + 1, 2)
    return experiments.ExperimentResult(
        rows=[
            experiments.Row("model a", "accuracy (%)", 50.0, 40.0 + epochs, {"epochs": epochs}),
            experiments.Row("model b", "accuracy (%)", None, 30.0, note="document: b < a"),
        ],
        notes=["Toy notes."],
    )


@pytest.fixture
def toy():
    with experiments.scoped():
        experiments.register_experiment(
            experiments.Experiment("toy", "a toy", "nowhere, table 0", _toy, "1 h on a GPU")
        )
        yield


def test_reproduce_writes_the_table_beside_the_document(toy, tmp_path, capsys):
    result = experiments.reproduce("toy", size="quick", output_dir=str(tmp_path))
    printed = capsys.readouterr().out
    assert "toy [1/2] model 0" in printed and "toy [2/2] model 1" in printed
    assert "expected time" not in printed  # said for the full size only
    assert [row.difference for row in result.rows] == [0.0, None]
    table = (tmp_path / "table.md").read_text()
    assert "| model a | accuracy (%) | 50 | 50 | +0 | epochs: 10; backend: " in table
    assert "| model b | accuracy (%) | - | 30 | - |" in table and "document: b < a" in table
    assert "Document: nowhere, table 0" in table and "Toy notes." in table
    with open(tmp_path / "table.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert rows[0]["ours"] == "50.0" and rows[0]["epochs"] == "10"
    assert rows[0]["size"] == "quick" and rows[0]["device"]
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["experiment"] == "toy" and len(metrics["rows"]) == 2


def test_the_full_size_says_its_expected_time_first(toy, tmp_path, capsys):
    experiments.reproduce("toy", output_dir=str(tmp_path))
    assert capsys.readouterr().out.startswith("toy: full size, expected time 1 h on a GPU.")


def test_the_cli_lists_runs_and_refuses(toy, tmp_path, capsys):
    main(["reproduce", "--list"])
    assert "toy                  a toy (full size: 1 h on a GPU)" in capsys.readouterr().out
    main(["reproduce", "toy", "--quick", "--output", str(tmp_path)])
    assert (tmp_path / "table.md").is_file()
    with pytest.raises(SystemExit) as caught:
        main(["reproduce", "tyo"])
    assert caught.value.code == 2
    assert "Unknown experiment 'tyo'. Did you mean: toy?" in capsys.readouterr().err
    with pytest.raises(ValueError, match="`size` must be one of full, quick, tiny"):
        experiments.reproduce("toy", size="huge")
