"""Recurrent layers (RNN tanh/ReLU, LSTM, GRU): one Function per layer and direction, fused in C++.

forward:  gates of every step = W_ih x (one GEMM over all T*N rows), then per step t
          gates_t += W_hh h_{t-1} and the gate non-linearities fused with the state update
backward: through time in C++; only dh_{t-1} = W_hh^T dgates_t is inside the time loop, dW_ih, dW_hh
          and the biases are one GEMM (row sum) each over all steps afterwards.
firstepoch.reference.rnn has the same steps in NumPy, one step at a time.

The Function API has one output, so the layer returns one packed array (S, N, H) holding the output
sequence and the final states (see RNNLayer); nn.RNN/LSTM/GRU and the cells slice it with the
differentiable indexing op, so gradients reach h_n and c_n too.
"""
import numpy as np

from .. import _C
from .function import Function

MODES = {"rnn_tanh": 1, "rnn_relu": 1, "lstm": 4, "gru": 3}


def packed_slices(mode, T, reverse):
    """Where RNNLayer's packed output keeps (outputs (T, N, H), h_n (N, H), c_n (N, H) or None)."""
    out = slice(0, T) if reverse else slice(1, T + 1)
    h_n = 0 if reverse else T
    return out, h_n, (T + 1 if mode == "lstm" else None)


def _check(x, h0, c0, w_ih, w_hh, b_ih, b_hh, mode):
    """Shapes and dtypes with messages that name the argument (the C++ side checks them again)."""
    if mode not in MODES:
        raise ValueError(f"rnn: mode must be one of {sorted(MODES)}, got {mode!r}")
    G = MODES[mode]
    arrays = {"x": x, "h0": h0, "w_ih": w_ih, "w_hh": w_hh, "b_ih": b_ih, "b_hh": b_hh, "c0": c0}
    dts = {name: a.dtype for name, a in arrays.items() if a is not None}
    if len(set(dts.values())) > 1 or x.dtype not in (np.float32, np.float64):
        raise TypeError(f"rnn: all arrays must share one float dtype (float32 or float64), got {dts}")
    if x.ndim != 3:
        raise ValueError(f"rnn: input must be (seq_len, batch, input_size), got shape {x.shape}")
    T, N, I = x.shape
    if w_hh.ndim != 2 or w_hh.shape[0] != G * w_hh.shape[1]:
        raise ValueError(f"rnn ({mode}): weight_hh must be ({G} * hidden_size, hidden_size), got {w_hh.shape}")
    H = w_hh.shape[1]
    if w_ih.shape != (G * H, I):
        raise ValueError(f"rnn ({mode}): input has {I} features (shape {x.shape}), weight_ih has shape "
                         f"{w_ih.shape}, expected {(G * H, I)}")
    for name, b in (("bias_ih", b_ih), ("bias_hh", b_hh)):
        if b is not None and b.shape != (G * H,):
            raise ValueError(f"rnn ({mode}): {name} has shape {b.shape}, expected {(G * H,)}")
    if h0.shape != (N, H):
        raise ValueError(f"rnn ({mode}): h0 has shape {h0.shape}, expected (batch, hidden_size) = {(N, H)} "
                         f"for input {x.shape}")
    if mode == "lstm" and (c0 is None or c0.shape != (N, H)):
        raise ValueError(f"rnn (lstm): c0 has shape {None if c0 is None else c0.shape}, expected {(N, H)}")
    if T < 1 or I < 1:  # a batch of 0 sequences is fine, as in PyTorch
        raise ValueError(f"rnn: input {x.shape} must have at least one step and one feature")


class RNNLayer(Function):
    """rnn_layer(x (T, N, I), h0 (N, H), c0 (N, H) or None, w_ih (G*H, I), w_hh (G*H, H), b_ih, b_hh (G*H,)
    or None, mode, reverse) -> packed (S, N, H), S = T+2 for an LSTM, else T+1:
        forward:  [h0, h_0, ..., h_{T-1}, (c_{T-1})]      reverse:  [h_0, ..., h_{T-1}, h0, (c_0)]
    h_t is the output at time t; reverse reads the sequence from T-1 down to 0. packed_slices() says
    where the outputs, h_n and c_n are. Weights, biases and gate order are PyTorch's (LSTM i,f,g,o;
    GRU r,z,n with n = tanh(W_in x + b_in + r * (W_hn h + b_hn))).
    """

    kernel = "rnn"

    @staticmethod
    def flops(ctx, inputs, out):
        x, w_ih, w_hh = inputs[0], inputs[3], inputs[4]
        T, N, _ = x.shape
        return 2 * T * N * w_ih.shape[0] * (w_ih.shape[1] + w_hh.shape[1])  # the input and recurrent GEMMs

    @staticmethod
    def backward_flops(ctx, forward_flops):
        return 2 * forward_flops  # dx + dh (the transposed products) and dW_ih + dW_hh

    @staticmethod
    def forward(ctx, x, h0, c0, w_ih, w_hh, b_ih=None, b_hh=None, mode="lstm", reverse=False):
        _check(x, h0, c0, w_ih, w_hh, b_ih, b_hh, mode)
        c = np.ascontiguousarray
        x, h0, w_ih, w_hh = c(x), c(h0), c(w_ih), c(w_hh)
        b_ih = None if b_ih is None else c(b_ih)
        b_hh = None if b_hh is None else c(b_hh)
        c0 = c(c0) if mode == "lstm" else None
        out, saved = _C.rnn_forward(x, w_ih, w_hh, b_ih, b_hh, h0, c0, mode, bool(reverse))
        ctx.save_for_backward(x, w_ih, w_hh, out, saved)
        ctx.args = (mode, bool(reverse), b_ih is not None, b_hh is not None)
        return out

    @staticmethod
    def backward(ctx, grad):
        x, w_ih, w_hh, out, saved = ctx.saved_tensors
        mode, reverse, has_b_ih, has_b_hh = ctx.args
        needs = ctx.needs_input_grad
        dx, dh0, dc0, dw_ih, dw_hh, db_ih, db_hh = _C.rnn_backward(
            x, w_ih, w_hh, out, saved, np.ascontiguousarray(grad, dtype=out.dtype), mode, reverse,
            need_dx=needs[0], need_dw=needs[3] or needs[4], need_db=(has_b_ih and needs[5]) or (has_b_hh and needs[6]))
        return (dx, dh0 if needs[1] else None, dc0 if needs[2] else None, dw_ih if needs[3] else None,
                dw_hh if needs[4] else None, db_ih if has_b_ih and needs[5] else None,
                db_hh if has_b_hh and needs[6] else None, None, None)

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
                cases.append(((x, h0, c0, w_ih, w_hh, b[0], b[1], mode, reverse), {}))
            cases.append(((x[:1], h0, c0, w_ih, w_hh, None, b[1], mode, False), {}))  # one step, one bias
        return cases


def rnn_layer(x, h0, c0, w_ih, w_hh, b_ih, b_hh, mode, reverse=False):
    """The packed output of one layer and direction (see RNNLayer) as a Tensor."""
    return RNNLayer.apply(x, h0, c0, w_ih, w_hh, b_ih, b_hh, mode, reverse)
