import json
import os

import keras
import numpy as np
import pytest
from PIL import Image

import recipes
from recipes.__main__ import main
from recipes.data.image_folder import CIFAR10_CLASSES, load_image_data
from recipes.layers import PartialIdentity, ScaledBias
from recipes.losses import SparseSmoothedCrossentropy
from recipes.models.fast_cifar import build_fast_cifar
from recipes.trainers.airbench import fit_whitening, train_fast_cifar, tta_logits

SMALL = dict(input_shape=(16, 16, 3), num_classes=2, widths=(8, 16, 16), seed=0)


def _parameters(weights):
    return sum(int(np.prod(w.shape)) for w in weights)


def _colour_images(n, size=16, seed=0):
    """Class 0 reddish, class 1 bluish, with noise: learnable in a few steps."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    x = rng.uniform(0.0, 0.6, (n, size, size, 3))
    x[y == 0, ..., 0] += 0.4
    x[y == 1, ..., 2] += 0.4
    return x.astype("float32"), y.astype("int32")


def _write_tree(root, classes=("blue", "red"), per_split=(6, 3), size=12):
    """A tiny image-folder tree of JPEGs (12x12, resized to the model's 32x32)."""
    rng = np.random.default_rng(0)
    for split, count in zip(("train", "test"), per_split):
        for label, name in enumerate(classes):
            folder = root / split / name
            folder.mkdir(parents=True)
            for i in range(count):
                pixels = rng.integers(0, 120, (size, size, 3))
                pixels[..., (2 - 2 * label) % 3] += 135  # blue, red, green...
                Image.fromarray(pixels.astype("uint8")).save(folder / f"{i:04d}.jpg")
    return root


def test_default_parameter_count_matches_airbench94():
    model = recipes.build("cifar10_fast", compile=False)
    stem = 2 * 2 * 2 * 3  # 24 filters: 12 eigenvectors of 2x2x3 patches and negatives
    widths = (stem, 64, 256, 256)
    trainable = (
        stem
        + sum(  # whitening bias, then per block: 2 convs and 2 BN biases
            9 * c_in * c_out + 9 * c_out * c_out + 2 * c_out
            for c_in, c_out in zip(widths, widths[1:])
        )
        + 256 * 10
    )  # bias-free head
    frozen = 2 * 2 * 3 * stem + 2 * 2 * sum(widths[1:])  # stem kernel, BN moving stats
    assert _parameters(model.trainable_weights) == trainable == 1_971_352
    assert _parameters(model.non_trainable_weights) == frozen
    assert model.get_layer("whiten_conv").output.shape == (None, 31, 31, 24)
    assert model.output.shape == (None, 10)


def test_whitening_filters_whiten_the_patches():
    rng = np.random.default_rng(0)
    # Strongly correlated images: smooth noise with shared structure across channels.
    base = rng.normal(size=(64, 17, 17, 1))
    smooth = (base[:, 1:, 1:] + base[:, :-1, :-1] + base[:, 1:, :-1]) / 3.0
    images = 0.5 + 0.2 * (smooth + 0.3 * rng.normal(size=(64, 16, 16, 3)))
    images = images.astype("float32")
    model = build_fast_cifar(**SMALL, compile=False)
    eigenvalues = fit_whitening(model, images)
    assert np.all(np.diff(eigenvalues) <= 0) and eigenvalues[-1] > 0

    stem = keras.Model(model.input, model.get_layer("whiten_conv").output)
    outputs = keras.ops.convert_to_numpy(stem(images, training=False)).reshape(-1, 24)
    np.testing.assert_allclose(outputs[:, 12:], -outputs[:, :12], atol=1e-5)
    covariance = outputs[:, :12].T @ outputs[:, :12] / len(outputs)
    expected = np.diag(eigenvalues / (eigenvalues + 5e-4))  # the identity, nearly
    np.testing.assert_allclose(covariance, expected, atol=2e-3)
    normalised = keras.Model(model.input, model.get_layer("normalize").output)
    raw = keras.ops.convert_to_numpy(normalised(images))[:, :15, :15].reshape(-1, 3)
    raw_covariance = raw.T @ raw / len(raw)
    assert np.abs(raw_covariance - np.eye(3)).max() > 0.5  # far from white before


def test_trains_and_round_trips(recipe_check):
    x, y = _colour_images(32)
    model = build_fast_cifar(**SMALL, total_steps=15)
    fit_whitening(model, x)
    loaded = recipe_check(model, x, y, steps=15, factor=0.8)  # smoothing floor: 0.33
    assert isinstance(loaded.get_layer("block1_bias1"), type(model.get_layer("block1_bias1")))
    assert not loaded.get_layer("whiten_conv").trainable


def test_conv_muon_trains_the_convolutions_of_the_network():
    # airbench94_muon's optimizer for the filters: every conv kernel gets Muon.
    from callbacks import ConvMuon
    from recipes.testing import assert_loss_decreases

    x, y = _colour_images(32)
    optimizer = ConvMuon(0.02, exclude_layers=["head"])
    model = build_fast_cifar(**SMALL, optimizer=optimizer)
    fit_whitening(model, x)
    assert_loss_decreases(model, x, y, steps=15, factor=0.8)
    muon = [v.path for v, velocity in zip(model.trainable_variables, optimizer.adam_velocities)]
    kernels = [path for path in muon if "conv" in path and path.endswith("kernel")]
    assert len(kernels) == 6 and all(
        optimizer.adam_velocities[optimizer._get_variable_index(v)] is None
        for v in model.trainable_variables
        if v.path in kernels
    )


def test_moved_classes_keep_their_serialization_names():
    # .keras files saved when they lived in recipes.models.fast_cifar still load.
    for cls in (ScaledBias, PartialIdentity, SparseSmoothedCrossentropy):
        assert keras.saving.get_registered_name(cls) == f"recipes>{cls.__name__}"
        assert keras.saving.get_registered_object(f"recipes>{cls.__name__}") is cls


def test_label_smoothing_loss_matches_the_formula():
    logits = np.array([[2.0, 0.0, -1.0], [0.5, 0.5, 3.0]], "float32")
    labels = np.array([0, 1])
    log_p = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    targets = np.eye(3)[labels] * 0.8 + 0.2 / 3
    expected = -(targets * log_p).sum(-1).mean()
    loss = SparseSmoothedCrossentropy(label_smoothing=0.2)
    assert float(loss(labels, logits)) == pytest.approx(expected, rel=1e-5)


def test_tta_levels_average_mirrors_and_shifts():
    # Flatten + Dense sees where each pixel is, so flips and shifts change its output.
    model = keras.Sequential(
        [keras.Input((4, 4, 1)), keras.layers.Flatten(), keras.layers.Dense(2)]
    )
    x = np.random.default_rng(0).uniform(size=(3, 4, 4, 1)).astype("float32")
    predict = lambda v: model.predict(v, verbose=0)  # noqa: E731
    plain, zero = tta_logits(model, x, level=0)
    np.testing.assert_allclose(zero, predict(x), atol=1e-5)
    plain, mirror = tta_logits(model, x, level=1)
    np.testing.assert_allclose(mirror, (predict(x) + predict(x[:, :, ::-1])) / 2, atol=1e-5)
    _, shifted = tta_logits(model, x, level=2)
    padded = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)), mode="reflect")
    views = [padded[:, :-2, :-2], padded[:, 2:, 2:]]
    expected = 0.5 * mirror + 0.25 * sum((predict(v) + predict(v[:, :, ::-1])) / 2 for v in views)
    np.testing.assert_allclose(shifted, expected, atol=1e-4)
    np.testing.assert_allclose(plain, predict(x), atol=1e-5)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(widths=()), "`widths` must be a non-empty tuple"),
        (dict(widths=(64, 0)), "`widths` must be a non-empty tuple"),
        (dict(input_shape=(8, 8, 3)), "`input_shape` .* too small"),
        (dict(input_shape=(None, 32, 3)), "`input_shape` must be fully known"),
        (dict(translate=20), r"`translate` must be an integer in \[0, 15\)"),
        (dict(translate=1.5), "`translate` must be an integer"),
        (dict(batchnorm_momentum=1.0), r"`batchnorm_momentum` must be a number in \[0, 1\)"),
        (dict(bias_lr_multiplier=0), "`bias_lr_multiplier` must be a number in"),
        (dict(label_smoothing=1.0), r"`label_smoothing` must be a number in \[0, 1\)"),
        (dict(mean=(0.5, 0.5)), "`mean` must be 3 numbers"),
        (dict(std=(0.2, 0.0, 0.2)), "`std` must be > 0"),
        (dict(whitening_kernel_size=0), "`whitening_kernel_size` must be an integer >= 1"),
        (dict(total_steps=0), "`total_steps` must be an integer >= 1"),
        (dict(optimizer="nope"), "`optimizer` must be a Keras optimizer name"),
    ],
)
def test_bad_arguments_name_the_argument(kwargs, match):
    with pytest.raises(ValueError, match=match):
        build_fast_cifar(**kwargs)


