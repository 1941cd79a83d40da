"""The learning-rate finder (issue 18), as fast.ai's: an exponential sweep from start_lr toward end_lr,
the smoothed loss, a stop once it passes 4x its minimum, the model and optimizer put back afterwards,
and a 'valley' suggestion that lands below the divergence point of a problem whose good rate is known."""
import math

import numpy as np
import pytest

import firstepoch as fe
import firstepoch.nn as nn
import firstepoch.nn.functional as F
from firstepoch.train import Trainer, lr_find, plot_lr_find
from firstepoch.train.lr_find import steep, suggestion_index, sweep_lrs, valley


def _regression(seed=0, n=64):
    """y = 3x + noise, fitted by w*x with plain SGD on the mean squared error: the loss is
    m2 * (w - 3)^2 + const with m2 = mean(x^2), so a step multiplies (w - 3) by 1 - 2 lr m2: the best
    rate is 1 / (2 m2) (one step lands on the minimum) and rates above 1 / m2 diverge."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 1)).astype(np.float32)
    y = (3 * x + 0.05 * rng.normal(size=(n, 1))).astype(np.float32)
    model = nn.Linear(1, 1, bias=False)
    model.weight.data = fe.tensor(np.zeros((1, 1), np.float32))
    opt = fe.optim.SGD(model.parameters(), lr=0.123)
    batches = [(fe.tensor(x), fe.tensor(y))]
    return model, opt, batches, float((x.astype(np.float64) ** 2).mean())


def test_the_sweep_is_exponential_from_start_toward_end():
    lrs = sweep_lrs(1e-7, 10, 100)
    assert lrs[0] == 1e-7 and len(lrs) == 100 and lrs[-1] < 10
    ratios = lrs[1:] / lrs[:-1]
    np.testing.assert_allclose(ratios, (10 / 1e-7) ** (1 / 100), rtol=1e-12)
    model, opt, batches, _ = _regression()
    r = lr_find(model, opt, batches, F.mse_loss, start_lr=1e-6, end_lr=1e-3, num_it=30)
    np.testing.assert_allclose(r.lrs, sweep_lrs(1e-6, 1e-3, 30))  # no divergence at these rates
    assert not r.diverged


def test_the_loss_is_smoothed_as_fastai():
    model, opt, batches, _ = _regression()
    r = lr_find(model, opt, batches, F.mse_loss, start_lr=1e-4, end_lr=1e-2, num_it=20)
    avg, want = 0.0, []
    for i, v in enumerate(r.raw_losses):
        avg = 0.98 * avg + 0.02 * v
        want.append(avg / (1 - 0.98 ** (i + 1)))
    np.testing.assert_allclose(r.losses, want, rtol=1e-12)
    assert r.losses[0] == pytest.approx(r.raw_losses[0])


def test_stops_on_divergence_and_suggests_a_rate_below_it():
    model, opt, batches, m2 = _regression()
    r = lr_find(model, opt, batches, F.mse_loss, start_lr=1e-5, end_lr=100, num_it=100)
    assert r.diverged and len(r.lrs) < 100
    smooth = r.losses
    assert smooth[-1] > 4 * smooth[:-1].min()  # the stopping rule, on the step that broke it
    assert all(smooth[i] <= 4 * smooth[:i + 1].min() for i in range(len(smooth) - 1))
    assert r.lrs[-1] > 1 / m2  # it went past the divergence point before stopping
    # the suggestion is a rate that trains: below the divergence point, within 100x of the best rate
    assert 1 / (2 * m2) / 100 < r.suggestion < 1 / m2
    assert r.method == "valley" and r.suggestion == r.lrs[r.suggestion_index]
    with np.errstate(over="ignore", invalid="ignore"):
        no_stop = lr_find(model, opt, batches, F.mse_loss, start_lr=1e-5, end_lr=100, num_it=100, stop_div=False)
    assert len(no_stop.lrs) <= 100 and len(no_stop.lrs) > len(r.lrs)  # on until the loss overflows


def test_the_model_and_optimizer_are_put_back():
    fe.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Dropout(0.2), nn.Linear(8, 3))
    opt = fe.optim.Adam(model.parameters(), lr=0.003)
    x = fe.randn(16, 4)
    y = fe.tensor(np.arange(16) % 3)
    for _ in range(3):  # some optimizer state to keep
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    before = model.state_dict()
    opt_before = opt.state_dict()
    rng_before = fe.random.get_state()
    lr_find(model, opt, [(x, y)], num_it=30)
    after = model.state_dict()
    assert all(np.array_equal(before[k], after[k]) for k in before)
    opt_after = opt.state_dict()
    assert opt_after["param_groups"] == opt_before["param_groups"] and opt.param_groups[0]["lr"] == 0.003
    for i, st in opt_before["state"].items():
        for k, v in st.items():
            assert np.array_equal(v, opt_after["state"][i][k])
    assert not model.training and fe.random.get_state() == rng_before


def test_suggestion_rules():
    lrs = np.logspace(-5, 0, 11)
    losses = np.array([5, 5, 4.9, 4, 2, 1.6, 1.5, 1.4, 2, 8, 30.0])
    assert valley(lrs, losses) == 0 + int(7 / 3) + int(7 / 3 / 2)  # the decreasing run 0..7: start + 2 + 1
    assert steep(lrs, losses) == 3  # 4 -> 2: the largest drop per log step
    # read from the trimmed curve: the first num_it // 10 = 1 and the last 5 points dropped
    assert suggestion_index(lrs, losses, num_it=11, suggest="minimum") == 5
    assert suggestion_index(lrs, losses, num_it=11, suggest="valley") == 1 + valley(lrs[1:6], losses[1:6])
    with pytest.raises(ValueError, match="suggest must be one of valley, steep, minimum"):
        lr_find(nn.Linear(1, 1), fe.optim.SGD(nn.Linear(1, 1).parameters(), lr=0.1), [], suggest="best")
    with pytest.raises(ValueError, match="end_lr .* must be larger than start_lr"):
        lr_find(nn.Linear(1, 1), fe.optim.SGD(nn.Linear(1, 1).parameters(), lr=0.1), [], start_lr=1, end_lr=0.1)


def _tiny_data(n=96, seed=0):
    rng = np.random.default_rng(seed)
    y = (np.arange(n) % 10).astype(np.int64)
    x = rng.normal(0, 0.3, (n, 1, 28, 28)).astype(np.float32)
    x[np.arange(n), 0, y * 2, 3:25] += 2.0  # class k: a bright row at 2k
    return {"train": (x, y), "val": (x[:20], y[:20]), "test": (x[:20], y[:20])}


def test_trainer_lr_find_writes_the_curve_and_leaves_the_run_as_it_was(tmp_path):
    data = _tiny_data()
    cfg = {"model": "mlp", "epochs": 1, "batch_size": 16, "optimizer": "sgd", "scheduler": "onecycle"}
    t = Trainer.from_config(cfg, data=data, quiet=True, log=lambda line: None)
    w0 = t.model.state_dict()
    lr0 = t.optimizer.param_groups[0]["lr"]
    r = t.lr_find(num_it=40, path=tmp_path / "lr_find.png")
    assert (tmp_path / "lr_find.png").stat().st_size > 1000
    assert len(r.lrs) >= 12 and math.isfinite(r.suggestion) and 1e-7 <= r.suggestion < 10
    assert all(np.array_equal(w0[k], v) for k, v in t.model.state_dict().items())
    assert t.optimizer.param_groups[0]["lr"] == lr0 and t.scheduler.last_epoch == 0
    t.fit()  # the run goes on as if lr_find had not run: the same weights as a fresh trainer's
    fresh = Trainer.from_config(cfg, data=data, quiet=True, log=lambda line: None)
    fresh.fit()
    assert all(np.array_equal(fresh.model.state_dict()[k], v) for k, v in t.model.state_dict().items())


def test_plot_marks_the_suggestion(tmp_path):
    model, opt, batches, _ = _regression()
    r = lr_find(model, opt, batches, F.mse_loss, start_lr=1e-5, end_lr=100)
    Image = pytest.importorskip("PIL.Image")
    path = plot_lr_find(r, tmp_path / "lr.png")
    rgb = np.asarray(Image.open(path).convert("RGB")).astype(int)
    red = (rgb[..., 0] > 180) & (rgb[..., 1] < 80) & (rgb[..., 2] < 80)  # matplotlib's tab:red marker
    assert red.sum() > 10
