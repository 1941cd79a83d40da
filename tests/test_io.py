"""Checkpoint files: the safetensors format written by hand (and checked against the safetensors package
both ways), atomic writes that survive a crash mid-write, and a clear CheckpointError for every broken,
foreign or mismatched file."""
import json
import math
import os
import struct
import subprocess
import sys

import numpy as np
import pytest

import firstepoch as fe
import firstepoch.nn as nn
from firstepoch.io import CheckpointError, atomic_write, load_safetensors, save_safetensors

ARRAYS = {
    "w": np.arange(12, dtype=np.float32).reshape(3, 4) / 7,
    "b": np.array([-1.5, 2.25], dtype=np.float64),
    "idx": np.array([[1, -2], [3, 4]], dtype=np.int64),
    "mask": np.array([True, False, True]),
    "empty": np.zeros((0, 5), dtype=np.float32),
    "u8": np.arange(7, dtype=np.uint8),
}


def test_roundtrip_dtypes_shapes_metadata(tmp_path):
    path = tmp_path / "a.safetensors"
    save_safetensors(ARRAYS, path, {"note": "hello", "n": "3"})
    got, meta = load_safetensors(path)
    assert meta == {"note": "hello", "n": "3"}
    assert list(got) == list(ARRAYS)
    for k, v in ARRAYS.items():
        assert got[k].dtype == v.dtype and got[k].shape == v.shape
        np.testing.assert_array_equal(got[k], v)
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
    assert n % 8 == 0  # data 8-byte aligned


def test_files_interoperate_with_the_safetensors_package(tmp_path):
    st = pytest.importorskip("safetensors.numpy")
    ours = tmp_path / "ours.safetensors"
    save_safetensors(ARRAYS, ours, {"k": "v"})
    theirs_view = st.load_file(str(ours))
    for k, v in ARRAYS.items():
        np.testing.assert_array_equal(theirs_view[k], v)
        assert theirs_view[k].dtype == v.dtype
    theirs = tmp_path / "theirs.safetensors"
    st.save_file(ARRAYS, str(theirs), metadata={"made_by": "safetensors"})
    got, meta = load_safetensors(theirs)
    assert meta == {"made_by": "safetensors"}
    for k, v in ARRAYS.items():
        np.testing.assert_array_equal(got[k], v)
        assert got[k].dtype == v.dtype and got[k].shape == v.shape


def test_save_load_module_roundtrip(tmp_path):
    fe.manual_seed(0)
    model = fe.models.LeNet5()
    path = tmp_path / "lenet.safetensors"
    fe.save(model, path)
    fe.manual_seed(1)
    other = fe.models.LeNet5()
    first = next(iter(model.state_dict()))
    assert not np.array_equal(other.state_dict()[first], model.state_dict()[first])
    assert fe.load(path, other) is other
    x = fe.tensor(np.random.default_rng(0).normal(size=(2, 1, 28, 28)).astype(np.float32))
    model.eval(), other.eval()
    np.testing.assert_array_equal(model(x)._data, other(x)._data)
    assert set(fe.load(path)) == set(model.state_dict())


def test_bad_arguments_to_save():
    with pytest.raises(TypeError, match=r"obj\[1\] is a object.*no pickle"):
        fe.save([1, object()], "/tmp/never")
    with pytest.raises(TypeError, match="tensor 'x'.*dtype object"):
        save_safetensors({"x": np.array([None])}, "/tmp/never")
    with pytest.raises(TypeError, match="metadata must map str to str"):
        save_safetensors({"x": np.zeros(1)}, "/tmp/never", {"k": 1})


def test_save_and_load_take_binary_file_objects_as_torch(tmp_path):
    """torch.save(obj, f) and torch.load(f) take file objects (io.BytesIO, open files); so do fe.save and
    fe.load, writing and reading at the object's position (a path argument had been required)."""
    import io
    fe.manual_seed(0)
    model = nn.Linear(3, 2)
    buf = io.BytesIO()
    fe.save({"model": model.state_dict(), "epoch": 4}, buf)
    buf.seek(0)
    ck = fe.load(buf, map_location="cpu")
    assert ck["epoch"] == 4 and not buf.closed
    np.testing.assert_array_equal(ck["model"]["weight"], model.weight.data.numpy())
    buf = io.BytesIO()
    fe.save(model, buf)
    buf.seek(0)
    other = fe.load(buf, nn.Linear(3, 2))
    np.testing.assert_array_equal(other.bias.data.numpy(), model.bias.data.numpy())
    path = tmp_path / "f.bin"
    with open(path, "wb") as f:
        f.write(b"ab")  # something before: the checkpoint starts at the file's position
        fe.save(model.state_dict(), f)
    with open(path, "rb") as f:
        f.read(2)
        assert list(fe.load(f)) == ["weight", "bias"]
    with open(path, "r") as f, pytest.raises(TypeError, match="text mode"):
        fe.load(f)
    with pytest.raises(CheckpointError, match="'<BytesIO>' is truncated"):
        fe.load(io.BytesIO(b"abc"))


