"""airbench94's optimizer pieces: ``Lookahead`` (an EMA of the weights copied back
into the model) and ``FreezeAfter`` (variables that stop moving), checked against
a hand computation, eagerly and inside compiled ``fit``."""

import keras
import numpy as np
import pytest

from callbacks import FreezeAfter, Lookahead
from callbacks.schedules import OneCycle

pytestmark = pytest.mark.backends


def lookahead_by_hand(steps, gradients, rate, total, start, every, sync, decay=0.95, power=3.0):
    """The weights after each SGD step (no momentum) with airbench94's lookahead,
    written as airbench94 writes it (its LookaheadState)."""
    weights, average, history = np.zeros_like(gradients[0]), None, []
    for t in range(1, steps + 1):
        weights = weights - rate * gradients[t - 1]
        if t > start and t % every == 0:
            if average is None:
                average = weights.copy()
            else:
                rho = decay**every * (t / total) ** power
                average = rho * average + (1 - rho) * weights
                weights = average.copy()
        if average is not None and (t % sync == 0 or t == total):
            weights = average.copy()
        history.append(weights)
    return history


def test_lookahead_matches_airbench94_by_hand():
    rng = np.random.default_rng(0)
    gradients = rng.normal(size=(30, 3)).astype("float32")
    expected = lookahead_by_hand(30, gradients, 0.1, total=30, start=7, every=5, sync=12)
    optimizer = Lookahead(
        keras.optimizers.SGD(0.1), total_steps=30, start_step=7, every=5, sync_every=12
    )
    assert optimizer.first_step == 10
    variable = keras.Variable(np.zeros(3, "float32"))
    for t in range(30):
        optimizer.apply([keras.ops.convert_to_tensor(gradients[t])], [variable])
        np.testing.assert_allclose(variable.numpy(), expected[t], rtol=1e-5, atol=1e-6)
    # the lookahead did act: plain SGD ends elsewhere
    assert not np.allclose(expected[-1], -0.1 * gradients.sum(axis=0), atol=1e-3)


def regression(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(16, 4)).astype("float32")
    return x, x @ rng.normal(size=(4, 1)).astype("float32")


def dense_model(optimizer, steps_per_execution=1):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(optimizer, "mse", steps_per_execution=steps_per_execution)
    return model


def test_lookahead_inside_compiled_fit_equals_the_rule_applied_step_by_step(tmp_path):
    x, y = regression()
    total, start, every, sync = 24, 5, 3, 8
    wrapped = Lookahead(
        keras.optimizers.SGD(0.05, momentum=0.85, nesterov=True),
        total_steps=total,
        start_step=start,
        every=every,
        sync_every=sync,
    )
    compiled = dense_model(wrapped, steps_per_execution=4)
    compiled.fit(x, y, batch_size=16, epochs=total, shuffle=False, verbose=0)

    plain = dense_model(keras.optimizers.SGD(0.05, momentum=0.85, nesterov=True))
    average = None
    for t in range(1, total + 1):
        plain.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0)
        weights = plain.get_weights()
        if t > start and t % every == 0:
            if average is None:
                average = weights
            else:
                rho = 0.95**every * (t / total) ** 3.0
                average = [rho * a + (1 - rho) * w for a, w in zip(average, weights)]
                plain.set_weights(average)
        if average is not None and (t % sync == 0 or t == total):
            plain.set_weights(average)
    for got, expected in zip(compiled.get_weights(), plain.get_weights()):
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)

    compiled.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras", safe_mode=True)
    assert isinstance(loaded.optimizer, Lookahead)
    assert loaded.optimizer.get_config() == compiled.optimizer.get_config()


def test_freeze_after_stops_the_named_variables_exactly_and_trains_the_others():
    x, y = regression(1)
    optimizer = FreezeAfter(
        keras.optimizers.SGD(0.05, momentum=0.85, nesterov=True, weight_decay=0.1),
        ("bias",),
        step=3,
    )
    model = dense_model(optimizer, steps_per_execution=2)
    reference = dense_model(
        keras.optimizers.SGD(0.05, momentum=0.85, nesterov=True, weight_decay=0.1)
    )
    biases, kernels = [], []
    for _ in range(6):
        model.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0)
        reference.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0)
        kernels.append(model.get_weights()[0])
        biases.append(model.get_weights()[1])
        if len(biases) <= 3:  # trains as without the wrapper for the first 3 steps
            for got, expected in zip(model.get_weights(), reference.get_weights()):
                np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    assert not np.allclose(biases[0], biases[2])
    for later in biases[3:]:
        np.testing.assert_array_equal(later, biases[2])  # momentum and decay stopped too
    assert not np.allclose(kernels[3], kernels[5])


