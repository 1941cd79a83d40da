"""Fitting a quadratic to noisy points with gradient descent, as in fast.ai's lesson 3 ("How does a
neural net really work?"): the smallest complete picture of training.

The data: 20 points x in [-2, 2], y = 3x^2 + 2x + 1 with multiplicative and additive noise (the
lesson's add_noise). The model: f(x) = a x^2 + b x + c with three parameters, started at a = b = c = 1.1.

Part 1 is the lesson's loop, line for line: the parameters are one tensor `abc` with requires_grad,
the loss is the mean absolute error, loss.backward() fills abc.grad, and inside no_grad the update
abc -= abc.grad * 0.01 takes one step downhill (then the gradient is zeroed). Ten steps, and the loss
falls every step.

Part 2 does the same with the library's pieces, optim.SGD and F.mse_loss, run to convergence. With the
squared error the best parameters have a closed form, the least-squares solution of
[x^2, x, 1] (a, b, c)^T ~ y (np.linalg.lstsq), so we can check that gradient descent lands on exactly
the answer linear algebra gives. The error shrinks by a constant factor per step, set by the smallest
curvature of the loss (an eigenvalue of 2 A^T A / N): the straight line in the figure's log plot.

What to see: a loss, its gradient with respect to the parameters, and small steps against the
gradient are all training is; a neural network only has more parameters and a bendier f.
"""
import numpy as np

import firstepoch as fe
import firstepoch.nn as nn
import firstepoch.nn.functional as F
import firstepoch.optim as optim

from ._common import format_table, new_figure, result, save_figure, seed_everything

NAME = "quadratic"
DESCRIPTION = "fast.ai lesson 3: fit a x^2 + b x + c to noisy points by gradient descent (MAE loop, SGD to lstsq)"

TRUE = (3.0, 2.0, 1.0)
START = (1.1, 1.1, 1.1)


def quad(abc, x):
    """a x^2 + b x + c for abc = (a, b, c), a Tensor; x a Tensor."""
    return abc[0] * x * x + abc[1] * x + abc[2]


def make_points(rng, n=20):
    """The lesson's data: f(x) * (1 + noise * 0.15) + noise * 1.5, noise standard normal."""
    x = np.linspace(-2, 2, n)
    f = TRUE[0] * x ** 2 + TRUE[1] * x + TRUE[2]
    y = f * (1 + rng.standard_normal(n) * 0.15) + rng.standard_normal(n) * 1.5
    return x, y


def lesson_loop(x, y, steps=10, lr=0.01):
    """The lesson's loop with mean absolute error; returns [(loss, a, b, c)] before each step."""
    abc = fe.tensor(np.array(START), requires_grad=True)
    xt, yt = fe.tensor(x), fe.tensor(y)
    history = []
    for _ in range(steps):
        loss = (quad(abc, xt) - yt).abs().mean()
        loss.backward()
        history.append((loss.item(), *abc._data.tolist()))
        with fe.no_grad():
            abc -= abc.grad * lr
        abc.grad.zero_()
    return history


def sgd_fit(x, y, steps, lr=0.1):
    """optim.SGD on F.mse_loss from START; returns (parameters after each step (steps + 1, 3), losses)."""
    abc = nn.Parameter(np.array(START))
    opt = optim.SGD([abc], lr=lr)
    xt, yt = fe.tensor(x), fe.tensor(y)
    params, losses = [abc._data.copy()], []
    for _ in range(steps):
        loss = F.mse_loss(quad(abc, xt), yt)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
        params.append(abc._data.copy())
    return np.array(params), np.array(losses)


def run(out_dir, seed=0, tiny=False):
    rng = seed_everything(seed)
    steps, lr = (300, 0.1) if tiny else (500, 0.1)
    x, y = make_points(rng)
    lesson = lesson_loop(x, y)
    table = format_table(["step", "MAE loss", "a", "b", "c"], [[i, *row] for i, row in enumerate(lesson)], digits=4,
                         title="quadratic, part 1 (the lesson's loop): abc -= abc.grad * 0.01 under no_grad, "
                               f"mean absolute error, 20 noisy points of {TRUE[0]:g}x^2 + {TRUE[1]:g}x + {TRUE[2]:g}")

    design = np.stack([x ** 2, x, np.ones_like(x)], axis=1)
    best = np.linalg.lstsq(design, y, rcond=None)[0]
    best_loss = float(np.mean((design @ best - y) ** 2))
    params, losses = sgd_fit(x, y, steps, lr)
    curvatures = np.linalg.eigvalsh(2 * design.T @ design / len(x))
    shown = sorted({0, 1, 10, 50, 100, steps // 2, steps})
    rows = [[k, *params[k], float(np.abs(params[k] - best).max())] for k in shown]
    rows.append(["lstsq", *best, 0.0])
    table += "\n\n" + format_table(["step", "a", "b", "c", "max |(a,b,c) - lstsq|"], rows, digits=6,
                                   title=f"part 2: optim.SGD(lr={lr}) on F.mse_loss, full batch, {steps} steps, "
                                         "against the least-squares solution (np.linalg.lstsq)")
    rate = float(1 - lr * curvatures[0])
    table += (f"\nloss curvatures (eigenvalues of 2 A^T A / N): {', '.join(f'{c:.3f}' for c in curvatures)}; the "
              f"slowest direction shrinks by 1 - lr * {curvatures[0]:.3f} = {rate:.3f} per step")

    fig, ax = new_figure(1, 2, size=(13, 4.4))
    grid = np.linspace(-2.1, 2.1, 200)
    ax[0, 0].scatter(x, y, s=14, color="k", label="noisy points", zorder=3)
    ax[0, 0].plot(grid, TRUE[0] * grid ** 2 + TRUE[1] * grid + TRUE[2], "k:", lw=1,
                  label=f"true: {TRUE[0]:g}x^2 + {TRUE[1]:g}x + {TRUE[2]:g}")
    for k in (0, 1, 5, 20, steps):
        a, b, c = params[k]
        ax[0, 0].plot(grid, a * grid ** 2 + b * grid + c, lw=1, label=f"SGD step {k}: {a:.2f}x^2 + {b:.2f}x + {c:.2f}")
    ax[0, 0].set_xlabel("x")
    ax[0, 0].set_title("the fitted quadratic as SGD runs")
    ax[0, 0].legend(fontsize=7)
    errors = np.abs(params - best).max(axis=1)
    ax[0, 1].semilogy(errors, label="max |(a,b,c) - lstsq|")
    gap = losses - best_loss
    ax[0, 1].semilogy(np.where(gap > 0, gap, np.nan), label="MSE - least-squares MSE (until rounding)")
    ax[0, 1].semilogy(errors[0] * rate ** np.arange(steps + 1), "k:", lw=1, label=f"{rate:.3f}^step")
    ax[0, 1].set_ylim(1e-16, 100)
    ax[0, 1].set_xlabel("SGD step")
    ax[0, 1].set_title("distance to the closed-form answer")
    ax[0, 1].legend(fontsize=8)
    png = save_figure(fig, out_dir, NAME)
    metrics = {"lesson_losses": [row[0] for row in lesson], "lesson_abc": list(lesson[-1][1:]),
               "sgd_abc": params[-1].tolist(), "lstsq_abc": best.tolist(), "sgd_error": float(errors[-1]),
               "curvatures": curvatures.tolist(), "rate": rate, "steps": steps, "lr": lr,
               "final_mse": float(losses[-1]), "lstsq_mse": best_loss}
    return result(table, png, metrics)
