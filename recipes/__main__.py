"""Command line: ``python -m recipes {list,describe,info,train,demo,reproduce}``.

Examples:

    python -m recipes list 'cifar10_*'
    python -m recipes describe mnist_mlp
    python -m recipes train digits_mlp --epochs 20 --set dropout=0.1
    python -m recipes train digits_mlp --distribute none
    python -m recipes train cifar10_fast --data-dir path/to/tree --epochs 10
    python -m recipes train cifar10_lenet --data-dir path/to/my_images --epochs 5
    python -m recipes demo
    python -m recipes reproduce --list
    python -m recipes reproduce zhang2017 --quick --data-dir path/to/cifar10-jpeg.tar.gz

A preset trains with the trainer it names (``recipes.trainers``; the standard
loop when it names none); ``train``'s flags after ``--set`` are the options the
presets' trainers declare, each listing the presets that take it. ``train``
checks the preset, its arguments and its data before training. A missing
dataset, an unknown name or a bad argument ends the command with one message
and exit status 2; ``--traceback`` (or ``RECIPES_TRACEBACK=1``) shows where it
was raised.
"""

import argparse
import ast
import contextlib
import os
import re
import sys

from recipes.distribute import DISTRIBUTE_CHOICES
from recipes.precision import PRECISIONS

DEMO_RECIPE = "digits_mlp"
TRACEBACK_ENV = "RECIPES_TRACEBACK"


class UsageExit(SystemExit):
    """Ends a command with exit status 2 after one printed message (``str`` of it).

    Attributes:
        message: what went wrong.
    """

    def __init__(self, message):
        super().__init__(2)
        self.message = message

    def __str__(self):
        return self.message


@contextlib.contextmanager
def clean_errors(prog, traceback=False):
    """Turns what a user's input causes (``ValueError``, ``TypeError``, a missing
    dataset) into one message on standard error and exit status 2 (``UsageExit``),
    with no traceback unless ``traceback`` or ``$RECIPES_TRACEBACK`` asks for it.

    Args:
        prog: the command's name, printed first.
        traceback: let the error through, with its traceback.

    Example:

    >>> with clean_errors("python -m tuning"):
    ...     tuning.get_task("cifar1O")
    python -m tuning: error: Unknown tuning task 'cifar1O'. Did you mean: cifar10? ...
    """
    from recipes.data import DatasetNotAvailableError

    try:
        yield
    except (ValueError, TypeError, DatasetNotAvailableError) as error:
        if traceback or os.environ.get(TRACEBACK_ENV, "0").lower() not in ("", "0", "false"):
            raise
        print(
            f"{prog}: error: {error}\n(--traceback or {TRACEBACK_ENV}=1 shows where this "
            "was raised.)",
            file=sys.stderr,
        )
        raise UsageExit(str(error)) from None


# A --set value that fails to parse as a Python literal is taken as text only when
# it is a plain word or path (relu, mixed_bfloat16, runs/x); one that starts like a
# number, a tuple, a list, a dict or a quoted string is refused.
_PLAIN_TEXT = re.compile(r"[A-Za-z_][\w./:-]*")


