import keras
import numpy as np
import pytest
from keras import ops
from sklearn.metrics import roc_auc_score

import recipes
from recipes import data
from recipes.layers import DenseTranspose
from recipes.models.autoencoder import (
    anomaly_threshold,
    detect_anomalies,
    pretrain_layerwise,
    reconstruction_error,
)

pytestmark = pytest.mark.backends


def _numpy(x):
    return np.asarray(ops.convert_to_numpy(x))


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def test_tied_decoder_owns_biases_only_and_uses_the_transposed_encoder_kernels():
    tied = recipes.build_autoencoder(input_shape=(64,), encoder_units=(32, 8), tied_weights=True)
    untied = recipes.build_autoencoder(input_shape=(64,), encoder_units=(32, 8))
    encoder_params = 64 * 32 + 32 + 32 * 8 + 8
    assert tied.encoder.count_params() == untied.encoder.count_params() == encoder_params
    assert tied.count_params() == encoder_params + 32 + 64  # decoder: two biases
    assert untied.count_params() == encoder_params + 8 * 32 + 32 + 32 * 64 + 64
    assert [tuple(w.shape) for w in tied.decoder.weights] == [(32,), (64,)]

    codes = np.random.default_rng(0).normal(size=(4, 8)).astype("float32")
    w1 = _numpy(tied.encoder.get_layer("encoder_dense_1").kernel)
    w2 = _numpy(tied.encoder.get_layer("codings").kernel)
    b1, b2 = (_numpy(w) for w in tied.decoder.weights)
    hidden = np.maximum(codes @ w2.T + b1, 0.0)
    np.testing.assert_allclose(
        tied.decoder.predict(codes, verbose=0), _sigmoid(hidden @ w1.T + b2), atol=1e-5
    )


def test_tied_autoencoder_trains_and_is_tied_again_after_loading(recipe_check):
    x, _ = data.arrays("digits", "train")
    model = recipes.build_autoencoder(
        input_shape=(8, 8, 1), encoder_units=(32, 8), tied_weights=True, learning_rate=1e-2
    )
    loaded = recipe_check(model, x[:128], x[:128], steps=20)
    assert loaded.count_params() == model.count_params()
    for layer in loaded.decoder.layers:
        if isinstance(layer, DenseTranspose):
            assert layer.tied_kernel is loaded.encoder.get_layer(layer.tied_to).kernel
    assert loaded.predict(x[:4], verbose=0).shape == (4, 8, 8, 1)


@pytest.mark.parametrize("noise, level", [("gaussian", 0.3), ("dropout", 0.5)])
def test_denoising_noise_is_added_in_training_only(noise, level):
    model = recipes.build_autoencoder(
        input_shape=(64,), encoder_units=(16,), noise=noise, noise_level=level, seed=3
    )
    x = np.random.default_rng(0).uniform(size=(256, 64)).astype("float32")
    clean = _numpy(model.decoder(model.encoder(x)))
    np.testing.assert_allclose(_numpy(model(x, training=False)), clean, atol=1e-6)
    assert np.abs(_numpy(model(x, training=True)) - clean).max() > 1e-2

    np.testing.assert_array_equal(_numpy(model.corruption(x, training=False)), x)
    corrupted = _numpy(model.corruption(x, training=True))
    if noise == "gaussian":
        assert np.std(corrupted - x) == pytest.approx(level, rel=0.05)
    else:
        assert np.mean(corrupted == 0) == pytest.approx(level, abs=0.03)


