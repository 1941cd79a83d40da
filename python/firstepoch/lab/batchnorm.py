"""Batch normalization "trains faster": the steps a network needs to reach a target validation
accuracy, with and without BatchNorm1d, at several learning rates.

The network: 784 -> 100 -> 100 -> 100 -> 10 with ReLU, plain SGD (no momentum), batch 64, and the same
initial Linear weights and the same batch order with and without batch norm (one seed each). The
batch-norm variant puts BatchNorm1d(100) between each hidden Linear and its ReLU; nothing else changes.
Validation accuracy is measured every 10 steps; "steps to target" is the first measurement at or above
the target.

Why it is faster: each layer's input is re-centred and re-scaled for every batch, so the scale of the
weights below stops mattering to the layers above. nn.Linear's default initialisation (PyTorch's,
Var(w) = 1/(3 fan_in), a sixth of what ReLU needs to keep the signal's size) shrinks the signal at
every layer of the plain network, so its first steps move little; with batch norm every layer sees
unit-scale inputs from the first step, and a large learning rate does not blow the activations up.
A fair comparison gives each variant its best learning rate, not only the same one: the table shows
the whole sweep, and the summary compares the best of each.
Batch norm wins at every learning rate here; at its best rate it needs several times fewer steps than
the plain network at its own best.
"""
import numpy as np

import firstepoch as fe
import firstepoch.nn as nn
import firstepoch.nn.functional as F
import firstepoch.optim as optim

from ._common import accuracy, format_table, mnist_subset, new_figure, result, save_figure, seed_everything

NAME = "batchnorm"
DESCRIPTION = "steps to a target accuracy with and without BatchNorm1d, over a learning-rate sweep"

WIDTH, DEPTH, BATCH, EVAL_EVERY = 100, 3, 64, 10
VARIANTS = ("plain", "batch norm")


def make_mlp(batch_norm):
    layers, d = [], 784
    for _ in range(DEPTH):
        layers.append(nn.Linear(d, WIDTH))
        if batch_norm:
            layers.append(nn.BatchNorm1d(WIDTH))
        layers.append(nn.ReLU())
        d = WIDTH
    layers.append(nn.Linear(d, 10))
    return nn.Sequential(*layers)


def train(batch_norm, lr, data, max_steps, seed):
    """SGD for max_steps steps; returns the validation accuracy every EVAL_EVERY steps (a list)."""
    x, y, x_val, y_val = data
    rng = seed_everything(seed)  # the same Linear weights (BatchNorm draws nothing) and batch order for both
    model = make_mlp(batch_norm)
    opt = optim.SGD(model.parameters(), lr=lr)
    accs, step = [], 0
    while step < max_steps:
        order = rng.permutation(len(x))
        for i in range(0, len(x) - BATCH + 1, BATCH):
            idx = order[i:i + BATCH]
            loss = F.cross_entropy(model(fe.tensor(x[idx])), fe.tensor(y[idx]))
            opt.zero_grad()
            loss.backward()
            opt.step()
            step += 1
            if step % EVAL_EVERY == 0:
                accs.append(accuracy(model, x_val, y_val))
            if step == max_steps:
                break
    return accs


def steps_to(accs, target):
    """The first step count at which the accuracy reached target, or None."""
    hit = np.nonzero(np.asarray(accs) >= target)[0]
    return int((hit[0] + 1) * EVAL_EVERY) if len(hit) else None


