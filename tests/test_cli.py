"""The command line: argparse-style usage errors (exit 2, no traceback) for bad arguments and broken
checkpoints; `python -m firstepoch train` writes its reports; a run killed mid-epoch resumes to bitwise
the weights of an uninterrupted run; evaluate, info and the lab pass-through."""
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from firstepoch.cli import main
from firstepoch.io import load_safetensors


@pytest.mark.parametrize("argv, message", [
    ([], "the following arguments are required"),
    (["fly"], "invalid choice: 'fly'"),
    (["train", "--epochs", "0"], "argument --epochs: expected a positive integer, got '0'"),
    (["train", "--epochs", "two"], "argument --epochs: expected a positive integer, got 'two'"),
    (["train", "--batch-size", "-3"], "argument --batch-size: expected a positive integer"),
    (["train", "--lr", "-0.1"], "argument --lr: expected a positive number, got '-0.1'"),
    (["train", "--lr", "nan"], "argument --lr: expected a positive number, got 'nan'"),
    (["train", "--model", "vgg"], "argument --model: invalid choice: 'vgg'"),
    (["train", "--optimizer", "lbfgs"], "argument --optimizer: invalid choice: 'lbfgs'"),
    (["train", "--scheduler", "linear"], "argument --scheduler: invalid choice: 'linear'"),
    (["train", "--seed", "-1"], "argument --seed: expected an integer >= 0, got '-1'"),
    (["train", "--threads", "0"], "argument --threads: expected a positive integer"),
    (["train", "--checkpoint-every", "-1"], "argument --checkpoint-every: expected an integer >= 0"),
    (["train", "--colour"], "unrecognized arguments: --colour"),
    (["train", "--resume"], "--resume without a file needs --out DIR"),
    (["train", "--dataset", "/no/such/dir"], "--dataset /no/such/dir: dataset must be 'mnist-embedded'"),
    (["evaluate"], "the following arguments are required: --checkpoint"),
    (["evaluate", "--checkpoint", "/no/such.safetensors"], "--checkpoint: checkpoint '/no/such.safetensors' does not exist"),
])
def test_bad_arguments_are_usage_errors(capsys, argv, message):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "usage: firstepoch" in err and message in err, err
    assert "Traceback" not in err


def test_resume_from_a_broken_checkpoint_is_a_usage_error(tmp_path, capsys):
    bad = tmp_path / "last.safetensors"
    bad.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all")
    for argv, flag in ((["train", "--resume", str(bad)], "--resume"), (["evaluate", "--checkpoint", str(bad)], "--checkpoint")):
        with pytest.raises(SystemExit) as info:
            main(argv)
        assert info.value.code == 2
        err = capsys.readouterr().err
        assert f"{flag}: checkpoint '{bad}' is corrupted or not a safetensors file" in err


def _run(args, **kw):
    env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE")
    return subprocess.run([sys.executable, "-m", "firstepoch"] + args, capture_output=True, text=True, env=env,
                          timeout=300, **kw)


def test_python_m_firstepoch_train_writes_the_reports_then_evaluate(tmp_path):
    out = tmp_path / "run"
    r = _run(["train", "--model", "mlp", "--epochs", "1", "--threads", "1", "--out", str(out)])
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].startswith("mlp on mnist-embedded: 8000 train / 1000 val / 1000 test")
    assert lines[1].startswith("epoch 1/1  train loss")
    assert lines[2].startswith("test loss") and "test accuracy" in lines[2]
    assert "it/s" not in r.stderr and "batch/s" not in r.stderr  # not a terminal: no progress bar
    assert sorted(os.listdir(out)) == ["checkpoints", "confusion.png", "curves.png", "metrics.csv", "metrics.json"]
    acc = json.load(open(out / "metrics.json"))["test"]["test_acc"]
    assert acc > 0.9
    r = _run(["evaluate", "--checkpoint", str(out / "checkpoints" / "last.safetensors")])
    assert r.returncode == 0, r.stderr
    assert f"accuracy {acc:.2%}" in r.stdout and "test (1000 images)" in r.stdout
    # --resume continues the saved run: an option that contradicts it is a usage error
    r = _run(["train", "--resume", "--out", str(out), "--epochs", "2"])
    assert r.returncode == 2 and "--epochs 2 (checkpoint: 1)" in r.stderr


