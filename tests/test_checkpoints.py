"""Checkpoint files under stress: every tensor rank and every CLI model round-trips through save/load and
resume; flipped bits, lying headers, device files and malformed headers are CheckpointErrors (never a raw
exception, a hang or an unbounded read); the umask is never touched. (The trainer's side:
test_trainer_checkpoints.py.)"""
import json
import os
import stat
import struct
import subprocess
import sys
import tracemalloc

import numpy as np
import pytest

import firstepoch as fe
import firstepoch.nn as nn
from firstepoch import io as fio
from firstepoch.cli import main as cli_main
from firstepoch.io import CheckpointError, atomic_write, load_safetensors, save_safetensors
from firstepoch.models import NAMES
from firstepoch.trainer import Trainer

QUIET = dict(quiet=True, log=lambda line: None)


def _header(path):
    raw = open(path, "rb").read()
    (n,) = struct.unpack("<Q", raw[:8])
    return json.loads(raw[8:8 + n]), 8 + n


def _write(path, header, data=b""):
    blob = json.dumps(header).encode() if not isinstance(header, bytes) else header
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(blob)) + blob + data)


# ---- 1. every rank and every model round-trips -------------------------------------------------------

RANKS = {f"rank{r}_{np.dtype(dt).name}": np.asarray(np.arange(int(np.prod(shape)), dtype=dt).reshape(shape) % 3)
         for r, shape in enumerate([(), (5,), (2, 3), (2, 1, 3), (1, 2, 3, 2)])
         for dt in (np.float32, np.float64, np.int64, np.uint8)}
RANKS["rank0_bool"] = np.array(True)
RANKS["rank2_empty"] = np.zeros((3, 0), np.float32)
RANKS["rank4_empty"] = np.zeros((2, 0, 1, 4), np.int32)


def test_every_rank_round_trips_with_its_shape(tmp_path):
    path = tmp_path / "ranks.safetensors"
    save_safetensors(RANKS, path)
    header, _ = _header(path)
    assert header["rank0_float32"]["shape"] == []  # a 0-d array is written as shape [], as safetensors says
    got, _ = load_safetensors(path)
    assert list(got) == list(RANKS)
    for k, v in RANKS.items():
        assert got[k].shape == v.shape and got[k].dtype == v.dtype, k
        np.testing.assert_array_equal(got[k], v)


def test_zero_d_arrays_interoperate_with_the_safetensors_package(tmp_path):
    st = pytest.importorskip("safetensors.numpy")
    ours = tmp_path / "ours.safetensors"
    save_safetensors(RANKS, ours)
    theirs = st.load_file(str(ours))
    for k, v in RANKS.items():
        assert theirs[k].shape == v.shape, k
    path = tmp_path / "theirs.safetensors"
    st.save_file({"scalar": np.array(7, np.int64), "v": np.ones(3, np.float32)}, str(path))
    got, meta = load_safetensors(path)
    assert got["scalar"].shape == () and got["scalar"] == 7 and meta == {}


# The zoo's big siblings (VGG-16, ResNet-34) take the same code paths as VGG-11 and ResNet-18 at several
# times the cost. The bitwise resume runs five fits per model: it covers the original four (batch norm
# buffers in resnet-small, the LSTM's state) and not the zoo, whose ResNet-18 alone took 52 s on 2 cores.
ROUND_TRIP_NAMES = [n for n in NAMES if n not in ("vgg16", "vgg16_bn", "resnet34")]
RESUME_NAMES = ["mlp", "lenet", "resnet-small", "lstm"]


def _trained(name, data, steps=2):
    t = Trainer.from_config(dict(model=name, epochs=1, batch_size=32, seed=1), data=data, **QUIET)
    t.fit(max_steps=steps)
    return t.model


@pytest.mark.parametrize("name", ROUND_TRIP_NAMES)
def test_every_cli_model_round_trips_through_save_and_load(tmp_path, tiny_train_val, name):
    model = _trained(name, tiny_train_val)  # running statistics and num_batches_tracked have moved off their defaults
    path = tmp_path / f"{name}.safetensors"
    fe.save(model, path)
    fe.manual_seed(99)
    fresh = fe.models.create(name)
    assert fe.load(path, fresh) is fresh
    want, got = model.state_dict(), fresh.state_dict()
    assert list(got) == list(want)
    for k in want:
        assert got[k].shape == want[k].shape and got[k].dtype == want[k].dtype, k
        np.testing.assert_array_equal(got[k], want[k], err_msg=k)
    model.eval(), fresh.eval()
    x = fe.tensor(tiny_train_val["val"][0][:4])
    np.testing.assert_array_equal(model(x)._data, fresh(x)._data)


