"""Curriculum learning: does the order of the examples matter, at an equal number of steps?

A first model (softmax regression, one epoch) scores every training digit by its loss: low = easy (a
clean, typical digit), high = hard (an odd or ambiguous one, or a wrong label). The same MLP, from the
same initial weights, then trains for the same number of steps with batches from
firstepoch.data.CurriculumSampler:
  - random order: ordinary shuffled training over every example from the first step;
  - easy to hard: the pool starts with the easiest 20% and grows (root pacing) to everything at 60%
    of the steps;
  - hard to easy: the same pacing over the reverse ranking;
  - random subset, same pacing (a control): the pool grows as in the curricula but is a random 20%,
    40%, ... of the data, which separates "fewer distinct examples early" from "which examples".
We measure validation accuracy along the way, at equal step counts.

What to look for (measured, seeds 0-3): on these digits the easy-to-hard curriculum is behind
random order at every step count until its pool holds everything, by about 10 points of accuracy at 10%
of the steps, and it still trails a little at the end. Two reasons show in the table: an easy example
is one the model already gets right, so it teaches little; and "easy" is not spread evenly over the
classes -- the easiest fifth is mostly 0s, 1s and 6s, with almost no 4s, 5s, 8s or 9s (the "rarest
class" column: 1.0 would be balanced), so the first steps learn a lopsided classifier. Hard to easy,
scored by the full-size first model, stays within a few points of random order and is often a little
ahead early: hard examples lie near the decision boundaries, as in hard-example mining. In the tiny
configuration the first model is weak, the "hard" fifth is partly noise, and hard to easy starts far
behind. Curricula mostly
change the path, not the destination, on a clean data set with enough steps (Wu, Dyer and Neyshabur,
"When do curricula work?", 2021, find the same at scale); they tend to matter when the step budget is
short or labels are noisy.
"""
import numpy as np

import firstepoch as fe
import firstepoch.nn as nn
import firstepoch.nn.functional as F
import firstepoch.optim as optim
from firstepoch.data import CurriculumSampler
from firstepoch.interpret import per_example_loss

from ._common import accuracy, format_table, mnist_subset, new_figure, percent, result, save_figure, seed_everything

NAME = "curriculum"
DESCRIPTION = "random order vs easy-to-hard vs hard-to-easy (scored by a first model's loss), accuracy at equal steps"

START_FRACTION = 0.2
FULL_AT = 0.6

# label -> (order, start_fraction)
SCHEDULES = {
    "random order": ("random", 1.0),
    "easy to hard": ("easy_to_hard", START_FRACTION),
    "hard to easy": ("hard_to_easy", START_FRACTION),
    "random subset, same pacing": ("random", START_FRACTION),
}


def score_examples(x, y, seed, batch=64):
    """Each example's cross-entropy under a softmax-regression model trained for one epoch (seeded)."""
    rng = seed_everything(seed + 1000)
    first = nn.Linear(x.shape[1], 10)
    opt = optim.SGD(first.parameters(), lr=0.1)
    order = rng.permutation(len(x))
    for i in range(0, len(x), batch):
        b = order[i:i + batch]
        loss = F.cross_entropy(first(fe.tensor(x[b])), fe.tensor(y[b]))
        opt.zero_grad()
        loss.backward()
        opt.step()
    return per_example_loss(first, x, y)


def train(sampler, x, y, x_val, y_val, seed, eval_every, scores, window):
    """Trains the MLP on the sampler's batches; returns the evaluation steps, validation accuracies,
    the mean score of each batch (how hard the examples it saw were) and the share of the rarest class
    in the first `window` batches, times 10 (1.0: balanced)."""
    seed_everything(seed)  # the same initial weights for every schedule
    model = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
    opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    steps, accs, batch_score, first_labels = [], [], [], []
    for step, idx in enumerate(sampler.batches(), start=1):
        if step <= window:
            first_labels.append(y[idx])
        loss = F.cross_entropy(model(fe.tensor(x[idx])), fe.tensor(y[idx]))
        opt.zero_grad()
        loss.backward()
        opt.step()
        batch_score.append(float(scores[idx].mean()))
        if step % eval_every == 0 or step == sampler.total_steps:
            steps.append(step)
            accs.append(accuracy(model, x_val, y_val))
    counts = np.bincount(np.concatenate(first_labels), minlength=10)
    rarest = float(counts.min() / counts.sum() * 10)  # 1.0: every class as frequent as the average
    return np.array(steps), np.array(accs), np.array(batch_score), rarest


def run(out_dir, seed=0, tiny=False):
    n_train, n_val, total_steps, batch = (1500, 500, 150, 32) if tiny else (8000, 2000, 1500, 64)
    eval_every = total_steps // 30
    checkpoints = [total_steps // 10, total_steps // 4, total_steps // 2, total_steps]
    x, y, x_val, y_val = mnist_subset(n_train, n_val, seed=seed)
    scores = score_examples(x, y, seed)

    runs = {}
    for label, (order, start) in SCHEDULES.items():
        sampler = CurriculumSampler(scores, total_steps=total_steps, batch_size=batch, pacing="root",
                                    start_fraction=start, full_at=FULL_AT, order=order, seed=seed)
        runs[label] = train(sampler, x, y, x_val, y_val, seed, eval_every, scores, checkpoints[0])
    metrics, rows = {}, []
    first = checkpoints[0]
    for label, (steps, accs, batch_score, rarest) in runs.items():
        at = {c: float(accs[np.searchsorted(steps, c)]) for c in checkpoints}
        metrics[label] = {"acc_at": at, "final_acc": float(accs[-1]), "early_acc": at[first],
                          "mean_acc": float(accs.mean()), "first_batches_score": float(batch_score[:first].mean()),
                          "rarest_class": rarest}
        rows.append([label] + [percent(at[c]) for c in checkpoints] + [float(batch_score[:first].mean()), rarest])
    table = format_table(["order"] + [f"val acc @ {c} steps" for c in checkpoints]
                         + [f"score, steps 1-{first}", f"rarest class, steps 1-{first}"],
                         rows, digits=3,
                         title=f"curriculum: 784-128-10 MLP, {n_train} train / {n_val} val digits, {total_steps} "
                               f"steps of {batch}, root pacing from {START_FRACTION:.0%} to all at {FULL_AT:.0%} "
                               f"of the steps; scores = loss under a 1-epoch softmax regression "
                               f"(median {np.median(scores):.3f})")

    fig, ax = new_figure(1, 3, size=(16, 4.4))
    for label, (steps, accs, batch_score, _) in runs.items():
        ax[0, 0].plot(steps, accs, marker="o", ms=3, label=label)
        k = max(1, total_steps // 30)
        ax[0, 1].plot(np.convolve(batch_score, np.ones(k) / k, mode="valid"), label=label)
    ax[0, 0].set_xlabel("step")
    ax[0, 0].set_ylabel("validation accuracy")
    ax[0, 0].set_title("accuracy at equal step counts")
    ax[0, 0].legend(fontsize=8)
    ax[0, 1].set_yscale("log")
    ax[0, 1].set_xlabel("step")
    ax[0, 1].set_title("mean first-model loss of each batch (how hard)")
    ax[0, 2].hist(np.log10(np.maximum(scores, 1e-6)), bins=50, color="tab:gray")
    ax[0, 2].set_xlabel("log10 first-model loss")
    ax[0, 2].set_title("difficulty scores of the training digits")
    png = save_figure(fig, out_dir, NAME)
    return result(table, png, metrics)
