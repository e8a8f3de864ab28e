"""The fast compile defaults: XLA where possible and several steps per call."""

import keras
import numpy as np
import pytest

import recipes
from callbacks import LRFinder
from recipes.compiling import DEFAULT_STEPS_PER_EXECUTION, single_steps

pytestmark = [pytest.mark.backends, pytest.mark.smoke]

SEVERAL_STEPS = pytest.mark.skipif(
    keras.backend.backend() == "torch",
    reason="Keras' PyTorch trainer runs one step per call (steps_per_execution=1)",
)


def _digits_like(n=130, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 8)).astype("float32"), rng.integers(0, 3, n)


def test_builders_compile_with_xla_auto_and_several_steps_per_call():
    model = recipes.build_mlp(input_shape=(8,), num_classes=3, hidden_units=(16,))
    expected = 1 if keras.backend.backend() == "torch" else DEFAULT_STEPS_PER_EXECUTION
    assert model.steps_per_execution == recipes.steps_per_execution() == expected
    # Keras' "auto": XLA on TF with a GPU, always on JAX, never on torch or TF's CPU.
    assert model.jit_compile == model._resolve_auto_jit_compile()


@SEVERAL_STEPS
def test_several_steps_per_call_still_runs_every_batch_of_a_partial_epoch():
    x, y = _digits_like()  # 130 examples, batch 16: 9 batches per epoch, 32 per call
    model = recipes.build_mlp(
        input_shape=(8,), num_classes=3, hidden_units=(16,), optimizer="adam"
    )
    history = model.fit(x, y, batch_size=16, epochs=3, verbose=0)
    assert int(model.optimizer.iterations) == 27
    assert history.history["loss"][-1] < history.history["loss"][0]


def test_a_block_of_single_steps_gives_the_default_back(monkeypatch):
    from recipes.compiling import steps_per_execution_set_to

    monkeypatch.setenv("RECIPES_STEPS_PER_EXECUTION", "8")
    with steps_per_execution_set_to(1):
        assert recipes.build_mlp(input_shape=(8,), num_classes=3).steps_per_execution == 1
    monkeypatch.setenv("RECIPES_STEPS_PER_EXECUTION", "4")  # still read after the block
    assert recipes.steps_per_execution() == 4


def test_set_steps_per_execution_applies_to_models_built_afterwards(monkeypatch):
    previous = recipes.set_steps_per_execution(1)
    try:
        assert recipes.build_mlp(input_shape=(8,), num_classes=3).steps_per_execution == 1
        explicit = recipes.build_mlp(input_shape=(8,), num_classes=3, compile=False)
        recipes.compile_recipe(explicit, loss="mse", steps_per_execution=4)
        assert explicit.steps_per_execution == 4
    finally:
        recipes.set_steps_per_execution(None)
    assert previous == (1 if keras.backend.backend() == "torch" else DEFAULT_STEPS_PER_EXECUTION)
    with pytest.raises(ValueError, match="`steps` must be an integer >= 1"):
        recipes.set_steps_per_execution(0)
    monkeypatch.setenv("RECIPES_STEPS_PER_EXECUTION", "8")
    assert recipes.steps_per_execution() == 8
    monkeypatch.setenv("RECIPES_STEPS_PER_EXECUTION", "many")
    with pytest.raises(ValueError, match="RECIPES_STEPS_PER_EXECUTION must be a positive"):
        recipes.steps_per_execution()


@SEVERAL_STEPS
def test_single_steps_gives_per_batch_callbacks_every_step_then_restores():
    x, y = _digits_like(64)
    model = recipes.build_mlp(input_shape=(8,), num_classes=3, hidden_units=(16,))
    seen = []
    counter = keras.callbacks.LambdaCallback(on_train_batch_end=lambda b, logs: seen.append(b))
    model.fit(x, y, batch_size=8, epochs=1, verbose=0, callbacks=[counter])
    assert len(seen) == 1  # 8 batches in one call
    seen.clear()
    with single_steps(model):
        model.fit(x, y, batch_size=8, epochs=1, verbose=0, callbacks=[counter])
    assert seen == list(range(8))
    assert model.steps_per_execution == DEFAULT_STEPS_PER_EXECUTION


