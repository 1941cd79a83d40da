"""Variable-length sequences as torch.nn.utils.rnn: pad_sequence, PackedSequence, pack_padded_sequence,
pad_packed_sequence, pack_sequence, unpad_sequence, unpack_sequence.

A PackedSequence keeps the steps of a batch of sequences sorted by decreasing length, time-major:
data holds, for t = 0, 1, ..., the rows of the batch_sizes[t] sequences still running at t. Every
conversion here is one differentiable indexing op (GetItemFn) on a concatenation, so gradients flow back
to the padded or packed input; the index arrays are NumPy glue computed from the lengths.
"""
from collections import namedtuple

import numpy as np

from ...tensor import Tensor, cat, full

__all__ = ["PackedSequence", "invert_permutation", "pad_sequence", "pack_padded_sequence", "pad_packed_sequence",
           "pack_sequence", "unpad_sequence", "unpack_sequence"]


def _int64(t):
    return Tensor._wrap(np.ascontiguousarray(t, dtype=np.int64), False)


def _as_array(a):
    return np.asarray(a._data if isinstance(a, Tensor) else a)


def invert_permutation(permutation):
    """The permutation that undoes `permutation` (an int64 Tensor), None for None."""
    if permutation is None:
        return None
    p = _as_array(permutation)
    inverse = np.empty_like(p, dtype=np.int64)
    inverse[p] = np.arange(p.size)
    return _int64(inverse)


class PackedSequence(namedtuple("PackedSequence", ["data", "batch_sizes", "sorted_indices", "unsorted_indices"])):
    """(data (sum of lengths, *), batch_sizes (max length,) int64, sorted_indices, unsorted_indices), as
    torch's: made by pack_padded_sequence / pack_sequence, taken by nn.RNN/LSTM/GRU. sorted_indices[i] is
    the original batch index of the i-th longest sequence (None when the batch came sorted);
    unsorted_indices, its inverse, is computed when not given. PackedSequence((data, batch_sizes)) works
    too, as in torch."""
    __slots__ = ()

    def __new__(cls, data, batch_sizes=None, sorted_indices=None, unsorted_indices=None):
        if unsorted_indices is None:
            unsorted_indices = invert_permutation(sorted_indices)
        if batch_sizes is None:
            if not isinstance(data, (list, tuple)) or len(data) != 2:
                raise TypeError("PackedSequence: give data and batch_sizes, or one (data, batch_sizes) pair")
            data, batch_sizes = data
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def to(self, *args, **kwargs):
        """data.to(...) (dtype and/or device, as Tensor.to); self when data does not change."""
        data = self.data.to(*args, **kwargs)
        if data is self.data:
            return self
        return type(self)(data, self.batch_sizes, self.sorted_indices, self.unsorted_indices)

    def cpu(self, *args, **kwargs):
        return self

    def double(self):
        return self.to(dtype=np.dtype(np.float64))

    def float(self):
        return self.to(dtype=np.dtype(np.float32))

    def long(self):
        return self.to(dtype=np.dtype(np.int64))

    def int(self):
        return self.to(dtype=np.dtype(np.int32))

    @property
    def is_cuda(self):
        return False  # firstepoch is CPU-only

    def is_pinned(self):
        return False


def _sequences_list(sequences):
    if isinstance(sequences, Tensor):  # as torch: a tensor is the list of its entries along dim 0
        return list(sequences.unbind(0))
    return list(sequences)


def pad_sequence(sequences, batch_first=False, padding_value=0.0, padding_side="right"):
    """Stacks sequences of shapes (L_i, *) into (max L, B, *), or (B, max L, *) with batch_first, filling
    the rest with padding_value, after each sequence ("right") or before it ("left"). Differentiable;
    the result has the first sequence's dtype (the others are cast to it, as torch's copy)."""
    sequences = _sequences_list(sequences)
    if padding_side not in ("left", "right"):
        raise RuntimeError(f"Expected padding_side to be one of left or right, but got {padding_side}.")
    if not sequences:
        raise RuntimeError("received an empty list of sequences")
    dtype, trailing = sequences[0].dtype, tuple(sequences[0].shape[1:])
    for s in sequences:
        if tuple(s.shape[1:]) != trailing:
            raise RuntimeError(f"pad_sequence: every sequence must have the trailing shape {trailing} of the "
                               f"first, got a sequence of shape {tuple(s.shape)}")
    lengths = np.array([s.shape[0] for s in sequences], dtype=np.int64)
    B, T = len(sequences), int(lengths.max())
    pad = full((1,) + trailing, padding_value, dtype=dtype)
    flat = cat([s.to(dtype) for s in sequences] + [pad])  # (sum L + 1, *): the last row is the padding
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    steps = np.arange(T)
    if padding_side == "right":
        within = steps[None, :]
    else:
        within = steps[None, :] - (T - lengths)[:, None]
    index = np.where((within >= 0) & (within < lengths[:, None]), starts[:, None] + within, flat.shape[0] - 1)
    return flat[index if batch_first else index.T]  # (B, T, *) or (T, B, *)


