"""Logic gates: one neuron, sigmoid(w . x + b), draws one straight line through the plane, so it
learns AND and OR; XOR's two classes sit on opposite corners, no line separates them, and the best
a line can do is 3 of 4 points. A hidden layer bends the boundary and learns XOR.

Every model is trained from several seeds: the one-neuron XOR never passes 75% (it cannot), the
hidden-layer network reaches 100% from every seed.
"""
import numpy as np

import firstepoch as fe
import firstepoch.nn as nn
import firstepoch.nn.functional as F

from ._common import format_table, new_figure, percent, result, save_figure, seed_everything

NAME = "gates"
DESCRIPTION = "AND/OR learned by one neuron; XOR fails with one layer and is learned with a hidden layer"

X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
TARGETS = {"AND": np.array([0, 0, 0, 1], np.float32), "OR": np.array([0, 1, 1, 1], np.float32),
           "XOR": np.array([0, 1, 1, 0], np.float32)}
CASES = [("AND", "one neuron"), ("OR", "one neuron"), ("XOR", "one neuron"), ("XOR", "hidden layer (2-4-1 tanh)")]


def make_model(kind):
    if kind == "one neuron":
        return nn.Linear(2, 1)
    return nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 1))


def train(gate, kind, seed, steps):
    """Full-batch SGD with momentum on the four points from `seed`; returns (model, losses, accuracy)."""
    seed_everything(seed)
    model = make_model(kind)
    opt = fe.optim.SGD(model.parameters(), lr=0.5, momentum=0.9)
    x, y = fe.tensor(X), fe.tensor(TARGETS[gate][:, None])
    losses = []
    for _ in range(steps):
        loss = F.binary_cross_entropy_with_logits(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    with fe.no_grad():
        predicted = model(x)._data[:, 0] > 0  # logit > 0 <=> probability > 0.5
    acc = float(np.mean(predicted == (TARGETS[gate] > 0.5)))
    return model, losses, acc


def run(out_dir, seed=0, tiny=False):
    steps, n_seeds = (500, 3) if tiny else (1500, 20)
    seeds = [seed + i for i in range(n_seeds)]
    rows, metrics, shown = [], {}, {}
    for gate, kind in CASES:
        runs = [train(gate, kind, s, steps) for s in seeds]
        accs = np.array([acc for _, _, acc in runs])
        _, losses, acc = runs[0]
        shown[(gate, kind)] = runs[0]
        key = f"{gate}_{'one' if kind == 'one neuron' else 'hidden'}"
        metrics[f"{key}_acc"] = acc                 # the run from `seed`
        metrics[f"{key}_min_acc"] = float(accs.min())
        metrics[f"{key}_max_acc"] = float(accs.max())
        rows.append([gate, kind, percent(acc, 0), losses[-1], f"{percent(accs.min(), 0)} .. {percent(accs.max(), 0)}",
                     f"{int((accs == 1).sum())}/{n_seeds}"])
    table = format_table(["gate", "model", f"accuracy (seed {seed})", "final loss", "accuracy over seeds",
                          "seeds at 100%"], rows,
                         title=f"gates: full-batch SGD (lr 0.5, momentum 0.9), {steps} steps, {n_seeds} seeds")

    fig, ax = new_figure(1, 5, size=(18, 3.8))
    grid = np.linspace(-0.5, 1.5, 161, dtype=np.float32)
    gx, gy = np.meshgrid(grid, grid)
    points = np.stack([gx.ravel(), gy.ravel()], axis=1)
    for i, (gate, kind) in enumerate(CASES):
        model, losses, accuracy = shown[(gate, kind)]
        short = kind.split(" (")[0]
        with fe.no_grad():
            prob = model(fe.tensor(points)).sigmoid()._data.reshape(gx.shape)
        a = ax[0, i]
        a.contourf(gx, gy, prob, levels=np.linspace(0, 1, 11), cmap="RdBu_r", alpha=0.8)
        a.contour(gx, gy, prob, levels=[0.5], colors="k", linewidths=1.5)
        t = TARGETS[gate]
        a.scatter(X[:, 0], X[:, 1], c=["tab:blue" if v == 0 else "tab:red" for v in t], s=120, edgecolors="k")
        a.set_title(f"{gate}, {short}: {accuracy:.0%} correct")
        a.set_aspect("equal")
        ax[0, 4].plot(losses, label=f"{gate}, {short}")
    ax[0, 4].axhline(np.log(2), color="gray", ls=":", lw=1)
    ax[0, 4].text(0, np.log(2) * 1.05, "log 2: predicting 0.5 everywhere", color="gray", fontsize=8)
    ax[0, 4].set_yscale("log")
    ax[0, 4].set_xlabel("step")
    ax[0, 4].set_title("binary cross-entropy")
    ax[0, 4].legend(fontsize=8)
    png = save_figure(fig, out_dir, NAME)
    return result(table, png, metrics)