def run(out_dir, seed=0, tiny=False):
    if tiny:
        n_train, n_val, lrs, max_steps, target, seeds = 2000, 500, [0.2, 0.5], 400, 0.85, [seed]
    else:
        n_train, n_val, lrs, max_steps, target = 8000, 1000, [0.02, 0.05, 0.2, 0.5], 1500, 0.9
        seeds = [seed, seed + 1, seed + 2]
    data = mnist_subset(n_train, n_val, seed=seed)
    curves = {(v, lr, s): train(v == "batch norm", lr, data, max_steps, s)
              for v in VARIANTS for lr in lrs for s in seeds}

    def median_steps(v, lr):
        """Median over the seeds, a run that never got there counted as never (None if most did not)."""
        hits = sorted(steps_to(curves[(v, lr, s)], target) or np.inf for s in seeds)
        m = hits[len(hits) // 2]
        return None if m == np.inf else int(m)

    metrics = {v: {lr: {"steps": [steps_to(curves[(v, lr, s)], target) for s in seeds], "median": median_steps(v, lr),
                        "final_acc": float(np.mean([curves[(v, lr, s)][-1] for s in seeds]))} for lr in lrs}
               for v in VARIANTS}
    rows = []
    for lr in lrs:
        p, b = metrics["plain"][lr], metrics["batch norm"][lr]
        rows.append([lr, "-" if p["median"] is None else p["median"], "-" if b["median"] is None else b["median"],
                     "-" if None in (p["median"], b["median"]) else p["median"] / b["median"],
                     f"{100 * p['final_acc']:.1f}%", f"{100 * b['final_acc']:.1f}%"])
    best = {v: min((m["median"] for m in metrics[v].values() if m["median"] is not None), default=None)
            for v in VARIANTS}
    metrics["best"] = best
    seeds_text = f"median over seeds {seeds}" if len(seeds) > 1 else f"seed {seeds[0]}"
    table = format_table(["lr", "plain: steps", "batch norm: steps", "plain / BN", f"plain acc @{max_steps}",
                          f"BN acc @{max_steps}"], rows, digits=3,
                         title=f"batchnorm: steps of SGD (batch {BATCH}) to {100 * target:g}% validation accuracy, "
                               f"784-{WIDTH}x{DEPTH}-10 ReLU MLP, {n_train} train / {n_val} val digits, accuracy "
                               f"every {EVAL_EVERY} steps, {seeds_text}; '-': not within {max_steps} steps")
    table += (f"\nbest over the learning rates: plain {best['plain'] or '-'} steps, batch norm "
              f"{best['batch norm'] or '-'} steps")

    fig, ax = new_figure(1, 2, size=(13, 4.4))
    steps_axis = EVAL_EVERY * np.arange(1, max_steps // EVAL_EVERY + 1)
    for i, lr in enumerate(lrs):
        for v, style in zip(VARIANTS, ("--", "-")):
            ax[0, 0].plot(steps_axis, curves[(v, lr, seeds[0])], style, color=f"C{i}", lw=1, label=f"{v}, lr {lr}")
    ax[0, 0].axhline(target, color="gray", ls=":", lw=1)
    ax[0, 0].set_xscale("log")
    ax[0, 0].set_ylim(0, 1)
    ax[0, 0].set_xlabel("SGD step")
    ax[0, 0].set_ylabel("validation accuracy")
    ax[0, 0].set_title(f"accuracy while training (seed {seeds[0]}; dotted: the target)")
    ax[0, 0].legend(fontsize=7, ncol=2)
    pos = np.arange(len(lrs))
    for k, v in enumerate(VARIANTS):
        values = [metrics[v][lr]["median"] or max_steps for lr in lrs]
        bars = ax[0, 1].bar(pos + (k - 0.5) * 0.4, values, 0.4, label=v)
        for bar, lr in zip(bars, lrs):
            if metrics[v][lr]["median"] is None:
                ax[0, 1].text(bar.get_x() + bar.get_width() / 2, bar.get_height(), "not\nreached", ha="center",
                              va="bottom", fontsize=7)
    ax[0, 1].set_xticks(pos, [f"lr {lr}" for lr in lrs])
    ax[0, 1].set_yscale("log")
    ax[0, 1].set_ylim(top=3 * max_steps)  # room for "not reached" over a bar at the budget
    ax[0, 1].set_ylabel(f"steps to {100 * target:g}% validation accuracy")
    ax[0, 1].set_title("steps to the target (fewer is faster)")
    ax[0, 1].legend(fontsize=8)
    png = save_figure(fig, out_dir, NAME)
    metrics.update(target=target, lrs=lrs, seeds=seeds, max_steps=max_steps)
    return result(table, png, metrics)
