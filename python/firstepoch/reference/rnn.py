"""Recurrent layers in plain NumPy, one time step at a time, with backpropagation through time written
out by hand: the oracle for the fused C++ kernels (firstepoch.ops.rnn, _C.rnn_forward / rnn_backward).

One layer, one direction per call; PyTorch's weights and gate order, and _C's argument order:
    x (T, N, I) the sequence, w_ih (G*H, I), w_hh (G*H, H), b_ih, b_hh (G*H,) or None,
    h0 / c0 (N, H) the initial state, with G = 1 (RNN), 4 (LSTM: i, f, g, o) or 3 (GRU: r, z, n).
reverse=True reads the sequence from t = T-1 down to 0 (the backward half of a bidirectional layer);
outputs stay in time order.

rnn_forward(x, w_ih, w_hh, b_ih, b_hh, h0, c0, mode, reverse) -> (out (T, N, H), h_n, c_n or None, cache)
and rnn_backward(dout, dh_n, dc_n, cache) -> (dx, dh0, dc0, dw_ih, dw_hh, db_ih, db_hh) take every mode,
as the kernels do; they call one pair per mode: elman_* (RNN tanh / ReLU), lstm_*, gru_*, whose
*_forward returns (out, final state, cache) and *_backward the gradients of the inputs.
"""
import numpy as np


def sigmoid(v):
    return 1.0 / (1.0 + np.exp(-v))


def _steps(T, reverse):
    return range(T - 1, -1, -1) if reverse else range(T)


def _linear(v, w, b):
    """v @ w.T (+ b): one gate pre-activation term."""
    return v @ w.T if b is None else v @ w.T + b


def _add_weight_grads(grads, dgx, dgh, x_t, h_prev):
    """Adds one step's terms to (dw_ih, dw_hh, db_ih, db_hh): dgx the gradient of the input term
    (W_ih x + b_ih), dgh of the recurrent term (W_hh h + b_hh)."""
    dw_ih, dw_hh, db_ih, db_hh = grads
    dw_ih += dgx.T @ x_t
    dw_hh += dgh.T @ h_prev
    if db_ih is not None:
        db_ih += dgx.sum(axis=0)
    if db_hh is not None:
        db_hh += dgh.sum(axis=0)


def _zeros_like_params(w_ih, w_hh, b_ih, b_hh):
    return (np.zeros_like(w_ih), np.zeros_like(w_hh), None if b_ih is None else np.zeros_like(b_ih),
            None if b_hh is None else np.zeros_like(b_hh))


# ---- vanilla (Elman) RNN: h_t = act(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh) -------------------------------------

