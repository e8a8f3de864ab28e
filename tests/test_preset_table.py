"""``python -m benchmarks.presets``: which presets it can train here, the command
each row names, and the table it writes from the runs' own ``metrics.json``."""

import subprocess

from benchmarks import presets
from recipes.__main__ import main as recipes_main


def test_only_presets_with_data_at_hand_are_trained():
    assert presets.measurable("digits_mlp", None)
    assert presets.measurable("mouse_dqn_dense", None)  # no dataset: the game
    assert not presets.measurable("cifar10_lenet", None)
    assert presets.measurable("cifar10_lenet", "cifar10-jpeg.tar.gz")
    assert not presets.measurable("mnist_mlp", "cifar10-jpeg.tar.gz")  # tfds only


def test_the_command_is_the_one_a_user_types():
    assert presets.train_command("cifar10_lenet", "c.tar.gz", 2) == (
        "python -m recipes train cifar10_lenet --data-dir c.tar.gz --epochs 2".split()
    )
    assert presets.train_command("digits_mlp", "c.tar.gz") == (
        "python -m recipes train digits_mlp".split()
    )


def _in_process(command, **kwargs):
    """``subprocess.run`` of ``python -m recipes ...``, run in this process."""
    assert command[1:3] == ["-m", "recipes"]
    recipes_main(command[3:])
    return subprocess.CompletedProcess(command, 0, "", "")


def test_a_run_becomes_a_row_and_the_rest_say_what_they_need(tmp_path, monkeypatch):
    monkeypatch.setattr(presets.subprocess, "run", _in_process)
    table_path = tmp_path / "presets.md"
    argv = ["--only", "moons_logistic", "--epochs", "1", "--output", str(tmp_path / "runs")]
    presets.main([*argv, "--table", str(table_path)])
    rows = {line.split(" | ")[0]: line for line in table_path.read_text().splitlines()}
    row = rows["| `moons_logistic`"]
    assert "| accuracy 0." in row and "| 1 |" in row
    assert "`python -m recipes train moons_logistic --epochs 1`" in row
    assert (
        "not measured yet: `--data-dir` with the CIFAR-10 JPEG copy" in rows["| `cifar10_lenet`"]
    )
    assert "needs tensorflow-datasets' `mnist` (a download)" in rows["| `mnist_mlp`"]
    assert "| not run yet |" in rows["| `digits_mlp`"]


def test_a_failed_run_is_reported_and_the_others_go_on(tmp_path, monkeypatch, capsys):
    def fail(command, **kwargs):
        return subprocess.CompletedProcess(command, 2, "", "train: error: no good\n")

    monkeypatch.setattr(presets.subprocess, "run", fail)
    argv = ["--only", "moons_*", "--output", str(tmp_path), "--table", ""]
    presets.main(argv)
    printed = capsys.readouterr().out
    assert printed.count("failed:\ntrain: error: no good") >= 2  # every moons preset tried


def test_a_row_shows_accuracy_first_each_head_s_or_else_the_loss():
    assert presets.headline({"loss": 0.3, "accuracy": 0.9}) == {"accuracy": 0.9}
    heads = {"loss": 0.3, "digit_accuracy": 0.9, "parity_accuracy": 0.8}
    assert presets.headline(heads) == {"digit_accuracy": 0.9, "parity_accuracy": 0.8}
    assert presets.headline({"loss": 0.01, "mae": 0.1}) == {"loss": 0.01}


def test_the_readme_column_is_filled_from_the_runs(tmp_path, monkeypatch):
    monkeypatch.setattr(presets.subprocess, "run", _in_process)
    readme = tmp_path / "README.md"
    readme.write_text(
        "## Presets\n\n| preset | builder | reaches | guide |\n| --- | --- | --- | --- |\n"
        "| `moons_logistic` | `build_linear` | - | [mlp](docs/mlp.md) |\n"
        "| `mnist_mlp` | `build_mlp` | - | [mlp](docs/mlp.md) |\n\n"
        "## Next\n\n| `digits_mlp` | x |\n"
    )
    argv = ["--only", "moons_logistic", "--epochs", "1", "--output", str(tmp_path / "runs")]
    presets.main([*argv, "--table", "", "--readme", str(readme)])
    lines = readme.read_text().splitlines()
    assert lines[4].startswith("| `moons_logistic` | `build_linear` | accuracy 0.")
    assert lines[4].endswith(" (`--epochs 1`) | [mlp](docs/mlp.md) |")
    assert lines[5] == (
        "| `mnist_mlp` | `build_mlp` | needs tensorflow-datasets' `mnist` (a download) "
        "| [mlp](docs/mlp.md) |"
    )
    assert lines[-1] == "| `digits_mlp` | x |"  # another section: untouched