def test_fit_whitening_rejects_bad_inputs():
    model = build_fast_cifar(**SMALL, compile=False)
    with pytest.raises(ValueError, match="`images` must be a non-empty batch of shape"):
        fit_whitening(model, np.zeros((4, 32, 32, 3), "float32"))
    with pytest.raises(ValueError, match="no layer named 'stem'"):
        fit_whitening(model, np.zeros((4, 16, 16, 3), "float32"), layer_name="stem")
    with pytest.raises(ValueError, match="`epsilon` must be a number"):
        fit_whitening(model, np.zeros((4, 16, 16, 3), "float32"), epsilon=0)


def test_cli_trains_on_an_image_folder_and_writes_everything(tmp_path, capsys):
    tree = _write_tree(tmp_path / "tree")
    output = tmp_path / "run"
    main(
        [
            "train",
            "cifar10_fast",
            "--data-dir",
            str(tree),
            "--epochs",
            "2",
            "--batch-size",
            "4",
            "--output",
            str(output),
            "--verbose",
            "0",
            "--set",
            "widths=(8, 8, 8)",
        ]
    )
    printed = capsys.readouterr().out
    assert "cifar10_fast: test accuracy=" in printed and "tta_accuracy=" in printed
    assert "compile and warm-up, apart" in printed
    metrics = json.loads((output / "metrics.json").read_text())
    assert metrics["train_examples"] == 12 and metrics["test_examples"] == 6
    assert set(metrics["seconds"]) == {"whitening", "fit", "evaluation"}
    assert metrics["train_seconds"] == pytest.approx(sum(metrics["seconds"].values()))
    assert metrics["precision"] == "float32" and metrics["tta"] == 2
    assert (output / "curves.png").read_bytes().startswith(b"\x89PNG")
    assert len((output / "curves.csv").read_text().splitlines()) == 3  # header + 2 epochs
    model = keras.saving.load_model(output / "model.keras", safe_mode=True)
    assert model.output.shape == (None, 2)  # the folder's two classes


