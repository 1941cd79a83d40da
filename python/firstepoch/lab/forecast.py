"""Forecasting a price-like series: an RNN and an LSTM read the last WINDOW values and predict the
next one, against the naive forecast "tomorrow equals today".

The series (synthetic, seeded): a slow upward trend, two seasonal cycles (periods 30 and 7 steps), a
random walk (the unpredictable part of a price) and observation noise. The naive forecast is hard to
beat on a pure random walk; here the seasonal swing is predictable from the past window, and the
noise can be averaged out, so a model that learns them should beat it.

The models see the window relative to its last value (x - x_last) and predict the next change, both
scaled by the training changes' standard deviation; the split is chronological (train on the first
80%, test on the rest), as a forecast must be.
"""
import numpy as np

import firstepoch as fe
import firstepoch.nn as nn
import firstepoch.nn.functional as F
import firstepoch.optim as optim

from ._common import format_table, new_figure, result, save_figure, seed_everything

NAME = "forecast"
DESCRIPTION = "RNN vs LSTM vs 'tomorrow = today' on a synthetic price series (trend, seasons, noise): test MSE"

WINDOW = 30


def make_series(n, rng):
    t = np.arange(n)
    trend = 100 + 0.03 * t
    seasons = 3.0 * np.sin(2 * np.pi * t / 30) + 1.5 * np.sin(2 * np.pi * t / 7)
    walk = np.cumsum(rng.normal(0.0, 0.15, n))
    noise = rng.normal(0.0, 0.4, n)
    return (trend + seasons + walk + noise).astype(np.float32)


def windows(series, window):
    """(inputs (M, window, 1) relative to each window's last value, last values (M,), targets (M,))."""
    idx = np.arange(window)[None, :] + np.arange(len(series) - window)[:, None]
    x = series[idx]
    last = x[:, -1]
    return (x - last[:, None])[:, :, None], last, series[window:]


class Forecaster(nn.Module):
    """A recurrent layer over the window, a linear head on its last hidden state: the next change."""

    def __init__(self, kind, hidden):
        super().__init__()
        self.rnn = nn.LSTM(1, hidden, batch_first=True) if kind == "LSTM" else nn.RNN(1, hidden, batch_first=True)
        self.head = nn.Linear(hidden, 1)

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.head(out[:, -1]).reshape(-1)


def train(model, x, y, epochs, batch, lr, rng):
    opt = optim.Adam(model.parameters(), lr=lr)
    losses = []
    for _ in range(epochs):
        order = rng.permutation(len(x))
        total = 0.0
        for i in range(0, len(x), batch):
            idx = order[i:i + batch]
            loss = F.mse_loss(model(fe.tensor(x[idx])), fe.tensor(y[idx]))
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            total += loss.item() * len(idx)
        losses.append(total / len(x))
    return losses


def predict(model, x, batch=1000):
    with fe.no_grad():
        return np.concatenate([model(fe.tensor(x[i:i + batch]))._data for i in range(0, len(x), batch)])


def run(out_dir, seed=0, tiny=False):
    n, hidden, epochs = (800, 16, 8) if tiny else (2000, 32, 15)
    batch, lr = 32, 0.005
    rng = seed_everything(seed)
    series = make_series(n, rng)
    x, last, target = windows(series, WINDOW)
    split = int(0.8 * len(x))
    scale = float(np.std(np.diff(series[:split + WINDOW])))
    xs, ys = x / scale, (target - last) / scale
    results = {"naive": last[split:]}
    curves = {}
    for kind in ("RNN", "LSTM"):
        fe.manual_seed(seed)
        model = Forecaster(kind, hidden)
        curves[kind] = train(model, xs[:split], ys[:split], epochs, batch, lr, np.random.default_rng(seed))
        results[kind] = last[split:] + scale * predict(model, xs[split:])
    truth = target[split:]
    mse = {k: float(np.mean((p - truth) ** 2)) for k, p in results.items()}
    rows = [[k, mse[k], mse[k] / mse["naive"], curves[k][-1] if k in curves else None] for k in ("naive", "RNN", "LSTM")]
    table = format_table(["forecast", "test MSE", "vs naive", "final train loss"], rows, digits=3,
                         title=f"forecast: next value of a {n}-step synthetic price series from the last {WINDOW} "
                               f"(train first 80%, test last {len(truth)} steps), hidden {hidden}, {epochs} epochs "
                               f"of Adam (lr {lr}, batch {batch})\nnaive = 'tomorrow equals today'; train loss is "
                               "the MSE of the scaled change")

    fig, ax = new_figure(1, 2, size=(15, 4.4))
    t = np.arange(split + WINDOW, n)
    shown = slice(0, min(150, len(t)))
    ax[0, 0].plot(np.arange(n), series, color="gray", lw=0.8)
    ax[0, 0].axvline(split + WINDOW, color="k", ls=":", lw=1)
    ax[0, 0].set_title("the series (dotted: start of the test period)")
    ax[0, 0].set_xlabel("step")
    ax[0, 1].plot(t[shown], truth[shown], color="k", lw=1.5, label="truth")
    for k in ("naive", "RNN", "LSTM"):
        ax[0, 1].plot(t[shown], results[k][shown], lw=1, label=f"{k} (MSE {mse[k]:.3g})")
    ax[0, 1].set_title("one-step forecasts on the test period")
    ax[0, 1].set_xlabel("step")
    ax[0, 1].legend(fontsize=8)
    png = save_figure(fig, out_dir, NAME)
    metrics = {"mse": mse, "train_loss": curves}
    return result(table, png, metrics)
