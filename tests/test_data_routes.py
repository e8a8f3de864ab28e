"""Data routes: the CIFAR-10 JPEG copy wherever CIFAR-10 is asked for, and a user's
own class folders for image presets and tuning tasks (tiny trees made here)."""

import json
import tarfile

import keras
import numpy as np
import pytest
from PIL import Image

from recipes import data
from recipes.__main__ import main
from recipes.data import image_folder
from recipes.data.image_folder import CIFAR10_CLASSES


def _tree(root, classes=("cat", "dog", "fox"), per_class=(4, 2), size=(12, 10), grey=False):
    """A class-folder tree; each class's images are a flat grey level (label * 25)."""
    for split, count in zip(("train", "test"), per_class):
        for label, name in enumerate(classes):
            folder = root / split / name
            folder.mkdir(parents=True)
            for i in range(count):
                level = np.full((*size, 1 if grey else 3), label * 25, np.uint8)
                image = Image.fromarray(level[..., 0] if grey else level)
                image.save(folder / f"{i:03d}.{'png' if i % 2 else 'jpg'}")
    return root


@pytest.fixture
def no_cifar10(tmp_path, monkeypatch):
    """Neither tensorflow-datasets nor any JPEG copy has CIFAR-10 here."""
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path / "tfds"))
    monkeypatch.setenv("RECIPES_DOWNLOAD", "0")
    monkeypatch.delenv("RECIPES_CIFAR10_JPEG", raising=False)
    monkeypatch.setattr(image_folder, "default_cifar10_locations", lambda: [])


def test_a_copy_next_to_the_checkout_is_found_from_any_folder(tmp_path, monkeypatch):
    _tree(tmp_path / "tree", CIFAR10_CLASSES, (1, 1), (32, 32))
    (tmp_path / "shared" / "data").mkdir(parents=True)
    with tarfile.open(tmp_path / "shared" / "data" / "cifar10-jpeg.tar.gz", "w:gz") as handle:
        for split in ("train", "test"):
            handle.add(tmp_path / "tree" / split, arcname=split)
    # The package as if checked out at tmp_path/checkout; the working folder elsewhere.
    fake_module = tmp_path / "checkout" / "recipes" / "data" / "image_folder.py"
    monkeypatch.setattr(image_folder, "__file__", str(fake_module))
    (tmp_path / "elsewhere" / "deeper").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "elsewhere" / "deeper")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("RECIPES_CIFAR10_JPEG", raising=False)
    expected = str(tmp_path / "shared" / "data" / "cifar10-jpeg.tar.gz")
    assert expected in image_folder.default_cifar10_locations()
    root = image_folder.find_cifar10_jpeg()
    assert root.startswith(str(tmp_path / "home")) and image_folder.list_classes(root)[0] == (
        "airplane"
    )
    # A location that is given but empty is an error, not a reason to look elsewhere.
    monkeypatch.setenv("RECIPES_CIFAR10_JPEG", str(tmp_path / "nowhere"))
    with pytest.raises(data.DatasetNotAvailableError, match="No CIFAR-10 JPEG copy at RECIPES"):
        image_folder.find_cifar10_jpeg()


def test_cifar10_falls_back_to_the_jpeg_copy_and_says_so_once(tmp_path, monkeypatch, capsys):
    tree = _tree(tmp_path / "jpeg", CIFAR10_CLASSES, (10, 1), (32, 32))
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path / "tfds"))
    monkeypatch.setenv("RECIPES_CIFAR10_JPEG", str(tree))
    sizes = {}
    for split in data.standard_splits("cifar10").values():
        labels = np.concatenate([y for _, y in data.load("cifar10", split, batch_size=64)])
        sizes[split] = len(labels)
    assert sizes == {"train[:90%]": 90, "train[90%:]": 10, "test": 10}
    assert capsys.readouterr().out.count("using the JPEG copy at") == 1
    x, _ = next(iter(data.load("cifar10", "train", batch_size=100)))  # train+validation
    assert x.shape == (100, 32, 32, 3)
    with pytest.raises(ValueError, match="`split` must be one of .*Received: split='train\\[:5"):
        data.load("cifar10", "train[:50%]")


def test_missing_cifar10_names_both_routes(no_cifar10):
    with pytest.raises(data.DatasetNotAvailableError) as caught:
        data.load("cifar10")
    message = str(caught.value)
    assert "TFDS_DATA_DIR" in message and "JPEG copy is not there either" in message
    assert "RECIPES_CIFAR10_JPEG" in message and "--data-dir" in message


