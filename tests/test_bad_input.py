"""A bad-input battery: malformed calls across builders, layers, callbacks, data,
training, tuning, the scikit-learn wrappers and both CLIs. Each fails before any
training with the error type it should and a message naming the argument or the
file (the CLIs: exit status 2, one line, no traceback)."""

import io
import json

import keras
import numpy as np
import pytest

import callbacks
import recipes
import tuning
from recipes import data, layers
from recipes.__main__ import main as recipes_main
from recipes.data import image_folder
from recipes.sklearn import KerasClassifier, KerasRegressor
from recipes.training import train_recipe
from tuning.__main__ import main as tuning_main
from tuning.search import check_budget, load_saved_model

X = np.random.default_rng(0).random((12, 3)).astype("float32")
Y = np.array([0, 1] * 6)


def _with(array, index, value):
    array = array.copy()
    array[index] = value
    return array


def _mlp(**kwargs):
    return recipes.build_mlp(input_shape=(2,), num_classes=2, **kwargs)


# (id, call, error type, pattern the message must match)
CALLS = [
    # -- builders
    ("mlp_learning_rate", lambda: _mlp(learning_rate=-1.0), ValueError, "`learning_rate`"),
    ("mlp_learning_rate_text", lambda: _mlp(learning_rate="fast"), ValueError, "`learning_rate`"),
    (
        "mlp_num_classes",
        lambda: recipes.build_mlp(input_shape=(2,), num_classes=0),
        ValueError,
        "`num_classes`",
    ),
    ("mlp_hidden_units", lambda: _mlp(hidden_units=(0,)), ValueError, r"`hidden_units\[0\]`"),
    (
        "lenet_input_rank",
        lambda: recipes.build_lenet(input_shape=(28, 28), num_classes=10),
        ValueError,
        "`input_shape` must have 3",
    ),
    (
        "resnet_depth",
        lambda: recipes.build_resnet(input_shape=(32, 32, 3), num_classes=10, depth=7),
        ValueError,
        "`depth`",
    ),
    (
        "vit_patch_size",
        lambda: recipes.build_vit(input_shape=(30, 30, 3), num_classes=10, patch_size=7),
        ValueError,
        "`patch_size`",
    ),
    ("rnn_cell", lambda: recipes.build_rnn(cell="lstmx"), ValueError, "`cell`"),
    ("preset_argument", lambda: recipes.build("digits_mlp", widht=3), TypeError, "widht"),
    # -- layers
    ("gradient_reversal", lambda: layers.GradientReversal(lambda_="a"), ValueError, "`lambda_`"),
    (
        "attention_heads",
        lambda: layers.MultiHeadAttention(num_heads=0, key_dim=8),
        ValueError,
        "`num_heads`",
    ),
    (
        "attention_dropout",
        lambda: layers.ScaledDotProductAttention(dropout=2.0),
        ValueError,
        "`dropout`",
    ),
    ("pad_crop", lambda: layers.RandomPadCrop(padding=-1), ValueError, "`padding`"),
    (
        "lrn_radius",
        lambda: layers.LocalResponseNormalization(depth_radius=-1),
        ValueError,
        "`depth_radius`",
    ),
    (
        "positions",
        lambda: layers.LearnedPositionalEmbedding(max_length=0),
        ValueError,
        "`max_length`",
    ),
    # -- callbacks and schedules
    (
        "step_decay",
        lambda: callbacks.StepDecay(learning_rate=-1.0, drop_every=10),
        ValueError,
        "`learning_rate`",
    ),
    (
        "one_cycle",
        lambda: callbacks.OneCycle(max_learning_rate=0.1, total_steps=0),
        ValueError,
        "`total_steps`",
    ),
    ("schedule_name", lambda: callbacks.schedule("cosinex"), ValueError, "`name`"),
    (
        "early_stopping_patience",
        lambda: callbacks.EarlyStopping(patience=-1),
        ValueError,
        "`patience`",
    ),
    ("early_stopping_mode", lambda: callbacks.EarlyStopping(mode="maxx"), ValueError, "`mode`"),
    (
        "autoclip_percentile",
        lambda: callbacks.AutoClip(keras.optimizers.SGD(), percentile=150),
        ValueError,
        "`percentile`",
    ),
    # -- data
    ("unknown_dataset", lambda: data.load("digitz"), ValueError, "Unknown dataset 'digitz'"),
    ("unknown_split", lambda: data.load("digits", split="bogus"), ValueError, "`split`"),
    (
        "lengths_differ",
        lambda: data.to_dataset(np.zeros((4, 2)), np.zeros(3), batch_size=2),
        ValueError,
        "`x` and `y` must have the same length",
    ),
    (
        "head_lengths_differ",
        lambda: data.to_dataset(np.zeros((4, 2)), {"label": np.zeros(4), "domain": np.zeros(3)}),
        ValueError,
        "`x` and `domain` must have the same length",
    ),
    (
        "nan_inputs",
        lambda: data.to_dataset(_with(X, (0, 0), np.nan), Y, batch_size=2),
        ValueError,
        "`x` must hold finite numbers",
    ),
    (
        "infinite_targets",
        lambda: data.to_dataset(X, _with(Y.astype("float32"), 3, np.inf), batch_size=2),
        ValueError,
        "`y` must hold finite numbers",
    ),
    # -- training (all refused before training)
    ("train_epochs", lambda: train_recipe("moons_mlp", epochs=0), ValueError, "`epochs`"),
    (
        "train_batch_size",
        lambda: train_recipe("moons_mlp", batch_size=-2),
        ValueError,
        "`batch_size`",
    ),
    (
        "train_wrong_input_shape",
        lambda: train_recipe("digits_mlp", dataset="moons"),
        ValueError,
        r"'moons' have shape \(2,\), but digits_mlp takes `input_shape`=\(8, 8, 1\)",
    ),
    (
        "train_labels_outside",
        lambda: train_recipe("digits_vit", num_classes=4),
        ValueError,
        r"outside \[0, 4\).*num_classes=4",
    ),
    (
        "train_unknown_dataset",
        lambda: train_recipe("digits_mlp", dataset="nope"),
        ValueError,
        "'nope'",
    ),
    # -- tuning
    ("tuning_task", lambda: tuning.get_task("digitz"), ValueError, "Unknown tuning task 'digitz'"),
    ("tuning_tuner", lambda: check_budget("bayes", 2, 1), ValueError, "Unknown tuner 'bayes'"),
    ("tuning_failures", lambda: check_budget("random", 2, 1, 0), ValueError, "`max_failures`"),
    # -- scikit-learn wrappers
    ("sk_epochs", lambda: KerasClassifier(epochs=0).fit(X, Y), ValueError, "`epochs`"),
    (
        "sk_validation_split",
        lambda: KerasClassifier(validation_split=1.5).fit(X, Y),
        ValueError,
        "`validation_split`",
    ),
    ("sk_model", lambda: KerasClassifier(model=42).fit(X, Y), ValueError, "`model`"),
    ("sk_routed", lambda: KerasClassifier(foo__bar=1).fit(X, Y), ValueError, "foo__bar"),
    (
        "sk_run_eagerly",
        lambda: KerasRegressor(run_eagerly="x").fit(X, Y),
        ValueError,
        "`run_eagerly`",
    ),
    (
        "sk_nan_inputs",
        lambda: KerasClassifier(epochs=1).fit(_with(X, (0, 0), np.nan), Y),
        ValueError,
        "Input X contains NaN",
    ),
    (
        "sk_infinite_inputs",
        lambda: KerasRegressor(epochs=1).fit(_with(X, (1, 1), np.inf), Y.astype(float)),
        ValueError,
        "Input X contains infinity",
    ),
    (
        "sk_nan_targets",
        lambda: KerasRegressor(epochs=1).fit(X, _with(Y.astype(float), 2, np.nan)),
        ValueError,
        "Input y contains NaN",
    ),
    (
        "sk_labels_beyond_num_classes",
        lambda: KerasClassifier(epochs=1, model__num_classes=3).fit(X, np.arange(12) % 5),
        ValueError,
        "`y` holds 5 classes, but `model__num_classes`.*Received: model__num_classes=3",
    ),
    (
        "sk_one_class",
        lambda: KerasClassifier(epochs=1).fit(X, np.zeros(12)),
        ValueError,
        "at least 2 classes",
    ),
    ("sk_partial_fit", lambda: KerasClassifier().partial_fit(X, Y), ValueError, "`classes`"),
    (
        "sk_class_weight",
        lambda: KerasClassifier(epochs=1, class_weight={7: 1.0}).fit(X, Y),
        ValueError,
        "`class_weight`",
    ),
    (
        "sk_sample_weight",
        lambda: KerasClassifier(epochs=1).fit(X, Y, sample_weight=-np.ones(12)),
        ValueError,
        "`sample_weight`",
    ),
]