def _snapshot(trainer):
    weights = {k: v.copy() for k, v in trainer.model.state_dict().items()}
    opt = trainer.optimizer.state_dict()["state"]
    history = [{k: v for k, v in row.items() if k != "time_s"} for row in trainer.history]
    return weights, opt, history, trainer.best_val_acc


@pytest.mark.parametrize("name", RESUME_NAMES)
def test_cli_models_resume_bitwise(tmp_path, tiny_train_val, one_thread, name):
    config = dict(model=name, epochs=2, batch_size=32, seed=2, checkpoint_every=0)  # 2 steps per epoch
    whole = Trainer.from_config(config, data=tiny_train_val, **QUIET)
    whole.fit()
    expected = _snapshot(whole)
    for stop in (1, 2, 3):  # mid-epoch, an epoch end, mid-epoch of the last epoch
        out = tmp_path / f"stop{stop}"
        first = Trainer.from_config(config, data=tiny_train_val, out_dir=str(out), **QUIET)
        first.fit(max_steps=stop)
        fe.manual_seed(777)
        second = Trainer.from_config(config, data=tiny_train_val, out_dir=str(out), **QUIET)
        second.load_checkpoint(out / "checkpoints" / "last.safetensors")
        second.fit()
        got = _snapshot(second)
        for k in expected[0]:
            assert got[0][k].shape == expected[0][k].shape and np.array_equal(got[0][k], expected[0][k]), (stop, k)
        for idx, st in expected[1].items():
            for k, v in st.items():
                assert np.array_equal(got[1][idx][k], v), (stop, idx, k)
        assert got[2:] == expected[2:], stop


def test_evaluate_reads_a_batchnorm_checkpoint(tmp_path, tiny_train_val, capsys):
    out = tmp_path / "R"
    t = Trainer.from_config(dict(model="resnet-small", epochs=1, batch_size=32), data=tiny_train_val, out_dir=str(out), **QUIET)
    t.fit()
    assert cli_main(["evaluate", "--checkpoint", str(out / "checkpoints" / "best.safetensors"),
                     "--split", "val"]) == 0
    assert "resnet-small from" in capsys.readouterr().out


# ---- 3. checksums --------------------------------------------------------------------------------------

def _saved(tmp_path, metadata=None):
    path = tmp_path / "w.safetensors"
    arrays = {"alpha": np.linspace(0, 1, 40, dtype=np.float32).reshape(5, 8),
              "beta": np.arange(9, dtype=np.int64), "gamma": np.array(2.5, np.float64)}
    save_safetensors(arrays, path, metadata or {"note": "x"})
    return path, arrays