def test_cli_airbench_flags_are_only_for_the_fast_recipe():
    # (--data-dir is for every image-classification preset: tests/test_data_routes.py)
    with pytest.raises(
        SystemExit, match="--data-dir, --tta, --flip and --runs train presets with"
    ):
        main(["train", "digits_mlp", "--tta", "1"])


def test_cifar10_without_tfds_falls_back_to_the_jpeg_copy(tmp_path, monkeypatch, capsys):
    tree = _write_tree(tmp_path / "jpeg", classes=CIFAR10_CLASSES, per_split=(1, 1), size=32)
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path / "tfds"))
    monkeypatch.setenv("RECIPES_CIFAR10_JPEG", str(tree))
    x_train, y_train, x_test, y_test, source = load_image_data("cifar10")
    assert "using the JPEG copy" in capsys.readouterr().out
    assert x_train.shape == (10, 32, 32, 3) and sorted(y_test) == list(range(10))
    assert str(tree) in source

    monkeypatch.setenv("RECIPES_CIFAR10_JPEG", str(tmp_path / "nowhere"))
    monkeypatch.chdir(tmp_path)  # away from the shared/data copy
    with pytest.raises(recipes.data.DatasetNotAvailableError, match="JPEG copy is not there"):
        load_image_data("cifar10")
    with pytest.raises(recipes.data.DatasetNotAvailableError, match="No image class folders"):
        load_image_data(data_dir=str(tmp_path / "nowhere"))


