"""Deep vs wide at an equal number of parameters: one hidden layer of 128 ReLUs against two and four
narrower hidden layers whose widths are chosen so the parameter count is the same to within a few
percent.

Counting: an MLP 784 -> w x L -> 10 has 785 w + (L - 1)(w^2 + w) + 10 w + 10 parameters; the first
layer's 784 w dominates, so a deeper network must be only slightly narrower to stay within budget
(about 101,770 parameters: 1 x 128, or 2 x 112, or 4 x 94). Every shape trains with the same
optimizer (Adam, lr 1e-3), the same batches in the same order and the same number of epochs.

What to see: depth buys fit, not generalisation, at this size. In the default configuration (10
epochs; seeds 0, 1 and 2 measured) the two-layer network always ended with a lower training loss than
the one-layer one and the four-layer network usually with the lowest, yet the validation loss did not
follow: it was about the same for one and two layers and highest for four layers in all three runs, and
the accuracies stayed within a point of each other. On a shallow task like these digits one wide layer
is already enough; depth pays off for functions built by composition (convolutions over larger images,
long sequences). Short runs (--tiny) can order the shapes differently, the deepest starting slowest,
so the table reports both losses and the accuracies for each shape rather than declaring a winner.
"""
import numpy as np

import firstepoch.nn as nn
import firstepoch.optim as optim

from ._common import (format_table, mnist_subset, new_figure, percent, result, save_figure, seed_everything,
                      train_classifier)

NAME = "deepwide"
DESCRIPTION = "deep vs wide MLPs at an equal parameter count (1 x 128 vs 2 and 4 narrower layers): both losses"

WIDE = 128
DEPTHS = (1, 2, 4)


def parameter_count(width, depth, d_in=784, classes=10):
    """Weights and biases of d_in -> width x depth -> classes."""
    return (d_in + 1) * width + (depth - 1) * (width * width + width) + (width + 1) * classes


def width_for(depth, budget):
    """The width whose `depth`-layer MLP has the parameter count closest to budget."""
    return min(range(1, 4 * WIDE), key=lambda w: abs(parameter_count(w, depth) - budget))


def make_mlp(width, depth):
    layers, d = [], 784
    for _ in range(depth):
        layers += [nn.Linear(d, width), nn.ReLU()]
        d = width
    layers.append(nn.Linear(d, 10))
    return nn.Sequential(*layers)


def run(out_dir, seed=0, tiny=False):
    n_train, n_val, epochs = (2000, 500, 3) if tiny else (8000, 2000, 10)
    batch, lr = 64, 1e-3
    data = mnist_subset(n_train, n_val, seed=seed)
    budget = parameter_count(WIDE, 1)
    histories, rows, metrics = {}, [], {}
    for depth in DEPTHS:
        width = WIDE if depth == 1 else width_for(depth, budget)
        rng = seed_everything(seed)  # the same batch order for every shape
        model = make_mlp(width, depth)
        count = sum(p.numel() for p in model.parameters())
        label = f"depth {depth}, width {width}"
        h = train_classifier(model, optim.Adam(model.parameters(), lr=lr), *data[:2], epochs, batch, rng, *data[2:])
        histories[label] = h
        metrics[label] = {"depth": depth, "width": width, "params": count, "train_loss": h["train_eval_loss"][-1],
                          "val_loss": h["val_loss"][-1], "val_acc": h["val_acc"][-1], "train_acc": h["train_acc"][-1]}
        rows.append([label, count, f"{100 * (count / budget - 1):+.1f}%", h["train_eval_loss"][-1], h["val_loss"][-1],
                     percent(h["train_acc"][-1]), percent(h["val_acc"][-1])])
    table = format_table(["hidden layers", "parameters", "vs 1 x 128", "train loss", "val loss", "train acc",
                          "val acc"], rows, digits=4,
                         title=f"deepwide: MLPs with about {budget:,} parameters, {n_train} train / {n_val} val "
                               f"digits, {epochs} epochs of Adam (lr {lr}, batch {batch}), same batch order; losses "
                               "are mean cross-entropy in evaluation mode")

    fig, ax = new_figure(1, 2, size=(13, 4.4))
    for label, h in histories.items():
        e = np.arange(1, epochs + 1)
        ax[0, 0].plot(e, h["train_eval_loss"], marker="o", ms=3, label=f"{label}: train")
        ax[0, 0].plot(e, h["val_loss"], marker="o", ms=3, ls="--", color=ax[0, 0].lines[-1].get_color(),
                      label=f"{label}: val")
        ax[0, 1].plot(e, h["val_acc"], marker="o", ms=3, label=label)
    ax[0, 0].set_yscale("log")
    ax[0, 0].set_xlabel("epoch")
    ax[0, 0].set_title(f"loss (about {budget:,} parameters each)")
    ax[0, 0].legend(fontsize=7, ncol=2)
    ax[0, 1].set_xlabel("epoch")
    ax[0, 1].set_title("validation accuracy")
    ax[0, 1].legend(fontsize=8)
    png = save_figure(fig, out_dir, NAME)
    metrics["budget"] = budget
    return result(table, png, metrics)
