"""Recurrent layers as in PyTorch: nn.RNN (tanh or ReLU), nn.LSTM, nn.GRU over whole sequences, and the
single-step nn.RNNCell, nn.LSTMCell, nn.GRUCell.

Weights have PyTorch's names, shapes and gate order (weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0,
..._reverse for the second direction; LSTM gates i, f, g, o; GRU r, z, n), so a PyTorch state dict
loads and gives the same outputs. Every layer and direction is one fused C++ call
(firstepoch.ops.rnn.RNNFn); a cell step is the same kernel over a sequence of one.

A PackedSequence input (nn.utils.rnn) runs each direction as one fused call per run of steps with the
same batch size: the sequences are sorted by decreasing length, so such a run is a (steps, b, I) block
of the packed data, and a sequence's state is final where it leaves the batch (forward) or enters it
(reverse, which starts each sequence at its own last step). No padding is ever computed.
"""
import math
import warnings

import numpy as np

from ..ops.dropout import dropout
from ..ops.linalg import _torch_name
from ..ops.rnn import MODES, packed_slices, rnn
from ..tensor import Tensor, cat, stack, zeros
from . import init
from .module import factory_dtype, Module, Parameter
from .utils.rnn import PackedSequence


def _check_dtype(dtype, who):
    if np.dtype(dtype) not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise TypeError(f"{who}: dtype must be float32 or float64, got {np.dtype(dtype)}")


def _check_sizes(who, input_size, hidden_size):
    """torch's classes: a size that is no int is a TypeError, one below 1 a ValueError."""
    for name, v in (("input_size", input_size), ("hidden_size", hidden_size)):
        if not isinstance(v, (int, np.integer)) or isinstance(v, bool):
            raise TypeError(f"{who}: {name} should be of type int, got: {type(v).__name__} ({v!r})")
        if v <= 0:
            raise ValueError(f"{who}: {name} must be greater than zero, got {v!r}")


def _reset_uniform(module):
    """PyTorch's initialisation of every recurrent weight and bias: U(-1/sqrt(H), 1/sqrt(H))."""
    bound = 1.0 / math.sqrt(module.hidden_size)
    for p in module.parameters():
        init.uniform_(p, -bound, bound)


_MODES = {"RNN_TANH": "rnn_tanh", "RNN_RELU": "rnn_relu", "LSTM": "lstm", "GRU": "gru"}  # torch's -> ops.rnn's


