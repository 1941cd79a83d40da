"""Embedding: a lookup table of num_embeddings vectors of size embedding_dim, indexed by integer tensors."""
import numpy as np

from ..ops.embedding import embedding
from . import init
from .module import Module, Parameter


class Embedding(Module):
    """As torch.nn.Embedding: weight (num_embeddings, embedding_dim) ~ N(0, 1); the padding_idx row is
    zero at initialisation and receives no gradient. max_norm, scale_grad_by_freq and sparse are not
    supported."""

    def __init__(self, num_embeddings, embedding_dim, padding_idx=None, dtype=np.float32):
        super().__init__()
        if np.dtype(dtype) not in (np.dtype(np.float32), np.dtype(np.float64)):
            raise TypeError(f"Embedding: dtype must be float32 or float64, got {np.dtype(dtype)}")
        if int(num_embeddings) <= 0 or int(embedding_dim) <= 0:
            raise ValueError(f"Embedding: num_embeddings and embedding_dim must be positive, got "
                             f"{num_embeddings} and {embedding_dim}")
        if padding_idx is not None:
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise ValueError(f"Embedding: padding_idx {padding_idx} is out of range "
                                 f"[{-num_embeddings}, {num_embeddings})")
            padding_idx %= num_embeddings  # negative counts from the end, as in PyTorch
        self.num_embeddings, self.embedding_dim, self.padding_idx = int(num_embeddings), int(embedding_dim), padding_idx
        self.weight = Parameter(np.empty((self.num_embeddings, self.embedding_dim), dtype=dtype))
        self.reset_parameters()

    def reset_parameters(self):
        init.normal_(self.weight)
        if self.padding_idx is not None:
            self.weight._data[self.padding_idx] = 0

    def forward(self, input):
        return embedding(input, self.weight, self.padding_idx)

    def extra_repr(self):
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        return s + (f", padding_idx={self.padding_idx}" if self.padding_idx is not None else "")
