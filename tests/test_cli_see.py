"""`firstepoch visualize CHECKPOINT IMAGE` and `firstepoch lr-find` (issue 18): the pictures are written,
bad input (missing checkpoint, non-image file, unknown layer, class out of range) is a usage error
(exit 2) that names what is wrong, never a traceback."""
import os

import numpy as np
import pytest

from firstepoch import interpret
from firstepoch.cli import main
from firstepoch.train import Trainer

Image = pytest.importorskip("PIL.Image")


def _checkpoint(tmp_path, model="lenet"):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 1, 28, 28)).astype(np.float32)
    y = np.arange(64) % 10
    data = {"train": (x, y), "val": (x[:16], y[:16]), "test": (x[:16], y[:16])}
    t = Trainer.from_config({"model": model, "epochs": 1, "batch_size": 16}, data=data, quiet=True,
                            log=lambda line: None)
    t.fit(max_steps=2)
    path = tmp_path / f"{model}.safetensors"
    t.save_checkpoint(str(path))
    return str(path)


def _digit(tmp_path, name="digit.png"):
    """A dark '1' on white paper, 64x64: read_image inverts it to MNIST's light-on-dark."""
    a = np.full((64, 64), 255, np.uint8)
    a[10:54, 28:36] = 0
    path = tmp_path / name
    Image.fromarray(a).save(path)
    return str(path)


def test_read_image_matches_the_training_data(tmp_path):
    x = interpret.read_image(_digit(tmp_path))
    assert x.shape == (1, 28, 28) and x.dtype == np.float32
    lo, hi = (0 - 0.1307) / 0.3081, (1 - 0.1307) / 0.3081
    assert x[0, 0, 0] == pytest.approx(lo, abs=1e-6)  # the white ground became black
    assert x[0, 14, 14] == pytest.approx(hi, abs=1e-6)  # the dark stroke became white


def test_visualize_writes_every_picture(tmp_path, capsys):
    ck = _checkpoint(tmp_path)
    out = tmp_path / "see"
    assert main(["visualize", ck, _digit(tmp_path), "--out", str(out), "--class", "3", "--channel", "2"]) == 0
    printed = capsys.readouterr().out
    assert "explaining class 3" in printed
    assert sorted(os.listdir(out)) == ["features_features.0.png", "features_features.3.png", "filters.png",
                                       "gradcam.png", "saliency.png", "top_activating.png"]
    filters = np.asarray(Image.open(out / "filters.png"))
    tile, gap = 5 * 12, interpret.GAP  # LeNet's 6 5x5 filters, 12 pixels a weight: 2 rows of 3
    assert filters.shape[:2] == (2 * (tile + gap) + gap, 3 * (tile + gap) + gap)
    for name in os.listdir(out):
        assert (out / name).stat().st_size < 100_000


def test_visualize_an_mlp_skips_grad_cam(tmp_path, capsys):
    ck = _checkpoint(tmp_path, "mlp")
    out = tmp_path / "see"
    assert main(["visualize", ck, _digit(tmp_path), "--out", str(out)]) == 0
    assert "skipped gradcam.png (the model has no conv layer" in capsys.readouterr().out
    assert sorted(os.listdir(out)) == ["filters.png", "saliency.png"]  # 256 first-layer rows as 28x28 images


def test_visualize_an_lstm_skips_filters_and_grad_cam(tmp_path, capsys):
    ck = _checkpoint(tmp_path, "lstm")
    out = tmp_path / "see"
    assert main(["visualize", ck, _digit(tmp_path), "--out", str(out)]) == 0
    assert "skipped filters.png (the first layer is neither" in capsys.readouterr().out
    assert os.listdir(out) == ["saliency.png"]
    with pytest.raises(SystemExit) as info:
        main(["visualize", ck, _digit(tmp_path), "--out", str(out), "--layer", "lstm"])
    assert info.value.code == 2 and "must output (1, C, h, w) feature maps" in capsys.readouterr().err


@pytest.mark.parametrize("extra, message", [
    (["--layer", "conv9"], "unknown layer 'conv9'; the model's conv layers are features.0, features.3"),
    (["--class", "10"], "--class 10: out of range, the model has 10 classes (0..9)"),
    (["--class", "-1"], "argument --class: expected an integer >= 0, got '-1'"),
])
def test_visualize_bad_options_are_usage_errors(tmp_path, capsys, extra, message):
    ck = _checkpoint(tmp_path)
    with pytest.raises(SystemExit) as info:
        main(["visualize", ck, _digit(tmp_path), "--out", str(tmp_path / "o")] + extra)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_visualize_bad_files_are_usage_errors(tmp_path, capsys):
    ck = _checkpoint(tmp_path)
    text = tmp_path / "notes.txt"
    text.write_text("not an image")
    for argv, message in (
            ([str(tmp_path / "none.safetensors"), _digit(tmp_path)], "CHECKPOINT: checkpoint"),
            ([ck, str(text)], f"IMAGE: '{text}' is not an image file Pillow can read"),
            ([ck, str(tmp_path / "none.png")], f"IMAGE {tmp_path / 'none.png'}: No such file or directory"),
            ([str(text), _digit(tmp_path)], "CHECKPOINT: checkpoint")):
        with pytest.raises(SystemExit) as info:
            main(["visualize"] + argv + ["--out", str(tmp_path / "o")])
        assert info.value.code == 2
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err, err


def test_lr_find_command(tmp_path, capsys):
    assert main(["lr-find", "--model", "mlp", "--batch-size", "32", "--num-it", "40", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "suggested learning rate (valley): " in out
    suggestion = float(out.split("suggested learning rate (valley): ")[1].split()[0])
    assert 1e-7 <= suggestion < 10
    assert (tmp_path / "lr_find.png").stat().st_size > 1000


@pytest.mark.parametrize("argv, message", [
    (["--start-lr", "1", "--end-lr", "0.1"], "--end-lr 0.1 must be larger than --start-lr 1"),
    (["--num-it", "1"], "argument --num-it: expected an integer >= 2, got '1'"),
    (["--suggest", "best"], "argument --suggest: invalid choice: 'best'"),
    (["--dataset", "/no/such/dir"], "--dataset /no/such/dir: dataset must be"),
])
def test_lr_find_bad_arguments(capsys, argv, message):
    with pytest.raises(SystemExit) as info:
        main(["lr-find"] + argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
