import json
import os

import keras
import pytest

from recipes.__main__ import main


def test_demo_trains_digits_and_writes_curves_and_model(tmp_path, capsys):
    output = tmp_path / "demo"
    main(["demo", "--epochs", "8", "--output", str(output), "--verbose", "0"])
    printed = capsys.readouterr().out
    assert "digits_mlp: test accuracy=" in printed
    metrics = json.loads((output / "metrics.json").read_text())
    assert metrics["test"]["accuracy"] > 0.85
    png = (output / "curves.png").read_bytes()
    assert png.startswith(b"\x89PNG")
    assert (output / "curves.csv").read_text().splitlines()[0].startswith("epoch,")
    assert len((output / "curves.csv").read_text().splitlines()) == 9
    model = keras.saving.load_model(output / "model.keras", safe_mode=True)
    assert model.count_params() == 64 * 64 + 64 + 64 * 32 + 32 + 32 * 10 + 10


def test_train_with_overrides(tmp_path, capsys):
    main(
        [
            "train",
            "moons_mlp",
            "--epochs",
            "2",
            "--output",
            str(tmp_path),
            "--verbose",
            "0",
            "--set",
            "hidden_units=(4,)",
            "--set",
            "activation=relu",
        ]
    )
    model = keras.saving.load_model(os.path.join(tmp_path, "model.keras"))
    assert model.get_layer("dense_1").units == 4


def test_list_and_describe(capsys):
    main(["list", "mnist_m*"])
    assert capsys.readouterr().out.startswith("mnist_mlp")
    main(["describe", "mnist_mlp"])
    out = capsys.readouterr().out
    assert "builder: recipes.build_mlp" in out and "hidden_units = (64, 32)" in out


def test_bad_override_syntax_exits_with_a_message():
    with pytest.raises(SystemExit, match="key=value"):
        main(["train", "moons_mlp", "--set", "dropout"])
