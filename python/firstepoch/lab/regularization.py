"""Regularisation: a 784-256-256-10 MLP has about 270,000 weights; trained on 1,000 digits it fits
them perfectly and overfits. Each variant below changes one thing and trains from the same initial
weights and batch order:

  none              plain SGD with momentum
  weight decay      L2 on every parameter (SGD's weight_decay)
  per-layer decay   parameter groups: strong decay on the first layer (3/4 of the weights, looking
                    at raw pixels), weak on the others, none on biases
  dropout           20% of the input pixels and 50% of each hidden layer dropped while training
  augmentation      each batch randomly rotated (up to 10 degrees) and shifted (up to 2 pixels)
  batch norm        BatchNorm1d after each hidden Linear

The gap between training and validation is measured two ways: in accuracy, and in loss (mean
cross-entropy, both in evaluation mode). With no regularisation the network ends up near-certain
of every training label, so its validation loss is the worst and its loss gap the largest; each
regulariser shrinks that gap. The accuracy gap moves less: only augmentation, which shows the
network new (plausible) digits, narrows it clearly. Every variant is trained from several seeds.
"""
import numpy as np

import firstepoch.nn as nn
import firstepoch.optim as optim
from firstepoch.data import transforms

from ._common import (format_table, mnist_subset, new_figure, percent, result, save_figure, seed_everything,
                      train_classifier)

NAME = "regularization"
DESCRIPTION = "overfitting 1,000 digits: none / weight decay / per-layer decay / dropout / augmentation / batch norm"

VARIANTS = ["none", "weight decay", "per-layer decay", "dropout", "augmentation", "batch norm"]
LR, MOMENTUM, WEIGHT_DECAY, BATCH = 0.05, 0.9, 5e-3, 64


def make_mlp(width, dropout=False, batch_norm=False):
    layers, d = [nn.Dropout(0.2)] if dropout else [], 784
    for _ in range(2):
        layers.append(nn.Linear(d, width))
        if batch_norm:
            layers.append(nn.BatchNorm1d(width))
        layers.append(nn.ReLU())
        if dropout:
            layers.append(nn.Dropout(0.5))
        d = width
    layers.append(nn.Linear(d, 10))
    return nn.Sequential(*layers)


def make_optimizer(variant, model):
    if variant == "weight decay":
        return optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM, weight_decay=WEIGHT_DECAY)
    if variant == "per-layer decay":
        linears = [m for m in model if isinstance(m, nn.Linear)]
        groups = [{"params": [linears[0].weight], "weight_decay": 2 * WEIGHT_DECAY},
                  {"params": [m.weight for m in linears[1:]], "weight_decay": WEIGHT_DECAY / 2},
                  {"params": [m.bias for m in linears], "weight_decay": 0.0}]
        return optim.SGD(groups, lr=LR, momentum=MOMENTUM)
    return optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)


def augmenter():
    """Flat (N, 784) batches -> images -> random rotation and shift -> flat again."""
    shift_rotate = transforms.Compose([transforms.RandomRotation(10), transforms.RandomCrop(28, padding=2)])

    def augment(xb):
        return shift_rotate(xb.reshape(-1, 1, 28, 28)).reshape(len(xb), -1)
    return augment


def train_variant(variant, data, width, epochs, seed):
    x, y, x_val, y_val = data
    rng = seed_everything(seed)
    model = make_mlp(width, dropout=variant == "dropout", batch_norm=variant == "batch norm")
    return train_classifier(model, make_optimizer(variant, model), x, y, epochs, BATCH, rng, x_val, y_val,
                            transform=augmenter() if variant == "augmentation" else None)


def run(out_dir, seed=0, tiny=False):
    n_train, n_val, width, epochs, repeats = (300, 500, 128, 30, 1) if tiny else (1000, 2000, 256, 40, 3)
    data = mnist_subset(n_train, n_val, seed=seed)  # one fixed subset; the repeats vary weights and order
    histories = {v: [train_variant(v, data, width, epochs, seed + r) for r in range(repeats)] for v in VARIANTS}

    rows, metrics = [], {}
    for v in VARIANTS:
        final = {k: np.array([h[k][-1] for h in histories[v]])
                 for k in ("train_acc", "val_acc", "train_eval_loss", "val_loss")}
        acc_gap = final["train_acc"] - final["val_acc"]
        loss_gap = final["val_loss"] - final["train_eval_loss"]
        metrics[v] = {"train_acc": float(final["train_acc"].mean()), "val_acc": float(final["val_acc"].mean()),
                      "acc_gap": float(acc_gap.mean()), "train_loss": float(final["train_eval_loss"].mean()),
                      "val_loss": float(final["val_loss"].mean()), "loss_gap": float(loss_gap.mean()),
                      "loss_gap_min": float(loss_gap.min()), "loss_gap_max": float(loss_gap.max())}
        m = metrics[v]
        spread = f" +- {loss_gap.std():.3f}" if repeats > 1 else ""
        rows.append([v, percent(m["train_acc"]), percent(m["val_acc"]), percent(m["acc_gap"]), m["train_loss"],
                     m["val_loss"],
                     f"{m['loss_gap']:.3f}{spread}"])
    table = format_table(["variant", "train acc", "val acc", "acc gap", "train loss", "val loss", "loss gap"], rows,
                         digits=3,
                         title=f"regularization: 784-{width}-{width}-10 ReLU MLP on {n_train} train digits, "
                               f"{n_val} validation, {epochs} epochs of SGD (lr {LR}, momentum {MOMENTUM}, batch "
                               f"{BATCH})\nmeans over {repeats} seed(s); gap = train - val (accuracy), "
                               "val - train (loss), both measured in evaluation mode")

    fig, ax = new_figure(1, 3, size=(17, 4.6))
    epochs_axis = np.arange(1, epochs + 1)
    for i, v in enumerate(VARIANTS):
        h = histories[v][0]
        ax[0, 0].plot(epochs_axis, h["val_loss"], color=f"C{i}", label=v)
        ax[0, 0].plot(epochs_axis, h["train_eval_loss"], color=f"C{i}", ls=":", lw=1)
    ax[0, 0].set_yscale("log")
    ax[0, 0].set_xlabel("epoch")
    ax[0, 0].set_title("loss: validation (solid), training (dotted)")
    ax[0, 0].legend(fontsize=8)
    pos = np.arange(len(VARIANTS))
    ax[0, 1].bar(pos - 0.2, [metrics[v]["train_acc"] for v in VARIANTS], 0.4, label="train")
    ax[0, 1].bar(pos + 0.2, [metrics[v]["val_acc"] for v in VARIANTS], 0.4, label="validation")
    low = min(metrics[v]["val_acc"] for v in VARIANTS)
    ax[0, 1].set_ylim(max(0.0, low - 0.1), 1.0)
    ax[0, 1].set_xticks(pos, VARIANTS, rotation=20)
    ax[0, 1].set_title("accuracy")
    ax[0, 1].legend(loc="lower right")
    ax[0, 2].bar(pos, [metrics[v]["loss_gap"] for v in VARIANTS], color=[f"C{i}" for i in range(len(VARIANTS))],
                 yerr=[[metrics[v]["loss_gap"] - metrics[v]["loss_gap_min"] for v in VARIANTS],
                       [metrics[v]["loss_gap_max"] - metrics[v]["loss_gap"] for v in VARIANTS]], capsize=4)
    ax[0, 2].set_xticks(pos, VARIANTS, rotation=20)
    ax[0, 2].set_title("validation loss - training loss (bars: min..max over seeds)")
    png = save_figure(fig, out_dir, NAME)
    return result(table, png, metrics)
