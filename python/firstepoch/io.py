"""Checkpoints without pickle: the safetensors file format, written by hand, and atomic writes.

A safetensors file is an 8-byte little-endian header length N, N bytes of JSON
({name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {str: str}}), then the raw
little-endian bytes of every tensor, offsets counted from the end of the header. Files written here
load with ``safetensors.numpy.load_file`` and the other way round.

Every write goes to a temporary file in the target's folder, is flushed and fsynced, then renamed over
the target (``os.replace`` is atomic on POSIX and Windows): a crash mid-write leaves the previous file.
"""
import json
import os
import struct
import tempfile
from collections import OrderedDict

import numpy as np

# safetensors dtype names <-> NumPy dtypes (little-endian). BF16 has no NumPy dtype: refused with a message.
_DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4", "I16": "<i2", "I8": "i1",
           "U64": "<u8", "U32": "<u4", "U16": "<u2", "U8": "u1", "BOOL": "?"}
_NAMES = {np.dtype(v): k for k, v in _DTYPES.items()}
_MAX_HEADER = 100 * 1024 * 1024  # the reference implementation's limit


def _file_mode():
    """0o666 less the process umask: what open() would give (mkstemp's files are 0o600)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


class CheckpointError(ValueError):
    """A file that is not a valid checkpoint (truncated, corrupted, foreign), or one that does not fit
    the model it is loaded into. The message names the file and the problem."""


# ---- atomic writes ----------------------------------------------------------------------------------

def atomic_write(path, chunks):
    """Writes the byte strings in `chunks` to `path` atomically: temporary file in the same folder, flush,
    fsync, rename into place, fsync the folder. If anything fails the temporary file is removed and any
    previous `path` is untouched."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=folder)
    try:
        os.chmod(tmp, _file_mode())
        with os.fdopen(fd, "wb") as f:
            for chunk in chunks:
                f.write(chunk)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    try:  # make the rename itself durable (not possible on every platform / file system)
        dfd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass


def atomic_write_text(path, text):
    atomic_write(path, [text.encode("utf-8")])


# ---- safetensors -----------------------------------------------------------------------------------

def _as_array(name, value):
    from .tensor import Tensor

    arr = value.data if isinstance(value, Tensor) else value
    if not isinstance(arr, np.ndarray):
        raise TypeError(f"save_safetensors: tensor {name!r} must be a NumPy array or a Tensor, "
                        f"got {type(value).__name__}")
    dt = arr.dtype.newbyteorder("<") if arr.dtype.byteorder == ">" else arr.dtype
    if dt not in _NAMES:
        raise TypeError(f"save_safetensors: tensor {name!r} has dtype {arr.dtype}, which safetensors cannot "
                        f"hold (use one of {sorted(str(np.dtype(v)) for v in _DTYPES.values())})")
    return np.ascontiguousarray(arr, dtype=dt)


def encode_safetensors(tensors, metadata=None):
    """(header bytes, [array bytes...]) for the dict name -> array and the str -> str metadata."""
    if not isinstance(tensors, dict):
        raise TypeError(f"save_safetensors: tensors must be a dict name -> array, got {type(tensors).__name__}")
    header = {}
    if metadata:
        bad = [k for k, v in metadata.items() if not isinstance(k, str) or not isinstance(v, str)]
        if bad:
            raise TypeError(f"save_safetensors: metadata must map str to str; not so for {bad}")
        header["__metadata__"] = dict(metadata)
    arrays = []
    offset = 0
    for name, value in tensors.items():
        if not isinstance(name, str) or name == "__metadata__":
            raise ValueError(f"save_safetensors: tensor names must be strings other than '__metadata__', got {name!r}")
        arr = _as_array(name, value)
        header[name] = {"dtype": _NAMES[arr.dtype], "shape": list(arr.shape),
                        "data_offsets": [offset, offset + arr.nbytes]}
        offset += arr.nbytes
        arrays.append(arr)
    blob = json.dumps(header, separators=(",", ":")).encode("utf-8")
    blob += b" " * (-len(blob) % 8)  # pad with spaces so the data starts 8-byte aligned (as the reference does)
    return struct.pack("<Q", len(blob)) + blob, [a.tobytes() for a in arrays]


def save_safetensors(tensors, path, metadata=None):
    """Writes name -> array (or Tensor) with str -> str metadata to `path`, atomically."""
    head, bodies = encode_safetensors(tensors, metadata)
    atomic_write(path, [head] + bodies)


