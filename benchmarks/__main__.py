"""``python -m benchmarks``: each recipe's default training path against a hand-written
plain-Keras model of the same architecture (and plain PyTorch where installed), in
the same process, as throughput ratios.

A ratio near 1.0 means the recipe's default ``fit`` is as fast as what a skilled
user would write by hand; below 1.0 the recipe is slower. ``--quick`` runs small
sizes that finish on 2 CPU cores in minutes; the default sizes (batch 512,
CIFAR-shaped images) are meant for a GPU. See BENCHMARKS.md.

Example:

    KERAS_BACKEND=jax python -m benchmarks --quick --only mnist_mlp cifar10_vgg
"""

import os

# PyTorch's OpenMP threads spin while they wait for work; on a busy CPU (other
# processes, or TensorFlow/XLA threads in this one) that spinning slowed its eager
# MLP 30x on 2 cores. Set before torch (or Keras on the torch backend) loads.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from recipes.startup import quiet_start  # noqa: E402

quiet_start()  # TensorFlow's C++ start-up lines hidden while Keras loads (see there)

import argparse  # noqa: E402
import faulthandler  # noqa: E402
import gc  # noqa: E402
import logging  # noqa: E402
import shlex  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402

import keras  # noqa: E402

import recipes  # noqa: E402
from benchmarks import harness, sklearn_digits  # noqa: E402
from benchmarks.suite import BENCHMARKS, run_benchmark, torch_status  # noqa: E402
from recipes.precision import PRECISIONS  # noqa: E402

FULL_SIZES = {"batch_size": 512, "steps": 50, "min_window_s": 2.0}
QUICK_SIZES = {"batch_size": 32, "steps": 32, "min_window_s": 0.5}
REFERENCE_STEPS_PER_EXECUTION = 32
NAMES = (*BENCHMARKS, "sklearn_digits")
_BACKEND_PACKAGES = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}


