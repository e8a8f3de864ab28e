"""The benchmarked recipes: for each, how to build it, its hand-written references,
its synthetic data and its ``--quick`` sizes; ``run_benchmark`` measures one.

Sizes are the builder's own arguments (``input_shape``, ``filters``, ``units``...):
``--quick`` overrides them on the recipe and passes the same values to the
references, so both sides always have the same architecture, which the parameter
counts check.
"""

import importlib.util
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import keras
import numpy as np

import recipes
from benchmarks import keras_references
from benchmarks.harness import KerasRunner, measure
from recipes import data


def image_labels(arguments, num_examples, rng):
    """Uniform images of ``input_shape`` and labels below ``num_classes``."""
    x = rng.uniform(size=(num_examples, *arguments["input_shape"])).astype("float32")
    return x, rng.integers(0, arguments["num_classes"], num_examples).astype("int32")


def image_masks(arguments, num_examples, rng):
    """Uniform images and per-pixel labels below ``num_classes``."""
    x, _ = image_labels(arguments, num_examples, rng)
    masks = rng.integers(0, arguments["num_classes"], x.shape[:3]).astype("int32")
    return x, masks


def images_only(arguments, num_examples, rng):
    """Uniform images in [0, 1) and no targets (the model computes its own loss)."""
    return rng.uniform(size=(num_examples, *arguments["input_shape"])).astype("float32"), None


def points(arguments, num_examples, rng):
    """Standard normal vectors of ``input_shape`` and no targets."""
    return rng.standard_normal((num_examples, *arguments["input_shape"])).astype("float32"), None


def reversed_digits(arguments, num_examples, rng):
    """The offline ``reverse`` task: digit strings of 10 to 20 tokens, 0-padded."""
    return data.arrays("reverse", "train", num_examples=num_examples)


