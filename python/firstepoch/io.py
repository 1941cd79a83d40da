"""Checkpoints without pickle: the safetensors file format, written by hand, and atomic writes.

A safetensors file is an 8-byte little-endian header length N, N bytes of JSON
({name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {str: str}}), then the raw
little-endian bytes of every tensor, offsets counted from the end of the header. Files written here
load with ``safetensors.numpy.load_file`` and the other way round.

Integrity: the metadata entry CHECKSUM_KEY holds (as a JSON string, so the file stays plain safetensors)
a crc32 of every tensor's bytes and one of the header itself; load_safetensors verifies them and names
the tensor that fails. Files of other tools, without the entry, load unverified. Loading trusts nothing
in the file: the header is checked against a schema and every size against the file's real size before
anything is allocated, and each tensor is read straight into its own array.

Every write goes to a temporary file in the target's folder, is flushed and fsynced, then renamed over
the target (``os.replace`` is atomic on POSIX and Windows): a crash mid-write leaves the previous file.
"""
import io
import json
import math
import os
import re
import secrets
import stat
import struct
import sys
import warnings
import zlib
from collections import OrderedDict

import numpy as np

# safetensors dtype names <-> NumPy dtypes (little-endian). BF16 has no NumPy dtype: refused with a message.
_DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4", "I16": "<i2", "I8": "i1",
           "U64": "<u8", "U32": "<u4", "U16": "<u2", "U8": "u1", "BOOL": "?"}
_NAMES = {np.dtype(v): k for k, v in _DTYPES.items()}
_MAX_HEADER = 100 * 1024 * 1024  # the reference implementation's limit
_MAX_RANK = 64  # NumPy 2's limit on dimensions
CHECKSUM_KEY = "firstepoch.checksums"  # reserved metadata key: {"algorithm", "header", "tensors": {name: hex}}
_ALGORITHM = "crc32"  # zlib's: ~2 GB/s, every 1-3 bit error and every burst up to 32 bits is caught


class CheckpointError(ValueError):
    """A file that is not a valid checkpoint (truncated, corrupted, foreign), or one that does not fit
    the model it is loaded into. The message names the file and the problem."""


# ---- atomic writes ----------------------------------------------------------------------------------

def _temporary_pattern(name):
    """The names atomic_write gives the temporaries of folder/name: '.NAME.XXXXXXXX.tmp' (also matches the
    mkstemp names of earlier versions)."""
    return re.compile(r"\." + re.escape(name) + r"\.[A-Za-z0-9_]{1,32}\.tmp\Z")


def _open_temporary(folder, name):
    """(fd, path) of a new file '.NAME.XXXXXXXX.tmp' in `folder`. Created with mode 0o666 so that the kernel
    applies the umask, as open() would; mkstemp's 0o600 would need the umask read back, and os.umask can
    only be read by setting it, which races with every other thread's file creation."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        tmp = os.path.join(folder, f".{name}.{secrets.token_hex(4)}.tmp")
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"atomic_write: no free temporary name for {name!r} in {folder!r}")


def atomic_write(path, chunks):
    """Writes the byte strings (or buffers) in `chunks` to `path` atomically: temporary file in the same
    folder, flush, fsync, rename into place, fsync the folder. If anything fails the temporary file is
    removed and any previous `path` is untouched. (A process killed outright leaves the temporary:
    remove_stale_temporaries clears it.)"""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = _open_temporary(folder, os.path.basename(path))
    try:
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


def remove_stale_temporaries(folder, names):
    """Removes what atomic_write leaves behind when it is killed outright (kill -9, power loss) while
    writing folder/NAME, for each NAME in `names`; returns the removed paths. Only for a folder whose
    files one process writes: another process's write in progress would lose its temporary."""
    patterns = [_temporary_pattern(n) for n in names]
    try:
        entries = os.listdir(folder)
    except (FileNotFoundError, NotADirectoryError):
        return []
    removed = []
    for entry in entries:
        if not any(p.match(entry) for p in patterns):
            continue
        full = os.path.join(folder, entry)
        try:
            if stat.S_ISREG(os.lstat(full).st_mode):
                os.unlink(full)
                removed.append(full)
        except FileNotFoundError:
            pass
    return removed


