"""Recurrent layers (RNN tanh/ReLU, LSTM, GRU): one Function per layer and direction, fused in C++.

forward:  RNN and LSTM: each step t (from T-1 down to 0 with reverse) is one GEMM,
          gates_t = [W_ih | W_hh] @ [x_t; h_{t-1}] (both weights packed side by side once), then the
          gate kernel adds the biases and fuses the non-linearities with the state update.
          GRU: its n gate needs W_hn h apart (n = tanh(W_in x + b_in + r * (W_hn h + b_hn))), so the
          input projection of all steps is one GEMM up front and each step adds its recurrent product.
backward: through time in C++. RNN and LSTM: per step one product gives dh_{t-1} and dx_t from
          dgates_t; GRU: per step only dh_{t-1}, and dx is one GEMM after the loop. dW_ih, dW_hh and the
          biases are one GEMM (row sum) each over all steps afterwards, in a fixed order.

`_C` entries: `rnn_forward`, `rnn_backward`, `rnn_workspace_size`. Reference: `firstepoch.reference.rnn`
(`rnn_forward`, `rnn_backward`, and per mode `lstm_forward` ...), the same steps in NumPy, one step at a
time, with the same inputs in the same order: x, w_ih, w_hh, b_ih, b_hh, h0, c0, mode, reverse. The
kernel checks every shape and dtype with messages that name the argument. RNNFn allocates every buffer
the kernels overwrite: the packed output, one workspace that forward fills with what backward needs
(its length from `rnn_workspace_size`; its layout is the kernel's business) and the gradients it wants.

The Function API has one output, so the layer returns one packed array (S, N, H) holding the output
sequence and the final states (see RNNFn); nn.RNN/LSTM/GRU and the cells slice it with the
differentiable indexing op, so gradients reach h_n and c_n too.
"""
import numpy as np

from .. import _C
from ..autograd.engine import grad as _autograd_grad
from ..autograd.function import Function, constant_like
from .shape import StackFn

MODES = {"rnn_tanh": 1, "rnn_relu": 1, "lstm": 4, "gru": 3}  # mode -> gates per hidden unit


def packed_slices(mode, T, reverse):
    """Where RNNFn's packed output keeps (outputs (T, N, H), h_n (N, H), c_n (N, H) or None)."""
    out = slice(0, T) if reverse else slice(1, T + 1)
    h_n = 0 if reverse else T
    return out, h_n, (T + 1 if mode == "lstm" else None)


def _c(a):
    return None if a is None else np.ascontiguousarray(a)


class RNNFn(Function):
    """rnn(x (T, N, I), w_ih (G*H, I), w_hh (G*H, H), b_ih, b_hh (G*H,) or None, h0 (N, H), c0 (N, H) or
    None, mode, reverse) -> packed (S, N, H), S = T+2 for an LSTM, else T+1:
        forward:  [h0, h_0, ..., h_{T-1}, (c_{T-1})]      reverse:  [h_0, ..., h_{T-1}, h0, (c_0)]
    h_t is the output at time t; reverse reads the sequence from T-1 down to 0. packed_slices() says
    where the outputs, h_n and c_n are. Weights, biases and gate order are PyTorch's (LSTM i,f,g,o;
    GRU r,z,n with n = tanh(W_in x + b_in + r * (W_hn h + b_hn))).
    """

    kernel = "rnn"

    @staticmethod
    def flops(ctx, inputs, out):
        x, w_ih, w_hh = inputs[0], inputs[1], inputs[2]
        T, N, _ = x.shape
        return 2 * T * N * w_ih.shape[0] * (w_ih.shape[1] + w_hh.shape[1])  # the input and recurrent GEMMs

    @staticmethod
    def backward_flops(ctx, forward_flops):
        return 2 * forward_flops  # dx + dh (the transposed products) and dW_ih + dW_hh

    @staticmethod
    def forward(ctx, x, w_ih, w_hh, b_ih=None, b_hh=None, h0=None, c0=None, mode="lstm", reverse=False):
        x, w_ih, w_hh, b_ih, b_hh, h0, c0 = map(_c, (x, w_ih, w_hh, b_ih, b_hh, h0, c0))
        # (a malformed x or w_hh gets empty buffers: the kernel's check then names the argument)
        T, N, H = (x.shape[0], x.shape[1], w_hh.shape[1]) if x.ndim == 3 and w_hh.ndim == 2 else (0, 0, 0)
        out = np.empty((T + (2 if mode == "lstm" else 1), N, H), x.dtype)
        workspace = np.empty(_C.rnn_workspace_size(mode, T, N, H), x.dtype)  # what backward reads
        _C.rnn_forward(x, w_ih, w_hh, b_ih, b_hh, h0, c0, out, workspace, mode, bool(reverse))
        ctx.save_for_backward(x, w_ih, w_hh, out, workspace)
        ctx.args = (mode, bool(reverse), b_ih is not None, b_hh is not None)
        return out

    @staticmethod
    def backward(ctx, grad):
        x, w_ih, w_hh, out, workspace = ctx.saved_tensors
        mode, reverse, has_b_ih, has_b_hh = ctx.args
        needs = ctx.needs_input_grad
        dx = np.empty_like(x) if needs[0] else None
        dw_ih = np.empty_like(w_ih) if needs[1] else None
        dw_hh = np.empty_like(w_hh) if needs[2] else None
        db_ih = np.empty(w_ih.shape[0], x.dtype) if has_b_ih and needs[3] else None
        db_hh = np.empty(w_ih.shape[0], x.dtype) if has_b_hh and needs[4] else None
        dh0 = np.empty(out.shape[1:], out.dtype)  # the kernel always writes dh0 (N, H), and dc0 for an LSTM
        dc0 = np.empty_like(dh0) if mode == "lstm" else None
        _C.rnn_backward(x, w_ih, w_hh, out, workspace, np.ascontiguousarray(grad, dtype=out.dtype), dx, dh0, dc0,
                        dw_ih, dw_hh, db_ih, db_hh, mode, reverse)
        return dx, dw_ih, dw_hh, db_ih, db_hh, dh0 if needs[5] else None, dc0 if needs[6] else None, None, None

    @staticmethod
    def backward_graph(ctx, grad):
        # The kernel's steps recomputed with recorded Tensor ops (_rnn_graph), then differentiated with
        # create_graph: the gradients keep their dependence on every input (and on grad).
        parents = ctx.parents
        tensors = [constant_like(p, grad) if p is not None else None for p in parents[:7]]
        wanted = [i for i in range(7) if ctx.needs_input_grad[i] and parents[i] is not None]
        packed = _rnn_graph(*tensors, *ctx.args[:2])
        found = _autograd_grad(packed, [tensors[i] for i in wanted], grad, retain_graph=True, create_graph=True,
                               allow_unused=True)
        grads = [None] * 9
        for i, g in zip(wanted, found):
            grads[i] = g
        return tuple(grads)

    @staticmethod
    def gradcheck_cases(rng):
        T, N, I, H = 3, 2, 3, 2
        cases = []
        for mode, G in MODES.items():
            x = rng.standard_normal((T, N, I))
            h0 = rng.standard_normal((N, H)) * 0.5
            c0 = rng.standard_normal((N, H)) * 0.5 if mode == "lstm" else None
            w_ih = rng.standard_normal((G * H, I)) * 0.6
            w_hh = rng.standard_normal((G * H, H)) * 0.6
            b = [rng.standard_normal(G * H) * 0.3 for _ in range(2)]
            if mode == "rnn_relu":  # keep pre-activations away from the kink at 0
                b = [v + 0.4 for v in b]
            for reverse in (False, True):
                cases.append(((x, w_ih, w_hh, b[0], b[1], h0, c0, mode, reverse), {}))
            cases.append(((x[:1], w_ih, w_hh, None, b[1], h0, c0, mode, False), {}))  # one step, one bias
        return cases


