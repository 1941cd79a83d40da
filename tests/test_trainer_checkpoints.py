"""Trainer checkpoints under stress: best.safetensors survives a kill at any point of a run; malformed
metadata (config, progress, rng, optimizer, scheduler, tensor names) is a CheckpointError everywhere it is
read, the CLI included, and a refused checkpoint changes nothing; a run cleans the temporaries that a
killed write left in its folders."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from firstepoch import io as fio
from firstepoch.cli import main as cli_main
from firstepoch.io import CheckpointError, load_safetensors, save_safetensors
from firstepoch.trainer import Trainer, checkpoint_config, read_checkpoint

QUIET = dict(quiet=True, log=lambda line: None)


# ---- 2. the best checkpoint survives any kill point ----------------------------------------------------

VAL_ACC = [0.5, 0.3, 0.6, 0.4, 0.55]  # a best, a worse one, a new best, then worse ones (one above the first)


class Killed(BaseException):
    pass


def _scripted(trainer):
    real = trainer.evaluate

    def evaluate(x, y, batch=500):
        loss, _, preds = real(x, y, batch)
        return loss, VAL_ACC[trainer.epoch], preds
    trainer.evaluate = evaluate
    return trainer


def _best_record(path):
    tensors, meta = read_checkpoint(path)
    return json.loads(meta["progress"]), {k: v for k, v in tensors.items() if k.startswith("model.")}


def _kill_run(tmp_path, tiny_train_val, monkeypatch, kill_at, after, every):
    """Runs to the end, killing the run once at write number `kill_at` (before or after the write), then
    resuming from `last` (or from scratch when there is none) as a user would. Returns the trainer, the
    folder, the number of writes and the validation accuracy of every model written to best."""
    config = dict(model="mlp", epochs=len(VAL_ACC), batch_size=32, seed=4, checkpoint_every=every)
    out = tmp_path / f"kill{every}-{kill_at}{'after' if after else 'before'}"
    real = fio.save_safetensors
    count, best_writes = [0], []

    def save(tensors, path, metadata=None):
        count[0] += 1
        if count[0] == kill_at and not after:
            raise Killed
        real(tensors, path, metadata)
        if os.path.basename(path) == "best.safetensors":
            best_writes.append(VAL_ACC[json.loads(metadata["progress"])["epoch"] - 1])
        if count[0] == kill_at and after:
            raise Killed
    monkeypatch.setattr(fio, "save_safetensors", save)
    t = _scripted(Trainer.from_config(config, data=tiny_train_val, out_dir=str(out), **QUIET))
    try:
        t.fit()
    except Killed:
        t = _scripted(Trainer.from_config(config, data=tiny_train_val, out_dir=str(out), **QUIET))
        last = out / "checkpoints" / "last.safetensors"
        if last.exists():
            t.load_checkpoint(last)
        t.fit()
    monkeypatch.setattr(fio, "save_safetensors", real)
    return t, out, count[0], best_writes


@pytest.mark.parametrize("every", [0, 1])  # epoch ends only; also mid-epoch (2 steps per epoch)
def test_best_checkpoint_survives_every_kill_point(tmp_path, tiny_train_val, one_thread, monkeypatch, every):
    whole, out, writes, _ = _kill_run(tmp_path, tiny_train_val, monkeypatch, 0, False, every)
    assert whole.best_val_acc == max(VAL_ACC)
    best_progress, best_weights = _best_record(out / "checkpoints" / "best.safetensors")
    assert best_progress["epoch"] == 1 + VAL_ACC.index(max(VAL_ACC)) and best_progress["best_val_acc"] == max(VAL_ACC)
    assert writes >= len(VAL_ACC) + 2
    for kill_at in range(1, writes + 1):
        for after in (False, True):
            t, out, total, best_writes = _kill_run(tmp_path, tiny_train_val, monkeypatch, kill_at, after, every)
            assert total >= kill_at  # the kill happened
            assert best_writes == sorted(best_writes), (kill_at, after, best_writes)  # never a worse model
            assert t.best_val_acc == max(VAL_ACC), (kill_at, after)
            progress, weights = _best_record(out / "checkpoints" / "best.safetensors")
            assert progress["epoch"] == best_progress["epoch"], (kill_at, after)
            for k, v in best_weights.items():
                assert np.array_equal(weights[k], v), (kill_at, after, k)
            last_progress, _ = _best_record(out / "checkpoints" / "last.safetensors")
            assert last_progress["best_val_acc"] == max(VAL_ACC)


def test_epoch_end_checkpoint_records_that_epochs_accuracy_as_best(tmp_path, tiny_train_val, monkeypatch):
    config = dict(model="mlp", epochs=2, batch_size=32, checkpoint_every=0)
    t = _scripted(Trainer.from_config(config, data=tiny_train_val, out_dir=str(tmp_path), **QUIET))
    t.fit(max_steps=2)  # stops at the end of epoch 1, as a kill right after it would
    progress, _ = _best_record(tmp_path / "checkpoints" / "last.safetensors")
    assert progress["best_val_acc"] == VAL_ACC[0]
    resumed = _scripted(Trainer.from_config(config, data=tiny_train_val, out_dir=str(tmp_path), **QUIET))
    resumed.load_checkpoint(tmp_path / "checkpoints" / "last.safetensors")
    assert resumed.best_val_acc == VAL_ACC[0]
    resumed.fit()  # epoch 2 scores 0.3: best.safetensors must keep epoch 1
    assert _best_record(tmp_path / "checkpoints" / "best.safetensors")[0]["epoch"] == 1


# ---- 5. the trainer's metadata --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def run_checkpoint(tmp_path_factory, tiny_train_val):
    out = tmp_path_factory.mktemp("run")
    t = Trainer.from_config(dict(model="mlp", optimizer="adam", epochs=1, batch_size=32), data=tiny_train_val,
                            out_dir=str(out), **QUIET)
    t.fit(max_steps=1)
    return out / "checkpoints" / "last.safetensors"


def _edit(src, dst, tensors=None, **meta_edits):
    got, meta = load_safetensors(src)
    for k, v in meta_edits.items():
        if v is None:
            meta.pop(k, None)
        else:
            meta[k] = v if isinstance(v, str) else json.dumps(v)
    got.update(tensors or {})
    save_safetensors(got, dst, meta)
    return dst


def _good_meta(src, key):
    return json.loads(load_safetensors(src)[1][key])


BAD_META = {
    "config missing": dict(config=None),
    "config not JSON": dict(config="{"),
    "config a list": dict(config=[1]),
    "config deeply nested": dict(config="[" * 100000 + "]" * 100000),
    "config without model": lambda g: dict(config={k: v for k, v in g("config").items() if k != "model"}),
    "config unknown model": lambda g: dict(config=dict(g("config"), model="vgg")),
    "config epochs a string": lambda g: dict(config=dict(g("config"), epochs="3")),
    "config epochs a bool": lambda g: dict(config=dict(g("config"), epochs=True)),
    "config batch size 0": lambda g: dict(config=dict(g("config"), batch_size=0)),
    "config lr NaN": lambda g: dict(config=dict(g("config"), lr=float("nan"))),
    "config unknown key": lambda g: dict(config=dict(g("config"), colour="red")),
    "config dataset null": lambda g: dict(config=dict(g("config"), dataset=None)),
    "progress missing": dict(progress=None),
    "progress a number": dict(progress=3),
    "progress epoch negative": lambda g: dict(progress=dict(g("progress"), epoch=-1)),
    "progress epoch a float": lambda g: dict(progress=dict(g("progress"), epoch=1.5)),
    "progress sums short": lambda g: dict(progress=dict(g("progress"), sums=[1.0])),
    "progress history a dict": lambda g: dict(progress=dict(g("progress"), history={})),
    "progress best a string": lambda g: dict(progress=dict(g("progress"), best_val_acc="0.5")),
    "progress without global_step": lambda g: dict(progress={k: v for k, v in g("progress").items()
                                                             if k != "global_step"}),
    "rng a string": dict(rng="PCG64"),
    "rng of another generator": lambda g: dict(rng=dict(g("rng"), bit_generator="MT19937")),
    "rng state a string": lambda g: dict(rng=dict(g("rng"), state="x")),
    "optimizer a list": dict(optimizer=[]),
    "optimizer without type": lambda g: dict(optimizer={k: v for k, v in g("optimizer").items() if k != "type"}),
    "optimizer groups not a list": lambda g: dict(optimizer=dict(g("optimizer"), param_groups=5)),
    "optimizer groups hold a number": lambda g: dict(optimizer=dict(g("optimizer"), param_groups=[5])),
    "optimizer scalars a list": lambda g: dict(optimizer=dict(g("optimizer"), scalars=[])),
    "optimizer scalars non-int index": lambda g: dict(optimizer=dict(g("optimizer"), scalars={"x": {"step": 1}})),
    "optimizer scalar of no parameter": lambda g: dict(optimizer=dict(g("optimizer"), scalars={"99": {"step": 1}})),
    "optimizer lr a string": lambda g: dict(optimizer=dict(g("optimizer"), param_groups=[
        dict(g("optimizer")["param_groups"][0], lr="fast")])),
    "scheduler a string": dict(scheduler="x"),
    "scheduler a bool": dict(scheduler=True),
    "kind missing": dict(kind=None),
}
BAD_TENSORS = {
    "optimizer tensor with a non-int index": {"optimizer.x.exp_avg": np.zeros(3, np.float32)},
    "optimizer tensor without a name": {"optimizer.0": np.zeros(3, np.float32)},
    "optimizer tensor of no parameter": {"optimizer.99.exp_avg": np.zeros(3, np.float32)},
    "optimizer tensor of the wrong shape": {"optimizer.0.exp_avg": np.zeros(3, np.float32)},
}


# what only the run's model and optimizer can tell (read_checkpoint alone cannot)
NEEDS_THE_RUN = {"optimizer scalar of no parameter", "optimizer lr a string", "optimizer tensor of no parameter",
                 "optimizer tensor of the wrong shape"}


def _bad_checkpoint(run_checkpoint, tmp_path, case):
    dst = tmp_path / "bad.safetensors"
    if case in BAD_TENSORS:
        return _edit(run_checkpoint, dst, tensors=BAD_TENSORS[case])
    edits = BAD_META[case]
    if callable(edits):
        edits = edits(lambda key: _good_meta(run_checkpoint, key))
    return _edit(run_checkpoint, dst, **edits)


@pytest.mark.parametrize("case", sorted(BAD_META) + sorted(BAD_TENSORS))
def test_bad_trainer_metadata_is_a_checkpoint_error(tmp_path, tiny_train_val, run_checkpoint, case):
    path = _bad_checkpoint(run_checkpoint, tmp_path, case)
    t = Trainer.from_config(dict(model="mlp", optimizer="adam", epochs=1, batch_size=32), data=tiny_train_val, **QUIET)
    before = {k: v.copy() for k, v in t.model.state_dict().items()}
    readers = [t.load_checkpoint] if case in NEEDS_THE_RUN else [read_checkpoint, checkpoint_config, t.load_checkpoint]
    for read in readers:
        with pytest.raises(CheckpointError, match="bad.safetensors"):
            read(path)
    for k, v in t.model.state_dict().items():  # a refused checkpoint leaves the model as it was
        np.testing.assert_array_equal(v, before[k])


@pytest.mark.parametrize("case", ["config missing", "config not JSON", "config without model",
                                  "config unknown model", "config dataset null", "progress a number"])
def test_evaluate_and_resume_of_bad_metadata_are_usage_errors(tmp_path, run_checkpoint, capsys, case):
    path = _bad_checkpoint(run_checkpoint, tmp_path, case)
    for argv, flag in ((["evaluate", "--checkpoint", str(path)], "--checkpoint"),
                       (["train", "--resume", str(path)], "--resume")):
        with pytest.raises(SystemExit) as info:
            cli_main(argv)
        assert info.value.code == 2
        err = capsys.readouterr().err
        assert f"{flag}: checkpoint '{path}'" in err and "Traceback" not in err, err


def test_the_good_checkpoint_passes_the_metadata_checks(tiny_train_val, run_checkpoint):
    config = checkpoint_config(run_checkpoint)
    assert config["model"] == "mlp" and config["optimizer"] == "adam"
    t = Trainer.from_config(config, data=tiny_train_val, **QUIET)
    t.load_checkpoint(run_checkpoint)
    assert t.global_step == 1


# ---- 6. temporaries of a killed run --------------------------------------------------------------------

def test_stale_temporaries_of_the_run_are_removed_at_start(tmp_path, tiny_train_val):
    ck = tmp_path / "checkpoints"
    ck.mkdir()
    stale = [ck / ".last.safetensors.k3j_x9a.tmp", ck / ".best.safetensors.abcdefgh.tmp",
             tmp_path / ".metrics.json.q1w2e3r4.tmp"]
    keep = [ck / "notes.tmp", ck / ".other.safetensors.x.tmp", tmp_path / ".last.safetensors.abc.tmp",
            ck / "last.safetensors.abc.tmp", ck / "mine.txt"]
    for p in stale + keep:
        p.write_bytes(b"x")
    Trainer.from_config(dict(model="mlp", epochs=1), data=tiny_train_val, out_dir=str(tmp_path), **QUIET)
    assert [p.name for p in stale if p.exists()] == []
    assert [p.name for p in keep if not p.exists()] == []


def test_a_write_killed_by_sigkill_leaves_a_temporary_the_next_run_removes(tmp_path, tiny_train_val):
    ck = tmp_path / "checkpoints"
    path = ck / "last.safetensors"
    code = ("import os, signal; from firstepoch.io import atomic_write\n"
            "def chunks():\n    yield b'x' * 4096\n    os.kill(os.getpid(), signal.SIGKILL)\n"
            f"atomic_write({str(path)!r}, chunks())\n")
    rc = subprocess.run([sys.executable, "-c", code]).returncode
    assert rc == -9
    assert [n for n in os.listdir(ck) if n.endswith(".tmp")]  # what a kill leaves behind
    Trainer.from_config(dict(model="mlp", epochs=1), data=tiny_train_val, out_dir=str(tmp_path), **QUIET)
    assert os.listdir(ck) == []
