"""Embedding: a lookup table of num_embeddings vectors of size embedding_dim, indexed by integer tensors;
EmbeddingBag: the same table, each bag of lookups reduced to one vector (sum, mean or max)."""
import numpy as np

from ..ops.embedding import check_padding_idx, embedding, embedding_bag
from ..tensor import Tensor, _check_device, _dtype
from . import init
from .module import Module, Parameter


def _table_args(num_embeddings, embedding_dim, device, dtype, who):
    """(num_embeddings, embedding_dim, dtype) of a lookup table, checked as torch: only the CPU, float32
    (the default) or float64, no negative size."""
    if device is not None:
        _check_device(device, who)  # only the CPU: anything else raises there
    dtype = np.dtype(np.float32) if dtype is None else _dtype(dtype, who)
    if dtype not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise TypeError(f"{who}: dtype must be float32 or float64, got {dtype}")
    if int(num_embeddings) < 0 or int(embedding_dim) < 0:
        raise RuntimeError(f"Trying to create tensor with negative dimension: {who}({num_embeddings}, "
                           f"{embedding_dim})")
    return int(num_embeddings), int(embedding_dim), dtype


class Embedding(Module):
    """As torch.nn.Embedding: weight (num_embeddings, embedding_dim) ~ N(0, 1); the padding_idx row
    (negative counts from the end) is zero at initialisation and receives no gradient; max_norm
    renormalises the rows looked up, in the weight, at each call (norm_type-norm, as torch);
    scale_grad_by_freq divides each row's gradient by its index's count in the batch. _weight: a
    (num_embeddings, embedding_dim) Tensor or array used as the weight (its memory shared, not
    re-initialised), _freeze: the weight does not require grad. Deliberate difference: sparse=True gives
    the same gradient, dense."""

    def __init__(self, num_embeddings, embedding_dim, padding_idx=None, max_norm=None, norm_type=2.0,
                 scale_grad_by_freq=False, sparse=False, _weight=None, _freeze=False, device=None, dtype=None):
        super().__init__()
        self.num_embeddings, self.embedding_dim, dtype = _table_args(num_embeddings, embedding_dim, device, dtype,
                                                                      "Embedding")
        if padding_idx is not None:
            check_padding_idx(padding_idx, self.num_embeddings)
            padding_idx %= self.num_embeddings
        self.padding_idx, self.max_norm, self.norm_type = padding_idx, max_norm, norm_type
        self.scale_grad_by_freq, self.sparse = scale_grad_by_freq, sparse
        if _weight is None:
            self.weight = Parameter(np.empty((self.num_embeddings, self.embedding_dim), dtype=dtype),
                                    requires_grad=not _freeze)
            self.reset_parameters()
        else:
            data = _weight._data if isinstance(_weight, Tensor) else np.asarray(_weight)
            if data.shape != (self.num_embeddings, self.embedding_dim):
                raise AssertionError("Shape of weight does not match num_embeddings and embedding_dim")
            self.weight = Parameter(data, requires_grad=not _freeze)

    def reset_parameters(self):
        init.normal_(self.weight)
        if self.padding_idx is not None:
            self.weight._data[self.padding_idx] = 0

    def forward(self, input):
        return embedding(input, self.weight, self.padding_idx, self.max_norm, self.norm_type,
                         self.scale_grad_by_freq, self.sparse)

    def extra_repr(self):
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        if self.max_norm is not None:
            s += f", max_norm={self.max_norm}"
        if self.norm_type != 2:
            s += f", norm_type={self.norm_type}"
        if self.scale_grad_by_freq is not False:
            s += f", scale_grad_by_freq={self.scale_grad_by_freq}"
        if self.sparse is not False:
            s += ", sparse=True"
        return s

    @classmethod
    def from_pretrained(cls, embeddings, freeze=True, padding_idx=None, max_norm=None, norm_type=2.0,
                        scale_grad_by_freq=False, sparse=False):
        """An Embedding whose weight is `embeddings` (2-D; its memory shared, as torch), frozen unless
        freeze=False. The padding_idx row is left as given (not zeroed), as torch."""
        if np.ndim(embeddings) != 2:
            raise AssertionError("Embeddings parameter is expected to be 2-dimensional")
        rows, cols = np.shape(embeddings)
        data = embeddings._data if isinstance(embeddings, Tensor) else np.asarray(embeddings)
        return cls(num_embeddings=rows, embedding_dim=cols, _weight=embeddings, _freeze=freeze,
                   padding_idx=padding_idx, max_norm=max_norm, norm_type=norm_type,
                   scale_grad_by_freq=scale_grad_by_freq, sparse=sparse, dtype=data.dtype)