class RNNBase(Module):
    """torch.nn.RNNBase, shared by RNN, LSTM and GRU: parameters per layer and direction, and the forward
    over layers (_forward, which RNN, LSTM and GRU call from their forward). mode is torch's 'RNN_TANH',
    'RNN_RELU', 'LSTM' or 'GRU' (another: its ValueError). As torch's, an RNNBase has no forward of its own
    (calling one is Module's NotImplementedError)."""

    def __init__(self, mode, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, proj_size=0, device=None, dtype=None):
        who = type(self).__name__
        dtype = factory_dtype(who, device, dtype)
        super().__init__()
        if mode not in _MODES:
            raise ValueError(f"Unrecognized RNN mode: {mode}")
        _check_sizes(who, input_size, hidden_size)
        _check_dtype(dtype, who)
        if not isinstance(num_layers, (int, np.integer)):
            raise TypeError(f"{who}: num_layers should be of type int, got: {type(num_layers).__name__} "
                            f"({num_layers!r})")
        if num_layers < 1:
            raise ValueError(f"{who}: num_layers must be a positive integer, got {num_layers!r}")
        for name, v in (("bias", bias), ("batch_first", batch_first)):  # torch checks these two only
            if not isinstance(v, (bool, np.bool_)):
                raise TypeError(f"{who}: {name} should be of type bool, got: {type(v).__name__}")
        if not 0 <= dropout <= 1 or isinstance(dropout, bool):
            raise ValueError(f"{who}: dropout must be a number in [0, 1], got {dropout!r}")
        if dropout > 0 and num_layers == 1:  # torch's warning, word for word
            warnings.warn("dropout option adds dropout after all but last recurrent layer, so non-zero dropout "
                          f"expects num_layers greater than 1, but got dropout={dropout} and "
                          f"num_layers={num_layers}", stacklevel=3)
        # torch's checks on proj_size; a projection itself is not implemented (README, "Porting from PyTorch")
        if proj_size < 0:
            raise ValueError("proj_size should be a positive integer or zero to disable projections")
        if proj_size >= hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")
        if proj_size:
            raise NotImplementedError(f"{who}: proj_size={proj_size} (a projected LSTM) is not implemented")
        self.proj_size = 0
        self.mode, self._kind = mode, _MODES[mode]  # torch's name, and ops.rnn's
        self.input_size, self.hidden_size, self.num_layers = int(input_size), int(hidden_size), int(num_layers)
        self.bias, self.batch_first, self.dropout = bool(bias), bool(batch_first), float(dropout)
        self.bidirectional = bool(bidirectional)
        G, H, D = MODES[self._kind], self.hidden_size, 2 if self.bidirectional else 1
        for layer in range(self.num_layers):
            in_size = self.input_size if layer == 0 else H * D
            for suffix in ("", "_reverse")[:D]:
                setattr(self, f"weight_ih_l{layer}{suffix}", Parameter(np.empty((G * H, in_size), dtype=dtype)))
                setattr(self, f"weight_hh_l{layer}{suffix}", Parameter(np.empty((G * H, H), dtype=dtype)))
                if self.bias:
                    setattr(self, f"bias_ih_l{layer}{suffix}", Parameter(np.empty(G * H, dtype=dtype)))
                    setattr(self, f"bias_hh_l{layer}{suffix}", Parameter(np.empty(G * H, dtype=dtype)))
        self.reset_parameters()

    def flatten_parameters(self):
        """Does nothing, as torch's on the CPU (it packs the weights into one buffer for cuDNN only): ported
        code that calls it before each forward keeps working."""

    def reset_parameters(self):
        _reset_uniform(self)

    def _weights(self, layer, suffix):
        get = lambda name: getattr(self, f"{name}_l{layer}{suffix}", None)  # noqa: E731
        return get("weight_ih"), get("weight_hh"), get("bias_ih"), get("bias_hh")

    def _initial_state(self, hx, name, N, dtype, unbatched):
        """hx (D*L, N, H), or (D*L, H) for unbatched input, checked; zeros when None."""
        D = 2 if self.bidirectional else 1
        want = (D * self.num_layers, N, self.hidden_size)
        if hx is None:
            return zeros(*want, dtype=dtype)
        if not isinstance(hx, Tensor):
            raise TypeError(f"{type(self).__name__}: {name} must be a Tensor, got {type(hx).__name__}")
        shown = want[:1] + want[2:] if unbatched else want
        if hx.shape != shown:
            raise RuntimeError(f"{type(self).__name__}: {name} has shape {hx.shape}, expected {shown} "  # as torch
                               f"(num_layers * num_directions, {'' if unbatched else 'batch, '}hidden_size)")
        return hx.reshape(want) if unbatched else hx

    def _hidden(self, hx, N, dtype, unbatched):
        """(h0, c0) as (D*L, N, H) Tensors (c0 None unless an LSTM), zeros where hx leaves them out."""
        if self._kind == "lstm":
            if hx is not None and (not isinstance(hx, (tuple, list)) or len(hx) != 2):
                raise TypeError(f"{type(self).__name__}: hx must be a tuple (h_0, c_0), got {type(hx).__name__}")
            h0, c0 = (None, None) if hx is None else hx
            return (self._initial_state(h0, "h_0", N, dtype, unbatched),
                    self._initial_state(c0, "c_0", N, dtype, unbatched))
        return self._initial_state(hx, "hx", N, dtype, unbatched), None

    def _forward(self, input, hx=None):
        who = type(self).__name__
        if isinstance(input, PackedSequence):
            return self._forward_packed(input, hx)
        if not isinstance(input, Tensor):
            raise TypeError(f"{who}: input must be a Tensor, got {type(input).__name__}")
        if input.ndim not in (2, 3):
            raise ValueError(f"{who}: input must be 3-D (seq_len, batch, input_size) ({'batch, seq_len' if self.batch_first else 'seq_len, batch'}"
                             f" first) or 2-D unbatched (seq_len, input_size), got shape {input.shape}")
        if input.shape[-1] != self.input_size:  # torch: RuntimeError "input.size(-1) must be equal to input_size"
            raise RuntimeError(f"{who}: input has {input.shape[-1]} features (shape {input.shape}), expected "
                               f"input_size={self.input_size}")
        if input.shape[0 if input.ndim == 2 or not self.batch_first else 1] == 0:  # torch's class and words
            raise RuntimeError(f"Expected sequence length to be larger than 0 in RNN ({who}: input shape "
                               f"{input.shape})")
        unbatched = input.ndim == 2
        x = input.reshape(input.shape[0], 1, input.shape[1]) if unbatched else input
        if self.batch_first and not unbatched:
            x = x.transpose(0, 1)  # (T, N, I); the layer makes it contiguous
        N = x.shape[1]
        is_lstm = self._kind == "lstm"
        h0, c0 = self._hidden(hx, N, x.dtype, unbatched)
        D = 2 if self.bidirectional else 1
        T = x.shape[0]
        h_n, c_n = [], []
        for layer in range(self.num_layers):
            outs = []
            for d, suffix in enumerate(("", "_reverse")[:D]):
                k = layer * D + d
                reverse = d == 1
                packed = rnn(x, *self._weights(layer, suffix), h0[k], c0[k] if is_lstm else None, self._kind, reverse)
                out_slice, h_index, c_index = packed_slices(self._kind, T, reverse)
                outs.append(packed[out_slice])
                h_n.append(packed[h_index])
                if is_lstm:
                    c_n.append(packed[c_index])
            x = outs[0] if D == 1 else cat(outs, dim=2)
            if self.dropout > 0 and layer < self.num_layers - 1:
                x = dropout(x, self.dropout, self.training)
        output = x
        h_n = stack(h_n, 0)
        c_n = stack(c_n, 0) if is_lstm else None
        if unbatched:
            output = output.reshape(T, output.shape[2])
            h_n = h_n.reshape(h_n.shape[0], self.hidden_size)
            c_n = c_n.reshape(c_n.shape[0], self.hidden_size) if is_lstm else None
        elif self.batch_first:
            output = output.transpose(0, 1)
        return (output, (h_n, c_n)) if is_lstm else (output, h_n)

    def _forward_packed(self, packed, hx):
        """forward of a PackedSequence: (output PackedSequence with the input's batch_sizes and indices,
        h_n (and c_n) at each sequence's own last step, in the original batch order). hx is in the
        original batch order too (permuted here by sorted_indices, as torch)."""
        who = type(self).__name__
        x = packed.data
        if not isinstance(x, Tensor):
            raise TypeError(f"{who}: the PackedSequence's data must be a Tensor, got {type(x).__name__}")
        if x.ndim != 2:
            raise RuntimeError(f"input must have 2 dimensions, got {x.ndim}")
        if x.shape[-1] != self.input_size:  # torch: RuntimeError, as for a padded input
            raise RuntimeError(f"{who}: input has {x.shape[-1]} features (shape {x.shape}), expected "
                               f"input_size={self.input_size}")
        batch_sizes = np.asarray(getattr(packed.batch_sizes, "_data", packed.batch_sizes), dtype=np.int64)
        h0, c0 = self._hidden(hx, int(batch_sizes[0]), x.dtype, False)
        if packed.sorted_indices is not None and hx is not None:
            h0 = h0.index_select(1, packed.sorted_indices)
            c0 = c0.index_select(1, packed.sorted_indices) if c0 is not None else None
        # Runs of steps with one batch size: (rows of the packed data, steps, batch size)
        changes = np.flatnonzero(np.diff(batch_sizes)) + 1
        starts, ends = np.concatenate([[0], changes]), np.concatenate([changes, [batch_sizes.size]])
        offsets = np.concatenate([[0], np.cumsum(batch_sizes)])
        runs = [(int(offsets[t0]), int(offsets[t1]), int(t1 - t0), int(batch_sizes[t0]))
                for t0, t1 in zip(starts, ends)]
        D = 2 if self.bidirectional else 1
        h_n, c_n = [], []
        for layer in range(self.num_layers):
            outs = []
            for d, suffix in enumerate(("", "_reverse")[:D]):
                k = layer * D + d
                out, h, c = self._packed_direction(x, runs, self._weights(layer, suffix), h0[k],
                                                   None if c0 is None else c0[k], d == 1)
                outs.append(out)
                h_n.append(h)
                c_n.append(c)
            x = outs[0] if D == 1 else cat(outs, dim=1)
            if self.dropout > 0 and layer < self.num_layers - 1:
                x = dropout(x, self.dropout, self.training)
        h_n = stack(h_n, 0)
        c_n = stack(c_n, 0) if c0 is not None else None
        if packed.unsorted_indices is not None:
            h_n = h_n.index_select(1, packed.unsorted_indices)
            c_n = c_n.index_select(1, packed.unsorted_indices) if c_n is not None else None
        output = PackedSequence(x, packed.batch_sizes, packed.sorted_indices, packed.unsorted_indices)
        return (output, (h_n, c_n)) if self._kind == "lstm" else (output, h_n)

    def _packed_direction(self, x, runs, weights, h0, c0, reverse):
        """One layer and direction over packed rows x (S, I) -> (packed output (S, H), h_n (N, H), c_n or
        None), all in sorted batch order. Forward: a sequence leaves the batch with its final state;
        reverse: the runs are read last to first, and a sequence joins with its initial state at its own
        last step."""
        mode, H = self._kind, self.hidden_size
        outs = [None] * len(runs)
        h = c = None
        if not reverse:
            h, c = h0, c0
            ended_h, ended_c = [], []
        for i in (reversed(range(len(runs))) if reverse else range(len(runs))):
            r0, r1, steps, b = runs[i]
            if reverse and (h is None or h.shape[0] < b):  # the sequences whose last step is in this run
                n = 0 if h is None else h.shape[0]
                h = h0[n:b] if h is None else cat([h, h0[n:b]])
                if c0 is not None:
                    c = c0[n:b] if c is None else cat([c, c0[n:b]])
            elif not reverse and h.shape[0] > b:  # the sequences that ended before this run
                ended_h.append(h[b:])
                h = h[:b]
                if c0 is not None:
                    ended_c.append(c[b:])
                    c = c[:b]
            result = rnn(x[r0:r1].reshape(steps, b, x.shape[1]), *weights, h, c, mode, reverse)
            out_slice, h_index, c_index = packed_slices(mode, steps, reverse)
            outs[i] = result[out_slice].reshape(steps * b, H)
            h = result[h_index]
            c = result[c_index] if c0 is not None else None
        if not reverse:  # later runs hold the longer sequences, which come first in sorted order
            h = cat([h] + ended_h[::-1]) if ended_h else h
            c = (cat([c] + ended_c[::-1]) if ended_c else c) if c0 is not None else None
        return (outs[0] if len(outs) == 1 else cat(outs)), h, c

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if not self.bias:  # (torch's repr leaves an RNN's nonlinearity out)
            s += ", bias=False"
        if self.batch_first:
            s += ", batch_first=True"
        if self.dropout:
            s += f", dropout={self.dropout}"
        if self.bidirectional:
            s += ", bidirectional=True"
        return s


