"""Vanishing and exploding gradients through time: a vanilla RNN and an LSTM read the same 100-step
sequence, a loss is taken on the last hidden state only, and we measure |dLoss/dh_t| for every step t.

How dLoss/dh_t is read: the Tensor API has no retain_grad/hooks, so the cells run one step at a time
(nn.RNNCell / nn.LSTMCell) and each hidden state passes through `h_t = h_t + z_t`, where z_t is a zero
leaf tensor with requires_grad=True. Adding zero changes nothing in the forward pass, and
dLoss/dz_t = dLoss/dh_t, so z_t.grad after backward() is exactly the gradient reaching step t.

What to look for: backpropagating from step T to step t multiplies by the recurrent Jacobian
diag(1 - h^2) W_hh once per step. With small recurrent weights (gain 0.5) that product shrinks
geometrically and the first steps receive essentially nothing (vanishing); with large ones (gain 2,
the chaotic regime of a random tanh network) it grows geometrically (exploding). The LSTM's cell state
is updated additively, c_t = f * c_{t-1} + i * g, so its gradient is scaled by the forget gate f per
step: with the default zero bias (f ~ 0.5) it vanishes too, while a forget-gate bias of log(T)
(f ~ 0.99, the "chrono" initialisation) carries it across all 100 steps. clip_grad_norm_ rescales an
exploded parameter gradient to a fixed norm (5 here) (same direction), so one step cannot blow the weights up.
"""
import math

import numpy as np

import firstepoch as fe
import firstepoch.nn as nn
import firstepoch.nn.functional as F

from ._common import format_table, new_figure, result, save_figure, seed_everything

NAME = "vanishing"
DESCRIPTION = "RNN vs LSTM over 100 steps: |dLoss/dh_t| vanishes or explodes for the RNN, not the LSTM; clipping"

CLIP = 5.0


def configs(steps):
    """(label, kind, gain of W_hh for the RNN or forget-gate bias for the LSTM)."""
    return [("RNN, W_hh gain 0.5", "rnn", 0.5),
            ("RNN, W_hh gain 2", "rnn", 2.0),
            ("LSTM, forget bias 0", "lstm", 0.0),
            (f"LSTM, forget bias log(T)={math.log(steps):.1f}", "lstm", math.log(steps))]


def make_cell(kind, value, hidden, rng):
    """An RNNCell whose W_hh ~ N(0, value^2 / hidden) with zero biases, or an LSTMCell (PyTorch's
    initialisation) whose forget-gate bias is `value` (gates ordered i, f, g, o as in PyTorch)."""
    if kind == "rnn":
        cell = nn.RNNCell(1, hidden, nonlinearity="tanh")
        cell.weight_hh._data[...] = rng.normal(0.0, value / math.sqrt(hidden), (hidden, hidden))
        cell.bias_ih._data[...] = 0
        cell.bias_hh._data[...] = 0
    else:
        cell = nn.LSTMCell(1, hidden)
        cell.bias_ih._data[hidden:2 * hidden] = value
        cell.bias_hh._data[hidden:2 * hidden] = 0
    return cell


def hidden_grad_norms(cell, readout, x, y, lstm):
    """Runs the cell over x (T, N, 1), loss = MSE(readout(h_T), y); returns (loss, [|dLoss/dh_t|])."""
    steps, batch = x.shape[0], x.shape[1]
    h = fe.zeros(batch, cell.hidden_size)
    c = fe.zeros(batch, cell.hidden_size)
    taps = []
    for t in range(steps):
        xt = fe.tensor(x[t])
        if lstm:
            h, c = cell(xt, (h, c))
        else:
            h = cell(xt, h)
        z = fe.zeros(batch, cell.hidden_size, requires_grad=True)  # dLoss/dz = dLoss/dh_t
        h = h + z
        taps.append(z)
    loss = F.mse_loss(readout(h), fe.tensor(y))
    loss.backward()
    return loss.item(), np.array([float(np.linalg.norm(z.grad._data)) for z in taps])