def padded_tokens(arguments, num_examples, rng):
    """Token ids below ``vocab_size``, each sequence 0-padded after a random length
    between half and all of ``input_shape[0]``, with labels below ``num_classes``."""
    (length,) = arguments["input_shape"]
    tokens = rng.integers(1, arguments["vocab_size"], (num_examples, length)).astype("int32")
    lengths = rng.integers(length // 2, length + 1, num_examples)
    tokens[np.arange(length) >= lengths[:, None]] = 0
    return tokens, rng.integers(0, arguments["num_classes"], num_examples).astype("int32")


@dataclass(frozen=True)
class Benchmark:
    """One recipe and its references.

    Attributes:
        name: the benchmark's name (the preset's, or the builder's without ``build_``).
        reference: the hand-written Keras model: a function of the architecture
            arguments and ``steps_per_execution`` (see ``keras_references``).
        data: ``(arguments, num_examples, rng) -> (x, y)``.
        preset: the recipe name given to ``recipes.build``; ``None`` to call
            ``builder`` with its own defaults instead.
        builder: a ``build_<arch>`` function, for a benchmark without a preset.
        quick: architecture overrides for ``--quick``.
        torch: the name of a function in ``torch_references``, or ``None``.
    """

    name: str
    reference: Callable
    data: Callable
    preset: str | None = None
    builder: Callable | None = None
    quick: dict[str, Any] = field(default_factory=dict)
    torch: str | None = None

    def arguments(self, overrides):
        """The builder arguments the recipe is built with."""
        if self.preset is not None:
            defaults = recipes.describe(self.preset)["arguments"]
        else:
            parameters = inspect.signature(self.builder).parameters.items()
            defaults = {name: p.default for name, p in parameters if p.default is not p.empty}
        return {**defaults, **overrides}

    def build_recipe(self, overrides):
        """The recipe's default path: built and compiled by the recipe."""
        if self.preset is not None:
            return recipes.build(self.preset, **overrides)
        return self.builder(**overrides)

    def build_reference(self, arguments, steps_per_execution):
        """The hand-written Keras model with the same architecture arguments."""
        return self.reference(
            steps_per_execution=steps_per_execution, **_accepted(self.reference, arguments)
        )

    def build_torch(self, arguments):
        """``(model, optimizer)`` of the PyTorch reference."""
        from benchmarks import torch_references

        function = getattr(torch_references, self.torch)
        return function(**_accepted(function, arguments))


def _accepted(function, arguments):
    # A builder argument left None (e.g. build_resnet's `filters`) means the
    # builder's own default, which the reference writes out as its default.
    names = inspect.signature(function).parameters
    return {key: value for key, value in arguments.items() if key in names and value is not None}


BENCHMARKS = {
    benchmark.name: benchmark
    for benchmark in (
        Benchmark(
            "mnist_mlp", keras_references.mlp, image_labels, preset="mnist_mlp", torch="mlp"
        ),
        Benchmark(
            "cifar10_vgg",
            keras_references.vgg,
            image_labels,
            preset="cifar10_vgg",
            quick={
                "input_shape": (16, 16, 3),
                "blocks": ((8, 16), (16, 16), (32, 32)),
                "dense_units": (64, 32),
            },
            torch="vgg",
        ),
        Benchmark(
            "cifar10_resnet20",
            keras_references.resnet,
            image_labels,
            preset="cifar10_resnet20",
            quick={"input_shape": (16, 16, 3), "filters": 8},
            torch="resnet",
        ),
        Benchmark(
            "cifar10_resnet9",
            keras_references.resnet9,
            image_labels,
            preset="cifar10_resnet9",
            quick={"input_shape": (16, 16, 3), "filters": 8},
        ),
        Benchmark(
            "shapes_unet",
            keras_references.unet,
            image_masks,
            preset="shapes_unet",
            quick={"input_shape": (16, 16, 3), "filters": 4},
        ),
        Benchmark(
            "reverse_seq2seq",
            keras_references.seq2seq,
            reversed_digits,
            preset="reverse_seq2seq",
            quick={"units": 16, "embedding_dim": 8},
        ),
        Benchmark(
            "transformer_classifier",
            keras_references.transformer_classifier,
            padded_tokens,
            builder=recipes.build_transformer_classifier,
            quick={
                "input_shape": (32,),
                "vocab_size": 1000,
                "embed_dim": 16,
                "num_heads": 2,
                "feed_forward_dim": 32,
            },
        ),
        Benchmark("mnist_vae", keras_references.vae, images_only, preset="mnist_vae"),
        Benchmark("moons_realnvp", keras_references.realnvp, points, preset="moons_realnvp"),
    )
}


def torch_status():
    """``None`` when ``torch`` can be imported, else why the PyTorch references
    are skipped."""
    if importlib.util.find_spec("torch") is None:
        return "torch is not installed"
    try:
        import torch  # noqa: F401
    except Exception as error:  # a broken install is a reason to skip, not to crash
        return f"torch does not import ({error!r})"
    return None


def parameter_counts(benchmark, overrides, use_torch=False):
    """Builds the recipe and its references (no training) and counts their parameters.

    Args:
        benchmark: a ``Benchmark``.
        overrides: architecture overrides (``benchmark.quick`` or ``{}``).
        use_torch: also build the PyTorch reference, if the benchmark has one.

    Returns:
        A dict: ``recipe`` and ``reference`` (every Keras weight, batch-norm
        statistics included), ``recipe_trainable``, and ``torch`` (PyTorch's
        trainable parameters, comparable with ``recipe_trainable``) when built.

    Example:

    >>> parameter_counts(BENCHMARKS["mnist_mlp"], {})
    {'recipe': 52650, 'recipe_trainable': 52650, 'reference': 52650}
    """
    recipe = benchmark.build_recipe(overrides)
    arguments = benchmark.arguments(overrides)
    counts = {
        "recipe": recipe.count_params(),
        "recipe_trainable": sum(int(np.prod(w.shape)) for w in recipe.trainable_weights),
        "reference": benchmark.build_reference(arguments, 1).count_params(),
    }
    if use_torch and benchmark.torch is not None:
        from benchmarks.torch_references import count_parameters

        counts["torch"] = count_parameters(benchmark.build_torch(arguments)[0])
    return counts


def run_benchmark(
    benchmark,
    overrides,
    batch_size,
    steps,
    repeats=3,
    precision="float32",
    use_torch=False,
    steps_per_execution=32,
    min_window_s=0.5,
):
    """Measures the recipe against its references on the same synthetic data.

    Args:
        benchmark: a ``Benchmark``.
        overrides: architecture overrides (``benchmark.quick`` or ``{}``).
        batch_size: examples per step, the same for every model.
        steps: steps per epoch: the data holds ``steps * batch_size`` examples.
        repeats: timed windows per model (the best counts).
        precision: the Keras dtype policy the Keras models are built under, and
            PyTorch's autocast.
        use_torch: also time the PyTorch reference, if the benchmark has one.
        steps_per_execution: the Keras reference's steps per compiled call.
        min_window_s: timing windows repeat whole epochs until they last this
            long (see ``harness.measure``).

    Returns:
        A result row (a dict; see ``harness.table_row``).

    Example:

    >>> row = run_benchmark(BENCHMARKS["mnist_mlp"], {}, batch_size=32, steps=4)
    >>> row["ratio"]
    """
    arguments = benchmark.arguments(overrides)
    x, y = benchmark.data(arguments, batch_size * steps, np.random.default_rng(0))
    keras.utils.set_random_seed(0)

    def keras_runner(build):
        def make():
            with recipes.precision(precision):
                return KerasRunner(build(), x, y, batch_size)

        return make

    makers = {
        "recipe": keras_runner(lambda: benchmark.build_recipe(overrides)),
        "reference": keras_runner(
            lambda: benchmark.build_reference(arguments, steps_per_execution)
        ),
    }
    if use_torch and benchmark.torch is not None:
        from benchmarks.torch_references import TorchRunner

        makers["torch"] = lambda: TorchRunner(
            *benchmark.build_torch(arguments), x, y, batch_size, precision
        )
    results = measure(makers, repeats, min_window_s)
    row = {
        "name": benchmark.name,
        "batch_size": batch_size,
        "steps": steps,
        "epochs_per_window": results["recipe"]["epochs"],
        "precision": precision,
    }
    return {**row, **_result_fields(results)}


def _result_fields(results):
    recipe = results["recipe"]["runner"].model
    reference = results["reference"]["runner"].model
    fields = {
        "recipe_params": recipe.count_params(),
        "recipe_trainable_params": sum(int(np.prod(w.shape)) for w in recipe.trainable_weights),
        "reference_params": reference.count_params(),
        "recipe_jit_compile": recipe.jit_compile,
        "recipe_steps_per_execution": recipe.steps_per_execution,
        "reference_steps_per_execution": reference.steps_per_execution,
    }
    for side in ("recipe", "reference"):
        fields[f"{side}_examples_per_s"] = results[side]["examples_per_s"]
        fields[f"{side}_warmup_s"] = results[side]["warmup_s"]
        fields[f"{side}_memory_mib"] = results[side]["memory_mib"]
        fields[f"{side}_spread"] = results[side]["spread"]
    fields["ratio"] = fields["recipe_examples_per_s"] / fields["reference_examples_per_s"]
    if "torch" in results:
        from benchmarks.torch_references import count_parameters

        fields["torch_params"] = count_parameters(results["torch"]["runner"].model)
        fields["torch_examples_per_s"] = results["torch"]["examples_per_s"]
        fields["torch_ratio"] = fields["recipe_examples_per_s"] / fields["torch_examples_per_s"]
    return fields