class RNN(RNNBase):
    """Elman RNN: h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh) (or ReLU). forward(input, h_0=None)
    -> (output (T, N, D*H) or (N, T, D*H) batch_first, h_n (D*num_layers, N, H))."""

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, device=None, dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        super().__init__("RNN_" + nonlinearity.upper(), input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, device=device, dtype=dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input, hx=None):
        return self._forward(input, hx)


class LSTM(RNNBase):
    """LSTM with gates i, f, g, o: c_t = f*c_{t-1} + i*g, h_t = o*tanh(c_t). forward(input, (h_0, c_0)=None)
    -> (output, (h_n, c_n)), shapes as in RNN. proj_size must be 0: a projected LSTM is not implemented
    (NotImplementedError; README, "Porting from PyTorch")."""

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         proj_size, device, dtype)

    def forward(self, input, hx=None):
        return self._forward(input, hx)


class GRU(RNNBase):
    """GRU with gates r, z, n: n = tanh(W_in x + b_in + r*(W_hn h + b_hn)), h_t = (1-z)*n + z*h_{t-1}.
    forward(input, h_0=None) -> (output, h_n), shapes as in RNN."""

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, device=None, dtype=None):
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         device=device, dtype=dtype)

    def forward(self, input, hx=None):
        return self._forward(input, hx)


