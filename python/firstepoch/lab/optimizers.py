"""Optimizers, first on a valley and then on a network.

Part 1, the valley: f(x, y) = (x^2 + 25 y^2) / 2, an ill-conditioned quadratic (curvature 1 along x,
25 along y: condition number 25). Gradient descent needs lr < 2/25 to stay stable along y, and at that
step it barely moves along x: the path zig-zags across the valley while crawling down it, the error
along x shrinking by (25 - 1)/(25 + 1) per step at best. Two fixes:
  - momentum, with the same learning rate: the velocity adds up the gradients, which agree along x
    (so the steps there grow) and alternate along y (so they cancel and the zig-zag is damped);
    with beta = 0.5 the error along x shrinks by about 0.81 per step instead of 12/13 (0.92);
  - rescaling: a learning rate per coordinate (two parameter groups, lr / curvature) turns the
    ellipses into circles and the path into a straight line. RMSprop learns such a rescaling from the
    gradients' running size (which works here because the valley lies along the axes).
Every method runs through firstepoch.optim on two one-element parameters, x and y.

Part 2, the network: SGD, SGD with momentum, Nesterov, RMSprop, Adam and AdamW train one MLP on
MNIST digits from the same initial weights and batch order, each with its usual learning rate.
"""
import numpy as np

import firstepoch.nn as nn
import firstepoch.optim as optim

from ._common import (format_table, mnist_subset, new_figure, percent, result, save_figure, seed_everything,
                      train_classifier)

NAME = "optimizers"
DESCRIPTION = "SGD, momentum, Nesterov, RMSprop, Adam, AdamW on one MLP; the zig-zag on an ill-conditioned quadratic"

CURVATURE = (1.0, 25.0)  # along x, along y
START = (-4.5, 1.0)


def quadratic_methods():
    """name -> function (x, y) -> optimizer, for the valley."""
    mu, L = CURVATURE
    lr_gd = 2 / (L + mu)                                  # the best fixed step for plain GD
    return {
        f"gradient descent (lr {lr_gd:.3f})": lambda x, y: optim.SGD([x, y], lr=lr_gd),
        f"momentum (lr {lr_gd:.3f}, beta 0.5)": lambda x, y: optim.SGD([x, y], lr=lr_gd, momentum=0.5),
        "rescaled (lr 0.5 / curvature per coordinate)": lambda x, y: optim.SGD(
            [{"params": [x], "lr": 0.5 / mu}, {"params": [y], "lr": 0.5 / L}]),
        "RMSprop (lr 0.1)": lambda x, y: optim.RMSprop([x, y], lr=0.1),
    }


def descend(make_optimizer, steps):
    """(path (steps + 1, 2), losses (steps + 1,)) of one method on the valley."""
    x, y = nn.Parameter(np.array([START[0]])), nn.Parameter(np.array([START[1]]))
    opt = make_optimizer(x, y)
    path, losses = [], []
    for _ in range(steps + 1):
        loss = 0.5 * (CURVATURE[0] * x * x + CURVATURE[1] * y * y).sum()
        path.append([x.item(), y.item()])
        losses.append(loss.item())
        opt.zero_grad()
        loss.backward()
        opt.step()
    return np.array(path), np.array(losses)


def network_methods():
    return {
        "SGD (lr 0.1)": lambda p: optim.SGD(p, lr=0.1),
        "momentum (lr 0.05, 0.9)": lambda p: optim.SGD(p, lr=0.05, momentum=0.9),
        "Nesterov (lr 0.05, 0.9)": lambda p: optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True),
        "RMSprop (lr 1e-3)": lambda p: optim.RMSprop(p, lr=1e-3),
        "Adam (lr 1e-3)": lambda p: optim.Adam(p, lr=1e-3),
        "AdamW (lr 1e-3, wd 0.05)": lambda p: optim.AdamW(p, lr=1e-3, weight_decay=0.05),
    }


