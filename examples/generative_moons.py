"""Three generative models on the 2-D moons: a VAE, a GAN and a RealNVP flow.

Each trains briefly on the offline ``moons`` set. The script saves their samples
next to the data in one picture, ``<output-dir>/moons_samples.png``, and compares
held-out negative log-likelihoods (nats per point): the flow, whose density is
exact, against a single Gaussian fitted to the same data and against
scikit-learn's ``KernelDensity`` (bandwidth chosen by 5-fold cross-validation).
The numbers also go to ``<output-dir>/metrics.json``.

Run (about a minute on the JAX backend, a few on TensorFlow with 2 CPU cores):

    .venv/bin/python examples/generative_moons.py
    KERAS_BACKEND=jax .venv/bin/python examples/generative_moons.py --epochs-scale 2
"""

import argparse
import json
import os
import time

import keras
import numpy as np
from sklearn.model_selection import GridSearchCV
from sklearn.neighbors import KernelDensity

import recipes
from recipes import data
from recipes.plots import plot_samples

NUM_TRAIN = 2000
NUM_TEST = 2000


def gaussian_nll(x_train, x_test):
    """Held-out NLL of one Gaussian fitted (maximum likelihood) to ``x_train``."""
    mean = x_train.mean(axis=0)
    covariance = np.cov(x_train, rowvar=False, bias=True)
    centered = x_test - mean
    mahalanobis = np.einsum("ni,ij,nj->n", centered, np.linalg.inv(covariance), centered)
    _, log_det = np.linalg.slogdet(2 * np.pi * covariance)
    return float(np.mean(0.5 * (mahalanobis + log_det)))


def kde_nll(x_train, x_test):
    """Held-out NLL of a Gaussian kernel density with a cross-validated bandwidth."""
    search = GridSearchCV(KernelDensity(), {"bandwidth": np.logspace(-1.5, 0, 16)}, cv=5)
    search.fit(x_train)
    return float(-search.best_estimator_.score_samples(x_test).mean()), float(
        search.best_params_["bandwidth"]
    )


def train(name, model, x, epochs, batch_size):
    start = time.perf_counter()
    history = model.fit(x, epochs=epochs, batch_size=batch_size, verbose=0)
    seconds = time.perf_counter() - start
    last = {key: round(values[-1], 4) for key, values in history.history.items()}
    print(f"{name}: {epochs} epochs in {seconds:.0f} s, last epoch {last}")
    return seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--output-dir", default="runs/generative")
    parser.add_argument(
        "--epochs-scale",
        type=float,
        default=1.0,
        help="multiply every model's epochs (0.2 for a smoke run)",
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    os.makedirs(args.output_dir, exist_ok=True)
    keras.utils.set_random_seed(args.seed)

    def epochs(count):
        return max(1, round(count * args.epochs_scale))

    # Data: standardised with the training statistics (the models see unit scale).
    x_train, _ = data.arrays("moons", "train", num_examples=NUM_TRAIN)
    x_test, _ = data.arrays("moons", "test", num_examples=NUM_TEST)
    mean, std = x_train.mean(axis=0), x_train.std(axis=0)
    z_train, z_test = (x_train - mean) / std, (x_test - mean) / std
    log_jacobian = float(np.sum(np.log(std)))  # NLL in data units = standardised + this

    # Models.
    vae = recipes.build("moons_vae", seed=args.seed)
    gan = recipes.build("moons_gan", seed=args.seed)
    flow_epochs = epochs(60)
    flow_steps = flow_epochs * int(np.ceil(NUM_TRAIN / 128))
    flow = recipes.build(
        "moons_realnvp",
        learning_rate=keras.optimizers.schedules.CosineDecay(3e-3, flow_steps),
    )
    seconds = {
        "vae": train("VAE", vae, z_train, epochs(60), 64),
        "gan": train("GAN", gan, z_train, epochs(200), 64),
        "flow": train("RealNVP", flow, z_train, flow_epochs, 128),
    }

    # Held-out negative log-likelihoods, in the data's own units.
    flow_nll = float(-flow.predict(z_test, batch_size=1024, verbose=0).mean()) + log_jacobian
    gauss_nll = gaussian_nll(x_train, x_test)
    kde, bandwidth = kde_nll(z_train, z_test)
    kde += log_jacobian
    print(
        f"held-out NLL (nats per point): RealNVP {flow_nll:.3f}, single Gaussian "
        f"{gauss_nll:.3f}, KernelDensity {kde:.3f} (bandwidth {bandwidth:.3f} in "
        "standardised units)"
    )

    # Samples, back in data units.
    samples = {
        "data (held out)": x_test[:1000],
        "VAE": vae.sample(1000, seed=args.seed) * std + mean,
        "GAN": gan.sample(1000, seed=args.seed) * std + mean,
        "RealNVP": flow.sample(1000, seed=args.seed) * std + mean,
    }
    path = plot_samples(
        samples,
        os.path.join(args.output_dir, "moons_samples.png"),
        title=f"1000 samples each; grey: training data (backend {keras.backend.backend()})",
        reference=x_train,
    )
    metrics = {
        "backend": keras.backend.backend(),
        "num_train": NUM_TRAIN,
        "num_test": NUM_TEST,
        "heldout_nll_nats": {
            "realnvp": flow_nll,
            "single_gaussian": gauss_nll,
            "kernel_density": kde,
        },
        "kde_bandwidth_standardised": bandwidth,
        "train_seconds": seconds,
    }
    with open(os.path.join(args.output_dir, "metrics.json"), "w") as handle:
        json.dump(metrics, handle, indent=2)
    print(f"samples: {path}")


if __name__ == "__main__":
    main()
