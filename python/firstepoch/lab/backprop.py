"""Backpropagation by hand: a two-layer network's gradients derived with the chain rule in NumPy,
next to firstepoch's autograd and to central finite differences, for every parameter, in float64.

The network and its loss, for a batch X (N, D) with labels y:
    A = X W1^T + b1        (N, H)    pre-activation
    H = tanh(A)            (N, H)    hidden layer
    Z = H W2^T + b2        (N, C)    logits
    L = mean_i -log softmax(Z_i)[y_i]

Backward, one line per forward line, read bottom to top (P = softmax(Z), Y = one-hot(y)):
    dZ  = (P - Y) / N                       d mean cross-entropy / d logits
    dW2 = dZ^T H,   db2 = sum_i dZ_i        Z is linear in W2 and b2
    dH  = dZ W2                             ... and in H
    dA  = dH * (1 - H^2)                    tanh'(a) = 1 - tanh(a)^2
    dW1 = dA^T X,   db1 = sum_i dA_i
"""
import numpy as np

import firstepoch as fe
import firstepoch.nn.functional as F

from ._common import format_table, mnist_subset, new_figure, result, save_figure, seed_everything

NAME = "backprop"
DESCRIPTION = "a 2-layer network's gradients by hand in NumPy vs autograd vs finite differences"

PARAMS = ("W1", "b1", "W2", "b2")


def init_params(rng, d_in, hidden, classes):
    """float64 weights as nn.Linear draws them: U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
    b_in, b_h = 1 / np.sqrt(d_in), 1 / np.sqrt(hidden)
    return {"W1": rng.uniform(-b_in, b_in, (hidden, d_in)), "b1": rng.uniform(-b_in, b_in, hidden),
            "W2": rng.uniform(-b_h, b_h, (classes, hidden)), "b2": rng.uniform(-b_h, b_h, classes)}


def loss_numpy(p, x, y):
    """The forward pass alone, in NumPy: the function the finite differences probe."""
    z = np.tanh(x @ p["W1"].T + p["b1"]) @ p["W2"].T + p["b2"]
    z = z - z.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return -logp[np.arange(len(y)), y].mean()


def grads_by_hand(p, x, y):
    """The backward pass written out with the chain rule (the module docstring derives each line)."""
    n = len(y)
    a = x @ p["W1"].T + p["b1"]
    h = np.tanh(a)
    z = h @ p["W2"].T + p["b2"]
    e = np.exp(z - z.max(axis=1, keepdims=True))
    dz = e / e.sum(axis=1, keepdims=True)      # softmax probabilities ...
    dz[np.arange(n), y] -= 1                   # ... minus the one-hot target
    dz /= n                                    # the mean over the batch
    dh = dz @ p["W2"]
    da = dh * (1 - h * h)
    return {"W1": da.T @ x, "b1": da.sum(axis=0), "W2": dz.T @ h, "b2": dz.sum(axis=0)}


def grads_autograd(p, x, y):
    """The same loss built from firstepoch ops; loss.backward() fills each leaf's .grad."""
    t = {k: fe.tensor(v, requires_grad=True) for k, v in p.items()}
    hidden = F.linear(fe.tensor(x), t["W1"], t["b1"]).tanh()
    loss = F.cross_entropy(F.linear(hidden, t["W2"], t["b2"]), fe.tensor(y))
    loss.backward()
    return {k: v.grad._data for k, v in t.items()}, loss.item()


def grads_finite_differences(p, x, y, eps=1e-6):
    """dL/dp ~ (L(p + eps) - L(p - eps)) / (2 eps), one parameter element at a time (error O(eps^2))."""
    out = {}
    for k, w in p.items():
        g = np.empty_like(w)
        flat, gflat = w.reshape(-1), g.reshape(-1)  # views: nudging flat[i] nudges p[k]
        for i in range(flat.size):
            keep = flat[i]
            flat[i] = keep + eps
            up = loss_numpy(p, x, y)
            flat[i] = keep - eps
            down = loss_numpy(p, x, y)
            flat[i] = keep
            gflat[i] = (up - down) / (2 * eps)
        out[k] = g
    return out


def run(out_dir, seed=0, tiny=False):
    rng = seed_everything(seed)
    if tiny:  # random inputs: 6 x 5 -> 4 -> 3, 39 parameters
        n, d_in, hidden, classes = 6, 5, 4, 3
        x = rng.standard_normal((n, d_in))
        y = rng.integers(0, classes, n)
        data = "6 random points"
    else:     # 32 MNIST digits, 784 -> 16 -> 10: 12,730 parameters, each probed twice
        n, d_in, hidden, classes = 32, 784, 16, 10
        x32, y, _, _ = mnist_subset(n, 1, seed=seed)
        x = x32.astype(np.float64)
        data = f"{n} MNIST digits"
    p = init_params(rng, d_in, hidden, classes)

    hand = grads_by_hand(p, x, y)
    auto, loss = grads_autograd(p, x, y)
    fd = grads_finite_differences(p, x, y)

    rows, metrics = [], {"loss": loss, "max_diff_autograd": 0.0, "max_diff_fd": 0.0}
    for k in PARAMS:
        d_auto = float(np.abs(hand[k] - auto[k]).max())
        d_fd = float(np.abs(hand[k] - fd[k]).max())
        metrics[f"{k}_diff_autograd"], metrics[f"{k}_diff_fd"] = d_auto, d_fd
        metrics["max_diff_autograd"] = max(metrics["max_diff_autograd"], d_auto)
        metrics["max_diff_fd"] = max(metrics["max_diff_fd"], d_fd)
        rows.append([k, "x".join(map(str, p[k].shape)), p[k].size, float(np.abs(hand[k]).max()), d_auto, d_fd])
    table = format_table(["param", "shape", "count", "max |grad|", "max |hand-autograd|", "max |hand-finite diff|"],
                         rows, title=f"backprop: {d_in}-{hidden}-{classes} tanh network on {data}, float64, "
                                     f"loss {loss:.4f}")

    fig, ax = new_figure(1, 2, size=(11, 4.2))
    pos = np.arange(len(PARAMS))
    floor = 1e-18  # an exact match (0) drawn at the bottom of the log axis
    ax[0, 0].bar(pos - 0.2, [max(metrics[f"{k}_diff_autograd"], floor) for k in PARAMS], 0.4, label="vs autograd")
    ax[0, 0].bar(pos + 0.2, [max(metrics[f"{k}_diff_fd"], floor) for k in PARAMS], 0.4, label="vs finite differences")
    ax[0, 0].set_yscale("log")
    ax[0, 0].set_xticks(pos, PARAMS)
    ax[0, 0].set_ylabel("max |difference| from the hand-derived gradient")
    ax[0, 0].set_title("how far apart the three gradients are")
    ax[0, 0].legend(loc="center")
    all_hand = np.concatenate([hand[k].ravel() for k in PARAMS])
    all_fd = np.concatenate([fd[k].ravel() for k in PARAMS])
    ax[0, 1].scatter(all_hand, all_fd, s=4, alpha=0.5)
    lim = float(np.abs(all_hand).max()) * 1.05
    ax[0, 1].plot([-lim, lim], [-lim, lim], "k--", lw=0.8)
    ax[0, 1].set_xlabel("hand-derived gradient")
    ax[0, 1].set_ylabel("finite-difference gradient")
    ax[0, 1].set_title(f"every parameter ({all_hand.size:,}) on the diagonal")
    png = save_figure(fig, out_dir, NAME)
    return result(table, png, metrics)
