"""The IDX file format (LeCun's MNIST files), read with NumPy alone.

Layout: a 4-byte magic number (two zero bytes, a type code, the rank), then the size of each dimension
as a big-endian int32, then the data, big-endian, row-major. MNIST images have magic 2051 (uint8,
rank 3), labels 2049 (uint8, rank 1). A `.gz` file is decompressed first.
"""
import gzip
import zlib

import numpy as np

# type code -> big-endian dtype of the data
IDX_DTYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
MAGIC_IMAGES = 2051  # 0x00000803: uint8, rank 3
MAGIC_LABELS = 2049  # 0x00000801: uint8, rank 1


def parse_idx(raw, name="<bytes>"):
    """An IDX file's bytes -> a native-endian array. Raises ValueError on anything malformed."""
    raw = memoryview(raw).cast("B")
    if len(raw) < 4:
        raise ValueError(f"read_idx: {name} is {len(raw)} bytes long, too short for an IDX header")
    zero0, zero1, code, ndim = raw[0], raw[1], raw[2], raw[3]
    if zero0 != 0 or zero1 != 0 or code not in IDX_DTYPES:
        raise ValueError(f"read_idx: {name} is not an IDX file (bad magic {bytes(raw[:4]).hex()}: "
                         f"expected 0000 then a type code in {[hex(c) for c in IDX_DTYPES]} and the rank)")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"read_idx: {name} is truncated inside its header ({len(raw)} bytes, "
                         f"the header of a rank-{ndim} file has {header})")
    dims = tuple(int(d) for d in np.frombuffer(raw, dtype=">i4", count=ndim, offset=4))
    if any(d < 0 for d in dims):
        raise ValueError(f"read_idx: {name} has a negative dimension in its header: {dims}")
    dtype = IDX_DTYPES[code]
    expected = int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    found = len(raw) - header
    if found != expected:
        what = "truncated" if found < expected else "longer than its header says"
        raise ValueError(f"read_idx: {name} is {what}: shape {dims} of {dtype.name} needs {expected} bytes "
                         f"of data, found {found}")
    data = np.frombuffer(raw, dtype=dtype, offset=header).reshape(dims)
    return data.astype(dtype.newbyteorder("="))  # native byte order, writable, owns its memory


def read_idx(path, magic=None):
    """Reads an IDX file (gzip if the name ends in .gz) into a NumPy array.

    magic: if given (e.g. MAGIC_IMAGES = 2051), the file's magic number must equal it.
    Raises ValueError on a missing, truncated or corrupt file, naming the file.
    """
    path = str(path)
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        raise
    except (OSError, EOFError, zlib.error) as e:  # BadGzipFile is an OSError; a cut-off stream is EOFError
        raise ValueError(f"read_idx: cannot read {path}: {type(e).__name__}: {e}") from None
    if magic is not None and len(raw) >= 4:
        found = int.from_bytes(raw[:4], "big")
        if found != magic:
            raise ValueError(f"read_idx: {path} has magic number {found}, expected {magic}")
    return parse_idx(raw, name=path)