def _parse_value(key, text):
    """The value of ``--set key=text``: a Python literal, or plain text."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        if _PLAIN_TEXT.fullmatch(text):
            return text
    raise ValueError(
        f"--set {key}=...: the value must be a Python literal (a number such as 1e-3, "
        "a tuple such as (64, 32), True, False, None, a quoted string) or a plain word "
        f"(relu). Received: {key}={text}"
    )


def _parse_overrides(pairs):
    overrides = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise ValueError(f"--set takes key=value. Received: {pair!r}")
        overrides[key] = _parse_value(key, value)
    return overrides


def _command_list(args):
    import recipes

    for name in recipes.list_recipes(args.pattern):
        print(f"{name:<28} {recipes.get_recipe(name).summary}")


def _command_describe(args):
    import recipes
    from recipes.trainers import get_trainer

    description = recipes.describe(args.name)
    print(f"{description['name']}: {description['summary']}")
    print(f"builder: recipes.{description['builder_name']}")
    print(f"dataset: {description['dataset']}   fit: {description['fit']}")
    trainer = get_trainer(recipes.get_recipe(args.name).trainer)
    flags = ", ".join(map(_flag, _trainer_keys(trainer)))
    print(f"trainer: {trainer.name} ({trainer.summary}){'; flags: ' + flags if flags else ''}")
    for key, value in description["arguments"].items():
        print(f"  {key} = {value!r}")


def _command_info(args):
    import recipes

    recipes.info()


def _command_train(args):
    import recipes
    from recipes.trainers import get_trainer
    from recipes.training import check_training, train_recipe

    overrides = _parse_overrides(args.set)
    trainer = get_trainer(recipes.get_recipe(args.name).trainer)
    options = {key: getattr(args, key) for key in args.trainer_options}
    options = {key: value for key, value in options.items() if value is not None}
    refused = [key for key in options if key not in trainer.options]
    if args.data_dir is not None and trainer.data_dir is None:
        refused.insert(0, "data_dir")
    if refused:
        raise ValueError(_refusal(args.name, trainer, refused))
    train_arguments = dict(dataset=args.dataset, data_dir=args.data_dir, **options, **overrides)
    distribute = getattr(args, "distribute", "auto")  # demo has no --distribute
    check_training(args.name, distribute=distribute, **train_arguments)
    result = train_recipe(
        args.name,
        output_dir=args.output or f"runs/{args.name}",
        epochs=args.epochs,
        batch_size=args.batch_size,
        seed=args.seed,
        verbose=args.verbose,
        precision_policy=args.precision,
        restart=args.restart,
        distribute=distribute,
        **train_arguments,
    )
    scores = ", ".join(f"{k}={v:.4f}" for k, v in result.test_metrics.items())
    print(f"\n{args.name}: test {scores} ({result.train_seconds:.1f} s of training)")
    for line in result.report():
        print(f"  {line}")
    for kind, path in result.paths.items():
        print(f"  {kind:<11} {path}")
    return result


def _command_reproduce(args):
    from recipes.experiments import EXPERIMENTS, get_experiment, list_experiments, reproduce

    if args.list or args.name is None:
        for name in list_experiments():
            experiment = get_experiment(name)
            print(f"{name:<20} {experiment.summary} (full size: {experiment.full_time})")
        return None
    EXPERIMENTS.get(args.name)  # an unknown name fails before anything runs
    return reproduce(
        args.name,
        size="quick" if args.quick else args.size,
        data_dir=args.data_dir,
        output_dir=args.output,
        seed=args.seed,
    )


def _flag(key):
    return "--" + key.replace("_", "-")


def _joined(words):
    words = list(words)
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def _trainer_keys(trainer):
    """The flags' keys of a trainer: ``data_dir`` when it reads one, then its options."""
    return (["data_dir"] if trainer.data_dir is not None else []) + list(trainer.options)


def _trainers_in_use():
    """Each trainer that presets name, with those presets: ``[(trainer, [names])]``."""
    import recipes
    from recipes.trainers import get_trainer

    users = {}
    for name in recipes.list_recipes():
        trainer = get_trainer(recipes.get_recipe(name).trainer)
        users.setdefault(trainer.name, (trainer, []))[1].append(name)
    return list(users.values())


def make_variables():
    """The flags ``train`` takes from the presets' trainers, each with the make
    variable that gives it (its key in capitals): ``["DATA_DIR:--data-dir",
    "TTA:--tta", "RUNS:--runs"]``. ``make train`` reads them from here.

    Example:

    >>> make_variables()[-1]
    'RUNS:--runs'
    """
    keys = dict.fromkeys(
        key for trainer, _ in _trainers_in_use() for key in _trainer_keys(trainer)
    )
    return [f"{key.upper()}:{_flag(key)}" for key in keys]


def _refusal(name, trainer, refused):
    """Why preset ``name`` takes none of the flags of ``refused``, naming the
    trainers (and presets) that do take them."""
    takers = [
        f"{_joined(map(_flag, _trainer_keys(other)))} train presets with the {other.name!r} "
        f"trainer (e.g. {', '.join(presets[:3])})"
        for other, presets in _trainers_in_use()
        if other is not trainer and set(refused) & set(_trainer_keys(other))
    ]
    return (
        f"{'; '.join(takers)}; {name} trains with the {trainer.name!r} trainer, which does "
        f"not take {_joined(map(_flag, refused))} (choose another dataset with --dataset)."
    )


def _command_demo(args):
    args.name = DEMO_RECIPE
    args.output = args.output or "runs/demo"
    _command_train(args)


def _few(presets, shown=3):
    """Preset names for a help line: the first few, then how many more."""
    more = len(presets) - shown
    return ", ".join(presets[:shown]) + (f" and {more} more" if more > 0 else "")


