"""What `make test` (TensorFlow) checks on the JAX backend too, in one subprocess:
one interpreter start (some 5 s of imports) instead of one per check. `make test-jax`
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
}

RUNNER = textwrap.dedent(
    """
    import sys, traceback
    import keras
    assert keras.backend.backend() == "jax", keras.backend.backend()
    for name, script in CHECKS.items():
        try:
            exec(script, {"__name__": name})
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
