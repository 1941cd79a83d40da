"""The learning-rate finder of Leslie Smith (2015), as fast.ai's `Learner.lr_find`: train from the
current weights while the learning rate grows exponentially from start_lr to end_lr, one step per
batch, record the smoothed loss, stop once it diverges, put the model and optimizer back as they were,
and suggest a learning rate from the curve.

    result = lr_find(model, optimizer, loader)          # or Trainer.lr_find(), or `firstepoch lr-find`
    result.suggestion; plot_lr_find(result, "lr_find.png")

The rules, fast.ai's (fastai.callback.schedule, v2):
- step i (from 0) trains at lr_i = start_lr * (end_lr / start_lr) ** (i / num_it), so the sweep
  starts at start_lr and ratios between steps are constant; at most num_it steps (the last lr is one
  ratio below end_lr, as fast.ai's). Every parameter group gets lr_i.
- the loss recorded is smoothed as fast.ai's AvgSmoothLoss: an exponential moving average with
  beta = 0.98, debiased (divided by 1 - beta ** steps).
- with stop_div, the sweep stops after the first step whose smoothed loss exceeds 4x the lowest
  smoothed loss so far; a non-finite loss always stops it (fast.ai would go on with NaN).
- the suggestion is read from the curve without its first num_it // 10 and last 5 points (fast.ai's
  trim; the whole curve when that leaves fewer than 2): "valley" (fast.ai's default): along the
  longest run over which the loss keeps falling (its longest decreasing subsequence), the point a third
  plus a sixth of the run's length past its start, about halfway down; "steep": the point where the
  loss falls fastest per unit of log(lr); "minimum": a tenth of the lr at the lowest loss.
- afterwards the model's parameters and buffers, the optimizer's state and learning rates, the
  model's train/eval mode and the global random generator are put back as they were before the
  sweep, so a fit after it runs exactly as without it (fast.ai restores the model and optimizer).
"""
import copy
import math
from collections import namedtuple

import numpy as np

from .. import random as _random
from ..autograd.function import enable_grad
from ..nn import functional as F

SUGGESTIONS = ("valley", "steep", "minimum")

LRFindResult = namedtuple("LRFindResult", ["lrs", "losses", "raw_losses", "suggestion", "suggestion_index",
                                           "method", "diverged"])
LRFindResult.__doc__ = """lrs and losses (smoothed) of every step the sweep ran, the raw batch losses, the
suggested learning rate and its index in lrs, the suggestion method, and whether the sweep stopped on
divergence."""


def sweep_lrs(start_lr, end_lr, num_it):
    """The learning rate of each of the sweep's num_it steps: start_lr * (end_lr / start_lr) ** (i / num_it)."""
    return start_lr * (end_lr / start_lr) ** (np.arange(num_it) / num_it)


def valley(lrs, losses):
    """fast.ai's 'valley' rule: the index in the longest decreasing run of the loss curve (the longest
    strictly decreasing subsequence, O(n^2) as fast.ai's) a third plus a sixth of its length past its start."""
    n = len(losses)
    lds = [1] * n
    max_start = max_end = 0
    for i in range(1, n):
        for j in range(i):
            if losses[i] < losses[j] and lds[i] < lds[j] + 1:
                lds[i] = lds[j] + 1
            if lds[max_end] < lds[i]:
                max_end = i
                max_start = max_end - lds[max_end]
    sections = (max_end - max_start) / 3
    return max_start + int(sections) + int(sections / 2)


def steep(lrs, losses):
    """fast.ai's 'steep' rule: the index where the loss falls fastest per unit of log(lr)."""
    slopes = np.diff(losses) / np.diff(np.log(lrs))
    return int(np.argmin(slopes))


def _check(start_lr, end_lr, num_it, suggest):
    for name, v in (("start_lr", start_lr), ("end_lr", end_lr)):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
            raise ValueError(f"lr_find: {name} must be a positive number, got {v!r}")
    if not end_lr > start_lr:
        raise ValueError(f"lr_find: end_lr ({end_lr:g}) must be larger than start_lr ({start_lr:g})")
    if isinstance(num_it, bool) or not isinstance(num_it, (int, np.integer)) or num_it < 2:
        raise ValueError(f"lr_find: num_it must be an int >= 2, got {num_it!r}")
    if suggest not in SUGGESTIONS:
        raise ValueError(f"lr_find: suggest must be one of {', '.join(SUGGESTIONS)}, got {suggest!r}")