def _train_tiny(train, tree, **options):
    tiny = dict(epochs=2, batch_size=4, verbose=0, tta=1, widths=(8, 8, 8))
    return train("cifar10_fast", data_dir=str(tree), **{**tiny, **options})


def test_runs_restart_from_fresh_weights_and_train_recipe_hands_over(tmp_path):
    from recipes.trainers.airbench import FastTrainResult
    from recipes.training import train_recipe

    tree = _write_tree(tmp_path / "tree")
    # train_recipe hands the preset to its own trainer, which whitens first.
    both = _train_tiny(train_recipe, tree, runs=2, seed=3)
    assert isinstance(both, FastTrainResult) and [r["seed"] for r in both.runs] == [3, 4]
    stem = keras.ops.convert_to_numpy(both.model.get_layer("whiten_conv").kernel)
    np.testing.assert_allclose(stem[..., 12:], -stem[..., :12])  # fit_whitening's pairs

    # The second run equals a run of its own: nothing carries over (weights,
    # optimizer moments, the schedule's step count, augmentation seeds).
    alone = _train_tiny(train_fast_cifar, tree, seed=4, checkpoint_dir=str(tmp_path / "ckpt"))
    assert alone.paths["checkpoint"] == str(tmp_path / "ckpt" / "run1.keras")
    assert os.path.isfile(alone.paths["checkpoint"])
    assert both.runs[1]["test_metrics"] == pytest.approx(alone.test_metrics, abs=1e-6)
    assert both.history["loss"][-1] == pytest.approx(alone.history["loss"][-1], rel=1e-4)
    expected = np.mean([run["test_metrics"]["tta_accuracy"] for run in both.runs])
    assert both.test_metrics["tta_accuracy"] == pytest.approx(expected)
    assert both.train_seconds == pytest.approx(
        np.mean([run["train_seconds"] for run in both.runs])
    )
    with pytest.raises(ValueError, match="`runs` must be an integer >= 1"):
        _train_tiny(train_fast_cifar, tree, runs=0)


def test_alternating_flips_mirror_each_image_on_every_other_epoch():
    from recipes.data import array_batches

    rng = np.random.default_rng(0)
    x = rng.uniform(size=(40, 4, 5, 1)).astype("float32")
    batches = array_batches(x, np.arange(40), batch_size=10, seed=3, alternate_flips=True)
    seen = []
    for _ in range(3):  # three epochs of 4 batches: which images came mirrored?
        mirrored = {}
        for _ in range(4):
            images, labels = next(batches)
            for image, label in zip(images, labels):
                if np.array_equal(image, x[label][:, ::-1]):
                    mirrored[int(label)] = True
                else:
                    np.testing.assert_array_equal(image, x[label])
                    mirrored[int(label)] = False
        assert sorted(mirrored) == list(range(40))  # every image once an epoch
        seen.append(np.array([mirrored[i] for i in range(40)]))
    assert 10 <= seen[0].sum() <= 30  # mirrored at random at first
    np.testing.assert_array_equal(seen[1], ~seen[0])  # then every image alternates
    np.testing.assert_array_equal(seen[2], seen[0])
    # A backend tensor (on its device) gives the same batches, gathered there.
    on_device = array_batches(keras.ops.convert_to_tensor(x), np.arange(40), 10, 3, True)
    replay = array_batches(x, np.arange(40), batch_size=10, seed=3, alternate_flips=True)
    for _ in range(8):
        (images, labels), (expected, same_labels) = next(on_device), next(replay)
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(images), expected)
        np.testing.assert_array_equal(labels, same_labels)
    with pytest.raises(ValueError, match="`alternate_flips` flips images"):
        next(array_batches(np.zeros((4, 3)), np.arange(4), 2, alternate_flips=True))


