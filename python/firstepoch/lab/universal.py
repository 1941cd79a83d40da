"""Universal approximation, by hand and by training: a sum of ReLUs is a piecewise-linear function,
and piecewise-linear functions with enough pieces approach any continuous curve.

The target is f(x) = sin(3x) + 0.3 x^2 on [-2, 2]. With n ReLUs
    g(x) = c_0 + sum_i c_i relu(x - b_i)
each unit bends the line at its knot b_i by the slope change c_i. Choosing n equally spaced knots and
c_i = (slope of the next chord) - (slope of the previous one) makes g the straight-line interpolation
of f through the knots: a one-hidden-layer network nn.Linear(1, n) -> ReLU -> nn.Linear(n, 1) with
weights 1, biases -b_i and output weights c_i, built here and evaluated by firstepoch. Its error obeys
the interpolation bound
    max |f - g| <= h^2 / 8 * max |f''|,     h = 4 / (n - 1) the knot spacing,
so once the knots resolve the curve's bends (n >= 8 here) doubling the units divides the error by
about 4. The same architecture trained from a random start (Adam on the squared error) finds such
bends itself; it needs many steps, is not guaranteed to reach the hand-built error (a unit whose knot
lands outside the data stays dead), but improves with the width.

What to see: the table's hand-built errors sit under the bound and fall 4x per doubling; the figure
shows the kinked approximations closing in on the curve, and the individual ReLUs that add up to one.
"""
import numpy as np

import firstepoch as fe
import firstepoch.nn as nn
import firstepoch.nn.functional as F
import firstepoch.optim as optim

from ._common import format_table, new_figure, result, save_figure, seed_everything

NAME = "universal"
DESCRIPTION = "a sum of n ReLUs approximating a curve: built by hand (error <= h^2/8 max|f''|) and trained"

LOW, HIGH = -2.0, 2.0


def target(x):
    return np.sin(3 * x) + 0.3 * x ** 2


MAX_F2 = 9.0 + 0.6  # |f''| = |-9 sin(3x) + 0.6| <= 9.6


def hand_built(n):
    """nn.Linear(1, n) -> ReLU -> nn.Linear(n, 1) in float64 interpolating `target` at n equally spaced knots
    (n >= 2): unit i is relu(x - b_i) with b_i the i-th knot, output weight the change of slope there."""
    knots = np.linspace(LOW, HIGH, n)
    slopes = np.diff(target(knots)) / np.diff(knots)                  # n - 1 chords
    model = nn.Sequential(nn.Linear(1, n, dtype=np.float64), nn.ReLU(), nn.Linear(n, 1, dtype=np.float64))
    first, last = model[0], model[2]
    first.weight._data[:, 0] = 1.0
    first.bias._data[:] = -knots
    last.weight._data[0] = np.concatenate([[slopes[0]], np.diff(slopes), [0.0]])  # the last knot bends nothing
    last.bias._data[0] = target(knots[0])
    return model