def _batches(batches):
    """An endless stream of batches: `batches` (re-iterable, e.g. a DataLoader, or a callable returning a
    fresh iterator, called with the pass number) started again each time it runs out."""
    k = 0
    while True:
        it = iter(batches(k) if callable(batches) else batches)
        got = False
        for b in it:
            got = True
            yield b
        if not got:
            raise ValueError("lr_find: the batches are empty")
        k += 1


def lr_find(model, optimizer, batches, loss_fn=None, start_lr=1e-7, end_lr=10, num_it=100, stop_div=True,
            suggest="valley", beta=0.98):
    """Runs the sweep (see the module docstring) and returns an LRFindResult. batches: (inputs, targets)
    pairs, a DataLoader or a callable(pass) -> iterable, restarted when it runs out; loss_fn(output,
    targets) -> scalar loss (default F.cross_entropy)."""
    _check(start_lr, end_lr, num_it, suggest)
    loss_fn = F.cross_entropy if loss_fn is None else loss_fn
    saved_model = model.state_dict()  # copies
    saved_opt = copy.deepcopy(optimizer.state_dict())
    saved_rng = _random.get_state()
    was_training = model.training
    schedule = sweep_lrs(float(start_lr), float(end_lr), int(num_it))
    lrs, losses, raw = [], [], []
    avg, best, diverged = 0.0, math.inf, False
    try:
        model.train()
        stream = _batches(batches)
        with enable_grad():
            for i, lr in enumerate(schedule):
                for g in optimizer.param_groups:
                    g["lr"] = float(lr)
                x, y = next(stream)
                loss = loss_fn(model(x), y)
                value = float(loss.item())
                if not math.isfinite(value):
                    diverged = True
                    break
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                avg = beta * avg + (1 - beta) * value
                smooth = avg / (1 - beta ** (i + 1))
                lrs.append(float(lr))
                losses.append(smooth)
                raw.append(value)
                best = min(best, smooth)
                if stop_div and smooth > 4 * best:
                    diverged = True
                    break
    finally:
        model.load_state_dict(saved_model)
        optimizer.load_state_dict(saved_opt)
        _random.set_state(saved_rng)
        model.train(was_training)
    if not lrs:
        raise FloatingPointError("lr_find: the loss was not finite at the first step (start_lr "
                                 f"{start_lr:g}); check the data and the model")
    idx = suggestion_index(lrs, losses, num_it, suggest)
    return LRFindResult(np.array(lrs), np.array(losses), np.array(raw), lrs[idx] / (10 if suggest == "minimum" else 1),
                        idx, suggest, diverged)


def suggestion_index(lrs, losses, num_it, suggest="valley"):
    """The index into lrs of the suggestion, read from the curve trimmed as fast.ai trims it."""
    lo, hi = num_it // 10, len(lrs) - 5
    if hi - lo < 2:
        lo, hi = 0, len(lrs)
    l, s = np.asarray(lrs[lo:hi]), np.asarray(losses[lo:hi])
    if len(l) < 2:
        return lo
    if suggest == "valley":
        return lo + valley(l, s)
    if suggest == "steep":
        return lo + steep(l, s)
    return lo + int(np.argmin(s))


def plot_lr_find(result, path, skip_start=5, skip_end=5):
    """The smoothed loss against the learning rate (log scale), without the first skip_start and last
    skip_end points as fast.ai's plot_lr_find (all points when that leaves too few), the suggestion
    marked. Returns path."""
    from matplotlib.figure import Figure
    from .reports import _save_figure
    lrs, losses = result.lrs, result.losses
    lo, hi = skip_start, len(lrs) - skip_end
    if hi - lo < 2:
        lo, hi = 0, len(lrs)
    fig = Figure(figsize=(6, 4), layout="tight")
    ax = fig.subplots()
    ax.plot(lrs[lo:hi], losses[lo:hi])
    i = result.suggestion_index
    ax.plot([lrs[i]], [losses[i]], "o", color="tab:red",
            label=f"{result.method}: {result.suggestion:.2e}")
    ax.set(xscale="log", xlabel="learning rate", ylabel="loss (smoothed)",
           title="learning-rate finder" + (" (stopped: the loss diverged)" if result.diverged else ""))
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    _save_figure(fig, path)
    return path
