"""``python -m benchmarks.sklearn_digits``: ``recipes.sklearn.KerasClassifier`` against
scikit-learn's ``MLPClassifier`` on the offline 8x8 digits, in the same process.

Both train the same network the same way: the ``digits_mlp`` preset, 64-64-32-10
with ReLU and softmax, Adam with learning rate 3e-3, batches of 32, 40 epochs, no
weight penalty and no early stopping. Each is fitted ``--repeats`` times with seeds
0, 1, 2...; the table gives the mean test accuracy and the median fit time, and
the ratios Keras / scikit-learn (accuracy ratio above 1: Keras more accurate;
time ratio above 1: Keras slower).
"""

import argparse
import statistics
import time
import warnings

import keras
import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

import recipes
from recipes import data
from recipes.sklearn import KerasClassifier


def digits():
    """Train and test splits, flattened to 64 columns in [0, 1]."""
    x_train, y_train = data.arrays("digits", "train")
    x_test, y_test = data.arrays("digits", "test")
    return (x_train.reshape(len(x_train), -1), y_train, x_test.reshape(len(x_test), -1), y_test)


def estimators(seed, epochs, batch_size, learning_rate):
    keras_clf = KerasClassifier(
        "digits_mlp",
        epochs=epochs,
        batch_size=batch_size,
        optimizer__learning_rate=learning_rate,
        random_state=seed,
    )
    sklearn_clf = MLPClassifier(
        hidden_layer_sizes=(64, 32),
        activation="relu",
        solver="adam",
        alpha=0.0,
        batch_size=batch_size,
        learning_rate_init=learning_rate,
        max_iter=epochs,
        n_iter_no_change=epochs + 1,
        tol=0.0,
        random_state=seed,
    )
    return {"KerasClassifier": keras_clf, "MLPClassifier": sklearn_clf}


def run(repeats=3):
    x_train, y_train, x_test, y_test = digits()
    preset = recipes.describe("digits_mlp")
    epochs, batch_size = preset["fit"]["epochs"], preset["fit"]["batch_size"]
    learning_rate = preset["arguments"]["learning_rate"]
    results = {}
    for seed in range(repeats):
        for name, estimator in estimators(seed, epochs, batch_size, learning_rate).items():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                start = time.perf_counter()
                estimator.fit(x_train, y_train)
                seconds = time.perf_counter() - start
            accuracy = float(np.mean(estimator.predict(x_test) == y_test))
            results.setdefault(name, {"accuracy": [], "seconds": []})
            results[name]["accuracy"].append(accuracy)
            results[name]["seconds"].append(seconds)
    return {
        "train": len(y_train),
        "test": len(y_test),
        "epochs": epochs,
        "batch_size": batch_size,
        "results": results,
    }


def print_report(report):
    results = report["results"]
    print(
        f"backend: {keras.backend.backend()}; digits: {report['train']} train, "
        f"{report['test']} test; 64-64-32-10, Adam, batch {report['batch_size']}, "
        f"{report['epochs']} epochs; {len(results['MLPClassifier']['seconds'])} seeds"
    )
    print(f"{'estimator':<16} {'accuracy':>9} {'fit seconds':>12}")
    summary = {}
    for name, values in results.items():
        summary[name] = (statistics.mean(values["accuracy"]), statistics.median(values["seconds"]))
        print(f"{name:<16} {summary[name][0]:>9.4f} {summary[name][1]:>12.2f}")
    keras_row, sklearn_row = summary["KerasClassifier"], summary["MLPClassifier"]
    print(
        f"{'ratio Keras/sklearn':<16} {keras_row[0] / sklearn_row[0]:>9.3f} "
        f"{keras_row[1] / sklearn_row[1]:>12.2f}"
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="seeds per estimator")
    args = parser.parse_args(argv)
    print_report(run(args.repeats))


if __name__ == "__main__":
    main()