@SEVERAL_STEPS
def test_lr_finder_find_works_on_a_default_recipe_and_the_callback_explains_why_not():
    x, y = _digits_like(256)
    model = recipes.build_mlp(input_shape=(8,), num_classes=3, hidden_units=(16,), optimizer="sgd")
    finder = LRFinder.find(model, x, y, batch_size=16, num_steps=20)
    assert len(finder.losses) == 20
    assert model.steps_per_execution == DEFAULT_STEPS_PER_EXECUTION
    with pytest.raises(ValueError, match="LRFinder.find"):
        model.fit(x, y, batch_size=16, epochs=1, verbose=0, callbacks=[LRFinder(num_steps=10)])


def test_multi_output_models_keep_metrics_per_output():
    model = recipes.build_multitask(
        input_shape=(8,),
        heads={
            "a": {"units": 3, "activation": "softmax"},
            "b": {"units": 1, "activation": "linear"},
        },
    )
    x, _ = _digits_like(32)
    logs = model.fit(
        x, {"a": np.zeros(32, "int32"), "b": np.zeros((32, 1))}, epochs=1, verbose=0
    ).history
    assert "a_accuracy" in logs


@pytest.mark.skipif(
    keras.backend.backend() != "jax",
    reason="counts the instructions of JAX's compiled training step",
)
@pytest.mark.parametrize(
    ("name", "precision"),
    [
        ("mnist_mlp", "float32"),
        ("mnist_vae", "float32"),
        ("mnist_vae", "mixed_bfloat16"),
        ("moons_realnvp", "mixed_bfloat16"),
    ],
)
def test_the_compiled_step_does_no_more_work_than_plain_keras(name, precision):
    from benchmarks.compiled_ops import compare

    counts = compare(name, batch_size=8, precision=precision)
    for kind in ("instructions", "fusions"):
        assert counts["recipe"][kind] <= counts["reference"][kind], counts


def _all_layers(layer):
    for child in getattr(layer, "layers", []):
        yield child
        yield from _all_layers(child)


MIXED_PRECISION_CASES = {
    "autoencoder_tied": (
        lambda: recipes.build_autoencoder(
            input_shape=(6,), encoder_units=(4, 2), tied_weights=True, compile=False
        ),
        np.zeros((2, 6), "float32"),
    ),
    "conv_autoencoder": (
        lambda: recipes.build_conv_autoencoder(input_shape=(8, 8, 1), filters=(4,), compile=False),
        np.zeros((2, 8, 8, 1), "float32"),
    ),
    "dann": (lambda: recipes.build_dann(compile=False), np.zeros((2, 8, 8, 1), "float32")),
    "multitask": (
        lambda: recipes.build_multitask(compile=False),
        np.zeros((2, 8, 8, 1), "float32"),
    ),
    "word2vec": (
        lambda: recipes.build_word2vec(vocab_size=20, embedding_dim=4, compile=False),
        {"words": np.ones((2,), "int32"), "candidates": np.ones((2, 5), "int32")},
    ),
    "prototypical": (
        lambda: recipes.build_prototypical(
            input_shape=(4, 4, 1), embedding_units=(4,), compile=False
        ),
        {
            "support": np.ones((1, 2, 2, 4, 4, 1), "float32"),
            "query": np.ones((1, 3, 4, 4, 1), "float32"),
        },
    ),
}


@pytest.mark.parametrize("case", sorted(MIXED_PRECISION_CASES))
def test_mixed_precision_models_compute_in_bfloat16_and_output_float32(case):
    # What the losses score stays float32, as the Keras mixed-precision guide advises
    # (the presets' functional outputs are checked in test_registry.py; the GANs, the
    # VAE and RealNVP in their own tests).
    build, inputs = MIXED_PRECISION_CASES[case]
    with recipes.precision("mixed_bfloat16"):
        model = build()
    assert "bfloat16" in {layer.compute_dtype for layer in _all_layers(model)}
    outputs = keras.tree.flatten(model(inputs))
    assert {keras.backend.standardize_dtype(output.dtype) for output in outputs} == {"float32"}
