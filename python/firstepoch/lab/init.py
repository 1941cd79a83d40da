"""Initialisation: push MNIST digits through 10 freshly initialised layers (no training) and look at
each layer's activations.

A layer's output variance is fan_in x Var(w) x (the input's second moment), so it stays the same
from layer to layer only if Var(w) is about 1/fan_in:
  - small random, w ~ N(0, 0.01^2): fan_in x Var(w) = 0.0256 for 256 inputs, the signal shrinks
    about 6x per layer and is gone after a few (and the gradients with it);
  - Xavier (Glorot), Var(w) = 2/(fan_in + fan_out) = 1/fan_in here: keeps tanh's activations alive
    (they shrink slowly, as tanh squashes), but ReLU zeroes half its inputs, halving the variance at
    every layer;
  - He (Kaiming), Var(w) = 2/fan_in: the factor 2 pays for ReLU's half, so ReLU's activations keep
    their size through all 10 layers.
"""
import numpy as np

import firstepoch as fe
import firstepoch.nn as nn
from firstepoch.nn import init as nn_init

from ._common import blank_figure, format_table, mnist_subset, result, save_figure, seed_everything

NAME = "init"
DESCRIPTION = "activation histograms through 10 layers for small-random, Xavier and He initialisation"

DEPTH = 10
INITS = {
    "small random N(0, 0.01^2)": lambda w: nn_init.normal_(w, 0.0, 0.01),
    "Xavier": lambda w: nn_init.xavier_normal_(w),
    "He": lambda w: nn_init.kaiming_normal_(w, nonlinearity="relu"),
}
NONLINEARITIES = {"tanh": nn.Tanh, "ReLU": nn.ReLU}


def layer_outputs(x, width, initialise, activation):
    """The activation after each of DEPTH Linear + nonlinearity layers (biases zero), as arrays."""
    outputs, d, h = [], x.shape[1], fe.tensor(x)
    with fe.no_grad():
        for _ in range(DEPTH):
            linear = nn.Linear(d, width)
            initialise(linear.weight)
            nn_init.zeros_(linear.bias)
            h = activation()(linear(h))
            outputs.append(h._data)
            d = width
    return outputs


def run(out_dir, seed=0, tiny=False):
    n, width = (200, 64) if tiny else (2000, 256)
    _, _, x, _ = mnist_subset(1, n, seed=seed)  # n validation digits
    x = (x - x.mean()) / x.std()                 # standardised inputs: mean 0, std 1
    outputs, rows, metrics = {}, [], {}
    shown = [1, 2, 3, 5, DEPTH]
    for act_name, activation in NONLINEARITIES.items():
        for init_name, initialise in INITS.items():
            seed_everything(seed)
            outs = layer_outputs(x, width, initialise, activation)
            stds = [float(o.std()) for o in outs]
            outputs[(init_name, act_name)] = outs
            short = init_name.split(" N(")[0]
            metrics[f"{short}/{act_name}"] = {"std": stds, "ratio": stds[-1] / stds[0]}
            rows.append([short, act_name, *[stds[i - 1] for i in shown], stds[-1] / stds[0]])
    table = format_table(["init", "nonlinearity"] + [f"std L{i}" for i in shown] + [f"L{DEPTH}/L1"], rows, digits=3,
                         title=f"init: {n} standardised MNIST digits through {DEPTH} layers of width {width} "
                               "(784 inputs), biases 0, no training; std of each layer's activations")

    fig = blank_figure(size=(20, 11))
    left, right = fig.subfigures(1, 2, width_ratios=[3.2, 1])
    combos = list(outputs)
    axes = left.subplots(len(combos), DEPTH, sharey="row")
    for r, (init_name, act_name) in enumerate(combos):
        outs = outputs[(init_name, act_name)]
        lim = 1.0 if act_name == "tanh" else max(float(np.quantile(outs[0], 0.999)), 1e-12)
        for c, o in enumerate(outs):
            a = axes[r, c]
            values = o.ravel() if act_name == "tanh" else o.ravel()[o.ravel() > 0]  # ReLU: the units that are on
            a.hist(values, bins=40, range=(-lim, lim) if act_name == "tanh" else (0, lim), color=f"C{r}")
            a.set_yticks([])
            a.tick_params(labelsize=6)
            if r == 0:
                a.set_title(f"layer {c + 1}", fontsize=9)
            if c == 0:
                a.set_ylabel(f"{init_name.split(' N(')[0]}\n{act_name}", fontsize=9)
    left.suptitle("activation histograms (ReLU: the nonzero ones), x axis fixed per row to layer 1's range")
    ax = right.subplots(1, 1)
    for r, (init_name, act_name) in enumerate(combos):
        stds = metrics[f"{init_name.split(' N(')[0]}/{act_name}"]["std"]
        ax.plot(range(1, DEPTH + 1), np.maximum(stds, 1e-30), marker="o", color=f"C{r}",
                ls="-" if act_name == "tanh" else "--", label=f"{init_name.split(' N(')[0]}, {act_name}")
    ax.set_yscale("log")
    ax.set_xlabel("layer")
    ax.set_ylabel("std of the activations")
    ax.set_title("signal size through depth")
    ax.legend(fontsize=8)
    png = save_figure(fig, out_dir, NAME)
    return result(table, png, metrics)