def _positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _positive_float(text):
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def parse_args(argv):
    """The command-line options (see ``--help``)."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="small sizes and few steps, for a CPU (a few minutes on 2 cores)",
    )
    parser.add_argument(
        "--only",
        nargs="+",
        choices=NAMES,
        metavar="NAME",
        help=f"run these benchmarks only: {', '.join(NAMES)} "
        "(sklearn_digits runs only when named)",
    )
    parser.add_argument(
        "--batch-size",
        type=_positive_int,
        help=f"examples per step (default {FULL_SIZES['batch_size']}, "
        f"{QUICK_SIZES['batch_size']} with --quick)",
    )
    parser.add_argument(
        "--steps",
        type=_positive_int,
        help=f"steps per epoch of synthetic data (default {FULL_SIZES['steps']}, "
        f"{QUICK_SIZES['steps']} with --quick)",
    )
    parser.add_argument(
        "--repeats",
        type=_positive_int,
        default=3,
        help="timed windows per model; the best counts (default 3)",
    )
    parser.add_argument(
        "--min-window",
        type=float,
        metavar="SECONDS",
        help="timing windows repeat whole epochs until they last this long "
        f"(default {FULL_SIZES['min_window_s']}, "
        f"{QUICK_SIZES['min_window_s']} with --quick)",
    )
    parser.add_argument(
        "--precision",
        choices=PRECISIONS,
        default="float32",
        help="Keras dtype policy of every model (default float32)",
    )
    parser.add_argument(
        "--csv",
        metavar="PATH",
        help="also write the rows to this CSV file (rewritten after each row)",
    )
    parser.add_argument(
        "--no-torch",
        action="store_true",
        help="skip the PyTorch references even where torch imports",
    )
    parser.add_argument(
        "--row-timeout",
        type=_positive_float,
        metavar="SECONDS",
        help="end the process (status 1, with a traceback on stderr) when one benchmark "
        "runs longer than this: a hung row cannot hold the rest (default: no limit)",
    )
    return parser.parse_args(argv)


def print_header(argv, args, sizes, memory_label, torch_reason):
    """Prints what a result needs beside it: command, machine, versions, devices, sizes."""
    report = recipes.info(print_=False)
    backend = report["backend"]
    versions = report["versions"]
    chosen = os.environ.get("KERAS_BACKEND")
    prefix = f"KERAS_BACKEND={chosen} " if chosen else ""
    print(f"command:   {prefix}python -m benchmarks {shlex.join(argv)}".rstrip())
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"machine:   {harness.machine_description()}; load average {load}")
    print(
        f"backend:   {backend} {versions[_BACKEND_PACKAGES[backend]]}, keras "
        f"{versions['keras']}, python {report['python']}, precision {args.precision}"
    )
    print(f"devices:   {', '.join(report['devices'])}")
    print(
        f"sizes:     {'quick' if args.quick else 'full'}: batch {sizes['batch_size']}, "
        f"epochs of {sizes['steps']} steps; after one warm-up epoch, best of "
        f"{args.repeats} timing windows per model of whole epochs lasting at least "
        f"{sizes['min_window_s']} s (win steps); plain Keras compiled with "
        f"jit_compile=True, steps_per_execution={REFERENCE_STEPS_PER_EXECUTION}"
    )
    print(
        f"memory:    {memory_label}: growth of the high-water mark while each model is "
        "built and warmed up (r/p: recipe/plain)"
    )
    if torch_reason is None:
        import torch

        from benchmarks.torch_references import device

        print(
            f"torch:     {torch.__version__} on {device()}, eager, "
            f"OMP_WAIT_POLICY={os.environ['OMP_WAIT_POLICY']}"
        )
    else:
        print(f"torch:     PyTorch references skipped: {torch_reason}")


def compile_notes(rows):
    """Lines naming recipes that compile differently from their reference."""
    return [
        f"note: {row['name']} recipe compiles with jit_compile={row['recipe_jit_compile']}, "
        f"steps_per_execution={row['recipe_steps_per_execution']} (plain: True, "
        f"{row['reference_steps_per_execution']})"
        for row in rows
        if (row["recipe_jit_compile"], row["recipe_steps_per_execution"])
        != (True, row["reference_steps_per_execution"])
    ]


def run_models(names, args, sizes, memory_label, use_torch):
    """Runs the model benchmarks, printing each row as it finishes (and rewriting
    ``--csv`` after each, so that a process ended later keeps the rows before);
    returns the rows and the names of the benchmarks that raised."""
    harness.prime_backend()
    print(harness.table_header(memory_label))
    rows = []
    failed = []
    for name in names:
        benchmark = BENCHMARKS[name]
        if args.row_timeout:
            faulthandler.dump_traceback_later(args.row_timeout, exit=True)
        try:
            row = run_benchmark(
                benchmark,
                benchmark.quick if args.quick else {},
                sizes["batch_size"],
                sizes["steps"],
                args.repeats,
                args.precision,
                use_torch,
                REFERENCE_STEPS_PER_EXECUTION,
                sizes["min_window_s"],
            )
        except Exception as error:  # one model's failure must not lose the others' rows
            message = str(error).strip().splitlines()[0] if str(error).strip() else ""
            print(f"{name:<24} FAILED: {type(error).__name__}: {message}", flush=True)
            failed.append(name)
        else:
            print(harness.table_row(row), flush=True)
            rows.append(row)
            if args.csv:
                harness.write_csv(rows, args.csv)
        finally:
            faulthandler.cancel_dump_traceback_later()
        keras.backend.clear_session()
        gc.collect()
    for line in compile_notes(rows):
        print(line)
    return rows, failed


def main(argv=None):
    """Runs the benchmarks; returns 1 when a benchmark failed (its error is printed
    in its row and the others still run) or a reference's parameter count differs
    from its recipe's (the reference is then not the same architecture), else 0."""
    start = time.perf_counter()
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(argv)
    # Each model traces its own train function once; TensorFlow's warning about
    # "retracing" counts them all together and says nothing useful here.
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    # keras.metrics.MeanIoU asks JAX for int64 counts, which JAX (32-bit by
    # default) gives as int32 with a warning; both U-Nets use it alike.
    warnings.filterwarnings("ignore", message="Explicitly requested dtype int64")
    sizes = dict(QUICK_SIZES if args.quick else FULL_SIZES)
    sizes["batch_size"] = args.batch_size or sizes["batch_size"]
    sizes["steps"] = args.steps or sizes["steps"]
    if args.min_window is not None:
        sizes["min_window_s"] = args.min_window
    names = args.only or list(BENCHMARKS)
    models = [name for name in names if name in BENCHMARKS]
    memory_label, _ = harness.memory_probe()
    torch_reason = "--no-torch" if args.no_torch else torch_status()
    print_header(argv, args, sizes, memory_label, torch_reason)
    rows, failed = (
        run_models(models, args, sizes, memory_label, torch_reason is None) if models else ([], [])
    )
    if args.csv and not rows:
        harness.write_csv(rows, args.csv)
    if "sklearn_digits" in names:
        sklearn_digits.main([])
    print(f"total:     {time.perf_counter() - start:.0f} s")
    mismatched = [
        row["name"]
        for row in rows
        if row["recipe_params"] != row["reference_params"]
        or row.get("torch_params") not in (None, row["recipe_trainable_params"])
    ]
    return 1 if mismatched or failed else 0


if __name__ == "__main__":
    sys.exit(main())
