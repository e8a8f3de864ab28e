import numpy as np
import pytest
import tensorflow_datasets as tfds

from recipes import data
from recipes.data import tfds_sets


@pytest.mark.parametrize("name", data.list_datasets(offline_only=True))
def test_offline_splits_are_disjoint_reproducible_and_shaped(name):
    spec = data.get_spec(name)
    x_train, y_train = data.arrays(name, "train")
    x_again, _ = data.arrays(name, "train")
    x_test, _ = data.arrays(name, "test")

    def first(arrays):  # the first input (or target) of a dict of them
        return next(iter(arrays.values())) if isinstance(arrays, dict) else arrays

    np.testing.assert_array_equal(first(x_train), first(x_again))
    assert not np.array_equal(first(x_train)[: len(first(x_test))], first(x_test))
    if spec.input_shape is not None:
        assert first(x_train).shape[1:] == spec.input_shape
    assert len(first(y_train)) == len(first(x_train))


def test_digits_split_sizes_and_range():
    sizes = {s: len(data.arrays("digits", s)[1]) for s in data.SPLITS}
    assert sum(sizes.values()) == 1797 and sizes["train"] > sizes["test"] > sizes["validation"]
    x, y = data.arrays("digits")
    assert x.dtype == np.float32 and 0 <= x.min() and x.max() <= 1
    assert set(np.unique(y)) == set(range(10))


def test_shapes_masks_match_the_drawn_pixels():
    x, y = data.arrays("shapes", "validation", num_examples=8, image_size=32)
    assert x.shape == (8, 32, 32, 3) and y.shape == (8, 32, 32, 1)
    assert set(np.unique(y)) <= {0, 1, 2} and (y > 0).any()
    background = x[y[..., 0] == 0]
    assert background.max() <= 0.25 + 1e-6  # shapes are brighter than background


@pytest.mark.parametrize("task", ["copy", "reverse"])
def test_sequence_tasks_frame_the_target(task):
    x, y = data.arrays(task, "test", num_examples=50)
    source, decoder_inputs = x["encoder_inputs"], x["decoder_inputs"]
    for i in range(50):
        digits = source[i][source[i] != data.PAD]
        assert 10 <= len(digits) <= 20
        expected = digits[::-1] if task == "reverse" else digits
        np.testing.assert_array_equal(y[i, : len(digits)], expected)
        assert y[i, len(digits)] == data.END
        assert decoder_inputs[i, 0] == data.START
        np.testing.assert_array_equal(decoder_inputs[i, 1 : len(digits) + 1], expected)


def test_load_batches_and_shuffles_only_training():
    train = data.load("digits", "train", batch_size=16)
    x, y = next(iter(train))
    assert x.shape == (16, 8, 8, 1) and y.shape == (16,)
    first_epoch = np.concatenate([b[1].numpy() for b in train])
    second_epoch = np.concatenate([b[1].numpy() for b in train])
    assert not np.array_equal(first_epoch, second_epoch)
    test_1 = np.concatenate([b[1].numpy() for b in data.load("digits", "test")])
    test_2 = np.concatenate([b[1].numpy() for b in data.load("digits", "test")])
    np.testing.assert_array_equal(test_1, test_2)


def test_load_sequence_task_gives_dict_inputs():
    x, y = next(iter(data.load("reverse", "validation", batch_size=4)))
    assert set(x) == {"encoder_inputs", "decoder_inputs"}
    assert x["encoder_inputs"].shape == (4, 20) and y.shape == (4, 21)


def test_unknown_dataset_and_split_raise_clear_errors():
    with pytest.raises(ValueError, match="Unknown dataset 'mnsit'.*mnist"):
        data.load("mnsit")
    with pytest.raises(ValueError, match="Did you mean: mnist"):
        data.get_spec("mnsit")
    with pytest.raises(ValueError, match="`split` must be one of train"):
        data.arrays("digits", "training")


@pytest.mark.parametrize("name", ["mnist", "cifar10"])
def test_tfds_images_are_scaled_floats_with_int_labels(name):
    with tfds.testing.mock_data(num_examples=10):
        x, y = next(iter(data.load(name, "train", batch_size=5)))
    spec = data.get_spec(name)
    assert tuple(x.shape) == (5, *spec.input_shape) and x.dtype.name == "float32"
    assert 0.0 <= float(np.min(x)) and float(np.max(x)) <= 1.0
    assert y.dtype.name == "int32"