def run(out_dir, seed=0, tiny=False):
    steps = 30 if tiny else 50
    n_train, n_val, epochs = (1000, 500, 2) if tiny else (8000, 2000, 8)
    batch = 64

    # ---- part 1: the valley ------------------------------------------------------------------------
    valley = {name: descend(make, steps) for name, make in quadratic_methods().items()}
    metrics = {"quadratic": {}, "network": {}}
    rows = []
    for name, (path, losses) in valley.items():
        reached = np.nonzero(losses < 1e-3 * losses[0])[0]
        metrics["quadratic"][name.split(" (")[0]] = float(losses[-1])
        rows.append([name, float(losses[-1]), int(reached[0]) if len(reached) else None])
    table_q = format_table(["method", f"loss after {steps} steps", "steps to 1/1000 of start"], rows, digits=3,
                           title=f"optimizers, part 1: f(x, y) = (x^2 + 25 y^2)/2 from {START}, start loss "
                                 f"{next(iter(valley.values()))[1][0]:.3g}")

    # ---- part 2: the network -----------------------------------------------------------------------
    x, y, x_val, y_val = mnist_subset(n_train, n_val, seed=seed)
    curves, rows = {}, []
    for name, make in network_methods().items():
        rng = seed_everything(seed)  # the same initial weights and batch order for every optimizer
        model = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
        h = train_classifier(model, make(model.parameters()), x, y, epochs, batch, rng, x_val, y_val)
        curves[name] = h
        first = float(np.mean(h["step_loss"][:5]))
        weight_norm = float(np.sqrt(sum(float((p._data ** 2).sum()) for p in model.parameters())))
        metrics["network"][name.split(" (")[0]] = {"first_loss": first, "train_loss": h["train_loss"][-1],
                                                   "val_acc": h["val_acc"][-1], "weight_norm": weight_norm}
        rows.append([name, first, h["train_loss"][0], h["train_loss"][-1], percent(h["val_acc"][-1]), weight_norm])
    table_n = format_table(["optimizer", "loss, first 5 steps", "epoch 1 loss", f"epoch {epochs} loss", "val acc",
                            "|weights|"], rows, digits=3,
                           title=f"optimizers, part 2: 784-128-10 ReLU MLP, {n_train} train / {n_val} val digits, "
                                 f"{epochs} epochs, batch {batch}, one initialisation")
    table = table_q + "\n\n" + table_n

    fig, ax = new_figure(1, 3, size=(17, 4.6))
    gx, gy = np.meshgrid(np.linspace(-5, 1.5, 200), np.linspace(-1.6, 1.6, 200))
    ax[0, 0].contour(gx, gy, 0.5 * (CURVATURE[0] * gx ** 2 + CURVATURE[1] * gy ** 2),
                     levels=np.geomspace(0.05, 40, 12), colors="lightgray", linewidths=0.8)
    for name, (path, losses) in valley.items():
        ax[0, 0].plot(path[:, 0], path[:, 1], marker="o", ms=2.5, lw=1, label=name.split(" (")[0])
        ax[0, 1].plot(np.maximum(losses, 1e-30), label=name.split(" (")[0])
    ax[0, 0].plot([0], [0], "k*", ms=10)
    ax[0, 0].set_title("the valley (x^2 + 25 y^2)/2: paths from the same start")
    ax[0, 0].legend(fontsize=8, loc="lower right")
    ax[0, 1].set_yscale("log")
    ax[0, 1].set_ylim(1e-12, None)
    ax[0, 1].set_xlabel("step")
    ax[0, 1].set_title("loss on the valley")
    ax[0, 1].legend(fontsize=8)
    for name, h in curves.items():
        loss = np.asarray(h["step_loss"])
        k = min(20, len(loss))
        ax[0, 2].plot(np.convolve(loss, np.ones(k) / k, mode="valid"), label=name)
    ax[0, 2].set_yscale("log")
    ax[0, 2].set_xlabel("step")
    ax[0, 2].set_title(f"MLP training loss (moving mean of {k} steps)")
    ax[0, 2].legend(fontsize=8)
    png = save_figure(fig, out_dir, NAME)
    return result(table, png, metrics)