@pytest.mark.parametrize("call, error, pattern", [c[1:] for c in CALLS], ids=[c[0] for c in CALLS])
def test_a_bad_call_names_what_is_wrong(call, error, pattern):
    with pytest.raises(error, match=pattern):
        call()


def test_predict_refuses_rows_of_another_width():
    model = KerasClassifier(epochs=1, batch_size=12, random_state=0).fit(X, Y)
    with pytest.raises(ValueError, match="X has 4 features, but KerasClassifier is expecting 3"):
        model.predict(np.zeros((2, 4)))


# -- files ------------------------------------------------------------------------------


def _image_tree(root, bad_name=None, bad_bytes=b"just some notes"):
    """A two-class tree of 8x8 PNGs; ``bad_name`` adds a broken file to test/b."""
    from PIL import Image

    for split in ("train", "test"):
        for label, name in enumerate("ab"):
            folder = root / split / name
            folder.mkdir(parents=True)
            for index in range(3):
                pixels = np.full((8, 8, 3), 80 * label + index, np.uint8)
                Image.fromarray(pixels).save(folder / f"{index}.png")
    if bad_name:
        (root / "test" / "b" / bad_name).write_bytes(bad_bytes)
    return root


def test_a_file_that_is_not_an_image_is_named(tmp_path):
    root = _image_tree(tmp_path / "tree", "notes.png")
    with pytest.raises(ValueError, match=r"Not an image.*notes\.png"):
        image_folder.image_folder_dataset(str(root), "test", ["a", "b"])