class RNNCellBase(Module):
    """torch.nn.RNNCellBase, shared by RNNCell, LSTMCell and GRUCell: one time step's weight_ih (G*H, I),
    weight_hh (G*H, H), bias_ih, bias_hh (G*H,) for G = num_chunks gates, as in PyTorch. No forward of its
    own (as torch's): the cells set which recurrence _step runs."""
    _kind = None  # ops.rnn's mode, set by each cell

    def __init__(self, input_size, hidden_size, bias, num_chunks, device=None, dtype=None):
        who = type(self).__name__
        dtype = factory_dtype(who, device, dtype)
        super().__init__()
        _check_sizes(who, input_size, hidden_size)
        _check_dtype(dtype, who)
        self.input_size, self.hidden_size, self.bias = int(input_size), int(hidden_size), bool(bias)
        G, H = int(num_chunks), self.hidden_size
        self.weight_ih = Parameter(np.empty((G * H, self.input_size), dtype=dtype))
        self.weight_hh = Parameter(np.empty((G * H, H), dtype=dtype))
        if self.bias:
            self.bias_ih = Parameter(np.empty(G * H, dtype=dtype))
            self.bias_hh = Parameter(np.empty(G * H, dtype=dtype))
        else:
            self.bias_ih = self.bias_hh = None
        self.reset_parameters()

    def reset_parameters(self):
        _reset_uniform(self)

    def _state(self, h, name, N, dtype, unbatched):
        want = (self.hidden_size,) if unbatched else (N, self.hidden_size)
        if h is None:
            return zeros(N, self.hidden_size, dtype=dtype)
        if not isinstance(h, Tensor):
            raise TypeError(f"{type(self).__name__}: {name} must be a Tensor, got {type(h).__name__}")
        if h.ndim not in (1, 2):  # as torch: a ValueError (its words: hidden, or hx[0] / hx[1] for an LSTM)
            what = {"h": "hx[0]", "c": "hx[1]"}.get(name, "hidden")
            raise ValueError(f"{type(self).__name__}: Expected {what} to be 1D or 2D, got {h.ndim}D instead")
        if h.dtype != self.weight_ih.dtype:  # as torch: the matmul's RuntimeError
            raise RuntimeError(f"mat1 and mat2 must have the same dtype, but got {_torch_name(h.dtype)} and "
                               f"{_torch_name(self.weight_ih.dtype)} ({type(self).__name__}: {name} {h.dtype}, "
                               f"weights {self.weight_ih.dtype})")
        if h.shape != want:
            # as torch (RuntimeError "Input batch size 2 doesn't match hidden0 batch size 3")
            raise RuntimeError(f"{type(self).__name__}: {name} has shape {h.shape}, expected {want} for input of "
                               f"{'shape (' + str(self.input_size) + ',)' if unbatched else 'batch ' + str(N)}")
        return h.reshape(1, self.hidden_size) if unbatched else h

    def _step(self, input, hx):
        """The packed one-step output (see ops.rnn.RNNFn) and how to shape the states back."""
        who = type(self).__name__
        if not isinstance(input, Tensor):
            raise TypeError(f"{who}: input must be a Tensor, got {type(input).__name__}")
        if input.ndim not in (1, 2):  # as torch: a wrong rank is a ValueError, a wrong size a RuntimeError
            raise ValueError(f"{who}: input must be (batch, {self.input_size}) or ({self.input_size},), got shape "
                             f"{input.shape}")
        if input.shape[-1] != self.input_size:
            raise RuntimeError(f"{who}: input has inconsistent input_size: got {input.shape[-1]} expected "
                               f"{self.input_size} (shape {input.shape})")
        if input.dtype != self.weight_ih.dtype:  # as torch: the matmul's RuntimeError
            raise RuntimeError(f"mat1 and mat2 must have the same dtype, but got {_torch_name(input.dtype)} and "
                               f"{_torch_name(self.weight_ih.dtype)} ({who}: input {input.dtype}, weights "
                               f"{self.weight_ih.dtype})")
        unbatched = input.ndim == 1
        x = input.reshape(1, 1, self.input_size) if unbatched else input.reshape(1, *input.shape)
        N = x.shape[1]
        if self._kind == "lstm":
            if hx is not None and (not isinstance(hx, (tuple, list)) or len(hx) != 2):
                raise TypeError(f"{who}: hx must be a tuple (h, c), got {type(hx).__name__}")
            h, c = (None, None) if hx is None else hx
            h, c = self._state(h, "h", N, x.dtype, unbatched), self._state(c, "c", N, x.dtype, unbatched)
        else:
            h, c = self._state(hx, "hx", N, x.dtype, unbatched), None
        packed = rnn(x, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh, h, c, self._kind, False)
        shape = (self.hidden_size,) if unbatched else (N, self.hidden_size)
        return packed, shape

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if not self.bias:
            s += ", bias=False"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity}"  # unquoted, as torch
        return s


