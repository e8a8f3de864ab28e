"""The CIFAR-10 reproductions at their tiny size, on a small CIFAR-10-like tree of
class folders written here (no copy of CIFAR-10 needed): ``zhang2017`` (seed 002's
table beside ours, figure 1a) and ``cifar10_models`` (seed 004's three models).

At this size (five training images per class, narrow models, a few epochs) only what holds
for any data is asserted: the table's rows and columns, the figures, and that an
MLP fits random labels it cannot generalise from. The directions that need real
data (true labels generalising, model 2 beating model 1) are measured by the quick
and full sizes, not here."""

import csv
import dataclasses
import functools

import numpy as np
import pytest
from PIL import Image

from recipes import data, experiments
from recipes.data import image_folder
from recipes.data.image_folder import CIFAR10_CLASSES
from recipes.experiments import cifar10_models, zhang2017


@pytest.fixture(scope="module")
def cifar10_tree(tmp_path_factory):
    """A 32x32 colour tree with CIFAR-10's class folders: 5 training and 2 test
    images per class, each its class's fixed pattern plus noise."""
    root = tmp_path_factory.mktemp("cifar10")
    rng = np.random.default_rng(0)
    patterns = rng.uniform(0, 255, (len(CIFAR10_CLASSES), 32, 32, 3))
    for split, count in (("train", 5), ("test", 2)):
        for label, name in enumerate(CIFAR10_CLASSES):
            (root / split / name).mkdir(parents=True)
            for i in range(count):
                noisy = 0.3 * patterns[label] + rng.uniform(0, 0.7 * 255, (32, 32, 3))
                Image.fromarray(noisy.astype(np.uint8)).save(root / split / name / f"{i}.png")
    return str(root)


def _table(folder):
    with open(folder / "table.csv") as handle:
        return list(csv.DictReader(handle))


# Rows of each network (Inception's without batch norm), random crop and weight
# decay together, and figure 1a's two rows.
SOME_ROWS = (
    "Inception w/o BatchNorm, random labels",
    "AlexNet, random crop, weight decay",
    "MLP 3x512, random labels",
    "MLP 1x512, no crop, no*",
    "MLP 1x512, random labels",
)


def test_zhang2017_has_the_documents_table():
    lines = zhang2017.select()
    assert len(lines) == 19 and len({line.label for line in lines}) == 19
    assert sum(line.random_labels for line in lines) == 5
    assert [line.test for line in zhang2017.select(["MLP 1x512*"])] == [50.39, 50.51, 10.61]
    assert experiments.get_experiment("zhang2017").run is zhang2017.run
    mlp_rows = experiments.get_experiment("zhang2017_mlp").run.keywords["rows"]
    assert len(zhang2017.select(mlp_rows)) == 6  # what 2 CPU cores run at full size
    with pytest.raises(ValueError, match="`rows` must match some of the table's rows"):
        zhang2017.select(["VGG*"])


def test_zhang2017_tiny_writes_its_rows_beside_the_document(cifar10_tree, tmp_path):
    with experiments.scoped():
        experiments.register_experiment(
            dataclasses.replace(
                experiments.get_experiment("zhang2017"),
                name="zhang2017_some",
                run=functools.partial(zhang2017.run, rows=SOME_ROWS),
            )
        )
        result = experiments.reproduce(
            "zhang2017_some", size="tiny", data_dir=cifar10_tree, output_dir=str(tmp_path)
        )
    rows = _table(tmp_path)
    labels = [line.label for line in zhang2017.select(SOME_ROWS) for _ in range(2)]
    assert [row["row"] for row in rows] == labels
    assert [row["metric"] for row in rows[:2]] == ["train accuracy (%)", "test accuracy (%)"]
    assert rows[-1]["document"] == "10.61" and rows[-1]["size"] == "tiny"
    assert {"data", "epochs", "optimizer", "seeds", "backend"} <= set(rows[0])
    assert "AdamW (weight decay 0.004)" in rows[2]["optimizer"] and "Adam " in rows[0]["optimizer"]
    ours = {(row.label, row.metric): row.ours for row in result.rows}
    for mlp in ("MLP 1x512", "MLP 3x512"):  # fits random labels, tests at chance
        train = ours[f"{mlp}, random labels", "train accuracy (%)"]
        test = ours[f"{mlp}, random labels", "test accuracy (%)"]
        assert train >= 90 and train - test >= 50
    assert (tmp_path / "figure1a.png").is_file() and "Figure 1a (MLP 1x512)" in result.notes[1]
    assert set(result.extra["figure1a"]) >= {"true labels", "Gaussian", "shuffled pixels"}


