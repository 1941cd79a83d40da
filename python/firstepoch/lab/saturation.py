"""Cross-entropy vs mean squared error on a saturated sigmoid: one neuron, p = sigmoid(z), target 1,
and a logit z = -8 that is confidently wrong (p = 3.4e-4).

The two losses' gradients with respect to the logit, by the chain rule (s = sigmoid(z), s' = s(1 - s)):
    cross-entropy   L = -log s             dL/dz = s - 1                 = -0.99966 at z = -8
    squared error   L = (s - 1)^2          dL/dz = 2 (s - 1) s'          = -6.7e-4  at z = -8
                    (the "1/2 (s - 1)^2" convention halves it to about -3.4e-4, i.e. s'(-8))

What to see: the log in cross-entropy cancels the sigmoid's flat tail, so its gradient is nearly the
largest possible exactly when the prediction is most wrong. Squared error keeps the factor s'(z), which
is tiny in the tail, so a saturated, wrong neuron gets almost no gradient and learns almost nothing:
in the training half of the figure the same neuron, with the same step size, leaves the tail in a few
steps under cross-entropy and sits there for over a thousand under squared error. Every gradient here comes
from firstepoch's autograd (F.binary_cross_entropy_with_logits and F.mse_loss after Tensor.sigmoid), in
float64; the table puts each next to its closed form.
"""
import numpy as np

import firstepoch as fe
import firstepoch.nn as nn
import firstepoch.nn.functional as F
import firstepoch.optim as optim

from ._common import format_table, new_figure, result, save_figure, seed_everything

NAME = "saturation"
DESCRIPTION = "cross-entropy vs MSE through a saturated sigmoid: the gradient at logit -8, and training from there"

LOGIT = -8.0


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def logit_gradients(z):
    """(cross-entropy dL/dz, squared-error dL/dz) at each logit in z (an array), target 1, from
    firstepoch's autograd in float64."""
    zt = fe.tensor(np.asarray(z, dtype=np.float64), requires_grad=True)
    target = fe.ones(*zt.shape, dtype=np.float64)
    F.binary_cross_entropy_with_logits(zt, target, reduction="sum").backward()
    ce = zt.grad._data.copy()
    zt = fe.tensor(np.asarray(z, dtype=np.float64), requires_grad=True)
    F.mse_loss(zt.sigmoid(), target, reduction="sum").backward()
    return ce, zt.grad._data.copy()


def closed_form(z):
    """The same two gradients written out: (s - 1, 2 (s - 1) s (1 - s))."""
    s = sigmoid(z)
    return s - 1, 2 * (s - 1) * s * (1 - s)


def train_neuron(loss_name, steps, lr):
    """One neuron p = sigmoid(w x + b) on the single example x = 1, target 1, started at w = b = LOGIT / 2
    (logit -8), trained by SGD; returns the probability after each step (steps + 1 values)."""
    neuron = nn.Linear(1, 1, dtype=np.float64)
    neuron.weight._data[...] = LOGIT / 2
    neuron.bias._data[...] = LOGIT / 2
    x, y = fe.tensor(np.ones((1, 1))), fe.tensor(np.ones((1, 1)))
    opt = optim.SGD(neuron.parameters(), lr=lr)
    probs = []
    for _ in range(steps + 1):
        z = neuron(x)
        probs.append(float(sigmoid(z.item())))
        loss = F.binary_cross_entropy_with_logits(z, y) if loss_name == "cross-entropy" else F.mse_loss(z.sigmoid(), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return np.array(probs)


def steps_to(probs, level):
    """The first step at which the probability reaches `level`, or None."""
    hit = np.nonzero(probs >= level)[0]
    return int(hit[0]) if len(hit) else None


def run(out_dir, seed=0, tiny=False):
    seed_everything(seed)  # nothing here is random; kept so every entry takes the same arguments
    steps, lr = (300, 0.5) if tiny else (2000, 0.5)
    logits = np.array([LOGIT, -4.0, -2.0, 0.0, 2.0])
    ce, mse = logit_gradients(logits)
    ce_ref, mse_ref = closed_form(logits)
    rows = [[z, sigmoid(z), g_ce, g_mse, g_ce / g_mse, abs(g_ce - r_ce), abs(g_mse - r_mse)]
            for z, g_ce, g_mse, r_ce, r_mse in zip(logits, ce, mse, ce_ref, mse_ref)]
    table = format_table(["logit z", "p = sigmoid(z)", "CE dL/dz", "MSE dL/dz", "CE / MSE", "|CE - (s-1)|",
                          "|MSE - 2(s-1)s(1-s)|"], rows, digits=4,
                         title="saturation: target 1, gradient of each loss with respect to the logit (firstepoch "
                               "autograd, float64) next to its closed form")

    table += (f"\nat z = {LOGIT:g}: cross-entropy {ce[0]:.5f}, squared error {mse[0]:.3e} (with the 1/2 (s - 1)^2 "
              f"convention {mse[0] / 2:.3e} = (s - 1) s'(z)): {ce[0] / mse[0]:.0f} times smaller")
    probs = {name: train_neuron(name, steps, lr) for name in ("cross-entropy", "squared error")}
    reach = {name: steps_to(p, 0.5) for name, p in probs.items()}
    train_rows = [[name, p[0], p[min(10, steps)], p[-1], "-" if reach[name] is None else reach[name]]
                  for name, p in probs.items()]
    table += "\n\n" + format_table(["loss", "p at step 0", "p at step 10", f"p at step {steps}", "steps to p >= 0.5"],
                                   train_rows, digits=4,
                                   title=f"one neuron sigmoid(w x + b), x = 1, started at logit {LOGIT:g}, "
                                         f"SGD lr {lr}, {steps} steps")

    fig, ax = new_figure(1, 2, size=(13, 4.4))
    z = np.linspace(-10, 10, 401)
    g_ce, g_mse = logit_gradients(z)
    ax[0, 0].plot(z, np.abs(g_ce), label="cross-entropy: |s - 1|")
    ax[0, 0].plot(z, np.abs(g_mse), label="squared error: |2 (s - 1) s (1 - s)|")
    ax[0, 0].axvline(LOGIT, color="gray", ls=":", lw=1)
    ax[0, 0].annotate(f"z = {LOGIT:g}: CE {abs(ce[0]):.3f}, MSE {abs(mse[0]):.1e}", (LOGIT, abs(ce[0])),
                      xytext=(-6, 0.3), fontsize=8, arrowprops={"arrowstyle": "->", "lw": 0.8})
    ax[0, 0].set_yscale("log")
    ax[0, 0].set_xlabel("logit z (target 1)")
    ax[0, 0].set_ylabel("|dL/dz|")
    ax[0, 0].set_title("gradient reaching the logit")
    ax[0, 0].legend(fontsize=8)
    for name, p in probs.items():
        ax[0, 1].plot(p, label=name)
    ax[0, 1].set_xscale("symlog", linthresh=10)
    ax[0, 1].set_xlabel("SGD step")
    ax[0, 1].set_ylabel("p = sigmoid(w x + b)")
    ax[0, 1].set_title(f"training one neuron from logit {LOGIT:g} (lr {lr})")
    ax[0, 1].legend(fontsize=8)
    png = save_figure(fig, out_dir, NAME)
    metrics = {"logits": logits.tolist(), "ce_grad": ce.tolist(), "mse_grad": mse.tolist(),
               "ce_grad_closed_form": ce_ref.tolist(), "mse_grad_closed_form": mse_ref.tolist(),
               "steps_to_half": reach, "final_p": {name: float(p[-1]) for name, p in probs.items()}, "steps": steps}
    return result(table, png, metrics)
