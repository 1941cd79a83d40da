"""Recurrent layers: firstepoch (fused C++) vs the NumPy step-by-step reference vs PyTorch (when
importable), float32, seq 50, batch 32, input 128, hidden 256: LSTM, GRU, RNN(tanh) and a 2-layer LSTM,
forward (no graph) and forward+backward (every gradient: the input's and all weights').

FLOPs counted: 2 * the multiply-adds of the GEMMs, forward = 2*T*N*G*H*(I+H) per layer (G gates: LSTM 4,
GRU 3, RNN 1); backward = 2 x forward (dx and dh products, dW_ih and dW_hh); the gate arithmetic is
not counted. "% peak" is against the FMA probe's measured peak at the same thread count.

    python bench/rnn.py [--threads 1] [--quick] [--json FILE]
"""
from common import Table, finish, interleaved_medians, ratio_columns, ratio_row, settle_for, start
import numpy as np  # noqa: E402 (after common: it fixes the BLAS threads first)

import firstepoch as fe
import firstepoch.nn as nn
from firstepoch.reference import rnn as R

T, N, I, H = 50, 32, 128, 256
CASES = [("LSTM", "LSTM", {}, 4), ("GRU", "GRU", {}, 3), ("RNN(tanh)", "RNN", {}, 1),
         ("LSTM 2 layers", "LSTM", {"num_layers": 2}, 4)]


def reference_model(kind, weights, layers):
    """Forward and forward+backward of the NumPy reference over `layers` stacked layers."""
    mode = {"LSTM": "lstm", "GRU": "gru", "RNN": "rnn_tanh"}[kind]

    def forward(x):
        caches = []
        h0 = np.zeros((N, H), np.float32)
        for layer in range(layers):
            w = weights[layer]
            x, _, _, cache = R.rnn_forward(x, *w, h0, h0 if mode == "lstm" else None, mode)
            caches.append(cache)
        return x, caches

    def forward_backward(x):
        out, caches = forward(x)
        dout = np.ones_like(out)
        zero = np.zeros((N, H), np.float32)
        for cache in reversed(caches):
            dout = R.rnn_backward(dout, zero, zero if mode == "lstm" else None, cache)[0]
        return dout

    return (lambda x: forward(x)[0]), forward_backward


def passes(lib, model, x, xg):
    """The two timed passes of a model in firstepoch or PyTorch (same API): forward without a graph, and
    forward+backward into every gradient (xg requires grad)."""
    def forward():
        with lib.no_grad():
            model(x)

    def forward_backward():
        xg.grad = None
        model.zero_grad()
        model(xg)[0].sum().backward()
    return forward, forward_backward


def cases(torch, kind, kw, x):
    fe.manual_seed(0)
    model = getattr(nn, kind)(I, H, **kw)
    layers = kw.get("num_layers", 1)
    weights = [[model.state_dict()[f"{n}_l{k}"] for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
               for k in range(layers)]
    X = fe.tensor(x)
    Xg = fe.tensor(x, requires_grad=True)

    fe_fwd, fe_fb = passes(fe, model, X, Xg)
    np_fwd, np_fb = reference_model(kind, weights, layers)
    fwd = {"fe": fe_fwd, "np": lambda: np_fwd(x)}
    fb = {"fe": fe_fb, "np": lambda: np_fb(x)}
    if torch:
        theirs = getattr(torch.nn, kind)(I, H, **kw)
        theirs.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in model.state_dict().items()})
        xt = torch.from_numpy(x)
        fwd["torch"], fb["torch"] = passes(torch, theirs, xt, xt.clone().requires_grad_(True))
    return fwd, fb


def main():
    args, torch, peak = start(__doc__, f"recurrent layers, float32, T={T} N={N} I={I} H={H}, {{threads}} thread(s)",
                              threads_option=True,
                              peak_note="; FLOPs = 2*GEMM multiply-adds, fwd+bwd = 3 x forward")
    table = Table(ratio_columns("model", "ms", torch))
    rng = np.random.default_rng(0)
    x = rng.standard_normal((T, N, I)).astype(np.float32)
    rounds = 3 if args.quick else 7
    for name, kind, kw, G in CASES:
        layers = kw.get("num_layers", 1)
        flop = 2.0 * T * N * G * H * ((I + H) + (layers - 1) * (H + H))
        fwd, fb = cases(torch, kind, kw, x)
        for pname, fns, fl in (("fwd", fwd, flop), ("fwd+bwd", fb, 3 * flop)):
            t = interleaved_medians(fns, rounds=rounds, min_seconds=0.1, settle=settle_for(args.threads))
            table.add(**ratio_row(("model", name), pname, t, flop=fl, peak=peak, torch_time=t.get("torch")))
    finish(args, table, peak_gflops=peak)


if __name__ == "__main__":
    main()