# ---- atomic writes -----------------------------------------------------------------------------------

def _model_file(tmp_path, seed):
    fe.manual_seed(seed)
    model = nn.Linear(4, 3)
    path = tmp_path / "last.safetensors"
    fe.save(model, path)
    return model, path


def test_crash_mid_write_leaves_the_previous_checkpoint(tmp_path):
    old, path = _model_file(tmp_path, 0)
    before = path.read_bytes()

    def chunks():
        yield b"\x00" * 100  # a partial file...
        raise KeyboardInterrupt  # ...then the crash
    with pytest.raises(KeyboardInterrupt):
        atomic_write(path, chunks())
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["last.safetensors"]  # the temporary file is gone too
    fresh = nn.Linear(4, 3)
    fe.load(path, fresh)
    np.testing.assert_array_equal(fresh.weight._data, old.weight._data)


def test_process_killed_mid_write_leaves_the_previous_checkpoint(tmp_path):
    old, path = _model_file(tmp_path, 0)
    # a real crash: the process ends (no cleanup, no exception handlers) half-way through writing
    code = ("import os, sys; from firstepoch.io import atomic_write\n"
            "def chunks():\n    yield b'x' * 4096\n    os._exit(9)\n"
            f"atomic_write({str(path)!r}, chunks())\n")
    rc = subprocess.run([sys.executable, "-c", code]).returncode
    assert rc == 9
    fresh = nn.Linear(4, 3)
    fe.load(path, fresh)
    np.testing.assert_array_equal(fresh.weight._data, old.weight._data)


# ---- broken, foreign and mismatched files -----------------------------------------------------------

def _good_bytes(tmp_path):
    path = tmp_path / "good.safetensors"
    save_safetensors({"a": np.arange(6, dtype=np.float32), "b": np.ones((2, 2), np.float64)}, path, {"k": "v"})
    return path.read_bytes()


def _with_header(header, data=b""):
    blob = json.dumps(header).encode()
    return struct.pack("<Q", len(blob)) + blob + data


CORRUPT = {
    "empty file": (lambda good: b"", "truncated.*0 bytes"),
    "shorter than the length field": (lambda good: good[:5], "truncated.*5 bytes"),
    "header cut": (lambda good: good[:20], "truncated: the header needs"),
    "data cut": (lambda good: good[:-3], "truncated: tensor 'b' ends at byte"),
    "trailing bytes": (lambda good: good + b"\x00" * 4, "4 bytes after the last tensor"),
    "huge header length": (lambda good: struct.pack("<Q", 2 ** 62) + good[8:], "header length field says"),
    "garbage header": (lambda good: good[:8] + b"\xff" * (len(good) - 8), "header is not JSON"),
    "foreign file (PNG)": (lambda good: b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "not a safetensors file"),
    "header is a list": (lambda good: _with_header([1, 2]), "JSON list, not an object"),
    "entry without offsets": (lambda good: _with_header({"a": {"dtype": "F32", "shape": [1]}}),
                              "lacks dtype, shape or data_offsets"),
    "unknown dtype": (lambda good: _with_header({"a": {"dtype": "BF16", "shape": [1], "data_offsets": [0, 2]}},
                                                b"\x00\x00"), "dtype 'BF16'"),
    "shape does not match bytes": (lambda good: _with_header({"a": {"dtype": "F32", "shape": [3],
                                                                   "data_offsets": [0, 8]}}, b"\x00" * 8),
                                   "needs 12 bytes, its offsets span 8"),
    "overlapping tensors": (lambda good: _with_header({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                                                       "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}},
                                                      b"\x00" * 12), "overlapping or a gap"),
    "negative shape": (lambda good: _with_header({"a": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}},
                                                 b"\x00" * 4), "has shape \\[-1\\]"),
    "metadata not strings": (lambda good: _with_header({"__metadata__": {"k": 1}}), "__metadata__ must map"),
}


@pytest.mark.parametrize("case", sorted(CORRUPT))
def test_corrupted_files_raise_checkpoint_error(tmp_path, case):
    make, message = CORRUPT[case]
    path = tmp_path / "bad.safetensors"
    path.write_bytes(make(_good_bytes(tmp_path)))
    with pytest.raises(CheckpointError, match=message) as info:
        load_safetensors(path)
    assert str(path) in str(info.value)
    with pytest.raises(CheckpointError):
        fe.load(path, nn.Linear(2, 2))


def test_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        fe.load(tmp_path / "nope.safetensors")


def test_checkpoint_of_another_model_is_refused(tmp_path):
    path = tmp_path / "lenet.safetensors"
    fe.save(fe.models.LeNet5(), path)
    with pytest.raises(CheckpointError, match="holds a LeNet5, not a Sequential"):
        fe.load(path, fe.models.mlp())