def _rnn_graph(x, w_ih, w_hh, b_ih, b_hh, h0, c0, mode, reverse):
    """RNNFn's packed output computed step by step with Tensor ops (for its backward_graph): the same
    formulas as reference/rnn.py, each step recorded."""
    T, N = x.shape[0], x.shape[1]
    H = w_hh.shape[1]
    zeros = constant_like(np.zeros((N, H), dtype=x.dtype), x)
    h = zeros if h0 is None else h0
    c = zeros if c0 is None and mode == "lstm" else c0
    w_ih_t, w_hh_t = w_ih.transpose(0, 1), w_hh.transpose(0, 1)
    outputs = [None] * T
    for t in (range(T - 1, -1, -1) if reverse else range(T)):
        gi = x[t] @ w_ih_t
        if b_ih is not None:
            gi = gi + b_ih
        gh = h @ w_hh_t
        if b_hh is not None:
            gh = gh + b_hh
        if mode == "lstm":
            gates = gi + gh
            i, f, g, o = (gates[:, k * H:(k + 1) * H] for k in range(4))
            c = f.sigmoid() * c + i.sigmoid() * g.tanh()
            h = o.sigmoid() * c.tanh()
        elif mode == "gru":
            r = (gi[:, :H] + gh[:, :H]).sigmoid()
            z = (gi[:, H:2 * H] + gh[:, H:2 * H]).sigmoid()
            n = (gi[:, 2 * H:] + r * gh[:, 2 * H:]).tanh()
            h = (1 - z) * n + z * h
        else:
            pre = gi + gh
            h = pre.tanh() if mode == "rnn_tanh" else pre.relu()
        outputs[t] = h
    first = zeros if h0 is None else h0
    rows = outputs + [first] if reverse else [first] + outputs
    if mode == "lstm":
        rows.append(c)
    return StackFn.apply(0, *rows)


def rnn(x, w_ih, w_hh, b_ih, b_hh, h0, c0, mode, reverse=False):
    """The packed output of one layer and direction (see RNNFn) as a Tensor. A Tensor-level rule is
    checked here: input and states have the weights' dtype (the kernel checks each array alone)."""
    for name, t in (("input", x), ("h0", h0), ("c0", c0)):
        if t is not None and t.dtype != w_ih.dtype:
            # as torch: a ValueError with its message
            raise ValueError(f"RNN {name} dtype ({t.dtype}) does not match weight dtype ({w_ih.dtype}). Convert "
                             f"{name}: {name}.to({w_ih.dtype}), or convert model: model.to({t.dtype}) ({mode})")
    return RNNFn.apply(x, w_ih, w_hh, b_ih, b_hh, h0, c0, mode, reverse)