def test_the_default_optimizer_is_airbench94s():
    from callbacks import FreezeAfter, Lookahead

    model = build_fast_cifar()
    lookahead = model.optimizer
    assert isinstance(lookahead, Lookahead) and isinstance(lookahead.inner_optimizer, FreezeAfter)
    assert (lookahead.total_steps, lookahead.first_step, lookahead.sync_every) == (476, 145, 48)
    assert (lookahead.every, lookahead.decay, lookahead.power) == (5, 0.95, 3.0)
    freeze = lookahead.inner_optimizer
    assert freeze.names == ("whiten_bias",) and freeze.step == 144
    sgd = freeze.inner_optimizer
    assert sgd.nesterov and sgd.momentum == 0.85
    schedule = keras.saving.deserialize_keras_object(sgd.get_config()["learning_rate"])
    rates = keras.ops.convert_to_numpy(schedule(np.array([0, 109.48, 476])))
    np.testing.assert_allclose(rates, [0.3, 1.5, 0.105], rtol=1e-4)  # the triangle
    plain = build_fast_cifar(lookahead=False, whiten_bias_epochs=None).optimizer
    assert isinstance(plain, keras.optimizers.SGD)
    preset = recipes.get_recipe("cifar10_fast")
    assert preset.fit["epochs"] == 10.5 and preset.kwargs["total_steps"] == 504


def test_training_chunks_keep_airbench94s_steps_and_avoid_tiny_chunks():
    from recipes.trainers.airbench import training_chunks

    assert training_chunks(9.9, 48) == (476, 34)  # airbench94: ceil(9.9 * 48)
    assert training_chunks(16, 48) == (768, 48)
    assert training_chunks(2.5, 3) == (8, 2)
    total, chunk = training_chunks(9.9, 14)  # 139 steps: a prime
    assert chunk == 14 and total == 140
    assert training_chunks(0.5, 14) == (7, 7)  # under an epoch: one chunk


def test_fractional_epochs_freeze_the_whitening_bias_and_evaluate_in_one_call(
    tmp_path, monkeypatch
):
    import recipes.trainers.airbench as airbench

    class Record(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.values = []

        def on_epoch_end(self, epoch, logs=None):
            layers = ("whiten_bias", "block1_bias1")
            self.values.append([self.model.get_layer(n).get_weights()[0].copy() for n in layers])

    tree = _write_tree(tmp_path / "tree")  # 12 training images: 3 batches of 4
    record = Record()
    result = _train_tiny(
        train_fast_cifar, tree, epochs=2.5, whiten_bias_epochs=1, callbacks=[record]
    )
    # ceil(2.5 * 3) = 8 steps, in 4 fit epochs of 2 (the largest divisor of 8 up to 3)
    assert int(keras.ops.convert_to_numpy(result.model.optimizer.iterations)) == 8
    assert len(result.history["loss"]) == len(record.values) == 4
    whiten, block = zip(*record.values)
    assert not np.allclose(whiten[0], 0.0)  # it trained for its first 3 steps...
    for later in whiten[2:]:
        np.testing.assert_array_equal(later, whiten[1])  # ...and not after step 4
    assert not np.allclose(block[1], block[3])

    # On an accelerator, the whole test set and its views in one compiled call.
    monkeypatch.setattr(airbench, "_accelerated", lambda: True)
    x_test = np.zeros((4500, 32, 32, 3), "float32")
    evaluation = airbench._Evaluation(result.model, 2, x_test, np.zeros(4500, int))
    assert evaluation.batch_size == 2000 and len(evaluation.x) == 6000
    assert evaluation.model.steps_per_execution == 3