def _pet_examples(self, *args, **kwargs):
    """Two 40x30 pets whose masks hold tfds' values 1 (pet), 2 (background), 3."""
    import tensorflow as tf

    mask = np.ones((40, 30, 1), np.uint8)
    mask[:, 10:] = 2
    mask[:, 20:] = 3
    return tf.data.Dataset.from_tensor_slices(
        {
            "image": np.full((2, 40, 30, 3), 255, np.uint8),
            "segmentation_mask": np.stack([mask, mask]),
        }
    )


def test_tfds_pets_are_resized_with_zero_based_masks():
    with tfds.testing.mock_data(as_dataset_fn=_pet_examples):
        x, y = next(iter(data.load("oxford_iiit_pet", "train", batch_size=2, image_size=(64, 64))))
    assert x.shape == (2, 64, 64, 3) and y.shape == (2, 64, 64, 1)
    np.testing.assert_allclose(x.numpy(), 1.0)
    assert set(np.unique(y)) == {0, 1, 2}
    assert y[0, 0, 0, 0] == 0 and y[0, 0, -1, 0] == 2


def test_tfds_imdb_gives_raw_text():
    with tfds.testing.mock_data(num_examples=4):
        text, label = next(iter(data.load("imdb_reviews", "train", batch_size=2)))
    assert text.dtype.name == "string" and label.dtype.name == "int32"


def test_missing_dataset_without_download_names_dataset_and_remedy(tmp_path):
    with pytest.raises(data.DatasetNotAvailableError) as caught:
        data.load("mnist", data_dir=str(tmp_path), download=False)
    message = str(caught.value)
    assert "'mnist'" in message and str(tmp_path) in message
    assert "TFDS_DATA_DIR" in message and "download_and_prepare" in message


def test_missing_dataset_with_no_network_fails_fast(tmp_path, monkeypatch):
    from recipes.data import image_folder

    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("RECIPES_CIFAR10_JPEG", raising=False)
    monkeypatch.setattr(tfds_sets, "network_available", lambda timeout=3.0: False)
    monkeypatch.setattr(image_folder, "default_cifar10_locations", lambda: [])
    with pytest.raises(data.DatasetNotAvailableError, match="no network") as caught:
        data.load("cifar10", download=True)
    message = str(caught.value)  # both routes: tfds' folder and the JPEG copy
    assert "TFDS_DATA_DIR" in message and "RECIPES_CIFAR10_JPEG" in message
    assert "--data-dir" in message and "DATA_DIR=" in message


def test_standard_splits():
    assert data.standard_splits("digits") == {s: s for s in data.SPLITS}
    assert data.standard_splits("cifar10_jpeg") == {s: s for s in data.SPLITS}
    assert data.standard_splits("mnist")["validation"] == "train[90%:]"
    for name in ("imdb_reviews", "oxford_iiit_pet"):
        assert data.standard_splits(name) == {
            "train": "train[:90%]",
            "validation": "train[90%:]",
            "test": "test",
        }
    data.standard_splits("sine")["train"] = "changed"  # a copy: the entry stays
    assert data.standard_splits("sine")["train"] == "train"


OFFLINE = (
    *("digits", "moons", "shapes", "sine", "copy", "reverse"),
    # derived from those for the presets (recipes/data/derived.py)
    *("digits_multitask", "digits_reconstruction", "moons_domains", "shapes_label_maps"),
    *("toy_review_ids", "toy_review_next_ids", "toy_review_skipgrams"),
)


def test_every_dataset_carries_its_loader_and_offline_ones_their_arrays():
    for name in data.list_datasets():
        spec = data.get_spec(name)
        assert callable(spec.loader), name
        assert spec.offline == (spec.arrays is not None) == (name in OFFLINE), name
    assert data.list_datasets(offline_only=True) == sorted(OFFLINE)


def test_a_registered_dataset_is_loaded_by_its_own_loader():
    import tensorflow as tf

    from recipes import registry

    calls = []

    def ramp_loader(spec, split, download=None, data_dir=None, image_size=None):
        """12 examples whose target is the sum of the input."""
        calls.append((spec.name, split, download, data_dir, image_size))
        x = np.arange(36, dtype="float32").reshape(12, 3)
        return tf.data.Dataset.from_tensor_slices((x, x.sum(axis=1, keepdims=True))), 12

    spec = data.DatasetSpec(
        "ramp", "regression", (3,), 1, "a ramp", ramp_loader, splits={"train": "all"}
    )
    with registry.scoped():
        assert data.register_dataset(spec) is spec
        assert "ramp" in data.list_datasets() and "ramp" not in data.list_datasets(True)
        batches = list(data.load("ramp", "all", batch_size=5, data_dir="here"))
        assert [len(y) for _, y in batches] == [5, 5, 2]
        assert calls == [("ramp", "all", None, "here", None)]
        np.testing.assert_allclose(batches[0][1][:, 0], batches[0][0].numpy().sum(axis=1))
        assert data.standard_splits("ramp") == {"train": "all"}
        with pytest.raises(ValueError, match="arrays\\(\\) serves offline datasets only"):
            data.arrays("ramp")
        with pytest.raises(TypeError, match="Unknown option\\(s\\) for 'ramp': scale"):
            data.load("ramp", scale=2.0)
        with pytest.raises(ValueError, match="A dataset named 'ramp' is already registered"):
            data.register_dataset(spec)
    assert "ramp" not in data.list_datasets()