def test_image_folder_adapts_to_grey_or_colour_and_any_class_count(tmp_path):
    grey = image_folder.inspect_image_folder(_tree(tmp_path / "grey", grey=True))
    colour = image_folder.inspect_image_folder(_tree(tmp_path / "colour", ("a", "b"), size=(7, 9)))
    assert (grey.classes, grey.channels, grey.image_size) == (("cat", "dog", "fox"), 1, (12, 10))
    assert (colour.classes, colour.channels, colour.image_size) == (("a", "b"), 3, (7, 9))
    assert "3 classes (cat, dog, fox), grey images" in grey.describe()
    x, y = next(iter(data.load("image_folder", "test", data_dir=grey.root, image_size=(8, 8))))
    assert x.shape == (6, 8, 8, 1) and sorted(y.numpy()) == [0, 0, 1, 1, 2, 2]
    # The TensorFlow route and the NumPy route give the same split, labels and pixels.
    arrays_x, arrays_y = image_folder.image_folder_arrays(
        grey.root, "test", grey.classes, (8, 8), channels=1
    )
    np.testing.assert_array_equal(arrays_y, y.numpy())
    np.testing.assert_allclose(arrays_x, x.numpy(), atol=0.02)
    assert len(list(data.load("image_folder", "validation", data_dir=grey.root).unbatch())) == 3
    with pytest.raises(ValueError, match="`data_dir` must name a folder"):
        data.load("image_folder")


def test_a_file_that_is_no_image_is_named(tmp_path):
    tree = _tree(tmp_path / "tree")
    (tree / "train" / "dog" / "notes.jpg").write_text("not a picture")
    with pytest.raises(ValueError, match="Not an image .*train/dog/notes.jpg"):
        data.load("image_folder", "train", data_dir=str(tree))
    with pytest.raises(ValueError, match="Cannot read the image .*notes.jpg"):
        image_folder.image_folder_arrays(str(tree), "train", ("cat", "dog", "fox"), (8, 8))


@pytest.mark.backends
def test_a_class_folder_tree_trains_an_image_preset_from_the_cli(tmp_path, capsys):
    tree = _tree(tmp_path / "tree", grey=True)
    output = tmp_path / "run"
    main(
        [
            "train",
            "cifar10_lenet",
            "--data-dir",
            str(tree),
            "--epochs",
            "1",
            "--batch-size",
            "4",
            "--output",
            str(output),
            "--verbose",
            "0",
        ]
    )
    printed = capsys.readouterr().out
    assert "cifar10_lenet: 3 classes (cat, dog, fox), grey images" in printed
    assert "resized to 32x32, so input_shape=(32, 32, 1) and num_classes=3" in printed
    model = keras.saving.load_model(output / "model.keras")
    assert model.input_shape == (None, 32, 32, 1) and model.output_shape == (None, 3)
    metrics = json.loads((output / "metrics.json").read_text())
    assert metrics["dataset"].startswith("image folders at ") and "accuracy" in metrics["test"]


def test_an_explicit_num_classes_must_cover_the_folder(tmp_path):
    from recipes.training import train_recipe

    with pytest.raises(ValueError, match="run from 0 to 2, outside \\[0, 2\\)"):
        train_recipe("cifar10_lenet", data_dir=str(_tree(tmp_path / "t")), num_classes=2)
    with pytest.raises(ValueError, match="trains image-classification presets"):
        train_recipe("moons_mlp", data_dir=str(_tree(tmp_path / "u")))


def test_tuning_searches_on_a_class_folder_tree(tmp_path):
    import tuning

    tree = _tree(tmp_path / "tree", ("a", "b"), per_class=(10, 3))
    lines = []
    result = tuning.tune(
        "digits",
        max_trials=1,
        epochs=1,
        directory=str(tmp_path / "runs"),
        xla=False,
        print_fn=lines.append,
        data_dir=str(tree),
    )
    assert "2 classes (a, b), colour images" in lines[0]
    assert "input_shape=(8, 8, 3) and num_classes=2" in lines[0]
    assert result.model.input_shape == (None, 8, 8, 3) and result.model.output_shape == (None, 2)
    score = json.loads((tmp_path / "runs" / "digits_random" / "test_score.json").read_text())
    assert score["dataset"] == "image_folder" and score["data_dir"] == str(tree)
    with pytest.raises(ValueError, match="serves image-classification tasks; 'moons'"):
        tuning.tune("moons", max_trials=1, epochs=1, directory=str(tmp_path), data_dir=str(tree))