def test_sparse_autoencoder_penalises_the_codings_and_makes_them_sparser():
    x, _ = data.arrays("digits", "train")
    x = x[:256]
    plain = recipes.build_autoencoder(
        input_shape=(8, 8, 1), encoder_units=(32,), learning_rate=1e-2
    )
    sparse = recipes.build_autoencoder(
        input_shape=(8, 8, 1), encoder_units=(32,), sparsity=0.05, learning_rate=1e-2
    )
    sparse(x[:32])
    codes = _numpy(sparse.encoder(x[:32]))
    assert len(sparse.losses) == 1 and not plain.losses
    expected = 0.05 * np.abs(codes).sum() / len(codes)  # L1, averaged over the batch
    assert float(_numpy(sparse.losses[0])) == pytest.approx(expected, rel=1e-4)

    for model in (plain, sparse):
        model.fit(x, x, epochs=15, batch_size=256, verbose=0)
    plain_codes = plain.encoder.predict(x, verbose=0)
    sparse_codes = sparse.encoder.predict(x, verbose=0)
    assert np.abs(sparse_codes).mean() < 0.5 * np.abs(plain_codes).mean()
    assert np.mean(sparse_codes == 0) > np.mean(plain_codes == 0)


def _inject_anomalies(images, rng):
    """Digits with a bright 3x3 block and salt noise: what the model never saw."""
    images = images.copy()
    for image in images:
        row, col = rng.integers(0, 6, size=2)
        image[row : row + 3, col : col + 3] = 1.0
        image[rng.uniform(size=image.shape) < 0.1] = 1.0
    return images


def test_conv_autoencoder_scores_injected_anomalies_above_normal_digits(roundtrip):
    x_train, _ = data.arrays("digits", "train")
    x_validation, _ = data.arrays("digits", "validation")
    x_test, _ = data.arrays("digits", "test")
    model = recipes.build_conv_autoencoder(
        input_shape=(8, 8, 1), filters=(16, 32), latent_dim=16, learning_rate=5e-3
    )
    model.fit(x_train, x_train, epochs=6, batch_size=128, verbose=0)

    normal = x_test[:150]
    anomalies = _inject_anomalies(x_test[150:300], np.random.default_rng(0))
    scores = reconstruction_error(model, np.concatenate([normal, anomalies]))
    labels = np.r_[np.zeros(len(normal)), np.ones(len(anomalies))]
    assert roc_auc_score(labels, scores) > 0.95

    threshold = anomaly_threshold(model, x_validation, quantile=0.95)
    assert detect_anomalies(model, normal, threshold).mean() < 0.15
    assert detect_anomalies(model, anomalies, threshold).mean() > 0.8

    reconstructions = model.predict(normal[:8], verbose=0)
    np.testing.assert_allclose(
        reconstruction_error(model, normal[:8]),
        np.square(reconstructions - normal[:8]).mean(axis=(1, 2, 3)),
        rtol=1e-5,
    )
    roundtrip(model, normal[:16])


class _KernelSnapshots(keras.callbacks.Callback):
    """Records the first encoder kernel and the outer decoder bias around each
    pre-training stage."""

    def __init__(self):
        super().__init__()
        self.stages = []

    def _state(self):
        return (
            _numpy(self.model.get_layer("encoder_dense_1").kernel),
            _numpy(self.model.get_layer("decoder_dense_1").bias),
        )

    def on_train_begin(self, logs=None):
        self.stages.append([self._state()])

    def on_train_end(self, logs=None):
        self.stages[-1].append(self._state())