def compute(seed=0, tiny=False):
    """Measures every configuration; returns a dict the table and the figure are drawn from."""
    steps, hidden, batch = (100, 32, 8) if tiny else (100, 32, 64)
    rng = seed_everything(seed)
    x = rng.standard_normal((steps, batch, 1)).astype(np.float32)
    y = x[0].copy()  # the task: recall the first input after 100 steps
    runs = []
    for label, kind, value in configs(steps):
        fe.manual_seed(seed)
        cell = make_cell(kind, value, hidden, np.random.default_rng(seed))
        readout = nn.Linear(hidden, 1)
        loss, norms = hidden_grad_norms(cell, readout, x, y, kind == "lstm")
        params = list(cell.parameters()) + list(readout.parameters())
        before = float(nn.utils.clip_grad_norm_(params, CLIP))
        after = float(np.sqrt(sum(float(np.sum(p.grad._data.astype(np.float64) ** 2)) for p in params)))
        runs.append({"label": label, "kind": kind, "value": value, "loss": loss, "norms": norms,
                     "param_grad_norm": before, "clipped_norm": after})
    return {"steps": steps, "hidden": hidden, "batch": batch, "runs": runs}


def make_table(data):
    steps = data["steps"]
    shown = sorted({1, 10, steps // 4, steps // 2, 3 * steps // 4, steps})
    rows = [[r["label"], *(r["norms"][t - 1] for t in shown), r["norms"][0] / r["norms"][-2],
             r["param_grad_norm"], r["clipped_norm"]] for r in data["runs"]]
    headers = ["model"] + [f"t={t}" for t in shown] + ["t=1 / t=T-1", "|dW| ", f"|dW| clipped"]
    return format_table(headers, rows, digits=3,
                        title=f"vanishing: |dLoss/dh_t| at step t, loss on h_T only (T={steps}, hidden "
                              f"{data['hidden']}, batch {data['batch']}, task: recall x_1)\n|dW| = norm of all "
                              f"parameter gradients, before and after clip_grad_norm_(max_norm={CLIP}); step T gets the loss's "
                              "gradient directly, earlier steps only through the recurrence, hence t=1 / t=T-1")


def make_figure(data):
    fig, ax = new_figure(1, 2, size=(14, 4.6))
    t = np.arange(1, data["steps"] + 1)
    for r in data["runs"]:
        ax[0, 0].plot(t, np.where(r["norms"] > 0, r["norms"], np.nan), label=r["label"])
    ax[0, 0].set_yscale("log")
    ax[0, 0].set_xlabel("time step t (the loss reads h_T)")
    ax[0, 0].set_ylabel("|dLoss/dh_t|")
    ax[0, 0].set_title("gradient reaching each step (a line ends where it underflows float32 to 0)")
    ax[0, 0].legend(fontsize=8)
    labels = [r["label"] for r in data["runs"]]
    pos = np.arange(len(labels))
    ax[0, 1].bar(pos - 0.2, [r["param_grad_norm"] for r in data["runs"]], 0.4, label="before clipping")
    ax[0, 1].bar(pos + 0.2, [r["clipped_norm"] for r in data["runs"]], 0.4, label=f"clip_grad_norm_({CLIP})")
    ax[0, 1].set_xticks(pos, labels, rotation=15, fontsize=8)
    ax[0, 1].set_yscale("log")
    ax[0, 1].set_ylabel("parameter gradient norm")
    ax[0, 1].set_title("clipping caps the exploded gradient")
    ax[0, 1].legend(fontsize=8)
    return fig


def run(out_dir, seed=0, tiny=False):
    data = compute(seed, tiny)
    png = save_figure(make_figure(data), out_dir, NAME)
    metrics = {r["label"]: {"first": float(r["norms"][0]), "last": float(r["norms"][-1]),
                            "first_over_previous_to_last": float(r["norms"][0] / r["norms"][-2]), "kind": r["kind"],
                            "param_grad_norm": r["param_grad_norm"], "clipped_norm": r["clipped_norm"]}
               for r in data["runs"]}
    return result(make_table(data), png, metrics)
