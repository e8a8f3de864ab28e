"""Command line: ``python -m recipes {list,describe,info,train,demo}``.

Examples:

    python -m recipes list 'cifar10_*'
    python -m recipes describe mnist_mlp
    python -m recipes train digits_mlp --epochs 20 --set dropout=0.1
    python -m recipes train cifar10_fast --data-dir path/to/tree --epochs 10
    python -m recipes demo
"""

import argparse
import ast
import statistics
import sys

from recipes.precision import PRECISIONS

DEMO_RECIPE = "digits_mlp"


def _parse_value(text):
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def _parse_overrides(pairs):
    overrides = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise SystemExit(f"--set takes key=value. Received: {pair!r}")
        overrides[key] = _parse_value(value)
    return overrides


def _command_list(args):
    import recipes

    for name in recipes.list_recipes(args.pattern):
        print(f"{name:<28} {recipes.get_recipe(name).summary}")


def _command_describe(args):
    import recipes

    description = recipes.describe(args.name)
    print(f"{description['name']}: {description['summary']}")
    print(f"builder: recipes.{description['builder_name']}")
    print(f"dataset: {description['dataset']}   fit: {description['fit']}")
    for key, value in description["arguments"].items():
        print(f"  {key} = {value!r}")


def _command_info(args):
    import recipes

    recipes.info()


def _command_train(args):
    import contextlib

    import recipes
    from recipes.models.fast_cifar import FastTrainResult
    from recipes.training import train_recipe

    output_dir = args.output or f"runs/{args.name}"
    options = dict(
        output_dir=output_dir,
        epochs=args.epochs,
        batch_size=args.batch_size,
        dataset=args.dataset,
        seed=args.seed,
        verbose=args.verbose,
        **_parse_overrides(args.set),
    )
    own_options = {
        key: value
        for key, value in (("data_dir", args.data_dir), ("tta", args.tta), ("runs", args.runs))
        if value is not None
    }
    if recipes.get_recipe(args.name).trainer is not None:
        # The preset trains its own way (cifar10_fast: train_fast_cifar), which
        # picks its precision itself unless told.
        result = train_recipe(args.name, precision_policy=args.precision, **own_options, **options)
    else:
        if own_options:
            raise SystemExit(
                "--data-dir, --tta and --runs train presets with their own trainer (e.g. "
                f"cifar10_fast); {args.name} trains on its dataset (choose another with "
                "--dataset)."
            )
        policy = recipes.precision(args.precision) if args.precision else contextlib.nullcontext()
        with policy:
            result = train_recipe(args.name, **options)
    scores = ", ".join(f"{k}={v:.4f}" for k, v in result.test_metrics.items())
    print(f"\n{args.name}: test {scores} ({result.train_seconds:.1f} s of training)")
    if isinstance(result, FastTrainResult):
        parts = ", ".join(f"{k} {v:.1f} s" for k, v in result.seconds.items())
        print(
            f"  data: {result.source}\n  timed: {parts}; compile and warm-up, apart: "
            f"{result.compile_seconds:.1f} s"
        )
        if len(result.runs) > 1:
            for key in result.test_metrics:
                values = [run["test_metrics"][key] for run in result.runs]
                print(
                    f"  {key} over {len(values)} runs: mean {statistics.mean(values):.4f}, "
                    f"std {statistics.stdev(values):.4f}, min {min(values):.4f}, "
                    f"max {max(values):.4f}"
                )
    for kind, path in result.paths.items():
        print(f"  {kind:<11} {path}")
    return result


def _command_demo(args):
    args.name = DEMO_RECIPE
    args.output = args.output or "runs/demo"
    _command_train(args)


def _parser():
    parser = argparse.ArgumentParser(
        prog="python -m recipes",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)

    listing = commands.add_parser("list", help="list presets")
    listing.add_argument("pattern", nargs="?", default="*", help="wildcard filter")
    listing.set_defaults(run=_command_list)

    describe = commands.add_parser("describe", help="show a preset's arguments")
    describe.add_argument("name")
    describe.set_defaults(run=_command_describe)

    commands.add_parser("info", help="backend, devices, versions").set_defaults(run=_command_info)

    def add_training_options(command):
        command.add_argument("--epochs", type=int)
        command.add_argument("--batch-size", type=int)
        command.add_argument("--output", help="output folder (default runs/<name>)")
        command.add_argument("--dataset", help="dataset name (default: the preset's)")
        command.add_argument(
            "--precision",
            choices=PRECISIONS,
            help="dtype policy (default float32; cifar10_fast: mixed_bfloat16 on a GPU)",
        )
        command.add_argument("--seed", type=int, default=0)
        command.add_argument("--verbose", type=int, default=2)
        command.add_argument(
            "--set",
            action="append",
            default=[],
            metavar="KEY=VALUE",
            help="override a builder argument, e.g. dropout=0.1",
        )

    train = commands.add_parser("train", help="train a preset on its dataset")
    train.add_argument("name")
    add_training_options(train)
    train.add_argument(
        "--data-dir",
        help="cifar10_fast: a folder (or .tar.gz) of train/<class>/* and test/<class>/* images",
    )
    train.add_argument(
        "--tta",
        type=int,
        choices=(0, 1, 2),
        help="cifar10_fast: test-time augmentation, 0 none, 1 mirror, "
        "2 mirror and shifts (default 2)",
    )
    train.add_argument(
        "--runs",
        type=int,
        help="cifar10_fast: training runs from fresh weights, reported as "
        "mean and spread (default 1)",
    )
    train.set_defaults(run=_command_train)

    demo = commands.add_parser("demo", help=f"train {DEMO_RECIPE} (offline, < 1 min)")
    add_training_options(demo)
    demo.set_defaults(run=_command_demo, data_dir=None, tta=None, runs=None)
    return parser


def main(argv=None):
    args = _parser().parse_args(argv)
    args.run(args)


if __name__ == "__main__":
    sys.exit(main())