def test_pretrain_layerwise_freezes_earlier_layers_then_a_classifier_fine_tunes():
    x, y = data.arrays("digits", "train")
    x_validation, y_validation = data.arrays("digits", "validation")
    snapshots = _KernelSnapshots()
    encoder = pretrain_layerwise(
        x[:512], units=(32, 16), activation="relu", epochs=5, batch_size=64, callbacks=[snapshots]
    )
    (w1_start, bias_start), (w1_end, bias_end) = snapshots.stages[0]
    assert np.abs(w1_end - w1_start).max() > 1e-3  # stage 1 trains W1 (and W1^T)
    (w1_start, bias_start), (w1_end, bias_end) = snapshots.stages[1]
    np.testing.assert_array_equal(w1_end, w1_start)  # stage 2: W1 frozen
    np.testing.assert_array_equal(bias_end, bias_start)

    assert [layer.name for layer in encoder.layers][-2:] == ["encoder_dense_1", "encoder_dense_2"]
    assert all(layer.trainable for layer in encoder.layers)
    np.testing.assert_array_equal(_numpy(encoder.get_layer("encoder_dense_1").kernel), w1_end)
    classifier = keras.Sequential([encoder, keras.layers.Dense(10, activation="softmax")])
    classifier.compile(
        optimizer=keras.optimizers.Adam(1e-2),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    classifier.fit(x[:512], y[:512], epochs=15, batch_size=64, verbose=0)
    assert not np.array_equal(_numpy(encoder.get_layer("encoder_dense_1").kernel), w1_end)
    accuracy = classifier.evaluate(x_validation, y_validation, verbose=0)[1]
    assert accuracy > 0.85


def test_dense_transpose_layer_config_and_ties():
    dense = keras.layers.Dense(4, name="enc")
    codes = dense(np.ones((2, 6), "float32"))
    layer = DenseTranspose(tied_to=dense, activation="tanh", name="dec")
    np.testing.assert_allclose(
        _numpy(layer(codes)),
        np.tanh(_numpy(codes) @ _numpy(dense.kernel).T + _numpy(layer.bias)),
        atol=1e-6,
    )
    config = layer.get_config()
    assert config["tied_to"] == "enc" and config["units"] == 6
    restored = DenseTranspose.from_config(config)
    assert not restored.is_tied
    with pytest.raises(ValueError, match="not tied yet"):
        restored(codes)
    with pytest.raises(ValueError, match="tied to a layer named 'enc'"):
        restored.tie(keras.layers.Dense(4, name="other"))
    with pytest.raises(ValueError, match="units=5"):
        DenseTranspose(units=5, tied_to=dense)
    with pytest.raises(ValueError, match="`tied_to` must be a Dense layer"):
        DenseTranspose(units=3)
    restored.tie(dense)
    assert _numpy(restored(codes)).shape == (2, 6)


@pytest.mark.parametrize(
    "builder, arguments, message",
    [
        ("build_autoencoder", {"noise": "salt"}, "`noise` must be one of"),
        (
            "build_autoencoder",
            {"noise": "dropout", "noise_level": 1.5},
            r"`noise_level` \(the dropout rate\) must be in \(0, 1\)",
        ),
        ("build_autoencoder", {"noise": "gaussian", "noise_level": 0.0}, "must be > 0"),
        ("build_autoencoder", {"sparsity": -1.0}, "`sparsity` must be a number >= 0"),
        ("build_autoencoder", {"encoder_units": ()}, "`encoder_units` must hold at least one"),
        ("build_autoencoder", {"encoder_units": (8, 0)}, r"`encoder_units\[1\]` must be"),
        ("build_autoencoder", {"output_activation": "softmax"}, "`output_activation` must be"),
        ("build_conv_autoencoder", {"input_shape": (10, 10, 1)}, "divisible by 2\\*\\*len"),
        ("build_conv_autoencoder", {"input_shape": (8, 8)}, "must have 3 dimension"),
        ("build_conv_autoencoder", {"latent_dim": 0}, "`latent_dim` must be an integer"),
    ],
)
def test_bad_arguments_raise_clear_errors(builder, arguments, message):
    with pytest.raises(ValueError, match=message):
        getattr(recipes, builder)(**arguments)


def test_anomaly_helpers_check_their_arguments():
    model = recipes.build_autoencoder(input_shape=(4,), encoder_units=(2,))
    x = np.zeros((3, 4), "float32")
    with pytest.raises(ValueError, match=r"`quantile` must be in \(0, 1\)"):
        anomaly_threshold(model, x, quantile=1.5)
    classifier = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    with pytest.raises(ValueError, match="must reconstruct its input"):
        reconstruction_error(classifier, x)
    with pytest.raises(ValueError, match="`units` must hold at least one"):
        pretrain_layerwise(x, units=())