class RNNCell(RNNCellBase):
    """h' = tanh(W_ih x + b_ih + W_hh h + b_hh) (or ReLU). forward(input (N, I) or (I,), hx=None) -> h'."""

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", device=None, dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNNCell: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        super().__init__(input_size, hidden_size, bias, 1, device, dtype)
        self.nonlinearity, self._kind = nonlinearity, "rnn_" + nonlinearity

    def forward(self, input, hx=None):
        packed, shape = self._step(input, hx)
        return packed[1].reshape(shape)


class LSTMCell(RNNCellBase):
    """forward(input, (h, c)=None) -> (h', c'): gates i, f, g, o; c' = f*c + i*g, h' = o*tanh(c')."""

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 4, device, dtype)
        self._kind = "lstm"

    def forward(self, input, hx=None):
        packed, shape = self._step(input, hx)
        return packed[1].reshape(shape), packed[2].reshape(shape)


class GRUCell(RNNCellBase):
    """forward(input, hx=None) -> h': r, z, n gates; n = tanh(W_in x + b_in + r*(W_hn h + b_hn)),
    h' = (1-z)*n + z*h."""

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 3, device, dtype)
        self._kind = "gru"

    def forward(self, input, hx=None):
        packed, shape = self._step(input, hx)
        return packed[1].reshape(shape)