class EmbeddingBag(Module):
    """As torch.nn.EmbeddingBag: weight (num_embeddings, embedding_dim) ~ N(0, 1) (the padding_idx row,
    negative counting from the end, zero); forward(input, offsets=None, per_sample_weights=None) reduces
    each bag's rows by mode ("sum", "mean" (the default) or "max"), as F.embedding_bag. An unknown mode
    is refused at the first call, as torch. Deliberate differences: those of F.embedding_bag (sparse=True
    gives the same gradient, dense; README, "Porting from PyTorch")."""

    def __init__(self, num_embeddings, embedding_dim, max_norm=None, norm_type=2.0, scale_grad_by_freq=False,
                 mode="mean", sparse=False, _weight=None, include_last_offset=False, padding_idx=None, device=None,
                 dtype=None):
        super().__init__()
        self.num_embeddings, self.embedding_dim, dtype = _table_args(num_embeddings, embedding_dim, device, dtype,
                                                                      "EmbeddingBag")
        self.max_norm, self.norm_type, self.scale_grad_by_freq = max_norm, norm_type, scale_grad_by_freq
        self.mode, self.sparse, self.include_last_offset = mode, sparse, include_last_offset
        if padding_idx is not None:
            if not -self.num_embeddings <= padding_idx < self.num_embeddings:
                raise AssertionError("padding_idx must be within num_embeddings")
            padding_idx %= self.num_embeddings
        self.padding_idx = padding_idx
        if _weight is None:
            self.weight = Parameter(np.empty((self.num_embeddings, self.embedding_dim), dtype=dtype))
            self.reset_parameters()
        else:
            data = _weight._data if isinstance(_weight, Tensor) else np.asarray(_weight)
            if data.shape != (self.num_embeddings, self.embedding_dim):
                raise AssertionError("Shape of weight does not match num_embeddings and embedding_dim")
            self.weight = Parameter(data)

    def reset_parameters(self):
        init.normal_(self.weight)
        if self.padding_idx is not None:
            self.weight._data[self.padding_idx] = 0

    def forward(self, input, offsets=None, per_sample_weights=None):
        return embedding_bag(input, self.weight, offsets, self.max_norm, self.norm_type, self.scale_grad_by_freq,
                             self.mode, self.sparse, per_sample_weights, self.include_last_offset, self.padding_idx)

    def extra_repr(self):
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.max_norm is not None:
            s += f", max_norm={self.max_norm}"
        if self.norm_type != 2:
            s += f", norm_type={self.norm_type}"
        if self.scale_grad_by_freq is not False:
            s += f", scale_grad_by_freq={self.scale_grad_by_freq}"
        s += f", mode={self.mode!r}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        return s

    @classmethod
    def from_pretrained(cls, embeddings, freeze=True, max_norm=None, norm_type=2.0, scale_grad_by_freq=False,
                        mode="mean", sparse=False, include_last_offset=False, padding_idx=None):
        """An EmbeddingBag whose weight is `embeddings` (2-D; its memory shared, as torch), frozen unless
        freeze=False. The padding_idx row is left as given (not zeroed), as torch."""
        if np.ndim(embeddings) != 2:
            raise AssertionError("Embeddings parameter is expected to be 2-dimensional")
        rows, cols = np.shape(embeddings)
        data = embeddings._data if isinstance(embeddings, Tensor) else np.asarray(embeddings)
        bag = cls(num_embeddings=rows, embedding_dim=cols, _weight=embeddings, max_norm=max_norm, norm_type=norm_type,
                  scale_grad_by_freq=scale_grad_by_freq, mode=mode, sparse=sparse,
                  include_last_offset=include_last_offset, padding_idx=padding_idx, dtype=data.dtype)
        bag.weight.requires_grad = not freeze
        return bag
