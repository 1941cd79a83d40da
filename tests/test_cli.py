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

from conftest import default_sigint


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


def _run(args, env=None, **kw):
    env = dict(os.environ if env is None else env, OMP_WAIT_POLICY="PASSIVE")
    return subprocess.run([sys.executable, "-m", "firstepoch"] + args, capture_output=True, text=True, env=env,
                          timeout=300, **kw)


def test_python_m_firstepoch_train_writes_the_reports_then_evaluate(tmp_path):
    out = tmp_path / "run"
    r = _run(["train", "--model", "mlp", "--epochs", "1", "--threads", "1", "--out", str(out)])
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].startswith("mlp on mnist-embedded: 8000 train / 1000 val / 1000 test")
    assert lines[1] == f"writing checkpoints and reports to {out}"
    assert lines[2].startswith("epoch 1/1  train loss")
    assert lines[3].startswith("test loss") and "test accuracy" in lines[3]
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
    assert r.stdout.splitlines()[2].startswith("resuming ")
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


def test_dataset_path_parquet_and_imagefolder(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # the runs/ folders land here
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


# ---- where a run's files go: a new default folder, named at the start and the end -------------------------

FAST = ["--model", "mlp", "--epochs", "1", "--quiet"]


def test_train_without_out_writes_a_new_run_folder_and_says_so(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "runs" / "mlp-4").mkdir(parents=True)  # an earlier run: never overwritten, numbering goes on
    for expected in ("mlp-5", "mlp-6"):
        assert main(["train"] + FAST) == 0
        out = capsys.readouterr().out
        run = os.path.join("runs", expected)
        assert f"writing checkpoints and reports to {run}\n" in out
        assert f"reports in {run}: " in out.splitlines()[-1]  # named again at the end
        assert sorted(os.listdir(run)) == ["checkpoints", "confusion.png", "curves.png", "metrics.csv",
                                           "metrics.json"]
    assert os.listdir(tmp_path / "runs" / "mlp-4") == []
    assert main(["train", "--model", "lenet", "--epochs", "1", "--quiet", "--batch-size", "4000"]) == 0
    assert "writing checkpoints and reports to " + os.path.join("runs", "lenet-1") in capsys.readouterr().out


def test_no_capture_trains_eagerly_to_the_same_numbers(tmp_path, monkeypatch):
    from firstepoch.train import loop
    made = []
    real = loop.Trainer.__init__

    def spy(self, *args, **kwargs):
        real(self, *args, **kwargs)
        made.append(self)
    monkeypatch.setattr(loop.Trainer, "__init__", spy)
    rows = {}
    for flag in ([], ["--no-capture"]):
        out = tmp_path / (flag[0][2:] if flag else "captured")
        assert main(["train"] + FAST + ["--threads", "1", "--out", str(out)] + flag) == 0
        with open(out / "metrics.json") as f:
            rows[bool(flag)] = [{k: v for k, v in r.items() if k != "time_s"} for r in json.load(f)["history"]]
    assert rows[False] == rows[True]
    assert made[0]._step.replays > 0 and not hasattr(made[1]._step, "replays")


def _interrupt_at_step(monkeypatch, step):
    from firstepoch.trainer import Trainer
    real = Trainer._train_step

    def step_or_ctrl_c(self, epoch, b, idx):
        if self.global_step + 1 == step:
            raise KeyboardInterrupt
        return real(self, epoch, b, idx)
    monkeypatch.setattr(Trainer, "_train_step", step_or_ctrl_c)


def test_ctrl_c_names_the_resume_command_only_when_a_checkpoint_exists(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    _interrupt_at_step(monkeypatch, 3)  # before the first checkpoint (every 5 steps)
    assert main(["train", "--checkpoint-every", "5"] + FAST) == 130
    err = capsys.readouterr().err
    assert "no checkpoint was written yet" in err and "--resume" not in err and "Traceback" not in err
    monkeypatch.undo()
    monkeypatch.chdir(tmp_path)
    _interrupt_at_step(monkeypatch, 8)
    assert main(["train", "--checkpoint-every", "5"] + FAST) == 130
    err = capsys.readouterr().err
    run = os.path.join("runs", "mlp-2")
    assert f"firstepoch train --out {run} --resume" in err, err
    monkeypatch.undo()
    monkeypatch.chdir(tmp_path)
    assert main(["train", "--out", run, "--resume", "--quiet"]) == 0  # the advice works
    assert "resuming " in capsys.readouterr().out


def test_ctrl_c_during_data_loading(tmp_path, monkeypatch, capsys):
    import firstepoch.cli

    def ctrl_c(dataset):
        raise KeyboardInterrupt
    monkeypatch.setattr(firstepoch.cli, "load_splits", ctrl_c)
    assert main(["train", "--out", str(tmp_path / "run")] + FAST) == 130
    err = capsys.readouterr().err
    assert "interrupted" in err and "--resume" not in err and "Traceback" not in err


def test_real_ctrl_c_in_a_subprocess_prints_a_resume_command_that_works(tmp_path):
    out = tmp_path / "run"
    last = out / "checkpoints" / "last.safetensors"
    env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE")
    proc = subprocess.Popen([sys.executable, "-m", "firstepoch", "train", "--model", "lenet", "--epochs", "1",
                             "--checkpoint-every", "5", "--threads", "1", "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            preexec_fn=default_sigint)
    try:
        deadline = time.time() + 120
        while not last.exists() and time.time() < deadline and proc.poll() is None:
            time.sleep(0.005)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert "Traceback" not in err and f"firstepoch train --out {out} --resume" in err, err
    r = _run(["train", "--out", str(out), "--resume", "--threads", "1"])
    assert r.returncode == 0 and "resuming " in r.stdout, r.stderr


# ---- a bad --out is a usage error before training; a failed write mid-run is one line ---------------------

def _no_training(monkeypatch):
    from firstepoch.trainer import Trainer

    def fit(self, max_steps=None):
        raise AssertionError("training started")
    monkeypatch.setattr(Trainer, "fit", fit)


@pytest.mark.parametrize("kind", ["an existing file", "below a file", "unwritable"])
def test_bad_out_is_a_usage_error_before_training(tmp_path, monkeypatch, capsys, kind):
    _no_training(monkeypatch)
    (tmp_path / "afile").write_text("x")
    out = {"an existing file": tmp_path / "afile", "below a file": tmp_path / "afile" / "run",
           "unwritable": "/sys/firstepoch-run"}[kind]
    with pytest.raises(SystemExit) as info:
        main(["train", "--out", str(out)] + FAST)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert f"--out {out}: " in err and "Traceback" not in err, err
    if kind == "an existing file":
        assert "is a file, not a folder" in err


def test_read_only_out_is_a_usage_error(tmp_path, monkeypatch, capsys):
    if os.geteuid() == 0:
        pytest.skip("root writes into read-only folders")
    _no_training(monkeypatch)
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        with pytest.raises(SystemExit) as info:
            main(["train", "--out", str(ro)] + FAST)
    finally:
        ro.chmod(0o700)
    assert info.value.code == 2 and "cannot write" in capsys.readouterr().err


def test_a_failed_write_mid_run_is_a_one_line_error(tmp_path, monkeypatch, capsys):
    import errno

    from firstepoch.trainer import Trainer

    def disk_full(self, path=None):
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "run" / "checkpoints"))
    monkeypatch.setattr(Trainer, "save_checkpoint", disk_full)
    assert main(["train", "--out", str(tmp_path / "run")] + FAST) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "firstepoch train: error: " in err and "No space left on device" in err, err


# ---- a diverging loss and non-finite data are named, without a traceback -----------------------------------

def test_a_diverging_loss_is_a_clear_runtime_error(tmp_path):
    r = _run(["train", "--lr", "1e6", "--out", str(tmp_path / "run"), "--threads", "1"] + FAST)
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
    assert "the loss diverged (became inf/nan) at epoch 1 step " in r.stderr
    assert "; lower --lr (now 1e+06)" in r.stderr


def test_non_finite_data_are_a_usage_error_not_lower_lr(tmp_path, monkeypatch, capsys):
    import firstepoch.cli
    real = firstepoch.cli.load_splits

    def with_nan(dataset):
        data = real(dataset)
        x = data["train"][0].copy()
        x[[3, 10, 11], 0, 5, 5] = [np.nan, np.inf, np.nan]
        return dict(data, train=(x, data["train"][1]))
    monkeypatch.setattr(firstepoch.cli, "load_splits", with_nan)
    _no_training(monkeypatch)
    with pytest.raises(SystemExit) as info:
        main(["train", "--out", str(tmp_path / "run")] + FAST)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "the training data contain non-finite values (3 images)" in err and "lower --lr" not in err, err


# ---- FIRSTEPOCH_ISA: any case; a bad value is one line, exit 2 ---------------------------------------------

def _console_script():
    path = os.path.join(os.path.dirname(sys.executable), "firstepoch")
    return [path] if os.path.exists(path) else None


def test_isa_override_takes_any_case_and_whitespace():
    from firstepoch import cpu_info
    want = cpu_info()["available"][-1]
    r = _run(["info"], env=dict(os.environ, FIRSTEPOCH_ISA=f" {want.upper()}\n"))
    assert r.returncode == 0 and f"isa: {want} " in r.stdout, r.stderr


@pytest.mark.parametrize("how", ["python -m", "console script"])
def test_bad_isa_override_is_one_line_exit_2(how):
    cmd = [sys.executable, "-m", "firstepoch"] if how == "python -m" else _console_script()
    if cmd is None:
        pytest.skip("the console script is not installed beside this python")
    r = subprocess.run(cmd + ["info"], capture_output=True, text=True, timeout=120,
                       env=dict(os.environ, FIRSTEPOCH_ISA="avx3"))
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert r.stderr.count("\n") == 1 and "FIRSTEPOCH_ISA" in r.stderr and "avx3" in r.stderr, r.stderr
    # a library import still raises, with the same clear message
    r = subprocess.run([sys.executable, "-c", "import firstepoch"], capture_output=True, text=True, timeout=120,
                       env=dict(os.environ, FIRSTEPOCH_ISA="avx3"))
    assert r.returncode == 1 and "ImportError: FIRSTEPOCH_ISA" in r.stderr


# ---- the rest of what a user can get wrong: a clear message and exit code, never a traceback ---------------

def _not_a_checkpoint(tmp_path, kind):
    import firstepoch as fe
    if kind == "a folder":
        return tmp_path
    path = tmp_path / f"{kind.replace(' ', '-')}.safetensors"
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "text":
        path.write_text("hello, world\n" * 10)
    else:  # weights only, written by fe.save
        fe.save(fe.nn.Linear(2, 2), str(path))
    return path


@pytest.mark.parametrize("kind", ["a folder", "empty", "text", "weights only"])
@pytest.mark.parametrize("command", ["evaluate --checkpoint", "train --resume"])
def test_not_a_checkpoint_is_a_usage_error(tmp_path, capsys, kind, command):
    path = _not_a_checkpoint(tmp_path, kind)
    with pytest.raises(SystemExit) as info:
        main(command.split() + [str(path), "--out", str(tmp_path / "run")] if command.startswith("train")
             else command.split() + [str(path)])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert f"{command.split()[1]}: " in err and "Traceback" not in err, err


def test_dataset_that_is_not_a_dataset_is_a_usage_error(tmp_path, capsys):
    junk = tmp_path / "notes.txt"
    junk.write_text("not digits\n")
    out = ["--out", str(tmp_path / "run")]
    for argv, message in ((["train", "--dataset", str(junk)] + out, "is not a parquet file"),
                          (["train", "--dataset", str(tmp_path / "missing")] + out, "an existing path")):
        with pytest.raises(SystemExit) as info:
            main(argv + FAST)
        assert info.value.code == 2
        err = capsys.readouterr().err
        assert "--dataset " in err and message in err and "Traceback" not in err, err
    assert not (tmp_path / "run").exists()  # a usage error leaves no run folder behind


def test_stdout_closed_early_is_quiet(tmp_path):
    """`firstepoch train | head -1`: the reader leaves; the run stops without a traceback."""
    env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE")
    proc = subprocess.Popen([sys.executable, "-m", "firstepoch", "train", "--out", str(tmp_path / "run"),
                             "--threads", "1"] + FAST, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    first = proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read().decode()
    proc.wait(timeout=120)
    assert first.startswith(b"mlp on mnist-embedded")
    assert "Traceback" not in err and "BrokenPipeError" not in err and "Exception ignored" not in err, err
    assert proc.returncode == 141


def test_out_of_memory_is_a_one_line_error(tmp_path, monkeypatch, capsys):
    from firstepoch.trainer import Trainer

    def no_memory(self, epoch, b, idx):
        raise MemoryError("Unable to allocate 42.0 GiB")
    monkeypatch.setattr(Trainer, "_train_step", no_memory)
    assert main(["train", "--out", str(tmp_path / "run"), "--batch-size", "4096"] + FAST) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "out of memory" in err and "lower --batch-size (now 4096)" in err, err