def test_a_run_killed_mid_epoch_resumes_to_the_same_weights(tmp_path):
    args = ["train", "--model", "lenet", "--epochs", "2", "--batch-size", "128", "--checkpoint-every", "5",
            "--threads", "1", "--quiet"]
    whole = tmp_path / "whole"
    assert _run(args + ["--out", str(whole)]).returncode == 0

    killed = tmp_path / "killed"
    last = killed / "checkpoints" / "last.safetensors"
    env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE")
    proc = subprocess.Popen([sys.executable, "-m", "firstepoch"] + args + ["--out", str(killed)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        deadline = time.time() + 120
        while not last.exists() and time.time() < deadline and proc.poll() is None:
            time.sleep(0.005)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the run finished before it could be killed"
    progress = json.loads(load_safetensors(last)[1]["progress"])
    assert progress["epoch"] < 2  # killed during training

    r = _run(["train", "--resume", "--out", str(killed), "--threads", "1", "--quiet"])
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[1].startswith("resuming ")
    a, _ = load_safetensors(whole / "checkpoints" / "last.safetensors")
    b, _ = load_safetensors(last)
    assert list(a) == list(b)
    for k in a:
        assert np.array_equal(a[k], b[k]), k
    ha = json.load(open(whole / "metrics.json"))
    hb = json.load(open(killed / "metrics.json"))
    strip = lambda rows: [{k: v for k, v in r.items() if k != "time_s"} for r in rows]  # noqa: E731
    assert strip(ha["history"]) == strip(hb["history"]) and ha["test"] == hb["test"]


def test_info(capsys):
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("firstepoch ") and "isa: " in out and "threads: " in out and "kernels:" in out


def test_lab_arguments_pass_through(capsys):
    pytest.importorskip("firstepoch.lab")
    assert main(["lab", "--list"]) == 0
    assert "gates" in capsys.readouterr().out


def test_console_script_is_declared():
    root = os.path.join(os.path.dirname(__file__), "..")
    text = open(os.path.join(root, "pyproject.toml")).read()
    assert 'firstepoch = "firstepoch.cli:main"' in text


def test_dataset_path_parquet_and_imagefolder(tmp_path, capsys):
    pytest.importorskip("datasets")
    Image = pytest.importorskip("PIL.Image")
    pa = pytest.importorskip("pyarrow")
    import io

    import pyarrow.parquet as pq

    from firstepoch.datasets import mnist
    x, y = mnist("val")
    x, y = x[:60], y[:60]

    def png(a):
        buf = io.BytesIO()
        Image.fromarray(a).save(buf, format="PNG")
        return buf.getvalue()
    parquet = tmp_path / "digits.parquet"
    pq.write_table(pa.table({"image": [{"bytes": png(a), "path": None} for a in x], "label": y}), str(parquet))
    folder = tmp_path / "imagefolder"
    for i, (a, label) in enumerate(zip(x, y)):
        (folder / str(label)).mkdir(parents=True, exist_ok=True)
        Image.fromarray(a).save(folder / str(label) / f"{i}.png")
    for source in (parquet, folder):
        assert main(["train", "--dataset", str(source), "--model", "mlp", "--epochs", "1", "--quiet"]) == 0
        out = capsys.readouterr().out
        assert f"mlp on {source}: 48 train / 6 val / 6 test" in out and "test accuracy" in out


def test_hub_dataset_without_the_extra_is_a_usage_error(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "datasets", None)  # import datasets -> ImportError
    with pytest.raises(SystemExit) as info:
        main(["train", "--dataset", "ylecun/mnist"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "--dataset ylecun/mnist: mnist: loading through Hugging Face needs the optional extra: pip install '.[hf]'" in err