def load_safetensors(path):
    """(OrderedDict name -> array, metadata dict) from a safetensors file. Every inconsistency (a short
    file, a header that is not JSON, an unknown dtype, offsets outside the data or overlapping, a shape
    that does not match its byte count) raises CheckpointError naming the file and the problem."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"checkpoint {path!r} does not exist")
    with open(path, "rb") as f:
        raw = f.read()
    where = f"checkpoint {path!r}"
    if len(raw) < 8:
        raise CheckpointError(f"{where} is truncated: {len(raw)} bytes, not even the 8-byte header length")
    (n,) = struct.unpack("<Q", raw[:8])
    if n > _MAX_HEADER:
        raise CheckpointError(f"{where} is not a safetensors file: its header length field says {n} bytes")
    if 8 + n > len(raw):
        raise CheckpointError(f"{where} is truncated: the header needs {n} bytes, the file has {len(raw) - 8} "
                              "after the length field")
    try:
        header = json.loads(raw[8:8 + n].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CheckpointError(f"{where} is corrupted or not a safetensors file: its header is not JSON ({e})") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{where} is corrupted: its header is a JSON {type(header).__name__}, not an object")
    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise CheckpointError(f"{where} is corrupted: __metadata__ must map strings to strings")
    data = memoryview(raw)[8 + n:]
    spans = []
    tensors = OrderedDict()
    for name, info in header.items():
        try:
            dtype, shape, (begin, end) = info["dtype"], info["shape"], info["data_offsets"]
        except (TypeError, KeyError, ValueError):
            raise CheckpointError(f"{where} is corrupted: entry {name!r} lacks dtype, shape or data_offsets") from None
        if dtype not in _DTYPES:
            raise CheckpointError(f"{where}: tensor {name!r} has dtype {dtype!r}, which firstepoch cannot read "
                                  f"(known: {sorted(_DTYPES)})")
        if (not isinstance(shape, list) or not all(isinstance(d, int) and d >= 0 for d in shape)
                or not all(isinstance(o, int) for o in (begin, end))):
            raise CheckpointError(f"{where} is corrupted: tensor {name!r} has shape {shape!r} and offsets "
                                  f"{[begin, end]!r}")
        dt = np.dtype(_DTYPES[dtype])
        nbytes = int(np.prod(shape, dtype=np.int64)) * dt.itemsize
        if not 0 <= begin <= end:
            raise CheckpointError(f"{where} is corrupted: tensor {name!r} has offsets {[begin, end]}")
        if end > len(data):
            raise CheckpointError(f"{where} is truncated: tensor {name!r} ends at byte {end} of the data, "
                                  f"which holds {len(data)} bytes")
        if end - begin != nbytes:
            raise CheckpointError(f"{where} is corrupted: tensor {name!r} of shape {tuple(shape)} and dtype "
                                  f"{dtype} needs {nbytes} bytes, its offsets span {end - begin}")
        spans.append((begin, end, name))
        tensors[name] = np.frombuffer(data[begin:end], dtype=dt).reshape(shape).astype(dt.newbyteorder("="))
    spans.sort()
    pos = 0
    for begin, end, name in spans:
        if begin != pos:
            raise CheckpointError(f"{where} is corrupted: tensor {name!r} starts at byte {begin} of the data, "
                                  f"expected {pos} (overlapping or a gap)")
        pos = end
    if pos != len(data):
        raise CheckpointError(f"{where} is corrupted: {len(data) - pos} bytes after the last tensor")
    return tensors, metadata


# ---- modules --------------------------------------------------------------------------------------

FORMAT = "firstepoch"


def save(obj, path, metadata=None):
    """Saves a Module's state_dict (or a dict name -> array) to `path` as safetensors, atomically.
    The metadata records the format and the module's class, so load() can refuse another model's file."""
    from .nn.module import Module

    meta = {"format": FORMAT}
    if isinstance(obj, Module):
        meta["class"] = type(obj).__name__
        tensors = obj.state_dict()
    elif isinstance(obj, dict):
        tensors = obj
    else:
        raise TypeError(f"save: obj must be a Module or a dict name -> array, got {type(obj).__name__}")
    meta.update(metadata or {})
    save_safetensors(tensors, path, meta)


def load(path, module=None, prefix=""):
    """Reads a safetensors file. Without `module`: the dict name -> array. With it: loads the arrays (the
    keys under `prefix`, which is stripped) into the module, checking that the file was saved from the
    same class and that names, shapes and dtypes match; returns the module. A training checkpoint
    (`firstepoch train`'s checkpoints/*.safetensors) loads its model weights (prefix 'model.')."""
    tensors, meta = load_safetensors(path)
    if module is None:
        return tensors
    if not prefix and meta.get("kind") == "firstepoch-checkpoint":
        prefix = "model."
    if prefix:
        tensors = OrderedDict((k[len(prefix):], v) for k, v in tensors.items() if k.startswith(prefix))
    load_into(module, tensors, meta, path)
    return module


def load_into(module, tensors, meta, path):
    saved_class = meta.get("class")
    if saved_class is not None and saved_class != type(module).__name__:
        raise CheckpointError(f"checkpoint {os.fspath(path)!r} holds a {saved_class}, not a "
                              f"{type(module).__name__}")
    try:
        module.load_state_dict(tensors)
    except (KeyError, ValueError, TypeError) as e:
        msg = e.args[0] if e.args else str(e)
        raise CheckpointError(f"checkpoint {os.fspath(path)!r} does not fit this {type(module).__name__}: "
                              f"{msg}") from None