def pack_padded_sequence(input, lengths, batch_first=False, enforce_sorted=True):
    """Packs a padded batch input (T, B, *) ((B, T, *) with batch_first) of sequences of the given
    lengths (a list or a 1-D integer tensor). With enforce_sorted the lengths must be decreasing
    (RuntimeError otherwise, as torch); with enforce_sorted=False the batch is sorted here (stable, so
    equal lengths keep their order) and sorted_indices records the order. Differentiable.
    Deliberate difference: a length longer than the padded input is a RuntimeError (torch does not
    check, and returns data shorter than its batch_sizes say)."""
    lengths = _as_array(lengths).astype(np.int64)
    if lengths.ndim != 1:
        if lengths.ndim > 1 and not enforce_sorted:
            raise IndexError("index_select(): Index is supposed to be a vector")  # torch's, from its sort path
        raise RuntimeError(f"'lengths' argument should be a 1D CPU int64 tensor, but got {lengths.ndim}D cpu Long "
                           f"tensor (pack_padded_sequence: lengths of shape {lengths.shape})")
    sorted_indices = None
    if not enforce_sorted:
        order = np.argsort(-lengths, kind="stable")
        lengths = lengths[order]
        sorted_indices = _int64(order)
    batch_axis = 0 if batch_first else 1
    B = input.shape[batch_axis] if sorted_indices is None else lengths.size  # (torch selects the sorted rows)
    if input.numel() == 0 or B == 0:
        raise RuntimeError("Cannot pack empty tensors.")
    if lengths.size != B:
        raise RuntimeError(f"Expected `len(lengths)` to be equal to batch_size, but got {lengths.size} "
                           f"(batch_size={B})")
    if lengths[-1] <= 0:
        raise RuntimeError("Length of all samples has to be greater than 0, but found an element in 'lengths' that "
                           "is <= 0")
    if np.any(lengths[1:] > lengths[:-1]):
        raise RuntimeError("`lengths` array must be sorted in decreasing order when `enforce_sorted` is True. You "
                           "can pass `enforce_sorted=False` to pack_padded_sequence and/or pack_sequence to sidestep "
                           "this requirement if you do not need ONNX exportability.")
    T = input.shape[1 - batch_axis]
    if lengths[0] > T:
        raise RuntimeError(f"pack_padded_sequence: a length of {lengths[0]} is longer than the input's {T} steps")
    batch_sizes = (lengths[None, :] > np.arange(lengths[0])[:, None]).sum(1)  # sequences running at each step
    steps = np.repeat(np.arange(lengths[0]), batch_sizes)
    rows = np.concatenate([np.arange(b) for b in batch_sizes])  # sorted batch position of each packed row
    if sorted_indices is not None:
        rows = sorted_indices._data[rows]
    data = input[(rows, steps) if batch_first else (steps, rows)]
    return PackedSequence(data, _int64(batch_sizes), sorted_indices, None)


def _lengths_sorted(batch_sizes):
    """Each sorted sequence's length: the number of steps at which it is running."""
    B = int(batch_sizes[0]) if batch_sizes.size else 0
    return (batch_sizes[None, :] > np.arange(B)[:, None]).sum(1).astype(np.int64)


def pad_packed_sequence(sequence, batch_first=False, padding_value=0.0, total_length=None):
    """The inverse of pack_padded_sequence: (padded (T, B, *) or (B, T, *), lengths int64 (B,)), in the
    original batch order, T the longest length or total_length (a ValueError when shorter).
    Differentiable."""
    data, batch_sizes = sequence.data, _as_array(sequence.batch_sizes).astype(np.int64)
    T = batch_sizes.size
    if total_length is not None:
        if total_length < T:
            raise ValueError("Expected total_length to be at least the length of the longest sequence in input, but "
                             f"got total_length={total_length} and max sequence length being {T}")
        T = int(total_length)
    lengths = _lengths_sorted(batch_sizes)
    B = lengths.size
    offsets = np.concatenate([[0], np.cumsum(batch_sizes)])  # where each step's rows start in data
    pad = full((1,) + tuple(data.shape[1:]), padding_value, dtype=data.dtype)
    flat = cat([data, pad])
    index = np.full((T, B), data.shape[0], dtype=np.int64)  # (step, sorted sequence) -> row of flat
    for t, b in enumerate(batch_sizes):
        index[t, :b] = offsets[t] + np.arange(b)
    if sequence.unsorted_indices is not None:
        unsorted = _as_array(sequence.unsorted_indices)
        index, lengths = index[:, unsorted], lengths[unsorted]
    return flat[index.T if batch_first else index], _int64(lengths)


def pack_sequence(sequences, enforce_sorted=True):
    """Packs a list of sequences (L_i, *) (decreasing lengths unless enforce_sorted=False)."""
    sequences = _sequences_list(sequences)
    lengths = [s.shape[0] for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpad_sequence(padded_sequences, lengths, batch_first=False):
    """The list of the B sequences in a padded batch (T, B, *) ((B, T, *) with batch_first), each cut to
    its length; differentiable copies.
    Deliberate difference: torch transposes padded_sequences in place when batch_first=False (the
    caller's tensor becomes (B, T, *)); firstepoch leaves it as it was."""
    lengths = _as_array(lengths).astype(np.int64)
    if batch_first:
        return [padded_sequences[b, np.arange(n)] for b, n in enumerate(lengths)]
    return [padded_sequences[np.arange(n), b] for b, n in enumerate(lengths)]


def unpack_sequence(packed_sequences):
    """The list of sequences in a PackedSequence, in the original order; differentiable."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
