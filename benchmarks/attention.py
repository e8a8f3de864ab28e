"""``recipes.layers.MultiHeadAttention`` against ``keras.layers.MultiHeadAttention``:
training throughput of the same two-layer self-attention model built with each,
in one process (best of 3 epochs each, after a warm-up epoch).

Run: ``python -m benchmarks.attention`` (any ``KERAS_BACKEND``).
"""

import time

import keras
import numpy as np

from recipes.layers import MultiHeadAttention

SEQUENCE_LENGTH, WIDTH, HEADS, NUM_LAYERS = 64, 128, 8, 2


def attention_model(make_attention):
    """Two self-attention layers, mean pooling and a 10-way linear head, compiled
    as the benchmark references are (XLA, 8 steps per call)."""
    keras.utils.set_random_seed(0)
    inputs = keras.Input((SEQUENCE_LENGTH, WIDTH))
    x = inputs
    for _ in range(NUM_LAYERS):
        x = make_attention()(x, x)
    outputs = keras.layers.Dense(10)(keras.layers.GlobalAveragePooling1D()(x))
    model = keras.Model(inputs, outputs)
    model.compile(
        "adam",
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        jit_compile=True,
        steps_per_execution=8,
    )
    return model


def throughput(model, x, y, repeats=3):
    """Best examples per second over ``repeats`` epochs, after a warm-up epoch."""
    model.fit(x, y, batch_size=64, epochs=1, verbose=0)
    best = 0.0
    for _ in range(repeats):
        start = time.perf_counter()
        model.fit(x, y, batch_size=64, epochs=1, verbose=0)
        best = max(best, len(x) / (time.perf_counter() - start))
    return best


def main():
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(2048, SEQUENCE_LENGTH, WIDTH)).astype("float32")
    y = rng.integers(0, 10, len(x))
    ours = attention_model(lambda: MultiHeadAttention(num_heads=HEADS, key_dim=WIDTH // HEADS))
    theirs = attention_model(
        lambda: keras.layers.MultiHeadAttention(num_heads=HEADS, key_dim=WIDTH // HEADS)
    )
    assert ours.count_params() == theirs.count_params()
    recipe, plain = throughput(ours, x, y), throughput(theirs, x, y)
    print(
        f"backend {keras.backend.backend()}, {ours.count_params():,} parameters each: "
        f"recipes {recipe:,.0f} ex/s, keras {plain:,.0f} ex/s, ratio {recipe / plain:.2f}"
    )


if __name__ == "__main__":
    main()