def _precision_help(in_use):
    from recipes.trainers import get_trainer

    default = get_trainer(None).precision
    others = [f"{', '.join(p)}: {t.precision}" for t, p in in_use if t.precision != default]
    return f"dtype policy (default {'; '.join([default, *others])})"


def _add_trainer_flags(command, in_use):
    """Adds ``--data-dir`` (when a trainer reads folders) and a flag for each
    option of the trainers that presets name, its help saying which presets take
    it; remembers the options' keys as ``trainer_options``."""
    readers = [f"{_few(p)}: {t.data_dir}" for t, p in in_use if t.data_dir is not None]
    if readers:
        command.add_argument("--data-dir", help="; ".join(readers))
    takers = {}
    for trainer, presets in in_use:
        for key, option in trainer.options.items():
            takers.setdefault(key, []).append((trainer, option, presets))
    for key, declared in takers.items():
        _, first, _ = declared[0]
        if any((o.type, o.choices) != (first.type, first.choices) for _, o, _ in declared):
            names = ", ".join(t.name for t, _, _ in declared)
            raise ValueError(f"The trainers {names} declare option {key!r} differently.")
        command.add_argument(
            _flag(key),
            type=first.type,
            choices=first.choices,
            help="; ".join(f"{_few(p)}: {o.help} (default {o.default})" for _, o, p in declared),
        )
    command.set_defaults(data_dir=None, trainer_options=tuple(takers))


def _parser():
    in_use = _trainers_in_use()
    parser = argparse.ArgumentParser(
        prog="python -m recipes",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--traceback",
        action="store_true",
        help=f"show the traceback of an error (or set {TRACEBACK_ENV}=1)",
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
        command.add_argument(
            "--epochs",
            type=_number,
            help="epochs (a fraction such as 9.9 where the trainer takes one: cifar10_fast)",
        )
        command.add_argument("--batch-size", type=int)
        command.add_argument("--output", help="output folder (default runs/<name>)")
        command.add_argument("--dataset", help="dataset name (default: the preset's)")
        command.add_argument("--precision", choices=PRECISIONS, help=_precision_help(in_use))
        command.add_argument("--seed", type=int, default=0)
        command.add_argument(
            "--restart",
            action="store_true",
            help="start afresh: by default the same command resumes an unfinished run "
            "from the backup in its output folder",
        )
        command.add_argument(
            "--traceback",
            action="store_true",
            default=argparse.SUPPRESS,
            help=f"show the traceback of an error (or set {TRACEBACK_ENV}=1)",
        )
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
        "--distribute",
        choices=DISTRIBUTE_CHOICES,
        default="auto",
        help="auto: with several local devices, train data-parallel over all of them (the "
        "global batch is the preset's times the devices unless --batch-size fixes it); "
        "none: one device",
    )
    _add_trainer_flags(train, in_use)
    train.set_defaults(run=_command_train)

    reproduce = commands.add_parser(
        "reproduce", help="run one of the documents' experiments, its table beside ours"
    )
    reproduce.add_argument("name", nargs="?", help="an experiment (see --list)")
    reproduce.add_argument("--list", action="store_true", help="list the experiments")
    reproduce.add_argument(
        "--size",
        choices=("full", "quick", "tiny"),
        default="full",
        help="full: the document's sizes (a GPU); quick: minutes on 2 CPU cores; tiny: seconds",
    )
    reproduce.add_argument("--quick", action="store_true", help="the same as --size quick")
    reproduce.add_argument("--data-dir", help="a CIFAR-10 copy (cifar10-jpeg.tar.gz)")
    reproduce.add_argument("--output", help="run folder (default runs/reproduce/<name>)")
    reproduce.add_argument("--seed", type=int, default=0)
    reproduce.set_defaults(run=_command_reproduce)

    demo = commands.add_parser("demo", help=f"train {DEMO_RECIPE} (offline, < 1 min)")
    add_training_options(demo)
    demo.set_defaults(run=_command_demo, data_dir=None, trainer_options=())
    return parser


def _number(text):
    """An int where the text is one (``10``), else a float (``9.9``)."""
    value = float(text)
    return int(value) if value.is_integer() and "." not in text else value


def main(argv=None):
    args = _parser().parse_args(argv)
    with clean_errors("python -m recipes", args.traceback):
        args.run(args)


if __name__ == "__main__":
    sys.exit(main())