def trained(n, steps, rng, x_train):
    """The same architecture from a random start (PyTorch's init, knots spread over the interval by the
    seeded rng), Adam on the mean squared error over x_train; returns the model."""
    model = nn.Sequential(nn.Linear(1, n, dtype=np.float64), nn.ReLU(), nn.Linear(n, 1, dtype=np.float64))
    model[0].weight._data[:, 0] = rng.choice([-1.0, 1.0], n)
    model[0].bias._data[:] = -model[0].weight._data[:, 0] * rng.uniform(LOW, HIGH, n)
    x, y = fe.tensor(x_train[:, None]), fe.tensor(target(x_train)[:, None])
    opt = optim.Adam(model.parameters(), lr=0.01)
    sched = optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    for _ in range(steps):
        loss = F.mse_loss(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    return model


def evaluate(model, x):
    with fe.no_grad():
        return model(fe.tensor(x[:, None]))._data[:, 0]


def run(out_dir, seed=0, tiny=False):
    rng = seed_everything(seed)
    widths = [2, 4, 8, 16, 32, 64] if not tiny else [2, 4, 8, 16, 32]
    trained_widths, steps = ([4, 16], 1000) if tiny else ([4, 16, 64], 3000)
    x = np.linspace(LOW, HIGH, 2001)
    f = target(x)
    rows, metrics, curves = [], {"hand": {}, "trained": {}}, {}
    for n in widths:
        g = evaluate(hand_built(n), x)
        err = float(np.abs(g - f).max())
        h = (HIGH - LOW) / (n - 1)
        bound = h * h / 8 * MAX_F2
        knots = np.linspace(LOW, HIGH, n)
        at_knots = float(np.abs(evaluate(hand_built(n), knots) - target(knots)).max())
        metrics["hand"][n] = {"max_error": err, "bound": bound, "error_at_knots": at_knots}
        curves[("hand", n)] = g
        previous = metrics["hand"].get(n // 2)
        rows.append([f"hand-built, n = {n}", n, err, bound, at_knots,
                     "-" if previous is None else previous["max_error"] / err])
    x_train = np.linspace(LOW, HIGH, 200)
    for n in trained_widths:
        g = evaluate(trained(n, steps, rng, x_train), x)
        err = float(np.abs(g - f).max())
        metrics["trained"][n] = {"max_error": err, "rms_error": float(np.sqrt(np.mean((g - f) ** 2)))}
        curves[("trained", n)] = g
        rows.append([f"trained, n = {n}", n, err, "-", "-", "-"])
    table = format_table(["model", "ReLUs", "max |f - g|", "bound h^2/8 max|f''|", "error at knots",
                          "error(n/2) / error(n)"], rows, digits=3,
                         title="universal: f(x) = sin(3x) + 0.3 x^2 on [-2, 2] approximated by g(x) = c_0 + sum of "
                               "n ReLUs (nn.Linear(1, n) -> ReLU -> nn.Linear(n, 1), float64)\nhand-built: knots "
                               f"equally spaced, g interpolates f there; trained: Adam (lr 0.01, cosine) on 200 "
                               f"points for {steps} steps")

    fig, ax = new_figure(1, 3, size=(17, 4.6))
    ax[0, 0].plot(x, f, "k", lw=2.5, alpha=0.35, label="f")
    for n in widths[:4]:
        ax[0, 0].plot(x, curves[("hand", n)], lw=1, label=f"{n} ReLUs, by hand")
    ax[0, 0].set_title("hand-built sums of ReLUs (interpolation at the knots)")
    ax[0, 0].legend(fontsize=8)
    n_show = 8
    model = hand_built(n_show)
    with fe.no_grad():
        hidden = model[1](model[0](fe.tensor(x[:, None])))._data * model[2].weight._data[0]
    for i in range(n_show - 1):
        ax[0, 1].plot(x, hidden[:, i], lw=1)
    ax[0, 1].plot(x, model[2].bias._data[0] + hidden.sum(axis=1), "k", lw=2, label=f"c_0 + sum = g ({n_show} ReLUs)")
    ax[0, 1].plot(x, f, "k:", lw=1, label="f")
    ax[0, 1].set_title(f"the {n_show - 1} non-zero terms c_i relu(x - b_i) and their sum")
    ax[0, 1].legend(fontsize=8)
    ax[0, 2].plot(x, f, "k", lw=2.5, alpha=0.35, label="f")
    for n in trained_widths:
        ax[0, 2].plot(x, curves[("trained", n)], lw=1, label=f"{n} ReLUs, trained")
    ax[0, 2].set_title(f"trained from a random start ({steps} Adam steps)")
    ax[0, 2].legend(fontsize=8)
    for a in ax.ravel():
        a.set_xlabel("x")
    png = save_figure(fig, out_dir, NAME)
    return result(table, png, metrics)
