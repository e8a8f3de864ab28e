"""What `make test` (TensorFlow) checks on the JAX backend too, in one subprocess
where TensorFlow cannot be imported (the GPU machines have none): one interpreter
start (some 5 s of imports) instead of one per check. `make test-jax`
reruns every test marked `backends` on JAX; CI runs these and the `smoke` tests.

Each check is a script run in its own namespace; all of them run, and a failure
names its check."""

import importlib.util
import os
import subprocess
import sys
import textwrap

import pytest

CHECKS = {
    # the mnist_mlp recipe: parameters, training, safe-mode save and load
    "mnist_mlp": """
        import numpy as np, keras, recipes, tempfile, os
        model = recipes.build("mnist_mlp", optimizer="adam", learning_rate=1e-2)
        assert model.count_params() == 52650
        x = np.random.default_rng(0).uniform(size=(64, 28, 28, 1)).astype("float32")
        y = np.arange(64) % 10
        from recipes.testing import check_recipe
        check_recipe(model, x, y, tempfile.mkdtemp())
    """,
    # AutoClip, GradientNormMonitor, OneCycle with ScheduledMomentum, LRFinder
    "clipping": """
        import keras, numpy as np
        from callbacks import AutoClip, GradientNormMonitor, LRFinder
        from callbacks import OneCycle, ScheduledMomentum
        rng = np.random.default_rng(0)
        x = rng.normal(size=(256, 4)).astype("float32")
        y = x @ np.array([[1.0], [-2.0], [0.5], [1.5]], "float32")
        spiky = x.copy(); spiky[[40, 170]] *= 300.0

        def mlp(optimizer):
            keras.utils.set_random_seed(0)
            model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(16, activation="relu"),
                                      keras.layers.Dense(1)])
            model.compile(optimizer, "mse")
            return model

        model = mlp(AutoClip(keras.optimizers.SGD(0.05), percentile=10))
        before = model.evaluate(x, y, verbose=0)
        history = model.fit(spiky, y, batch_size=16, epochs=3, shuffle=False, verbose=0,
                            callbacks=[GradientNormMonitor()]).history
        after = model.evaluate(x, y, verbose=0)
        assert np.isfinite(after) and after < 0.1 * before, (before, after)
        assert len(history["grad_norm"]) == 3 and int(model.optimizer.norm_count.numpy()) == 48

        lr = OneCycle(0.05, total_steps=48)
        model = mlp(ScheduledMomentum(keras.optimizers.SGD(lr, momentum=0.95), lr))
        model.fit(x, y, batch_size=16, epochs=3, verbose=0)
        assert model.evaluate(x, y, verbose=0) < 0.5 * before

        model = mlp(keras.optimizers.SGD(0.01))
        weights = model.get_weights()
        finder = LRFinder.find(model, x, y, batch_size=32, start_learning_rate=1e-4,
                               end_learning_rate=10.0, num_steps=60)
        assert 1e-3 < finder.suggestion < 1.0, finder.suggestion
        assert all(np.array_equal(a, b) for a, b in zip(weights, model.get_weights()))
        assert int(model.optimizer.iterations.numpy()) == 0
    """,
    # FGSM against jax.grad, and adversarial training
    "adversarial": """
        import jax, keras, numpy as np, recipes
        from recipes.adversarial import build_adversarial_trainer, fgsm
        keras.utils.set_random_seed(0)
        model = recipes.build_mlp(input_shape=(4,), num_classes=3, hidden_units=(8,))
        x = np.random.default_rng(0).uniform(0.2, 0.8, size=(10, 4)).astype("float32")
        y = np.arange(10) % 3
        loss = keras.losses.SparseCategoricalCrossentropy(reduction="sum")
        gradient = jax.grad(lambda t: loss(y, model(t)))(x)
        np.testing.assert_allclose(fgsm(model, x, y, 0.05), x + 0.05 * np.sign(gradient),
                                   atol=1e-6)
        trainer = build_adversarial_trainer(model, epsilon=0.05)
        before = model.get_weights()[0].copy()
        history = trainer.fit(x, y, epochs=2, batch_size=5, verbose=0)
        assert np.isfinite(history.history["loss"]).all()
        assert not np.allclose(model.get_weights()[0], before)
    """,
    # the moons VAE, RealNVP and GAN: training and safe-mode round trips
    "generative_moons": """
        import tempfile
        import keras, numpy as np, recipes
        from recipes import data
        from recipes.testing import assert_loss_decreases, assert_save_load_roundtrip
        keras.utils.set_random_seed(0)
        folder = tempfile.mkdtemp()
        x, _ = data.arrays("moons", "train")
        x = (x - x.mean(0)) / x.std(0)

        vae = recipes.build("moons_vae", seed=0, learning_rate=1e-2)
        assert_loss_decreases(vae, x, None, steps=30, factor=0.95)
        loaded = assert_save_load_roundtrip(vae, x, folder)
        np.testing.assert_allclose(loaded.sample(5, seed=0), vae.sample(5, seed=0), atol=1e-5)

        flow = recipes.build_realnvp(num_couplings=2, hidden_units=16, learning_rate=1e-2)
        assert_loss_decreases(flow, x, None, steps=30, factor=0.95)
        assert_save_load_roundtrip(flow, x, folder, atol=1e-4)

        gan = recipes.build("moons_gan", generator_units=(16,), discriminator_units=(16,), seed=0)
        history = gan.fit(x, epochs=2, batch_size=350, verbose=0).history
        assert np.isfinite(history["d_loss"]).all()
        assert history["g_loss"][0] != history["g_loss"][1]
        assert_save_load_roundtrip(gan, x, folder)
    """,
    # GradientReversal against jax.grad (eager and jitted), DANN with its lambda schedule
    "dann": """
        import jax, keras, numpy as np, recipes
        from recipes.layers import GradientReversal
        from recipes.models.dann import LambdaScheduler, make_dann_data
        rng = np.random.default_rng(0)
        x = rng.normal(size=(3, 5)).astype("float32")
        w = rng.normal(size=(3, 5)).astype("float32")
        layer = GradientReversal(lambda_=0.7)
        np.testing.assert_array_equal(np.asarray(layer(x)), x)
        grad = jax.grad(lambda t: (layer(t) * w).sum())
        np.testing.assert_allclose(np.asarray(grad(x)), -0.7 * w, rtol=1e-6)
        layer.set_lambda(-1.5)
        np.testing.assert_allclose(np.asarray(jax.jit(grad)(x)), 1.5 * w, rtol=1e-6)
        model = recipes.build_dann(input_shape=(8, 8, 1), num_classes=3, features=(8,),
                                   lambda_=0.0)
        data, y = make_dann_data(rng.uniform(size=(16, 8, 8, 1)), np.arange(16) % 3,
                                 rng.uniform(size=(16, 8, 8, 1)))
        scheduler = LambdaScheduler()
        history = model.fit(data, y, epochs=2, batch_size=16, verbose=0, callbacks=[scheduler])
        assert np.isfinite(history.history["loss"]).all()
        lambda_now = model.get_layer("gradient_reversal").get_lambda()
        assert abs(lambda_now - scheduler.history[-1]) < 1e-6
    """,
    # cifar10_fast's trainer on an image-folder tree of JPEGs
    "fast_cifar": """
        import pathlib, tempfile
        import numpy as np
        from PIL import Image
        from recipes.trainers.airbench import train_fast_cifar
        root = pathlib.Path(tempfile.mkdtemp())
        rng = np.random.default_rng(0)
        for split, count in (("train", 6), ("test", 3)):
            for label, name in enumerate(("blue", "red")):
                (root / split / name).mkdir(parents=True)
                for i in range(count):
                    pixels = rng.integers(0, 120, (12, 12, 3))
                    pixels[..., 2 - 2 * label] += 135
                    Image.fromarray(pixels.astype("uint8")).save(root / split / name / f"{i}.jpg")
        result = train_fast_cifar(data_dir=str(root), epochs=1, batch_size=4, verbose=0,
                                  widths=(8, 8, 8))
        assert 0 <= result.test_metrics["tta_accuracy"] <= 1
    """,
}

RUNNER = textwrap.dedent(
    """
    import sys, traceback

    class NoTensorFlow:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("tensorflow", "tensorflow_datasets"):
                raise ImportError(f"{name} is blocked in this test")

    sys.meta_path.insert(0, NoTensorFlow())
    import keras
    assert keras.backend.backend() == "jax", keras.backend.backend()
    for name, script in CHECKS.items():
        try:
            exec(script, {"__name__": name})
            assert "tensorflow" not in sys.modules, "imported tensorflow"
            print(name, "ok", flush=True)
        except BaseException:
            print(name, "FAILED", flush=True)
            traceback.print_exc()
    """
)


@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="JAX not installed")
def test_checks_on_the_jax_backend():
    checks = {name: textwrap.dedent(script) for name, script in CHECKS.items()}
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu"}
    result = subprocess.run(
        [sys.executable, "-c", f"CHECKS = {checks!r}\n{RUNNER}"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    passed = [name for name in CHECKS if f"{name} ok" in result.stdout.splitlines()]
    assert result.returncode == 0 and passed == list(CHECKS), (
        f"passed: {passed}\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}"
    )
