"""Activation functions side by side: the same 784-128-128-10 MLP, the same initial weights (one
seed), the same data order and the same SGD, with only the nonlinearity changed: ReLU, Softplus,
Sigmoid, Tanh, GELU.

What to look for: the gradient reaching each layer. Backpropagation multiplies by the activation's
derivative once per layer; sigmoid's derivative is at most 1/4, so its first layer receives a
gradient several times smaller than its last, and that layer learns slowest (the vanishing gradient).
ReLU's derivative is 1 wherever a unit is on, and tanh's is 1 at zero, so their gradients reach the
input layer intact.
"""
import numpy as np

import firstepoch.nn as nn
import firstepoch.optim as optim

from ._common import (format_table, mnist_subset, new_figure, percent, result, save_figure, seed_everything,
                      train_classifier)

NAME = "activations"
DESCRIPTION = "ReLU vs Softplus vs Sigmoid vs Tanh vs GELU on one MLP: accuracy, curves, gradient per layer"

ACTIVATIONS = {"ReLU": nn.ReLU, "Softplus": nn.Softplus, "Sigmoid": nn.Sigmoid, "Tanh": nn.Tanh, "GELU": nn.GELU}
WIDTH, HIDDEN_LAYERS = 128, 2


def make_mlp(activation):
    layers, d = [], 784
    for _ in range(HIDDEN_LAYERS):
        layers += [nn.Linear(d, WIDTH), activation()]
        d = WIDTH
    layers.append(nn.Linear(d, 10))
    return nn.Sequential(*layers)


def run(out_dir, seed=0, tiny=False):
    n_train, n_val, epochs = (2000, 500, 10) if tiny else (8000, 2000, 15)
    batch, lr, momentum = 64, 0.05, 0.9
    x, y, x_val, y_val = mnist_subset(n_train, n_val, seed=seed)
    steps_per_epoch = -(-n_train // batch)
    histories, grad_norms = {}, {}
    for name, activation in ACTIVATIONS.items():
        rng = seed_everything(seed)  # the same initial weights and batch order for every activation
        model = make_mlp(activation)
        linears = [m for m in model if isinstance(m, nn.Linear)]
        norms = []

        def record(step):
            norms.append([float(np.linalg.norm(layer.weight.grad._data)) for layer in linears])

        opt = optim.SGD(model.parameters(), lr=lr, momentum=momentum)
        histories[name] = train_classifier(model, opt, x, y, epochs, batch, rng, x_val, y_val, after_backward=record)
        grad_norms[name] = np.array(norms)  # (steps, layers)

    n_layers = HIDDEN_LAYERS + 1
    rows, metrics = [], {}
    for name, h in histories.items():
        first_epoch = grad_norms[name][:steps_per_epoch].mean(axis=0)
        metrics[name] = {"val_acc": h["val_acc"][-1], "train_loss": h["train_loss"][-1],
                         "grad_norm_first_epoch": first_epoch.tolist(),
                         "grad_norm_at_init": grad_norms[name][0].tolist()}
        rows.append([name, percent(h["val_acc"][-1]), h["train_loss"][-1], *first_epoch,
                     first_epoch[0] / first_epoch[-1]])
    headers = ["activation", "val acc", "train loss"] + [f"|dW{i + 1}|" for i in range(n_layers)] + ["|dW1|/|dW3|"]
    table = format_table(headers, rows, digits=3,
                         title=f"activations: 784-{WIDTH}-{WIDTH}-10 MLP, {n_train} train / {n_val} val digits, "
                               f"{epochs} epochs of SGD (lr {lr}, momentum {momentum}, batch {batch})\n|dWl| = "
                               "Frobenius norm of layer l's weight gradient, mean over the first epoch")

    fig, ax = new_figure(1, 3, size=(16, 4.4))
    for name, h in histories.items():
        ax[0, 0].plot(range(1, epochs + 1), h["val_acc"], marker="o", ms=3, label=name)
        loss = np.asarray(h["step_loss"])
        k = min(20, len(loss))
        ax[0, 1].plot(np.convolve(loss, np.ones(k) / k, mode="valid"), label=name)
    ax[0, 0].axhline(0.1, color="gray", ls=":", lw=1)
    ax[0, 0].set_xlabel("epoch")
    ax[0, 0].set_ylabel("validation accuracy")
    ax[0, 0].set_title("accuracy (dotted: chance)")
    ax[0, 0].legend()
    ax[0, 1].set_yscale("log")
    ax[0, 1].set_xlabel("step")
    ax[0, 1].set_title(f"training loss (moving mean of {min(20, len(loss))} steps)")
    width = 0.8 / len(histories)
    for i, name in enumerate(histories):
        ax[0, 2].bar(np.arange(n_layers) + (i - (len(histories) - 1) / 2) * width,
                     metrics[name]["grad_norm_first_epoch"], width, label=name)
    ax[0, 2].set_xticks(np.arange(n_layers), [f"layer {i + 1}" + (" (input)" if i == 0 else "")
                                              for i in range(n_layers)])
    ax[0, 2].set_yscale("log")
    ax[0, 2].set_ylabel("|dW|, mean over the first epoch")
    ax[0, 2].set_title("gradient reaching each layer")
    low, high = ax[0, 2].get_ylim()
    ax[0, 2].set_ylim(low, high * 4)  # room for the legend above the bars
    ax[0, 2].legend(fontsize=8, ncol=3, loc="upper center")
    png = save_figure(fig, out_dir, NAME)
    return result(table, png, metrics)