def test_bad_arguments_are_refused():
    sgd = keras.optimizers.SGD(0.1)
    with pytest.raises(ValueError, match="`total_steps` must be an integer >= 1"):
        Lookahead(sgd, total_steps=0)
    with pytest.raises(ValueError, match="`decay` must be in"):
        Lookahead(sgd, total_steps=10, decay=1.5)
    with pytest.raises(ValueError, match="`sync_every` must be None"):
        Lookahead(sgd, total_steps=10, sync_every=0)
    with pytest.raises(ValueError, match="`step` must be an integer >= 0"):
        FreezeAfter(sgd, ("bias",), step=-1)
    with pytest.raises(ValueError, match="`names` must be non-empty strings"):
        FreezeAfter(sgd, ("",), step=1)
    with pytest.raises(ValueError, match="No variable's path contains"):
        FreezeAfter(sgd, ("whiten_bias",), step=1).build([keras.Variable(np.zeros(2))])


def test_linear_one_cycle_is_airbench94_triangle():
    total = 476
    schedule = OneCycle(
        1.0,
        total,
        warmup_fraction=0.23,
        div_factor=5.0,
        final_div_factor=0.2 / 0.07,
        anneal_strategy="linear",
    )
    steps = np.arange(total + 1)
    expected = np.interp(steps, [0, 0.23 * total, total], [0.2, 1.0, 0.07])
    got = keras.ops.convert_to_numpy(schedule(steps))
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    assert OneCycle.from_config(schedule.get_config()).anneal_strategy == "linear"
    with pytest.raises(ValueError, match="`anneal_strategy` must be one of"):
        OneCycle(1.0, 10, anneal_strategy="cosine")


def newton_schulz_by_hand(x, steps=5, a=3.4445, b=-4.7750, c=2.0315):
    """Keras' quintic Newton-Schulz iteration, in NumPy."""
    transposed = x.shape[0] > x.shape[1]
    if transposed:
        x = x.T
    x = x / (np.linalg.norm(x) + 1e-7)
    for _ in range(steps):
        gram = x @ x.T
        x = a * x + (b * gram + c * gram @ gram) @ x
    return x.T if transposed else x


def test_conv_muon_orthogonalises_conv_kernels_as_matrices_by_hand():
    from callbacks import ConvMuon

    rng = np.random.default_rng(0)
    kernel = rng.normal(size=(3, 3, 4, 6)).astype("float32")
    bias = rng.normal(size=(6,)).astype("float32")
    gradients = [rng.normal(size=(3, 3, 4, 6)).astype("float32") for _ in range(2)]
    optimizer = ConvMuon(0.1, momentum=0.9, weight_decay=0.0, adam_weight_decay=0.0)
    variables = [keras.Variable(kernel, name="kernel"), keras.Variable(bias, name="bias")]
    optimizer.build(variables)
    assert optimizer.adam_velocities[0] is None  # the kernel gets Muon...
    assert optimizer.adam_velocities[1] is not None  # ...the bias AdamW

    expected, momentum = kernel.astype("float64"), np.zeros_like(kernel, "float64")
    for gradient in gradients:
        optimizer.apply([keras.ops.convert_to_tensor(gradient), keras.ops.zeros((6,))], variables)
        momentum = 0.9 * momentum + gradient
        direction = (gradient + 0.9 * momentum).reshape(-1, 6)  # Nesterov, as a 36 x 6 matrix
        update = newton_schulz_by_hand(direction) * np.sqrt(36) * 0.2  # Keras' lr_adjust
        expected = expected - 0.1 * update.reshape(kernel.shape)
        np.testing.assert_allclose(variables[0].numpy(), expected, rtol=1e-3, atol=1e-4)
    # the update of a kernel is (nearly) orthogonal as a matrix: singular values near 1
    singular = np.linalg.svd(newton_schulz_by_hand(direction), compute_uv=False)
    assert 0.5 < singular.min() and singular.max() < 1.5

    plain = keras.optimizers.Muon(0.1)
    plain.build([keras.Variable(kernel, name="kernel")])
    assert plain.adam_velocities[0] is not None  # Keras' Muon leaves kernels to AdamW
    excluded = ConvMuon(0.1, exclude_layers=["kernel"])
    excluded.build([keras.Variable(kernel, name="kernel")])
    assert excluded.adam_velocities[0] is not None
