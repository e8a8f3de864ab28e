"""``benchmarks/gpu.sh``, the one-command GPU run: its defaults parse in the CLIs it
calls, and its steps go on past a failure (with a stand-in interpreter that prints
what the real commands print, no training); and the benchmark CLI's flags it relies
on: ``--row-timeout``, ``--no-torch``, a CSV that keeps the rows already measured."""

import csv
import os
import re
import shlex
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.__main__ import parse_args
from benchmarks.suite import BENCHMARKS

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu.sh"


def _default(name):
    """The default of ``name=${name:-default}`` in the script (lines joined)."""
    text = SCRIPT.read_text().replace("\\\n", "")
    (value,) = re.findall(rf"^{name}=\$\{{{name}:-(.*)\}}$", text, re.MULTILINE)
    return value


def test_the_script_is_valid_bash():
    subprocess.run(["bash", "-n", str(SCRIPT)], check=True)


def test_the_default_flags_exist_in_the_clis():
    rows = _default("BENCH_ROWS").split()
    assert sorted(rows) == sorted(BENCHMARKS)
    for precision in _default("BENCH_PRECISIONS").split():
        args = parse_args(
            [
                "--precision",
                precision,
                *shlex.split(_default("BENCH_ARGS")),
                "--csv",
                "rows.csv",
                "--only",
                *rows,
            ]
        )
        assert args.row_timeout > 0 and args.only == rows
    from recipes.__main__ import _parser

    args = _parser().parse_args(
        ["train", "cifar10_fast", "--data-dir", "d", "--runs", "5", "--output", "o"]
    )
    assert (args.runs, args.data_dir) == (5, "d")


# Stands in for python3: `-m recipes` prints the trainer's last lines, `-m benchmarks`
# prints a table whose row CRASH ends the process (as --row-timeout does) and whose row
# FAIL prints FAILED; anything else runs in the real interpreter (the CSV merge).
FAKE_PYTHON = """\
#!{python}
import os, sys

args = sys.argv[1:]
if args[:2] == ["-m", "recipes"]:
    output = args[args.index("--output") + 1]
    os.makedirs(output)
    open(os.path.join(output, "metrics.json"), "w").write("{{}}")
    print("cifar10_fast: test tta_accuracy=0.9100 (4.0 s of training)")
    sys.exit(0)
if args[:2] == ["-m", "benchmarks"]:
    rows = args[args.index("--only") + 1 :]
    csv = args[args.index("--csv") + 1]
    print("benchmark                recipe params")
    for row in rows:
        if row == "CRASH":
            sys.stdout.flush()
            os._exit(1)
        if row == "FAIL":
            print(f"{{row:<24}} FAILED: ValueError: no")
            continue
        print(f"{{row:<24}} 1 2")
        with open(csv, "a") as file:
            file.write("" if file.tell() else "name,ratio\\n")
            file.write(f"{{row}},1.0\\n")
    sys.exit(1 if "FAIL" in rows else 0)
os.execv({python!r}, [{python!r}, *args])
"""


@pytest.mark.skipif(sys.platform == "win32", reason="bash script")
def test_every_step_runs_and_a_crashed_row_is_skipped(tmp_path):
    fake = tmp_path / "python3"
    fake.write_text(FAKE_PYTHON.format(python=sys.executable))
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    archive = tmp_path / "cifar.tar.gz"
    (tmp_path / "tree" / "train").mkdir(parents=True)
    subprocess.run(["tar", "-czf", archive, "-C", tmp_path / "tree", "train"], check=True)
    out = tmp_path / "out"
    env = {
        **os.environ,
        "OUT": str(out),
        "PYTHON": str(fake),
        "GPU_WHEELS": "",
        "GPU_ARCHIVE": str(archive),
        "GPU_DATA": str(tmp_path / "data"),
        "BENCH_PRECISIONS": "float32",
        "BENCH_ROWS": "a CRASH b FAIL c",
        "BENCH_ARGS": "--row-timeout 9",
    }
    result = subprocess.run(
        ["bash", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    table = (out / "bench-float32.txt").read_text()
    assert re.search(r"^CRASH +NOT MEASURED: the process ended on this row", table, re.M)
    assert table.count("--only a CRASH b FAIL c") == 1 and "--only b FAIL c" in table
    assert (out / "bench-float32.csv").read_text().split() == [
        "name,ratio",
        "a,1.0",
        "b,1.0",
        "c,1.0",
    ]
    summary = (out / "summary.txt").read_text()
    assert "SKIPPED: no wheels" in summary
    assert re.search(r"^unpack +\d+ s  ok$", summary, re.M)
    assert re.search(r"^cifar10_fast +\d+ s  ok$", summary, re.M)
    assert "3 measured, 1 FAILED, 1 not measured of 5 rows" in summary
    assert "cifar10_fast: test tta_accuracy=0.9100" in summary
    assert sorted(os.listdir(out)) == [
        "bench-float32.csv",
        "bench-float32.txt",
        "cifar10_fast-metrics.json",
        "cifar10_fast.txt",
        "summary.txt",
    ]


def test_row_timeout_arms_a_watchdog_for_each_row_and_no_torch_skips_torch(monkeypatch, capsys):
    import benchmarks.__main__ as cli

    calls = []
    monkeypatch.setattr(
        cli.faulthandler,
        "dump_traceback_later",
        lambda seconds, exit: calls.append(("arm", seconds, exit)),
    )
    monkeypatch.setattr(
        cli.faulthandler, "cancel_dump_traceback_later", lambda: calls.append("off")
    )

    def fail(benchmark, *args, **kwargs):
        raise ValueError("no")

    monkeypatch.setattr(cli, "run_benchmark", fail)
    argv = ["--quick", "--no-torch", "--row-timeout", "30", "--only", "mnist_mlp", "moons_realnvp"]
    assert cli.main(argv) == 1
    assert calls == [("arm", 30.0, True), "off"] * 2
    assert "torch:     PyTorch references skipped: --no-torch\n" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        parse_args(["--row-timeout", "0"])


def test_the_csv_keeps_the_rows_measured_before_the_process_is_stopped(monkeypatch, tmp_path):
    import benchmarks.__main__ as cli

    measured = cli.run_benchmark

    def run_or_stop(benchmark, *args, **kwargs):
        if benchmark.name == "moons_realnvp":
            raise KeyboardInterrupt  # as a kill would, past `except Exception`
        return measured(benchmark, *args, **kwargs)

    monkeypatch.setattr(cli, "run_benchmark", run_or_stop)
    path = tmp_path / "rows.csv"
    sizes = ["--batch-size", "8", "--steps", "2", "--repeats", "1", "--min-window", "0"]
    with pytest.raises(KeyboardInterrupt):
        cli.main(["--quick", *sizes, "--csv", str(path), "--only", "mnist_mlp", "moons_realnvp"])
    assert [row["name"] for row in csv.DictReader(path.open())] == ["mnist_mlp"]
