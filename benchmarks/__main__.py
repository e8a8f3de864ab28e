"""``python -m benchmarks``: recipe default path vs hand-written Keras, as ratios.

A ratio near 1.0 means the recipe's default ``fit`` is as fast as what a skilled
user would write by hand; below 1.0 the recipe is slower.
"""

import keras

import recipes
from benchmarks.harness import compare, print_table, synthetic_classification


def plain_mnist_mlp():
    """Seed 004's MNIST MLP as one would write it by hand."""
    model = keras.Sequential([
        keras.Input((28, 28, 1)),
        keras.layers.Flatten(),
        keras.layers.Dense(64, activation="relu"),
        keras.layers.Dense(32, activation="relu"),
        keras.layers.Dense(10, activation="softmax"),
    ])
    model.compile(keras.optimizers.SGD(0.01), "sparse_categorical_crossentropy",
                  metrics=["accuracy"], jit_compile=True)
    return model


def main():
    x, y = synthetic_classification((28, 28, 1), 10, 20_000)
    rows = [compare("mnist_mlp (batch 64)", recipes.build("mnist_mlp"), plain_mnist_mlp(),
                    x, y, batch_size=64)]
    print(f"backend: {keras.backend.backend()}")
    print_table(rows)


if __name__ == "__main__":
    main()