def _write_jpeg_tree(root, per_class=10):
    """A CIFAR-like class-folder tree with images whose red channel encodes the label."""
    from PIL import Image

    from recipes.data.image_folder import CIFAR10_CLASSES

    for split in ("train", "test"):
        for label, name in enumerate(CIFAR10_CLASSES):
            folder = root / split / name
            folder.mkdir(parents=True)
            for i in range(per_class):
                pixels = np.full((32, 32, 3), label * 25, np.uint8)
                Image.fromarray(pixels).save(folder / f"{i:04d}.jpg", quality=95)


def test_cifar10_jpeg_splits_are_disjoint_and_labelled(tmp_path):
    _write_jpeg_tree(tmp_path)
    sizes = {}
    for split in data.SPLITS:
        batches = list(data.load("cifar10_jpeg", split, batch_size=50, data_dir=str(tmp_path)))
        x = np.concatenate([b[0].numpy() for b in batches])
        y = np.concatenate([b[1].numpy() for b in batches])
        assert x.shape[1:] == (32, 32, 3) and x.dtype == np.float32
        np.testing.assert_allclose(x[..., 0].mean(axis=(1, 2)), y * 25 / 255.0, atol=0.03)
        sizes[split] = len(y)
    assert sizes == {"train": 90, "validation": 10, "test": 100}
    x, _ = next(iter(data.load("cifar10_jpeg", "test", data_dir=str(tmp_path), image_size=(8, 8))))
    assert x.shape == (32, 8, 8, 3)


def test_cifar10_jpeg_unpacks_an_archive(tmp_path, monkeypatch):
    import tarfile

    _write_jpeg_tree(tmp_path / "tree", per_class=2)
    archive = tmp_path / "cifar10-jpeg.tar.gz"
    with tarfile.open(archive, "w:gz") as handle:
        for split in ("train", "test"):
            handle.add(tmp_path / "tree" / split, arcname=split)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("RECIPES_CIFAR10_JPEG", str(archive))
    x, y = next(iter(data.load("cifar10_jpeg", "test", batch_size=20)))
    assert x.shape == (20, 32, 32, 3)
    assert (tmp_path / "home" / ".cache" / "recipes" / "cifar10-jpeg" / "test").is_dir()


def test_cifar10_jpeg_missing_names_the_remedy(tmp_path, monkeypatch):
    monkeypatch.delenv("RECIPES_CIFAR10_JPEG", raising=False)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(data.DatasetNotAvailableError, match="RECIPES_CIFAR10_JPEG"):
        data.load("cifar10_jpeg", data_dir=str(tmp_path / "nowhere"))


def test_array_batches_reshuffle_every_epoch_and_drop_the_remainder():
    x = np.arange(10, dtype="float32")[:, None] * np.ones((1, 3), "float32")
    y = np.arange(10)
    batches = data.array_batches(x, y, batch_size=3, seed=1)
    epochs = [[next(batches) for _ in range(3)] for _ in range(2)]
    for epoch in epochs:
        labels = np.concatenate([batch_y for _, batch_y in epoch])
        assert all(len(batch_y) == 3 for _, batch_y in epoch)
        assert len(set(labels)) == 9  # one example left out, none repeated
        for batch_x, batch_y in epoch:
            np.testing.assert_array_equal(batch_x[:, 0], batch_y)  # x and y stay paired
    orders = [np.concatenate([batch_y for _, batch_y in epoch]) for epoch in epochs]
    assert not np.array_equal(orders[0], orders[1])


@pytest.mark.parametrize("batch_size", [0, 11])
def test_array_batches_reject_a_batch_size_outside_the_data(batch_size):
    with pytest.raises(ValueError, match="`batch_size` must be between 1 and the number"):
        next(data.array_batches(np.zeros((10, 2)), np.zeros(10), batch_size))
