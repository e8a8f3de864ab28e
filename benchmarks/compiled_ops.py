"""``KERAS_BACKEND=jax python -m benchmarks.compiled_ops``: how much work each
recipe's compiled training step does, against its hand-written reference, with no
GPU needed.

XLA compiles one training step (forward, loss, gradients, optimizer and metric
updates) into a program of HLO instructions, most of them fused into kernels. On
a GPU, small models (the MLP, the VAE, RealNVP at batch 512) are bound by the
number of kernels a step launches rather than by arithmetic, so a recipe whose
step compiles to more instructions or fusions than its reference will be slower
there even when a CPU cannot tell. Equal counts are what a recipe should show.

Example:

    KERAS_BACKEND=jax python -m benchmarks.compiled_ops mnist_vae moons_realnvp
    KERAS_BACKEND=jax python -m benchmarks.compiled_ops --precision mixed_bfloat16
"""

import argparse
import re
import sys

import keras
import numpy as np

import recipes
from benchmarks.suite import BENCHMARKS
from recipes.precision import PRECISIONS


def compiled_step_counts(model, x, y):
    """``{"instructions", "fusions"}`` of the XLA program of ``model``'s training
    step on the batch ``(x, y)``, as JAX compiles it for the default device.

    Args:
        model: a compiled Keras model (built by one ``fit`` step here).
        x: a batch of inputs.
        y: its targets, or ``None`` for a model that computes its own loss.

    Example:

    >>> compiled_step_counts(recipes.build("mnist_mlp"), x[:32], y[:32])
    {'instructions': 60, 'fusions': 36}
    """
    import jax

    if keras.backend.backend() != "jax":
        raise RuntimeError(
            "compiled_step_counts needs KERAS_BACKEND=jax. "
            f"Received: the {keras.backend.backend()} backend"
        )
    model.fit(x, y, batch_size=len(x), epochs=1, verbose=0)  # builds every variable
    state = tuple(
        [v.value for v in variables]
        for variables in (
            model.trainable_variables,
            model.non_trainable_variables,
            model.optimizer.variables,
            model.metrics_variables,
        )
    )
    batch = (x,) if y is None else (x, y)
    text = jax.jit(model.train_step).lower(state, batch).compile().as_text()
    entry = text[text.index("\nENTRY") :]
    return {
        "instructions": len(re.findall(r"^\s+\S+ = ", entry, re.M)),
        "fusions": len(re.findall(r"= \S+ fusion\(", entry)),
    }


def compare(name, batch_size=32, precision="float32"):
    """The counts of benchmark ``name``'s recipe and reference at ``--quick`` sizes.

    Args:
        name: a benchmark name (see ``benchmarks.suite.BENCHMARKS``).
        batch_size: examples in the compiled batch.
        precision: the dtype policy both models are built under, as the benchmark
            CLI's ``--precision`` builds them.

    Returns:
        ``{"recipe": counts, "reference": counts}``.

    Example:

    >>> compare("mnist_mlp", precision="mixed_bfloat16")["recipe"]
    {'instructions': 71, 'fusions': 40}
    """
    benchmark = BENCHMARKS[name]
    arguments = benchmark.arguments(benchmark.quick)
    x, y = benchmark.data(arguments, batch_size, np.random.default_rng(0))
    with recipes.precision(precision):
        recipe = benchmark.build_recipe(benchmark.quick)
        reference = benchmark.build_reference(arguments, 1)
    return {
        "recipe": compiled_step_counts(recipe, x, y),
        "reference": compiled_step_counts(reference, x, y),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.compiled_ops", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "names",
        nargs="*",
        metavar="NAME",
        help=f"benchmarks (default all): {', '.join(BENCHMARKS)}",
    )
    parser.add_argument(
        "--precision",
        choices=PRECISIONS,
        default="float32",
        help="Keras dtype policy of both models (default float32)",
    )
    args = parser.parse_args(argv)
    unknown = [name for name in args.names if name not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmarks {unknown}; choose from {', '.join(BENCHMARKS)}")
    print(f"{'benchmark':<24} {'instructions r/p':>17} {'fusions r/p':>12}")
    for name in args.names or BENCHMARKS:
        counts = compare(name, precision=args.precision)
        recipe, reference = counts["recipe"], counts["reference"]
        print(
            f"{name:<24} {recipe['instructions']:>8}/{reference['instructions']:<8} "
            f"{recipe['fusions']:>5}/{reference['fusions']:<6}",
            flush=True,
        )
        keras.backend.clear_session()


if __name__ == "__main__":
    sys.exit(main())