def test_mismatched_shapes_and_names_are_refused(tmp_path):
    path = tmp_path / "lin.safetensors"
    fe.save(nn.Linear(4, 3), path)
    target = nn.Linear(4, 5)
    before = target.weight._data.copy()
    with pytest.raises(CheckpointError, match=r"size mismatch for weight: copying a param with shape \(3, 4\) from "
                                              r"checkpoint, the shape in current model is \(5, 4\)"):
        fe.load(path, target)
    np.testing.assert_array_equal(target.weight._data, before)  # nothing half-loaded
    with pytest.raises(CheckpointError, match='Unexpected key\\(s\\) in state_dict: "bias"'):
        fe.load(path, nn.Linear(4, 3, bias=False))
    save_safetensors({"weight": np.zeros((3, 4), np.float64), "bias": np.zeros(3, np.float64)}, path)
    with pytest.raises(CheckpointError, match="'weight' has dtype float64"):
        fe.load(path, nn.Linear(4, 3))


# ---- torch.save-style checkpoints: dicts, lists and numbers around the arrays --------------------------

def _trained(seed=0):
    fe.manual_seed(seed)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    opt = fe.optim.Adam(model.parameters(), lr=1e-2)
    sched = fe.optim.lr_scheduler.StepLR(opt, 2)
    for _ in range(2):
        opt.zero_grad()
        model(fe.randn(5, 3)).sum().backward()
        opt.step()
        sched.step()
    return model, opt, sched


def test_a_training_checkpoint_round_trips(tmp_path):
    # the PyTorch idiom: torch.save({"model": ..., "optimizer": ..., "epoch": ...}, path); it raised TypeError
    model, opt, sched = _trained()
    path = tmp_path / "ckpt.pt"
    ckpt = {"epoch": 7, "model_state_dict": model.state_dict(), "optimizer_state_dict": opt.state_dict(),
            "scheduler": sched.state_dict(), "loss": fe.tensor(0.25), "best": float("inf"), "nan": float("nan"),
            "history": [1.5, (2, "two")], "note": None, "flag": True, "ids": {3: "three", (1, 2): [0]}}
    fe.save(ckpt, path)
    back = fe.load(path)
    assert back["epoch"] == 7 and back["best"] == float("inf") and math.isnan(back["nan"])
    assert back["history"] == [1.5, (2, "two")] and back["note"] is None and back["flag"] is True
    assert back["ids"] == {3: "three", (1, 2): [0]} and float(back["loss"]) == 0.25
    assert back["optimizer_state_dict"]["param_groups"][0]["betas"] == (0.9, 0.999)
    assert set(back["optimizer_state_dict"]["state"]) == {0, 1, 2, 3}
    other, opt2, sched2 = _trained(seed=1)
    other.load_state_dict(back["model_state_dict"])
    opt2.load_state_dict(back["optimizer_state_dict"])
    sched2.load_state_dict(back["scheduler"])
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(other.state_dict()[k], v)
    np.testing.assert_array_equal(opt2.state[next(iter(other.parameters()))]["exp_avg"],
                                  opt.state[next(iter(model.parameters()))]["exp_avg"])
    assert sched2.last_epoch == sched.last_epoch == 2
    # the tensors are named by their place, so other safetensors readers see what they are
    names = set(load_safetensors(path)[0])
    assert "model_state_dict.0.weight" in names and "optimizer_state_dict.state.0.exp_avg" in names
    with pytest.raises(CheckpointError, match="load it without module="):
        fe.load(path, model)


def test_a_saved_object_refuses_what_it_cannot_hold(tmp_path):
    model, _, _ = _trained()
    with pytest.raises(TypeError, match=r"obj\['model'\] is a Sequential module: save its state_dict"):
        fe.save({"model": model}, tmp_path / "x")
    with pytest.raises(TypeError, match=r"obj\['fn'\] is a function"):
        fe.save({"fn": lambda: 0}, tmp_path / "x")
    with pytest.raises(ValueError, match="reserved"):
        fe.save([1], tmp_path / "x", metadata={"firstepoch.structure": "[]"})
    assert not any(tmp_path.iterdir())
    # a flat dict of arrays stays a plain safetensors file (no structure record)
    fe.save({"w": np.ones(2, np.float32)}, tmp_path / "flat")
    assert "firstepoch.structure" not in load_safetensors(tmp_path / "flat")[1]
    assert list(fe.load(tmp_path / "flat")) == ["w"]


@pytest.mark.parametrize("structure, match", [
    ('{"tensor": "missing"}', "does not hold"),
    ('{"pickle": "x"}', "never writes"),
    ('{"float": "1e999"}', "never writes"),
    ('[' * 70 + ']' * 70, "nested"),
    ('{"items": [[[1], 2]]}', "dict key"),
    ('not json', "not JSON"),
])
def test_a_damaged_structure_record_is_refused(tmp_path, structure, match):
    path = tmp_path / "bad"
    save_safetensors({"a": np.zeros(1)}, path, {"format": "firstepoch", "firstepoch.structure": structure})
    with pytest.raises(CheckpointError, match=match):
        fe.load(path)
