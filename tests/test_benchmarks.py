"""The benchmark harness (``python -m benchmarks``): timing, rows, the CLI, and the
real check that every hand-written reference is the recipe's architecture (equal
parameter counts at both the full and the ``--quick`` sizes, built without training)."""

import csv

import pytest

from benchmarks import harness
from benchmarks.__main__ import main
from benchmarks.suite import BENCHMARKS, parameter_counts, torch_status


class FakeRunner:
    """A runner whose windows take the given seconds, in turn."""

    def __init__(self, seconds, log, name):
        self.seconds = list(seconds)
        self.examples = 100
        self.log = log
        self.name = name

    def run(self, epochs=1):
        self.log.append((self.name, epochs))
        return self.seconds.pop(0)


def test_measure_warms_up_then_keeps_the_best_alternating_window():
    log = []
    results = harness.measure(
        {
            "a": lambda: FakeRunner([9.0, 2.0, 1.0, 4.0], log, "a"),
            "b": lambda: FakeRunner([8.0, 5.0, 4.0, 2.0], log, "b"),
        },
        repeats=3,
        min_window_s=0.5,
    )
    assert [name for name, _ in log] == ["a", "b", "a", "b", "b", "a", "a", "b"]
    assert {epochs for _, epochs in log} == {1}
    assert 0 <= results["a"]["warmup_s"] < 1  # wall time of the first window
    assert results["a"]["examples_per_s"] == 100.0  # best window: 1 s
    assert results["b"]["examples_per_s"] == 50.0
    assert results["a"]["memory_mib"] >= 0
    # the timed windows (not the warm-up) and how far the slowest is from the best
    assert results["a"]["windows_s"] == [2.0, 1.0, 4.0]
    assert results["a"]["spread"] == pytest.approx(3.0)
    assert results["b"]["spread"] == pytest.approx(1.5)


def test_measure_repeats_epochs_until_windows_last_long_enough():
    log = []
    results = harness.measure(
        {
            "a": lambda: FakeRunner([9.0, 0.1, 0.6, 0.5, 0.7], log, "a"),
            "b": lambda: FakeRunner([8.0, 0.2, 0.9, 0.8, 1.0], log, "b"),
        },
        repeats=3,
        min_window_s=0.5,
    )
    assert [epochs for _, epochs in log] == [1, 1, 1, 1, 5, 5, 5, 5, 5, 5]
    assert results["a"]["epochs"] == results["b"]["epochs"] == 5
    assert results["a"]["examples_per_s"] == pytest.approx(1000.0)  # 5 x 100 in 0.5 s
    assert results["b"]["examples_per_s"] == pytest.approx(625.0)
    # the one-epoch sizing round is not a timed window
    assert results["a"]["windows_s"] == [0.6, 0.5, 0.7]
    assert results["a"]["spread"] == pytest.approx(0.4)


def test_table_row_flags_a_parameter_mismatch():
    row = {
        "name": "x",
        "steps": 4,
        "epochs_per_window": 3,
        "recipe_params": 10,
        "recipe_trainable_params": 10,
        "reference_params": 12,
        "recipe_examples_per_s": 5.0,
        "reference_examples_per_s": 4.0,
        "ratio": 1.25,
        "recipe_warmup_s": 1.0,
        "reference_warmup_s": 2.0,
        "recipe_memory_mib": 3.0,
        "reference_memory_mib": 4.0,
        "recipe_spread": 0.031,
        "reference_spread": 0.12,
    }
    line = harness.table_row(row)
    assert "1.25" in line and " 12 " in line and "1.0/2.0" in line and " 3/12 " in line
    assert "PARAMETER MISMATCH (plain)" in line
    assert len(harness.table_header("max RSS+ MiB").split()) > 10


SIZES = [(name, "full") for name in sorted(BENCHMARKS)] + [
    (name, "quick") for name in sorted(BENCHMARKS) if BENCHMARKS[name].quick
]


@pytest.mark.parametrize(("name", "size"), SIZES)
def test_references_have_the_recipe_parameter_counts(name, size):
    benchmark = BENCHMARKS[name]
    overrides = benchmark.quick if size == "quick" else {}
    counts = parameter_counts(benchmark, overrides)
    assert counts["reference"] == counts["recipe"]
    assert 0 < counts["recipe_trainable"] <= counts["recipe"]
    assert "torch" not in counts  # built only when asked for


TORCH_SIZES = [(name, size) for name, size in SIZES if BENCHMARKS[name].torch]


@pytest.mark.backends  # make test-torch installs torch and runs it
@pytest.mark.parametrize(("name", "size"), TORCH_SIZES)
def test_torch_references_have_the_recipe_trainable_parameter_counts(name, size):
    reason = torch_status()
    if reason is not None:
        pytest.skip(f"the PyTorch references need torch ({reason}); make test-torch runs this")
    benchmark = BENCHMARKS[name]
    counts = parameter_counts(benchmark, benchmark.quick if size == "quick" else {}, True)
    # PyTorch keeps batch-norm statistics as buffers: compare trainable parameters.
    assert counts["torch"] == counts["recipe_trainable"]
    if (name, size) == ("mnist_mlp", "full"):
        assert counts["torch"] == 52650


def test_cli_prints_the_header_and_a_row_and_writes_the_csv(tmp_path, capsys):
    path = tmp_path / "rows.csv"
    status = main(
        [
            "--quick",
            "--only",
            "mnist_mlp",
            "--batch-size",
            "8",
            "--steps",
            "2",
            "--repeats",
            "1",
            "--min-window",
            "0",
            "--csv",
            str(path),
        ]
    )
    out = capsys.readouterr().out
    assert status == 0
    for label in (
        "command:",
        "machine:",
        "backend:",
        "devices:",
        "sizes:",
        "memory:",
        "torch:",
        "recipe ex/s",
    ):
        assert label in out
    (row,) = csv.DictReader(path.open())
    assert row["name"] == "mnist_mlp" and row["batch_size"] == "8" and row["steps"] == "2"
    assert float(row["ratio"]) > 0 and float(row["recipe_examples_per_s"]) > 0
    assert row["recipe_params"] == row["reference_params"] == "52650"
    assert float(row["recipe_warmup_s"]) > 0 and float(row["reference_memory_mib"]) >= 0
    assert float(row["recipe_spread"]) == 0.0  # one window


def test_a_failing_benchmark_is_reported_and_the_others_still_run(monkeypatch, capsys):
    import benchmarks.__main__ as cli

    measured = cli.run_benchmark

    def run_or_fail(benchmark, *args, **kwargs):
        if benchmark.name == "moons_realnvp":
            raise ValueError("Unknown output type bfloat16\nmore detail")
        return measured(benchmark, *args, **kwargs)

    monkeypatch.setattr(cli, "run_benchmark", run_or_fail)
    status = main(
        [
            "--quick",
            "--only",
            "moons_realnvp",
            "mnist_mlp",
            "--batch-size",
            "8",
            "--steps",
            "2",
            "--repeats",
            "1",
            "--min-window",
            "0",
        ]
    )
    out = capsys.readouterr().out
    assert status == 1
    assert "moons_realnvp            FAILED: ValueError: Unknown output type bfloat16\n" in out
    assert "\nmnist_mlp " in out  # measured after the failure
