"""AdaptiveLogSoftmaxWithLoss (Grave et al., "Efficient softmax approximation for GPUs"): torch's head/tail
structure, parameter names and semantics, written with existing differentiable ops (Linear, log_softmax,
gather, index_copy, cat): no Function of its own."""
from collections import namedtuple

import numpy as np

from ..ops.softmax import log_softmax
from ..tensor import cat, tensor
from .container import ModuleList, Sequential
from .linear import Linear
from .module import Module

_ASMoutput = namedtuple("_ASMoutput", ["output", "loss"])


class AdaptiveLogSoftmaxWithLoss(Module):
    """As torch.nn.AdaptiveLogSoftmaxWithLoss: the classes below cutoffs[0] (the shortlist) and one entry
    per cluster are scored by `head` (Linear(in_features, shortlist + n_clusters, bias=head_bias)); cluster
    i's classes [cutoffs[i], cutoffs[i+1]) by tail[i] = Sequential(Linear(in_features, in_features //
    div_value**(i+1), bias=False), Linear(that, cluster size, bias=False)), so a torch state_dict loads.
    forward(input (N, in_features) or (in_features,), target (N,) or 0-d, integer) returns
    (output, loss): output the log-probability of each target, loss the mean of -output. log_prob(input)
    gives all n_classes log-probabilities, predict(input) the most likely class."""

    def __init__(self, in_features, n_classes, cutoffs, div_value=4.0, head_bias=False, device=None, dtype=None):
        super().__init__()
        cutoffs = list(cutoffs)
        if len(cutoffs) == 0:
            raise ValueError("cutoffs should be a sequence of length larger than 0")
        if (cutoffs != sorted(cutoffs) or min(cutoffs) <= 0 or max(cutoffs) > n_classes - 1
                or len(set(cutoffs)) != len(cutoffs) or any(int(c) != c for c in cutoffs)):
            raise ValueError("cutoffs should be a sequence of unique, positive integers sorted in an increasing order, "
                             "where each value is between 1 and n_classes-1")
        if not all(isinstance(c, (int, np.integer)) for c in cutoffs):  # torch fails on 3.0 later, in Linear
            raise TypeError(f"AdaptiveLogSoftmaxWithLoss: cutoffs must be ints, got {cutoffs}")
        self.in_features, self.n_classes = in_features, n_classes
        self.cutoffs = cutoffs + [n_classes]
        self.div_value, self.head_bias = div_value, head_bias
        self.shortlist_size = self.cutoffs[0]
        self.n_clusters = len(self.cutoffs) - 1
        self.head_size = self.shortlist_size + self.n_clusters
        factory = {"device": device, "dtype": dtype}
        self.head = Linear(in_features, self.head_size, bias=head_bias, **factory)
        self.tail = ModuleList()
        for i in range(self.n_clusters):
            hsz = int(in_features // (div_value ** (i + 1)))
            osz = self.cutoffs[i + 1] - self.cutoffs[i]
            self.tail.append(Sequential(Linear(in_features, hsz, bias=False, **factory),
                                        Linear(hsz, osz, bias=False, **factory)))

    def reset_parameters(self):
        self.head.reset_parameters()
        for i2h, h2o in self.tail:
            i2h.reset_parameters()
            h2o.reset_parameters()

    def forward(self, input_, target_):
        targ_dim = target_.dim()
        if targ_dim == 1:
            if input_.size(0) != target_.size(0):
                raise RuntimeError("Input and target should have the same size in the batch dimension.")
            if input_.dim() != 2:
                raise RuntimeError(f"1D target tensor expects 2D input tensors, but found inputs with size "
                                   f"{tuple(input_.shape)}")
        elif targ_dim == 0:
            if input_.dim() != 1:
                raise RuntimeError(f"0D target tensor expects 1D input tensors, but found inputs with size "
                                   f"{tuple(input_.shape)}")
        else:
            raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
        if target_.dtype.kind not in "iu":  # torch's gather refuses a float (or bool) index
            raise RuntimeError(f"gather(): Expected dtype int32/int64 for index (AdaptiveLogSoftmaxWithLoss: target "
                               f"has dtype {target_.dtype})")
        batched = targ_dim > 0
        input = input_ if batched else input_.unsqueeze(0)
        t = target_.detach().numpy().reshape(-1).astype(np.int64)
        if t.size and (t.min() < 0 or t.max() >= self.n_classes):
            raise RuntimeError(f"Target values should be in [0, {self.n_classes - 1}], but values in range "
                               f"[{t.min()}, {t.max()}] were found. ")
        output = input.new_zeros(t.shape[0])
        gather_inds = t.copy()  # the head's column for each row: its class, or its cluster's entry
        for i in range(self.n_clusters):
            low, high = self.cutoffs[i], self.cutoffs[i + 1]
            rows = np.flatnonzero((t >= low) & (t < high))
            if rows.size == 0:
                continue
            gather_inds[rows] = self.shortlist_size + i
            cluster_logprob = log_softmax(self.tail[i](input.index_select(0, tensor(rows))), dim=1)
            local = cluster_logprob.gather(1, tensor(t[rows] - low).unsqueeze(1)).squeeze(1)
            output = output.index_copy(0, tensor(rows), local)
        head_logprob = log_softmax(self.head(input), dim=1)
        output = output + head_logprob.gather(1, tensor(gather_inds).unsqueeze(1)).squeeze(1)
        loss = (-output).mean()
        return _ASMoutput(output if batched else output.squeeze(0), loss)

    def _get_full_log_prob(self, input, head_output):
        head_logprob = log_softmax(head_output, dim=1)
        pieces = [head_logprob[:, :self.shortlist_size]]
        for i in range(self.n_clusters):
            cluster_logprob = log_softmax(self.tail[i](input), dim=1)
            pieces.append(cluster_logprob + head_logprob[:, self.shortlist_size + i].unsqueeze(1))
        return cat(pieces, dim=1)

    def log_prob(self, input):
        """The log-probability of every class, (N, n_classes)."""
        return self._get_full_log_prob(input, self.head(input))

    def predict(self, input):
        """log_prob(input).argmax(dim=1), computing the tails only for the rows whose head favours a
        cluster (as torch)."""
        head_output = self.head(input)
        output = head_output.argmax(dim=1)
        not_in_shortlist = output >= self.shortlist_size
        if not bool(not_in_shortlist.any()):
            return output
        if bool(not_in_shortlist.all()):
            return self._get_full_log_prob(input, head_output).argmax(dim=1)
        log_prob = self._get_full_log_prob(input[not_in_shortlist], head_output[not_in_shortlist])
        output[not_in_shortlist] = log_prob.argmax(dim=1)
        return output
