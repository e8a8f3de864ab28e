"""Command line: ``python -m tuning --task T [--tuner random] [--max-trials N] ...``.

Examples:

    python -m tuning --task digits                       # the task's own budget
    python -m tuning --task cifar10 --tuner hyperband --max-trials 30 --epochs 27
    python -m tuning --task cifar10 --data-dir ../shared/data/cifar10-jpeg.tar.gz
    python -m tuning --task digits --max-trials 8 --workers 2   # chief + 2 workers
    python -m tuning --list

Running the same command again resumes the search in the run folder
(``<directory>/<task>_<tuner>``) without repeating finished trials.

Before the first trial the task's data loads and its search space builds. A
missing dataset, an unknown name or a bad argument ends the command with one
message and exit status 2; ``--traceback`` (or ``RECIPES_TRACEBACK=1``) shows
where it was raised. ``--data-dir`` reads an image-classification task's images
from class folders (``train/<class>/*``, ``test/<class>/*``, or a ``.tar.gz`` of
them, such as the CIFAR-10 JPEG copy).
"""

import argparse
import sys


def _parser():
    from tuning.search import TUNERS

    parser = argparse.ArgumentParser(
        prog="python -m tuning",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--task", help="a task from --list, e.g. digits or cifar10")
    parser.add_argument("--tuner", default="random", help=f"one of {', '.join(TUNERS)}")
    parser.add_argument("--max-trials", type=int, help="trials to run (default: the task's)")
    parser.add_argument(
        "--epochs", type=int, help="epochs per trial, Hyperband's maximum (default: the task's)"
    )
    parser.add_argument("--directory", default="runs/tune", help="parent of the run folder")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--max-failures", type=int, default=3, help="stop after this many failed trials in a row"
    )
    parser.add_argument("--verbose", type=int, default=0, help="Model.fit verbosity")
    parser.add_argument(
        "--no-retrain",
        action="store_true",
        help="skip retraining the best model and the test score",
    )
    parser.add_argument(
        "--no-xla",
        action="store_true",
        help="no XLA compilation (TensorFlow): faster for tiny CPU budgets",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=0,
        help="run a KerasTuner chief and this many worker processes here",
    )
    parser.add_argument(
        "--data-dir",
        help="image-classification tasks: a folder (or .tar.gz) of train/<class>/* and "
        "test/<class>/* images to search on (e.g. the CIFAR-10 JPEG copy)",
    )
    parser.add_argument(
        "--traceback",
        action="store_true",
        help="show the traceback of an error (or set RECIPES_TRACEBACK=1)",
    )
    parser.add_argument("--list", action="store_true", help="list the tasks and exit")
    return parser


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    args = _parser().parse_args(argv)
    from recipes.__main__ import clean_errors

    with clean_errors("python -m tuning", args.traceback):
        return _run(args, argv)


def _run(args, argv):
    import tuning

    if args.list:
        for name in tuning.list_tasks():
            task = tuning.get_task(name)
            print(
                f"{name:<16} {task.summary} [{task.max_trials} trials x {task.epochs} "
                f"epochs, {task.objective}]"
            )
        return 0
    if not args.task:
        raise ValueError("--task is required (see --list).")
    from tuning.search import check_budget

    task = tuning.get_task(args.task)
    max_trials = task.max_trials if args.max_trials is None else args.max_trials
    epochs = task.epochs if args.epochs is None else args.epochs
    check_budget(args.tuner, max_trials, epochs, args.max_failures)
    if args.workers:
        from tuning.distribute import launch_local

        rest = _without_workers(argv)
        return launch_local(rest, workers=args.workers)
    tuning.tune(
        task,
        tuner=args.tuner,
        max_trials=max_trials,
        epochs=epochs,
        directory=args.directory,
        seed=args.seed,
        verbose=args.verbose,
        max_failures=args.max_failures,
        retrain=not args.no_retrain,
        xla=False if args.no_xla else None,
        data_dir=args.data_dir,
    )
    return 0


def _without_workers(argv):
    rest, skip = [], False
    for item in argv:
        if skip:
            skip = False
        elif item == "--workers":
            skip = True
        elif not item.startswith("--workers="):
            rest.append(item)
    return rest


if __name__ == "__main__":
    sys.exit(main())