# ---- safetensors: writing ---------------------------------------------------------------------------

def _as_array(name, value):
    from .tensor import Tensor

    arr = value._data if isinstance(value, Tensor) else value
    if not isinstance(arr, np.ndarray):
        raise TypeError(f"save_safetensors: tensor {name!r} must be a NumPy array or a Tensor, "
                        f"got {type(value).__name__}")
    dt = arr.dtype.newbyteorder("<") if arr.dtype.byteorder == ">" else arr.dtype
    if dt not in _NAMES:
        raise TypeError(f"save_safetensors: tensor {name!r} has dtype {arr.dtype}, which safetensors cannot "
                        f"hold (use one of {sorted(str(np.dtype(v)) for v in _DTYPES.values())})")
    # np.asarray, not np.ascontiguousarray: the latter makes a 0-d array 1-d (shape (1,))
    return np.asarray(arr, dtype=dt, order="C")


def _bytes_of(arr):
    """The array's bytes as a flat uint8 view (no copy; C-contiguous arrays only; 0-d included)."""
    return arr.reshape(-1).view(np.uint8)


def _crc(buf):
    return f"{zlib.crc32(buf) & 0xFFFFFFFF:08x}"


def _header_checksum(header):
    """crc32 of the header in a canonical form (sorted keys, no spaces, ASCII), with '__metadata__' always
    present and without the checksum record itself: covers every name, dtype, shape, offset and metadata
    string."""
    canon = dict(header)
    meta = canon.get("__metadata__")
    if meta is None:
        meta = {}
    if isinstance(meta, dict):
        meta = {k: v for k, v in meta.items() if k != CHECKSUM_KEY}
    canon["__metadata__"] = meta
    return _crc(json.dumps(canon, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii"))


def encode_safetensors(tensors, metadata=None):
    """(header bytes, [array bytes...]) for the dict name -> array and the str -> str metadata, with the
    checksum record (CHECKSUM_KEY) added to the metadata. The byte chunks are views of the arrays."""
    if not isinstance(tensors, dict):
        raise TypeError(f"save_safetensors: tensors must be a dict name -> array, got {type(tensors).__name__}")
    meta = {}
    if metadata:
        bad = [k for k, v in metadata.items() if not isinstance(k, str) or not isinstance(v, str)]
        if bad:
            raise TypeError(f"save_safetensors: metadata must map str to str; not so for {bad}")
        if CHECKSUM_KEY in metadata:
            raise ValueError(f"save_safetensors: metadata key {CHECKSUM_KEY!r} is reserved for the checksums")
        meta = dict(metadata)
    header = {"__metadata__": meta}
    bodies, sums = [], {}
    offset = 0
    for name, value in tensors.items():
        if not isinstance(name, str) or name == "__metadata__":
            raise ValueError(f"save_safetensors: tensor names must be strings other than '__metadata__', got {name!r}")
        arr = _as_array(name, value)
        header[name] = {"dtype": _NAMES[arr.dtype], "shape": list(arr.shape),
                        "data_offsets": [offset, offset + arr.nbytes]}
        offset += arr.nbytes
        body = _bytes_of(arr)
        sums[name] = _crc(body)
        bodies.append(body)
    record = {"algorithm": _ALGORITHM, "header": _header_checksum(header), "tensors": sums}
    meta[CHECKSUM_KEY] = json.dumps(record, separators=(",", ":"))
    blob = json.dumps(header, separators=(",", ":")).encode("utf-8")
    blob += b" " * (-len(blob) % 8)  # pad with spaces so the data starts 8-byte aligned (as the reference does)
    return struct.pack("<Q", len(blob)) + blob, bodies


def _file_name(path):
    """How messages name a checkpoint: its path, or for a file object (io.BytesIO, an open file) its name."""
    if hasattr(path, "read") or hasattr(path, "write"):
        return getattr(path, "name", None) or f"<{type(path).__name__}>"
    return os.fspath(path)


def save_safetensors(tensors, path, metadata=None):
    """Writes name -> array (or Tensor) with str -> str metadata to `path`, atomically, with checksums.
    `path` may also be a binary file object (io.BytesIO, a file opened "wb"), as torch.save takes: the
    bytes are written at its position and flushed, not atomically (there is no file to rename)."""
    head, bodies = encode_safetensors(tensors, metadata)
    if hasattr(path, "write"):
        for chunk in [head] + bodies:
            path.write(chunk)
        if hasattr(path, "flush"):
            path.flush()
        return
    atomic_write(path, [head] + bodies)


# ---- safetensors: reading ---------------------------------------------------------------------------

def _no_duplicates(pairs):
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        dup = sorted({k for k in keys if keys.count(k) > 1})
        raise ValueError(f"duplicated keys {dup}")
    return dict(pairs)


def parse_json(text, what):
    """json.loads for text read from a file: any failure (bad syntax, duplicated keys, a number too long
    to convert, nesting too deep for the parser) is a ValueError naming `what`."""
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates)
    except RecursionError:
        raise ValueError(f"{what} is nested too deeply") from None
    except (ValueError, TypeError) as e:  # JSONDecodeError, UnicodeDecodeError and int-size errors are ValueErrors
        raise ValueError(f"{what} is not JSON ({e})") from None


def _utf8(text):
    try:
        text.encode("utf-8")
        return True
    except UnicodeEncodeError:  # a lone surrogate: JSON can spell it, UTF-8 (and safetensors) cannot
        return False


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _short(value, n=60):
    text = repr(value)
    return text if len(text) <= n else text[:n] + "..."


def _read_exactly(f, buf, where, what):
    view = memoryview(buf)
    got = 0
    while got < len(view):
        n = f.readinto(view[got:])
        if not n:
            raise CheckpointError(f"{where} is truncated: {what} ends after {got} of its {len(view)} bytes "
                                  "(the file shrank while it was read)")
        got += n


def _open_regular(path, where):
    """A binary file object for `path`, refused unless it is a regular file. Opened non-blocking, so a FIFO
    is refused instead of waiting for a writer."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
                     | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise FileNotFoundError(f"{where} does not exist") from None
    except IsADirectoryError:  # Windows cannot open a folder at all
        raise CheckpointError(f"{where} is not a regular file (a folder)") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            kind = ("a folder" if stat.S_ISDIR(st.st_mode) else "a device" if stat.S_ISCHR(st.st_mode)
                    or stat.S_ISBLK(st.st_mode) else "a FIFO" if stat.S_ISFIFO(st.st_mode) else "a socket or other")
            raise CheckpointError(f"{where} is not a regular file ({kind})")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb", buffering=0), st.st_size
    except BaseException:
        os.close(fd)
        raise


def _check_header(header, data_size, where):
    """The header's tensor entries as (name, dtype, shape, begin, end), in file order, after checking
    them against a schema and the data's real size; the metadata dict. Sizes use Python ints."""
    if not isinstance(header, dict):
        raise CheckpointError(f"{where} is corrupted: its header is a JSON {type(header).__name__}, not an object")
    metadata = header.get("__metadata__")
    if metadata is None:
        metadata = {}
    if not isinstance(metadata, dict) or not all(isinstance(v, str) and _utf8(v) and _utf8(k)
                                                 for k, v in metadata.items()):
        raise CheckpointError(f"{where} is corrupted: __metadata__ must map strings to strings")
    entries = []
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if not _utf8(name):
            raise CheckpointError(f"{where} is corrupted: tensor name {name!r} is not valid Unicode")
        if not isinstance(info, dict) or not all(k in info for k in ("dtype", "shape", "data_offsets")):
            raise CheckpointError(f"{where} is corrupted: entry {name!r} lacks dtype, shape or data_offsets")
        dtype, shape, offsets = info["dtype"], info["shape"], info["data_offsets"]
        if not isinstance(dtype, str) or dtype not in _DTYPES:
            raise CheckpointError(f"{where}: tensor {name!r} has dtype {_short(dtype)}, which firstepoch cannot read "
                                  f"(known: {sorted(_DTYPES)})")
        if (not isinstance(shape, list) or not all(_is_int(d) and d >= 0 for d in shape)
                or not isinstance(offsets, list) or len(offsets) != 2
                or not all(_is_int(o) and o >= 0 for o in offsets)):
            raise CheckpointError(f"{where} is corrupted: tensor {name!r} has shape {_short(shape)} and offsets "
                                  f"{_short(offsets)} (expected a list of integers >= 0 and two integers >= 0)")
        begin, end = offsets
        itemsize = np.dtype(_DTYPES[dtype]).itemsize
        nbytes = math.prod(shape) * itemsize  # Python ints: no overflow
        # what NumPy can hold at all (an empty array too: [2**62, 0] is refused by np.empty)
        if len(shape) > _MAX_RANK or math.prod(d for d in shape if d) * itemsize > sys.maxsize:
            raise CheckpointError(f"{where} is corrupted: tensor {name!r} has shape {_short(shape)}, which no "
                                  f"array can have (rank <= {_MAX_RANK}, at most {sys.maxsize} bytes)")
        if begin > end:
            raise CheckpointError(f"{where} is corrupted: tensor {name!r} has offsets {offsets}")
        if end > data_size:
            raise CheckpointError(f"{where} is truncated: tensor {name!r} ends at byte {end} of the data, "
                                  f"which holds {data_size} bytes")
        if end - begin != nbytes:
            raise CheckpointError(f"{where} is corrupted: tensor {name!r} of shape {tuple(shape)} and dtype "
                                  f"{dtype} needs {nbytes} bytes, its offsets span {end - begin}")
        entries.append((name, dtype, tuple(shape), begin, end))
    pos = 0
    for name, _, _, begin, end in sorted(entries, key=lambda e: (e[3], e[4])):
        if begin != pos:
            raise CheckpointError(f"{where} is corrupted: tensor {name!r} starts at byte {begin} of the data, "
                                  f"expected {pos} (overlapping or a gap)")
        pos = end
    if pos != data_size:
        raise CheckpointError(f"{where} is corrupted: {data_size - pos} bytes after the last tensor")
    return entries, metadata


def _checksums(header, metadata, names, where):
    """The tensor checksums of the record in the metadata, after checking the header's own checksum;
    None for a file without a record (written by another tool)."""
    text = metadata.get(CHECKSUM_KEY)
    if text is None:
        return None
    try:
        record = parse_json(text, f"its checksum record ({CHECKSUM_KEY!r})")
    except ValueError as e:
        raise CheckpointError(f"{where} is corrupted: {e}") from None
    sums = record.get("tensors") if isinstance(record, dict) else None
    if (not isinstance(record, dict) or record.get("algorithm") != _ALGORITHM
            or not isinstance(record.get("header"), str) or not isinstance(sums, dict)
            or not all(isinstance(v, str) for v in sums.values())):
        raise CheckpointError(f"{where} is corrupted: its checksum record ({CHECKSUM_KEY!r}) is not "
                              f'{{"algorithm": "{_ALGORITHM}", "header": hex, "tensors": {{name: hex}}}}')
    if _header_checksum(header) != record["header"]:
        raise CheckpointError(f"{where} is corrupted: the header checksum does not match (a name, dtype, "
                              "shape, offset or metadata string was changed)")
    if set(sums) != set(names):
        odd = sorted(set(sums) ^ set(names))
        raise CheckpointError(f"{where} is corrupted: the checksum record and the header disagree on the "
                              f"tensors {odd}")
    return sums


def load_safetensors(path):
    """(OrderedDict name -> array, metadata dict) from a safetensors file. Every inconsistency (not a
    regular file, a short file, a header that is not JSON or does not follow the schema, an unknown
    dtype, offsets outside the data or overlapping, a shape that does not match its byte count, a
    checksum that fails) raises CheckpointError naming the file and the problem. Sizes are checked
    against the file's size before anything is allocated; each tensor is read into its own array."""
    if hasattr(path, "read"):  # a binary file object, as torch.load takes: read from its position on
        where = f"checkpoint {_file_name(path)!r}"
        if isinstance(path, io.TextIOBase):
            raise TypeError(f"load: {where} is open in text mode; open it with 'rb'")
        data = path.read()
        if not isinstance(data, (bytes, bytearray)):
            raise TypeError(f"load: {where} must be opened in binary mode (its read() gave {type(data).__name__})")
        f, size = io.BytesIO(data), len(data)
    else:
        path = os.fspath(path)
        where = f"checkpoint {path!r}"
        f, size = _open_regular(path, where)
    with f:
        if size < 8:
            raise CheckpointError(f"{where} is truncated: {size} bytes, not even the 8-byte header length")
        head = bytearray(8)
        _read_exactly(f, head, where, "the header length")
        (n,) = struct.unpack("<Q", head)
        if n > _MAX_HEADER:
            raise CheckpointError(f"{where} is not a safetensors file: its header length field says {n} bytes")
        if 8 + n > size:
            raise CheckpointError(f"{where} is truncated: the header needs {n} bytes, the file has {size - 8} "
                                  "after the length field")
        blob = bytearray(n)
        _read_exactly(f, blob, where, "the header")
        try:
            header = parse_json(blob.decode("utf-8"), "its header")
        except UnicodeDecodeError as e:
            raise CheckpointError(f"{where} is corrupted or not a safetensors file: its header is not JSON "
                                  f"({e})") from None
        except ValueError as e:
            raise CheckpointError(f"{where} is corrupted or not a safetensors file: {e}") from None
        del blob
        entries, metadata = _check_header(header, size - 8 - n, where)
        sums = _checksums(header, metadata, [e[0] for e in entries], where)
        tensors = {}
        for name, dtype, shape, begin, end in sorted(entries, key=lambda e: (e[3], e[4])):  # file order
            dt = np.dtype(_DTYPES[dtype])
            try:
                arr = np.empty(shape, dtype=dt)
            except ValueError as e:  # a limit of this NumPy that the header check does not know
                raise CheckpointError(f"{where}: tensor {name!r} of shape {_short(shape)} cannot be held "
                                      f"by NumPy ({e})") from None
            buf = _bytes_of(arr)
            f.seek(8 + n + begin)
            _read_exactly(f, buf, where, f"tensor {name!r}")
            if sums is not None and _crc(buf) != sums[name]:
                raise CheckpointError(f"{where} is corrupted: tensor {name!r} fails its checksum ({_ALGORITHM} "
                                      f"{_crc(buf)}, recorded {sums[name]}): its bytes were changed")
            if dtype == "BOOL" and buf.size and buf.max() > 1:
                raise CheckpointError(f"{where} is corrupted: tensor {name!r} of dtype BOOL holds bytes other "
                                      "than 0 and 1")
            tensors[name] = arr if dt.isnative else arr.astype(dt.newbyteorder("="))
    metadata = {k: v for k, v in metadata.items() if k != CHECKSUM_KEY}
    return OrderedDict((e[0], tensors[e[0]]) for e in entries), metadata


# ---- modules --------------------------------------------------------------------------------------

FORMAT = "firstepoch"
STRUCTURE_KEY = "firstepoch.structure"  # metadata: the JSON skeleton of a saved object that is not a flat dict
_MAX_DEPTH = 64


# ---- objects of dicts, lists, numbers and arrays (torch.save's checkpoints) -------------------------
# torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": 3}, path) pickles the
# object. Here its arrays (and Tensors) become the file's tensors, named by their path ("model.fc.weight",
# "optimizer.state.0.exp_avg"), and the rest is a JSON skeleton in the metadata (STRUCTURE_KEY) with each
# array replaced by {"tensor": name}. The skeleton's nodes: null, true/false, strings and finite numbers as
# themselves; a list as a list; {"tuple": [...]}, {"dict": {str: node}}, {"items": [[key, node], ...]} for
# a dict with keys other than strings, {"float": "nan" | "inf" | "-inf"}, {"tensor": name}. Anything else
# (a Module, a function, an object) is refused: there is no pickle.

def _plain_tensors(obj):
    """Whether obj is a flat dict str -> array/Tensor (written as a plain safetensors file)."""
    from .tensor import Tensor
    return isinstance(obj, dict) and all(isinstance(k, str) and isinstance(v, (np.ndarray, Tensor))
                                         for k, v in obj.items())


def _encode(obj, path, tensors, depth):
    from .nn.module import Module
    from .tensor import Tensor

    where = "obj" + "".join(f"[{p!r}]" for p in path)
    if depth > _MAX_DEPTH:
        raise ValueError(f"save: {where} is nested more than {_MAX_DEPTH} deep")
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, (np.bool_,)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        v = float(obj)
        return v if math.isfinite(v) else {"float": "nan" if v != v else ("inf" if v > 0 else "-inf")}
    if isinstance(obj, (np.ndarray, Tensor)):
        name = ".".join(str(p) for p in path) or "tensor"
        if name in tensors or name == "__metadata__":
            k = 1
            while f"{name}#{k}" in tensors:
                k += 1
            name = f"{name}#{k}"
        tensors[name] = obj
        return {"tensor": name}
    if isinstance(obj, tuple):
        return {"tuple": [_encode(v, path + (i,), tensors, depth + 1) for i, v in enumerate(obj)]}
    if isinstance(obj, list):
        return [_encode(v, path + (i,), tensors, depth + 1) for i, v in enumerate(obj)]
    if isinstance(obj, dict):
        if all(isinstance(k, str) for k in obj):
            return {"dict": {k: _encode(v, path + (k,), tensors, depth + 1) for k, v in obj.items()}}
        items = []
        for k, v in obj.items():
            if isinstance(k, (np.ndarray, Tensor, list, dict)):
                raise TypeError(f"save: {where} has a key of type {type(k).__name__}, which cannot be saved")
            items.append([_encode(k, path, {}, depth + 1), _encode(v, path + (k,), tensors, depth + 1)])
        return {"items": items}
    if isinstance(obj, Module):
        raise TypeError(f"save: {where} is a {type(obj).__name__} module: save its state_dict() (firstepoch "
                        "writes no pickled objects)")
    raise TypeError(f"save: {where} is a {type(obj).__name__}; firstepoch saves dicts, lists, tuples, numbers, "
                    "strings, None, arrays and Tensors (no pickle)")


def _decode(node, tensors, where, depth=0):
    if depth > _MAX_DEPTH:
        raise CheckpointError(f"{where}: its structure is nested more than {_MAX_DEPTH} deep")
    if node is None or isinstance(node, (bool, str, int, float)):
        return node
    if isinstance(node, list):
        return [_decode(v, tensors, where, depth + 1) for v in node]
    if isinstance(node, dict) and len(node) == 1:
        (kind, body), = node.items()
        if kind == "tensor" and isinstance(body, str):
            if body not in tensors:
                raise CheckpointError(f"{where}: its structure names a tensor {body!r} the file does not hold")
            return tensors[body]
        if kind == "tuple" and isinstance(body, list):
            return tuple(_decode(v, tensors, where, depth + 1) for v in body)
        if kind == "dict" and isinstance(body, dict):
            return {k: _decode(v, tensors, where, depth + 1) for k, v in body.items()}
        if kind == "items" and isinstance(body, list) and all(isinstance(p, list) and len(p) == 2 for p in body):
            out = {}
            for k, v in body:
                key = _decode(k, {}, where, depth + 1)
                try:
                    out[key] = _decode(v, tensors, where, depth + 1)
                except TypeError:  # an unhashable key (a list): not something save writes
                    raise CheckpointError(f"{where}: its structure has a dict key {_short(key)}") from None
            return out
        if kind == "float" and body in ("nan", "inf", "-inf"):
            return float(body)
    raise CheckpointError(f"{where}: its structure has a node {_short(node)} that save never writes")


def save(obj, path, metadata=None):
    """Saves to `path` (or a binary file object, as torch.save: io.BytesIO, a file opened "wb"; written at
    its position, not atomically) as safetensors, atomically: a Module's state_dict (the metadata records its class,
    so load() can refuse another model's file), a dict name -> array as it is, or, as torch.save's
    checkpoints, any nesting of dicts, lists and tuples holding arrays, Tensors, numbers, strings and None
    ({"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": 3}): its arrays become the
    file's tensors and the rest a JSON record in the metadata. Deliberate difference from torch.save:
    nothing is pickled, so a Module or another object inside is a TypeError naming where it is."""
    from .nn.module import Module

    meta = {"format": FORMAT}
    if isinstance(obj, Module):
        meta["class"] = type(obj).__name__
        tensors = obj.state_dict()
    elif _plain_tensors(obj):
        tensors = obj
    else:
        tensors = {}
        meta[STRUCTURE_KEY] = json.dumps(_encode(obj, (), tensors, 0), separators=(",", ":"), allow_nan=False)
    if metadata and STRUCTURE_KEY in metadata:
        raise ValueError(f"save: metadata key {STRUCTURE_KEY!r} is reserved for the saved object's structure")
    meta.update(metadata or {})
    save_safetensors(tensors, path, meta)


def load(path, module=None, prefix="", *, weights_only=True, map_location=None):
    """Reads a safetensors file (a path, or a binary file object read from its position, as torch.load
    takes). Without `module`: the dict name -> array, or the object save() wrote (its
    dicts, lists, tuples and numbers, with NumPy arrays where it held arrays or Tensors: load_state_dict
    takes them). With `module`: loads the arrays (the
    keys under `prefix`, which is stripped) into the module, checking that the file was saved from the
    same class and that names, shapes and dtypes match; returns the module. A training checkpoint
    (`firstepoch train`'s checkpoints/*.safetensors) loads its model weights (prefix 'model.').

    weights_only and map_location are accepted for torch.load's callers: loading is always weights-only
    (safetensors, never pickle), so weights_only=False changes nothing and warns; map_location may be
    None, "cpu" or firstepoch.device("cpu") (another device raises: firstepoch is CPU-only)."""
    if not weights_only:
        warnings.warn("load: weights_only=False has no effect: firstepoch checkpoints are safetensors, always "
                      "loaded weights-only (no pickle)", UserWarning, stacklevel=2)
    if map_location is not None:
        from ._device import check_device
        check_device(map_location, "load(map_location)")
    tensors, meta = load_safetensors(path)
    structure = meta.get(STRUCTURE_KEY)
    if structure is not None:
        where = f"checkpoint {_file_name(path)!r}"
        if module is not None:
            raise CheckpointError(f"{where} holds a saved object, not one model's weights: load it without "
                                  "module= and give its model entry to load_state_dict")
        try:
            skeleton = parse_json(structure, f"its metadata {STRUCTURE_KEY!r}")
        except ValueError as e:
            raise CheckpointError(f"{where} is corrupted: {e}") from None
        return _decode(skeleton, tensors, where)
    if module is None:
        return tensors
    if not prefix and meta.get("kind") == "firstepoch-checkpoint":
        prefix = "model."
    if prefix:
        tensors = OrderedDict((k[len(prefix):], v) for k, v in tensors.items() if k.startswith(prefix))
    load_into(module, tensors, meta, path)
    return module


def check_class(module, meta, path):
    """CheckpointError when the metadata says the file was saved from another class than `module`'s."""
    saved_class = meta.get("class")
    if saved_class is not None and saved_class != type(module).__name__:
        raise CheckpointError(f"checkpoint {_file_name(path)!r} holds a {saved_class}, not a "
                              f"{type(module).__name__}")


def load_into(module, tensors, meta, path):
    check_class(module, meta, path)
    try:
        module.load_state_dict(tensors)
    except (RuntimeError, TypeError) as e:  # load_state_dict's errors: keys or shapes, dtypes
        msg = e.args[0] if e.args else str(e)
        raise CheckpointError(f"checkpoint {_file_name(path)!r} does not fit this {type(module).__name__}: "
                              f"{msg}") from None