def test_a_truncated_image_is_named(tmp_path):
    root = _image_tree(tmp_path / "tree")
    good = (root / "train" / "a" / "1.png").read_bytes()
    (root / "train" / "b" / "cut.png").write_bytes(good[: len(good) // 2])
    classes = image_folder.list_classes(str(root))
    with pytest.raises(ValueError, match=r"cut\.png"):
        image_folder.image_folder_arrays(str(root), "train", classes, (8, 8))


@pytest.mark.parametrize("suffix", ["png", "jpg"])
def test_a_truncated_image_is_named_before_tf_data_reads_it(tmp_path, suffix):
    from PIL import Image

    root = _image_tree(tmp_path / "tree")
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(buffer, format="PNG" if suffix == "png" else "JPEG")
    whole = buffer.getvalue()
    (root / "train" / "a" / f"whole.{suffix}").write_bytes(whole)
    (root / "train" / "b" / f"cut.{suffix}").write_bytes(whole[: len(whole) // 2])
    with pytest.raises(ValueError, match=rf"Truncated image: \S*cut\.{suffix}\. Remove"):
        image_folder.image_folder_dataset(str(root), "train", ["a", "b"])


def test_a_truncated_keras_file_is_named(tmp_path):
    path = tmp_path / "best_model.keras"
    _mlp().save(path)
    content = path.read_bytes()
    path.write_bytes(content[: len(content) // 2])
    with pytest.raises(ValueError, match=r"best_model\.keras is not a readable \.keras model"):
        load_saved_model(str(path))


def test_a_run_folder_of_another_search_is_refused(tmp_path):
    run_dir = tmp_path / "digits_random"
    run_dir.mkdir()
    other = {"task": "moons", "tuner": "random", "dataset": "moons", "data_dir": None}
    (run_dir / "run.json").write_text(json.dumps(other))
    with pytest.raises(ValueError, match=r"digits_random holds another search.*`directory`"):
        tuning.tune("digits", max_trials=1, epochs=1, directory=str(tmp_path), print_fn=print)
    assert sorted(p.name for p in run_dir.iterdir()) == ["run.json"]  # nothing was run


# -- command lines ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "moons_mlp", "--set", "hidden_units=(64,"], "Received: hidden_units=(64,"),
        (["train", "moons_mlp", "--set", "dropout=0.1.2"], "Received: dropout=0.1.2"),
        (["train", "moons_mlp", "--set", "learning_rate=1e-3x"], "--set learning_rate=..."),
        (["train", "moons_mlp", "--set", "activation=swish!"], "--set activation=..."),
        (["train", "moons_mlp", "--set", "activation=tanhh"], "`activation`"),
        (["train", "moons_mlp", "--epochs", "0"], "`epochs`"),
        (["train", "moons_mlp", "--epochs", "two"], "argument --epochs"),
        (["train", "moons_mlp", "--precision", "float8"], "argument --precision"),
        (["train", "moons_mlp", "--dataset", "digits"], "`input_shape`=(2,)"),
        (["train", "digits_vit", "--set", "num_classes=4"], "outside [0, 4)"),
    ],
)
def test_recipes_cli_refuses_bad_input(argv, message, tmp_path, clean_exit):
    assert message in clean_exit(recipes_main, [*argv, "--output", str(tmp_path)])


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--task", "digits", "--tuner", "bayes"], "Unknown tuner 'bayes'"),
        (["--task", "digits", "--tuner", "hyperband", "--epochs", "2"], "epochs >= 3"),
        (["--task", "digits", "--max-failures", "0"], "`max_failures`"),
        (["--task", "digitz"], "Did you mean: digits"),
        (["--task", "digits", "--max-trials", "two"], "argument --max-trials"),
    ],
)
def test_tuning_cli_refuses_bad_input(argv, message, tmp_path, clean_exit):
    assert message in clean_exit(tuning_main, [*argv, "--directory", str(tmp_path)])
    assert not any(tmp_path.iterdir())


def test_tuning_cli_keeps_another_search_apart(tmp_path, clean_exit):
    run_dir = tmp_path / "digits_random"
    run_dir.mkdir()
    (run_dir / "run.json").write_text(json.dumps({"task": "digits", "tuner": "grid"}))
    argv = ["--task", "digits", "--max-trials", "1", "--directory", str(tmp_path)]
    assert "holds another search" in clean_exit(tuning_main, argv)
