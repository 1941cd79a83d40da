"""Exploding gradients, literally: a one-unit RNN with recurrent weight w = 2 and no input,
h_t = relu(w h_{t-1}), run for 50 steps from h_0 = 0.3.

For h > 0 the ReLU is the identity, so h_t = w^t h_0 and, differentiating through every step,
    h_50     = 2^50 h_0           = 337,769,972,052,787.2 for h_0 = 0.3
    dh_50/dw = 50 w^49 h_0 = 50 * 2^49 h_0
(each of the 50 uses of w contributes w^49 h_0). Multiplying by 2 only changes a float's exponent, so
in float64 h_50 is 2^50 h_0 exactly, bit for bit (the gradient, a sum of 50 terms 2^49 h_0 added by the
backward pass, matches to a few units in the last place). The gradient is 50 times that over w: one weight
that is "a bit too big" turns into a gradient of order 10^16 after 50 steps. With w = 1/2 the same
arithmetic gives 2^-50 h_0 (vanishing). A tanh cell cannot explode in its forward pass (|h| < 1): with
w = 2 it settles at the fixed point h = tanh(2h) = 0.9575, where each step multiplies the gradient by
w (1 - h^2) = 0.166, so dh_50/dw stays small. The `vanishing` entry shows the same in a 32-unit RNN.

Everything runs through nn.RNNCell(1, 1, bias=False) in float64 with weight_ih = 0, weight_hh = w, and
autograd computes dh_t/dw for every t (one backward per t, through a fresh graph).
"""
import numpy as np

import firstepoch as fe
import firstepoch.nn as nn

from ._common import format_table, new_figure, result, save_figure, seed_everything

NAME = "exploding"
DESCRIPTION = "h_t = relu(2 h_{t-1}): h_50 = 2^50 h_0 exactly in float64, dh_50/dw = 50 * 2^49 h_0"

STEPS, H0 = 50, 0.3
CASES = [("ReLU cell, w = 2", "relu", 2.0), ("ReLU cell, w = 1/2", "relu", 0.5), ("tanh cell, w = 2", "tanh", 2.0)]


def make_cell(nonlinearity, w):
    """nn.RNNCell(1, 1) in float64 without biases, input weight 0, recurrent weight w."""
    cell = nn.RNNCell(1, 1, bias=False, nonlinearity=nonlinearity, dtype=np.float64)
    cell.weight_ih._data[...] = 0.0
    cell.weight_hh._data[...] = w
    return cell


def unroll(cell, steps, h0=H0):
    """(h_t for t = 0..steps, dh_t/dw for t = 0..steps): the forward once, then for each t a backward from
    h_t over a fresh unrolled graph (the gradient with respect to weight_hh)."""
    x = fe.zeros(1, 1, dtype=np.float64)
    hs, grads = [h0], [0.0]
    for t in range(1, steps + 1):
        h = fe.tensor(np.array([[h0]]))
        for _ in range(t):
            h = cell(x, h)
        cell.zero_grad()
        h.sum().backward()
        hs.append(h.item())
        grads.append(cell.weight_hh.grad.item())
    return np.array(hs), np.array(grads)


def run(out_dir, seed=0, tiny=False):
    seed_everything(seed)  # nothing here is random
    steps = STEPS  # 50 steps take well under a second either way; tiny changes nothing
    runs = {}
    for label, nonlinearity, w in CASES:
        hs, grads = unroll(make_cell(nonlinearity, w), steps)
        runs[label] = {"nonlinearity": nonlinearity, "w": w, "h": hs, "grad": grads}

    relu2 = runs[CASES[0][0]]
    t = np.arange(steps + 1)
    h_closed = 2.0 ** t * H0
    g_closed = t * 2.0 ** np.maximum(t - 1, 0) * H0
    shown = [1, 2, 10, 20, 30, 40, 50]
    rows = [[k, relu2["h"][k], h_closed[k], relu2["h"][k] == h_closed[k], relu2["grad"][k], g_closed[k],
             abs(relu2["grad"][k] / g_closed[k] - 1)] for k in shown]
    table = format_table(["t", "h_t (RNNCell)", "2^t h_0", "equal bit for bit", "dh_t/dw (autograd)",
                          "t 2^(t-1) h_0", "relative difference"], rows, digits=6,
                         title=f"exploding: h_t = relu(2 h_(t-1)), h_0 = {H0}, nn.RNNCell(1, 1) in float64, "
                               "dh_t/dw by autograd through t steps")
    other_rows = [[label, r["w"], r["h"][steps], r["grad"][steps]] for label, r in runs.items()]
    table += "\n\n" + format_table(["cell", "w", f"h_{steps}", f"dh_{steps}/dw"], other_rows, digits=6,
                                   title=f"the same {steps} steps with other weights and nonlinearities")
    h_last, g_last = float(relu2["h"][steps]), float(relu2["grad"][steps])
    table += (f"\n\nin full: h_{steps} = {h_last!r}, 2**{steps} * {H0} = {2.0 ** steps * H0!r} (equal: "
              f"{h_last == 2.0 ** steps * H0}); dh_{steps}/dw = {g_last!r}, {steps} * 2**{steps - 1} * {H0} = "
              f"{steps * 2.0 ** (steps - 1) * H0!r}")

    fig, ax = new_figure(1, 2, size=(13, 4.4))
    for label, r in runs.items():
        ax[0, 0].plot(t, np.abs(r["h"]), marker=".", ms=3, label=label)
        ax[0, 1].plot(t[1:], np.abs(r["grad"][1:]), marker=".", ms=3, label=label)
    ax[0, 0].plot(t, h_closed, "k:", lw=1, label="2^t h_0")
    ax[0, 1].plot(t[1:], g_closed[1:], "k:", lw=1, label="t 2^(t-1) h_0")
    for a, what in ((ax[0, 0], "|h_t|"), (ax[0, 1], "|dh_t/dw|")):
        a.set_yscale("log", base=2)
        a.set_xlabel("step t")
        a.set_ylabel(what + " (log base 2)")
        a.legend(fontsize=8)
    ax[0, 0].set_title(f"hidden state: h_{steps} = 2^{steps} h_0 = {relu2['h'][steps]:.4e}")
    ax[0, 1].set_title(f"gradient: dh_{steps}/dw = {steps} * 2^{steps - 1} h_0 = {relu2['grad'][steps]:.4e}")
    png = save_figure(fig, out_dir, NAME)
    metrics = {label: {"w": r["w"], "nonlinearity": r["nonlinearity"], "h": r["h"].tolist(), "grad": r["grad"].tolist()}
               for label, r in runs.items()}
    metrics.update(steps=steps, h0=H0, tanh_fixed_point=float(runs[CASES[2][0]]["h"][steps]),
                   tanh_step_factor=float(2 * (1 - runs[CASES[2][0]]["h"][steps] ** 2)))
    return result(table, png, metrics)