@pytest.mark.parametrize("name", ["alpha", "beta", "gamma"])
@pytest.mark.parametrize("bit", [0, 7, 13])
def test_a_flipped_bit_in_a_tensor_is_an_error_naming_it(tmp_path, name, bit):
    path, _ = _saved(tmp_path)
    header, start = _header(path)
    begin, end = header[name]["data_offsets"]
    raw = bytearray(path.read_bytes())
    pos = start + begin + (bit // 8) % (end - begin)
    raw[pos] ^= 1 << (bit % 8)
    path.write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match=f"tensor '{name}'.*checksum") as info:
        load_safetensors(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("edit", ["shape", "dtype", "metadata"])
def test_a_header_edit_that_still_parses_is_an_error(tmp_path, edit):
    path, _ = _saved(tmp_path)
    raw = path.read_bytes()
    old, new = {"shape": (b"[5,8]", b"[8,5]"), "dtype": (b'"I64"', b'"U64"'),
                "metadata": (b'"note":"x"', b'"note":"y"')}[edit]
    assert raw.count(old) == 1
    path.write_bytes(raw.replace(old, new))
    with pytest.raises(CheckpointError, match="header checksum"):
        load_safetensors(path)


def test_files_without_checksums_still_load(tmp_path):
    path = tmp_path / "plain.safetensors"
    _write(path, {"__metadata__": {"who": "another tool"}, "w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}},
           np.array([1.5, -2], np.float32).tobytes())
    got, meta = load_safetensors(path)
    assert meta == {"who": "another tool"}
    np.testing.assert_array_equal(got["w"], [1.5, -2])
    lin = nn.Linear(3, 2)
    save_safetensors(lin.state_dict(), path)
    header, start = _header(path)
    del header["__metadata__"]  # our file with its checksums stripped
    raw = path.read_bytes()
    _write(path, header, raw[start:])
    fe.load(path, nn.Linear(3, 2))


def test_the_checksum_record_is_plain_safetensors_metadata(tmp_path):
    st = pytest.importorskip("safetensors")
    path, arrays = _saved(tmp_path)
    with st.safe_open(str(path), framework="numpy") as f:
        meta = f.metadata()
        assert meta["note"] == "x" and any(k.startswith("firstepoch.") for k in meta)
        for k, v in arrays.items():
            np.testing.assert_array_equal(f.get_tensor(k), v)
    assert load_safetensors(path)[1] == {"note": "x"}  # the record is checked, then hidden


def test_a_checksum_record_that_misses_a_tensor_is_an_error(tmp_path):
    path, _ = _saved(tmp_path)
    header, start = _header(path)
    raw = path.read_bytes()
    key = next(k for k in header["__metadata__"] if k.startswith("firstepoch."))
    record = json.loads(header["__metadata__"][key])
    record["tensors"].pop("beta")
    header["__metadata__"][key] = json.dumps(record)
    _write(path, header, raw[start:])
    with pytest.raises(CheckpointError, match="beta"):
        load_safetensors(path)


def test_reserved_metadata_key_is_refused():
    with pytest.raises(ValueError, match="reserved"):
        save_safetensors({"x": np.zeros(1)}, "/tmp/never", {fio.CHECKSUM_KEY: "1"})


def test_evaluate_of_a_bit_flipped_checkpoint_is_a_usage_error(tmp_path, tiny_train_val, capsys):
    t = Trainer.from_config(dict(model="mlp", epochs=1, batch_size=32), data=tiny_train_val, out_dir=str(tmp_path), **QUIET)
    t.fit(max_steps=1)
    path = tmp_path / "checkpoints" / "last.safetensors"
    header, start = _header(path)
    raw = bytearray(path.read_bytes())
    raw[start + header["model.1.weight"]["data_offsets"][0] + 101] ^= 0x40
    path.write_bytes(bytes(raw))
    with pytest.raises(SystemExit) as info:
        cli_main(["evaluate", "--checkpoint", str(path)])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "tensor 'model.1.weight'" in err and "checksum" in err and "Traceback" not in err


# ---- 4. sizes are checked against the file ------------------------------------------------------------

@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero")
def test_dev_zero_is_refused():
    with pytest.raises(CheckpointError, match="not a regular file"):
        load_safetensors("/dev/zero")


def test_a_folder_is_refused(tmp_path):
    with pytest.raises(CheckpointError, match="not a regular file"):
        load_safetensors(tmp_path)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs")
def test_a_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "pipe.safetensors"
    os.mkfifo(fifo)
    code = ("from firstepoch.io import load_safetensors, CheckpointError\n"
            f"try:\n    load_safetensors({str(fifo)!r})\nexcept CheckpointError as e:\n    print('refused', e)\n")
    # opening a FIFO for reading waits for a writer: a hang here is the defect (the timeout is only a guard)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert "refused" in r.stdout and "not a regular file" in r.stdout, r.stdout + r.stderr


@pytest.mark.parametrize("shape, offsets", [
    ([2 ** 40], [0, 2 ** 42]),               # a huge tensor in a small file
    ([2 ** 32, 2 ** 32], [0, 0]),            # wraps an int64 product to 0
    ([2 ** 62, 4], [0, 0]),
    ([2 ** 64], [0, 2 ** 66]),               # beyond int64
    ([2 ** 62, 0], [0, 0]),                  # empty, yet too big for np.empty
    ([2 ** 64, 0], [0, 0]),
    ([2 ** 40, 2 ** 40, 0], [0, 0]),
    ([1] * 70, [0, 4]),                      # more dimensions than NumPy allows
])
def test_claimed_sizes_are_checked_before_anything_is_allocated(tmp_path, shape, offsets):
    path = tmp_path / "liar.safetensors"
    _write(path, {"a": {"dtype": "F32", "shape": shape, "data_offsets": offsets}}, b"\x00" * 16)
    tracemalloc.start()
    try:
        with pytest.raises(CheckpointError):
            load_safetensors(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20


def test_loading_holds_each_tensor_once(tmp_path):
    path = tmp_path / "big.safetensors"
    big = np.arange(4 << 20, dtype=np.float32)  # 16 MiB
    save_safetensors({"big": big, "small": np.ones(3)}, path)
    tracemalloc.start()
    try:
        got, _ = load_safetensors(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    np.testing.assert_array_equal(got["big"], big)
    assert peak < big.nbytes + (1 << 20), peak  # the array itself, not the file bytes and a copy


# ---- 5. malformed headers -------------------------------------------------------------------------------

def _entry(**kw):
    e = {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}
    e.update(kw)
    return e


MALFORMED = {
    "shape is a string": {"a": _entry(shape="22")},
    "shape is a dict": {"a": _entry(shape={"0": 2})},
    "shape is an int": {"a": _entry(shape=2)},
    "shape holds a bool": {"a": _entry(shape=[True, 2], data_offsets=[0, 8])},
    "shape holds a float": {"a": _entry(shape=[2.0])},
    "shape holds null": {"a": _entry(shape=[None])},
    "negative dim": {"a": _entry(shape=[-2])},
    "offsets hold bools": {"a": _entry(shape=[], data_offsets=[False, True])},
    "offsets hold floats": {"a": _entry(data_offsets=[0.0, 8.0])},
    "three offsets": {"a": _entry(data_offsets=[0, 4, 8])},
    "offsets a dict": {"a": _entry(data_offsets={"0": 0, "1": 8})},
    "offsets null": {"a": _entry(data_offsets=None)},
    "negative offsets": {"a": _entry(data_offsets=[-8, 0])},
    "reversed offsets": {"a": _entry(data_offsets=[8, 0])},
    "huge offsets": {"a": _entry(data_offsets=[2 ** 70, 2 ** 70 + 8])},
    "dtype a list": {"a": _entry(dtype=["F32"])},
    "dtype a dict": {"a": _entry(dtype={})},
    "dtype null": {"a": _entry(dtype=None)},
    "entry a list": {"a": ["F32", [2], [0, 8]]},
    "entry a string": {"a": "F32"},
    "entry null": {"a": None},
    "metadata a list": {"__metadata__": ["k", "v"], "a": _entry()},
    "metadata holds a dict": {"__metadata__": {"k": {"v": 1}}, "a": _entry()},
    "metadata holds null": {"__metadata__": {"k": None}, "a": _entry()},
    "metadata a string": {"__metadata__": "k=v", "a": _entry()},
    "checksum record not JSON": {"__metadata__": {"firstepoch.checksums": "{"}, "a": _entry()},
    "checksum record a list": {"__metadata__": {"firstepoch.checksums": "[1]"}, "a": _entry()},
    "checksum record holds ints": {"__metadata__": {"firstepoch.checksums": '{"algorithm": "crc32", "header": 1, '
                                                                          '"tensors": {"a": 1}}'}, "a": _entry()},
    "checksum record unknown algorithm": {"__metadata__": {"firstepoch.checksums": '{"algorithm": "md5", '
                                                           '"header": "0", "tensors": {}}'}, "a": _entry()},
    "checksum record nested deep": {"__metadata__": {"firstepoch.checksums": "[" * 100000 + "]" * 100000},
                                    "a": _entry()},
}
RAW_HEADERS = {
    "deeply nested JSON": b"[" * 100000 + b"]" * 100000,
    "deeply nested entry": b'{"a":' + b"[" * 100000 + b"]" * 100000 + b"}",
    "NaN in a shape": b'{"a":{"dtype":"F32","shape":[NaN],"data_offsets":[0,8]}}',
    "Infinity as an offset": b'{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,Infinity]}}',
    "a 5000-digit number": b'{"a":{"dtype":"F32","shape":[' + b"9" * 5000 + b'],"data_offsets":[0,8]}}',
    "a duplicated name": b'{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},'
                         b'"a":{"dtype":"F32","shape":[0],"data_offsets":[8,8]}}',
    "not UTF-8": b'{"\xff":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}',
    "a lone surrogate name": b'{"\\ud800":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}',
}


@pytest.mark.parametrize("case", sorted(MALFORMED) + sorted(RAW_HEADERS))
def test_malformed_headers_are_checkpoint_errors(tmp_path, case):
    path = tmp_path / "bad.safetensors"
    header = MALFORMED.get(case, RAW_HEADERS.get(case))
    _write(path, header, b"\x00" * 8)
    with pytest.raises(CheckpointError) as info:
        load_safetensors(path)
    assert str(path) in str(info.value)
    with pytest.raises(CheckpointError):
        fe.load(path, nn.Linear(2, 2))


def test_bool_bytes_other_than_0_and_1_are_refused(tmp_path):
    path = tmp_path / "b.safetensors"
    _write(path, {"m": {"dtype": "BOOL", "shape": [3], "data_offsets": [0, 3]}}, b"\x00\x01\x07")
    with pytest.raises(CheckpointError, match="tensor 'm'.*BOOL"):
        load_safetensors(path)


def test_header_fuzz_only_checkpoint_errors_escape(tmp_path):
    hyp = pytest.importorskip("hypothesis")
    st = hyp.strategies
    path, _ = _saved(tmp_path)
    good = path.read_bytes()
    header, start = _header(path)
    json_value = st.recursive(st.none() | st.booleans() | st.integers(-2 ** 70, 2 ** 70) | st.floats()
                              | st.text(max_size=5), lambda inner: st.lists(inner, max_size=3)
                              | st.dictionaries(st.text(max_size=5), inner, max_size=3), max_leaves=8)
    target = tmp_path / "fuzz.safetensors"

    def check(blob):
        target.write_bytes(blob)
        try:
            load_safetensors(target)
        except CheckpointError:
            pass

    @hyp.settings(max_examples=300, deadline=None, database=None)
    @hyp.given(st.sampled_from(["alpha", "beta", "gamma", "__metadata__"]),
               st.sampled_from(["dtype", "shape", "data_offsets", None, "note", fio.CHECKSUM_KEY]), json_value,
               st.booleans())
    @hyp.example("__metadata__", fio.CHECKSUM_KEY, "", True)  # a checksum record that is no JSON at all
    @hyp.example("__metadata__", fio.CHECKSUM_KEY, "[1]", True)  # JSON, but not an object
    def mutate_field(name, field, value, reencode):
        h = json.loads(json.dumps(header))
        if field is None or (name == "__metadata__") != (field in ("note", fio.CHECKSUM_KEY)):
            h[name] = value
        else:
            h[name][field] = value
        blob = json.dumps(h).encode()
        meta = h.get("__metadata__")
        record = meta.get(fio.CHECKSUM_KEY) if reencode and isinstance(meta, dict) else None
        try:  # the mutation may have made the record itself a string that is not a JSON object
            record = json.loads(record) if isinstance(record, str) else None
        except ValueError:
            record = None
        if isinstance(record, dict):  # make the header checksum match the mutation,
            record["header"] = fio._header_checksum(h)  # to reach the checks behind it
            meta[fio.CHECKSUM_KEY] = json.dumps(record)
            blob = json.dumps(h).encode()
        check(struct.pack("<Q", len(blob)) + blob + good[start:])

    @hyp.settings(max_examples=300, deadline=None, database=None)
    @hyp.given(st.integers(0, len(good) - 1), st.integers(1, 255), st.integers(0, len(good)))
    def mutate_bytes(pos, xor, cut):
        raw = bytearray(good)
        raw[pos] ^= xor
        check(bytes(raw[:cut]) if cut < len(good) // 2 else bytes(raw))

    mutate_field()
    mutate_bytes()


# ---- 6. the umask --------------------------------------------------------------------------------------

@pytest.mark.skipif(os.name != "posix", reason="POSIX modes")
@pytest.mark.parametrize("mask", [0o022, 0o077, 0o002, 0o000])
def test_written_files_get_the_umask_mode_without_touching_the_umask(tmp_path, monkeypatch, mask):
    old = os.umask(mask)
    try:
        calls = []
        monkeypatch.setattr(os, "umask", lambda m: calls.append(m) or mask)
        atomic_write(tmp_path / "f.bin", [b"abc"])
        save_safetensors({"x": np.zeros(2)}, tmp_path / "x.safetensors")
        assert calls == []  # another thread's files never see a zero umask
    finally:
        monkeypatch.undo()
        os.umask(old)
    for name in ("f.bin", "x.safetensors"):
        assert stat.S_IMODE(os.stat(tmp_path / name).st_mode) == 0o666 & ~mask, name