def elman_forward(x, w_ih, w_hh, b_ih, b_hh, h0, nonlinearity="tanh", reverse=False):
    if nonlinearity not in ("tanh", "relu"):
        raise ValueError(f"nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
    T = x.shape[0]
    out = np.empty((T,) + h0.shape, dtype=x.dtype)
    h_prev = {}  # the state each step read
    h = h0
    for t in _steps(T, reverse):
        h_prev[t] = h
        pre = _linear(x[t], w_ih, b_ih) + _linear(h, w_hh, b_hh)
        h = np.tanh(pre) if nonlinearity == "tanh" else np.maximum(pre, 0)
        out[t] = h
    cache = (x, h_prev, out, w_ih, w_hh, b_ih, b_hh, nonlinearity, reverse)
    return out, h, cache


def elman_backward(dout, dh_n, cache):
    x, h_prev, out, w_ih, w_hh, b_ih, b_hh, nonlinearity, reverse = cache
    dx = np.zeros_like(x)
    grads = _zeros_like_params(w_ih, w_hh, b_ih, b_hh)
    dh = dh_n.copy()  # gradient of the state the last step made
    for t in reversed(list(_steps(x.shape[0], reverse))):
        dh = dh + dout[t]  # the output at t is this step's state
        h = out[t]
        dpre = dh * (1 - h * h) if nonlinearity == "tanh" else dh * (h > 0)
        _add_weight_grads(grads, dpre, dpre, x[t], h_prev[t])
        dx[t] = dpre @ w_ih
        dh = dpre @ w_hh  # flows on to the previous step's state
    return (dx, dh) + grads


# ---- LSTM -----------------------------------------------------------------------------------------------

def lstm_forward(x, w_ih, w_hh, b_ih, b_hh, h0, c0, reverse=False):
    T, H = x.shape[0], h0.shape[1]
    out = np.empty((T,) + h0.shape, dtype=x.dtype)
    cache_t = {}
    h, c = h0, c0
    for t in _steps(T, reverse):
        gates = _linear(x[t], w_ih, b_ih) + _linear(h, w_hh, b_hh)  # (N, 4H): i, f, g, o side by side
        i = sigmoid(gates[:, 0:H])          # input gate: how much of the candidate to write
        f = sigmoid(gates[:, H:2 * H])      # forget gate: how much of the old cell to keep
        g = np.tanh(gates[:, 2 * H:3 * H])  # candidate values
        o = sigmoid(gates[:, 3 * H:])       # output gate: how much of the cell to show
        c_new = f * c + i * g
        tc = np.tanh(c_new)
        cache_t[t] = (h, c, i, f, g, o, tc)
        h, c = o * tc, c_new
        out[t] = h
    return out, (h, c), (x, cache_t, w_ih, w_hh, b_ih, b_hh, reverse)


def lstm_backward(dout, dh_n, dc_n, cache):
    x, cache_t, w_ih, w_hh, b_ih, b_hh, reverse = cache
    dx = np.zeros_like(x)
    grads = _zeros_like_params(w_ih, w_hh, b_ih, b_hh)
    dh, dc = dh_n.copy(), dc_n.copy()
    for t in reversed(list(_steps(x.shape[0], reverse))):
        h_prev, c_prev, i, f, g, o, tc = cache_t[t]
        dh = dh + dout[t]
        do = dh * tc                          # h = o * tanh(c)
        dc = dc + dh * o * (1 - tc * tc)
        di, df, dg = dc * g, dc * c_prev, dc * i  # c = f * c_prev + i * g
        dgates = np.concatenate([di * i * (1 - i), df * f * (1 - f), dg * (1 - g * g), do * o * (1 - o)], axis=1)
        _add_weight_grads(grads, dgates, dgates, x[t], h_prev)
        dx[t] = dgates @ w_ih
        dh = dgates @ w_hh
        dc = dc * f  # the cell's own path to the previous step
    return (dx, dh, dc) + grads


# ---- GRU ------------------------------------------------------------------------------------------------

def gru_forward(x, w_ih, w_hh, b_ih, b_hh, h0, reverse=False):
    T, H = x.shape[0], h0.shape[1]
    out = np.empty((T,) + h0.shape, dtype=x.dtype)
    cache_t = {}
    h = h0
    for t in _steps(T, reverse):
        gx = _linear(x[t], w_ih, b_ih)  # (N, 3H): r, z, n parts of the input term
        gh = _linear(h, w_hh, b_hh)     # the recurrent term, kept apart: n needs r * (W_hn h + b_hn)
        r = sigmoid(gx[:, :H] + gh[:, :H])                # reset gate
        z = sigmoid(gx[:, H:2 * H] + gh[:, H:2 * H])      # update gate: how much of h to keep
        n = np.tanh(gx[:, 2 * H:] + r * gh[:, 2 * H:])    # candidate state
        cache_t[t] = (h, r, z, n, gh[:, 2 * H:])
        h = (1 - z) * n + z * h
        out[t] = h
    return out, h, (x, cache_t, w_ih, w_hh, b_ih, b_hh, reverse)


def gru_backward(dout, dh_n, cache):
    x, cache_t, w_ih, w_hh, b_ih, b_hh, reverse = cache
    dx = np.zeros_like(x)
    grads = _zeros_like_params(w_ih, w_hh, b_ih, b_hh)
    dh = dh_n.copy()
    for t in reversed(list(_steps(x.shape[0], reverse))):
        h_prev, r, z, n, ghn = cache_t[t]
        dh = dh + dout[t]
        dn = dh * (1 - z) * (1 - n * n)           # through n = tanh(...)
        dz = dh * (h_prev - n) * z * (1 - z)      # h = (1 - z) * n + z * h_prev
        dr = dn * ghn * r * (1 - r)               # n's argument holds r * (W_hn h + b_hn)
        dgx = np.concatenate([dr, dz, dn], axis=1)
        dgh = np.concatenate([dr, dz, dn * r], axis=1)
        _add_weight_grads(grads, dgx, dgh, x[t], h_prev)
        dx[t] = dgx @ w_ih
        dh = dh * z + dgh @ w_hh
    return (dx, dh) + grads


# ---- every mode, as the kernels take them --------------------------------------------------------------

def rnn_forward(x, w_ih, w_hh, b_ih, b_hh, h0, c0=None, mode="lstm", reverse=False):
    """(out (T, N, H), h_n, c_n (LSTM) or None, cache) of one layer and direction in `mode`
    ('rnn_tanh', 'rnn_relu', 'lstm', 'gru')."""
    if mode == "lstm":
        out, (h_n, c_n), cache = lstm_forward(x, w_ih, w_hh, b_ih, b_hh, h0, c0, reverse)
        return out, h_n, c_n, (mode, cache)
    if mode == "gru":
        out, h_n, cache = gru_forward(x, w_ih, w_hh, b_ih, b_hh, h0, reverse)
    elif mode in ("rnn_tanh", "rnn_relu"):
        out, h_n, cache = elman_forward(x, w_ih, w_hh, b_ih, b_hh, h0, mode[4:], reverse)
    else:
        raise ValueError(f"mode must be 'rnn_tanh', 'rnn_relu', 'lstm' or 'gru', got {mode!r}")
    return out, h_n, None, (mode, cache)


def rnn_backward(dout, dh_n, dc_n, cache):
    """(dx, dh0, dc0 or None, dw_ih, dw_hh, db_ih, db_hh), in _C.rnn_backward's order, from the gradients
    of the outputs and of the final state(s)."""
    mode, cache = cache
    if mode == "lstm":
        return lstm_backward(dout, dh_n, dc_n, cache)
    dx, dh0, *grads = (gru_backward if mode == "gru" else elman_backward)(dout, dh_n, cache)
    return (dx, dh0, None, *grads)