def test_cifar10_models_tiny_gives_the_mean_and_spread_of_three_seeds(cifar10_tree, tmp_path):
    result = experiments.reproduce(
        "cifar10_models", size="tiny", data_dir=cifar10_tree, output_dir=str(tmp_path)
    )
    rows = _table(tmp_path)
    assert [row["row"] for row in rows] == [label for label, _ in cifar10_models.MODELS]
    assert all(row["document"] == "" and "model 3 > model 2" in row["note"] for row in rows)
    assert all(row["seeds"] == "3" and "spread" in row["note"] for row in rows)
    assert "45 training, 5 held out, 20 test images" in rows[0]["data"]
    per_seed = result.extra["per_seed"]
    for row in result.rows:
        tests = [score["test"] for score in per_seed[row.label]]
        assert row.ours == pytest.approx(np.mean(tests))
    assert (tmp_path / "curves.png").is_file()
    assert (
        "Model 2 minus model 1" in result.notes[0] and "Model 3 minus model 2" in result.notes[1]
    )


def test_the_full_size_decays_the_rate_to_zero_over_the_most_epochs():
    mlp = zhang2017.schedules(experiments.ExperimentRequest(size="full"))["mlp"]
    rate = mlp.learning_rate_for(50_000)
    steps = 391 * mlp.epochs  # 50,000 images in batches of 128
    assert float(rate(0)) == pytest.approx(mlp.learning_rate) and mlp.learning_rate == 1e-4
    assert float(rate(steps // 2)) == pytest.approx(mlp.learning_rate / 2)
    assert float(rate(steps)) == pytest.approx(0.0, abs=1e-12)
    quick = zhang2017.schedules(experiments.ExperimentRequest(size="quick"))["mlp"]
    assert quick.learning_rate_for(4000) == 1e-3  # constant


def test_the_quick_size_leaves_model_3_to_the_full_run():
    row = cifar10_models._waiting_row(cifar10_models.MODELS[2][0])
    assert np.isnan(row.ours) and "waits for the full run" in row.note


def test_corrupted_inputs_keep_or_replace_the_pixels():
    rng = np.random.default_rng(0)
    images = rng.normal(size=(3, 4, 4, 3)).astype("float32")
    shuffled = zhang2017.corrupt("shuffled pixels", images, np.random.default_rng(1))
    again = zhang2017.corrupt("shuffled pixels", images[:1], np.random.default_rng(1))
    np.testing.assert_array_equal(shuffled[:1], again)  # one permutation for all images
    random = zhang2017.corrupt("random pixels", images, rng)
    for corrupted in (shuffled, random):  # the same pixels, elsewhere
        np.testing.assert_allclose(
            np.sort(corrupted.reshape(3, 16, 3), axis=1), np.sort(images.reshape(3, 16, 3), axis=1)
        )
    gaussian = zhang2017.corrupt("Gaussian", images, rng)
    assert gaussian.shape == images.shape and not np.isin(gaussian, images).any()
    standard = zhang2017.standardise(images.copy())
    np.testing.assert_allclose(standard.mean(axis=(1, 2, 3)), 0, atol=1e-5)


def test_without_cifar10_the_experiments_name_both_routes(tmp_path, monkeypatch):
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path / "tfds"))
    monkeypatch.setenv("RECIPES_DOWNLOAD", "0")
    monkeypatch.delenv("RECIPES_CIFAR10_JPEG", raising=False)
    monkeypatch.setattr(image_folder, "default_cifar10_locations", lambda: [])
    for name in ("zhang2017", "cifar10_models"):
        with pytest.raises(data.DatasetNotAvailableError) as caught:
            experiments.reproduce(name, size="tiny", output_dir=str(tmp_path))
        message = str(caught.value)
        assert "TFDS_DATA_DIR" in message and "JPEG copy is not there either" in message
