"""Timing helpers: throughput of ``fit`` after a warm-up, in the same process."""

import time

import keras
import numpy as np


def synthetic_classification(input_shape, num_classes, num_examples, seed=0):
    """Random inputs and integer labels of the given shape."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(size=(num_examples, *input_shape)).astype("float32")
    return x, rng.integers(0, num_classes, num_examples).astype("int32")


def fit_throughput(model, x, y, batch_size, epochs=3):
    """Examples per second of ``model.fit`` on ``(x, y)``, after one warm-up epoch
    (which pays for tracing and compilation)."""
    model.fit(x, y, batch_size=batch_size, epochs=1, verbose=0)
    start = time.perf_counter()
    model.fit(x, y, batch_size=batch_size, epochs=epochs, verbose=0)
    return epochs * len(y) / (time.perf_counter() - start)


def compare(name, recipe_model, reference_model, x, y, batch_size, epochs=3):
    """Times both models on the same data and returns a result row."""
    keras.utils.set_random_seed(0)
    recipe = fit_throughput(recipe_model, x, y, batch_size, epochs)
    reference = fit_throughput(reference_model, x, y, batch_size, epochs)
    return {"name": name, "recipe": recipe, "reference": reference,
            "ratio": recipe / reference}


def print_table(rows):
    """Prints rows from ``compare`` as an aligned table."""
    print(f"{'benchmark':<28} {'recipe ex/s':>12} {'plain ex/s':>12} {'ratio':>7}")
    for row in rows:
        print(f"{row['name']:<28} {row['recipe']:>12,.0f} {row['reference']:>12,.0f} "
              f"{row['ratio']:>7.2f}")
