"""The Trainer: resuming a run (from an epoch end or mid-epoch) reaches bitwise the same weights,
optimizer state and history as an uninterrupted run on one thread; the data-parallel hooks (sampler,
after_backward, reduce_metrics, is_main) are called and honoured; the reports are written."""
import csv
import json

import numpy as np
import pytest

import firstepoch as fe
from firstepoch.io import CheckpointError
from firstepoch.trainer import Trainer, load_splits, read_checkpoint


@pytest.fixture(scope="module")
def tiny():
    full = load_splits("mnist-embedded")
    return {"train": tuple(a[:192] for a in full["train"]), "val": tuple(a[:100] for a in full["val"]),
            "test": tuple(a[:100] for a in full["test"])}


def test_splits_are_disjoint_and_keep_the_recipe_training_set():
    s = load_splits("mnist-embedded")
    assert [len(s[k][1]) for k in ("train", "val", "test")] == [8000, 1000, 1000]
    x, _ = s["train"]
    assert x.shape[1:] == (1, 28, 28) and x.dtype == np.float32
    images = {k: {v.tobytes() for v in s[k][0]} for k in s}
    assert not images["val"] & images["test"] and not images["train"] & images["test"]
    train_x, train_y = fe.datasets.mnist_normalized("train", flatten=False)
    np.testing.assert_array_equal(s["train"][0][:, 0], train_x)  # the 98% recipe's training set
    for k in ("val", "test"):  # the CLI's test digits are datasets.mnist("test"), nothing else
        x, y = fe.datasets.mnist_normalized(k, flatten=False)
        np.testing.assert_array_equal(s[k][0][:, 0], x)
        np.testing.assert_array_equal(s[k][1], y)


def _state(trainer):
    weights = {k: v.copy() for k, v in trainer.model.state_dict().items()}
    opt = trainer.optimizer.state_dict()["state"]
    history = [{k: v for k, v in row.items() if k != "time_s"} for row in trainer.history]
    return weights, opt, history


CONFIGS = {
    "lenet sgd onecycle": dict(model="lenet", optimizer="sgd", scheduler="onecycle"),
    "mlp adam cosine augment": dict(model="mlp", optimizer="adam", scheduler="cosine", augment=True),
}


@pytest.mark.parametrize("name", sorted(CONFIGS))
@pytest.mark.parametrize("stop_after", [6, 9])  # 6 steps per epoch: an epoch end, then mid-epoch
def test_resume_reaches_bitwise_the_same_weights(tmp_path, tiny, one_thread, name, stop_after):
    config = dict(CONFIGS[name], epochs=3, batch_size=32, seed=3, checkpoint_every=0)
    whole = Trainer.from_config(config, data=tiny, quiet=True, log=lambda line: None)
    whole.fit()
    expected = _state(whole)

    first = Trainer.from_config(config, data=tiny, out_dir=str(tmp_path), quiet=True, log=lambda line: None)
    first.fit(max_steps=stop_after)  # stops as a kill would, after saving `last`
    assert first.global_step == stop_after and first.epoch < 3
    fe.manual_seed(12345)  # whatever the global generator did meanwhile, the checkpoint restores it
    second = Trainer.from_config(config, data=tiny, out_dir=str(tmp_path), quiet=True, log=lambda line: None)
    second.load_checkpoint(tmp_path / "checkpoints" / "last.safetensors")
    assert (second.epoch, second.step_in_epoch) == divmod(stop_after, 6)
    second.fit()
    got = _state(second)
    assert list(got[0]) == list(expected[0])
    for k in expected[0]:
        assert np.array_equal(got[0][k], expected[0][k]), k
    for idx, st in expected[1].items():
        for k, v in st.items():
            assert np.array_equal(got[1][idx][k], v), (idx, k)
    assert got[2] == expected[2]
    assert second.test_result["test_acc"] == whole.test_result["test_acc"]


def test_training_batches_come_from_a_data_loader_in_the_seeded_order(tiny, monkeypatch):
    seen = []
    real_iter = fe.data.DataLoader.__iter__

    def recording_iter(loader):
        for batch in real_iter(loader):
            seen.append((len(loader.dataset), batch[1]._data.copy()))
            yield batch
    monkeypatch.setattr(fe.data.DataLoader, "__iter__", recording_iter)
    t = Trainer.from_config(dict(model="mlp", epochs=2, batch_size=32, seed=5), data=tiny, quiet=True,
                            log=lambda line: None)
    t.fit()
    train_batches = [y for n, y in seen if n == 192]
    y = tiny["train"][1]
    expected = [y[np.random.default_rng([5, e]).permutation(192)][i:i + 32] for e in (0, 1) for i in range(0, 192, 32)]
    assert len(train_batches) == len(expected) == 12
    for got, want in zip(train_batches, expected):
        assert np.array_equal(got, want)
    assert sum(len(y) for n, y in seen if n == 100) == 3 * 100  # validation twice, test once, batched too


def test_reports_and_checkpoints_are_written(tmp_path, tiny):
    lines = []
    t = Trainer.from_config(dict(model="mlp", epochs=2, batch_size=64), data=tiny, out_dir=str(tmp_path),
                            quiet=True, log=lines.append)
    t.fit()
    assert lines[0].startswith("epoch 1/2  train loss ") and " val loss " in lines[0] and lines[0].endswith(" s")
    assert lines[2].startswith("test loss ") and "test accuracy" in lines[2]
    rows = list(csv.DictReader(open(tmp_path / "metrics.csv")))
    assert [r["epoch"] for r in rows] == ["1", "2"]
    assert set(rows[0]) == {"epoch", "train_loss", "train_acc", "val_loss", "val_acc", "lr", "time_s"}
    doc = json.load(open(tmp_path / "metrics.json"))
    assert doc["config"]["model"] == "mlp" and len(doc["history"]) == 2
    assert doc["test"]["n"] == 100 and np.sum(doc["test"]["confusion"]) == 100
    assert 0 <= doc["test"]["test_acc"] <= 1
    for png in ("curves.png", "confusion.png"):
        assert (tmp_path / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    for ck in ("last", "best"):
        tensors, meta = read_checkpoint(tmp_path / "checkpoints" / f"{ck}.safetensors")
        assert json.loads(meta["config"])["model"] == "mlp"
        assert any(k.startswith("optimizer.") for k in tensors)


def test_hooks_for_data_parallel_training(tmp_path, tiny):
    calls = {"sampler": [], "after_backward": 0, "reduce": []}

    def sampler(epoch):  # this "rank" sees the even samples only
        calls["sampler"].append(epoch)
        return np.arange(0, 192, 2)

    def after_backward(trainer):
        calls["after_backward"] += 1
        assert all(p.grad is not None for p in trainer.model.parameters())

    def reduce_metrics(sums):
        calls["reduce"].append(sums.copy())
        return sums * np.array([1.0, 1.0, 1.0])

    lines = []
    t = Trainer.from_config(dict(model="mlp", epochs=2, batch_size=32), data=tiny, out_dir=str(tmp_path / "run"),
                            quiet=True, log=lines.append, sampler=sampler, after_backward=after_backward,
                            reduce_metrics=reduce_metrics, is_main=False)
    t.fit()
    assert calls["sampler"] == [0, 1]
    assert calls["after_backward"] == 2 * 3  # 96 samples / 32 per batch, two epochs
    assert [r[2] for r in calls["reduce"]] == [96, 96]
    assert lines == [] and not (tmp_path / "run").exists()  # not the main process: no output, no files
    assert len(t.history) == 2


def test_checkpoint_of_another_optimizer_or_model_is_refused(tmp_path, tiny):
    t = Trainer.from_config(dict(model="mlp", optimizer="adam", epochs=1), data=tiny, out_dir=str(tmp_path),
                            quiet=True, log=lambda line: None)
    t.fit()
    path = tmp_path / "checkpoints" / "last.safetensors"
    sgd = Trainer.from_config(dict(model="mlp", optimizer="sgd", epochs=1), data=tiny, quiet=True)
    with pytest.raises(CheckpointError, match="holds Adam state, the run uses SGD"):
        sgd.load_checkpoint(path)
    lenet = Trainer.from_config(dict(model="lenet", optimizer="adam", epochs=1), data=tiny, quiet=True)
    with pytest.raises(CheckpointError, match="holds a Sequential, not a LeNet5"):
        lenet.load_checkpoint(path)
    weights_only = tmp_path / "w.safetensors"
    fe.save(t.model, weights_only)
    with pytest.raises(CheckpointError, match="not a firstepoch training checkpoint"):
        sgd.load_checkpoint(weights_only)


def test_bad_config_names_the_key(tiny):
    with pytest.raises(ValueError, match="unknown keys \\['epoch'\\]"):
        Trainer.from_config(dict(epoch=3), data=tiny)
    with pytest.raises(ValueError, match="optimizer must be one of sgd, adam, adamw"):
        Trainer.from_config(dict(optimizer="lbfgs"), data=tiny)


def test_a_diverging_loss_stops_with_a_clear_error(tiny):
    t = Trainer.from_config(dict(model="mlp", lr=1e12, scheduler="none", epochs=1), data=tiny, quiet=True,
                            log=lambda line: None)
    with pytest.raises(FloatingPointError, match=r"the loss diverged \(became inf/nan\) at epoch 1 step \d+; "
                                                 r"lower --lr \(now 1e\+12\)"):
        t.fit()
    assert all(np.isfinite(v).all() for v in t.model.state_dict().values())  # stopped before the bad step


@pytest.mark.parametrize("name", ["lenet", "mlp", "resnet-small"])
def test_captured_steps_train_bitwise_as_eager_ones(tiny, one_thread, name):
    # the default replays each step's forward and backward (firstepoch.capture); resnet-small's batch
    # norm cannot be captured, so it runs eagerly
    config = dict(model=name, epochs=2, batch_size=32, seed=1, checkpoint_every=0)
    data = {k: tuple(a[:96] for a in v) for k, v in tiny.items()} if name == "resnet-small" else tiny
    runs = {}
    for capture in (True, False):
        t = Trainer.from_config(config, data=data, quiet=True, log=lambda line: None, capture=capture)
        t.fit()
        runs[capture] = (t, _state(t))
    captured, eager = runs[True][1], runs[False][1]
    assert all(np.array_equal(captured[0][k], eager[0][k]) for k in eager[0])
    for idx, st in eager[1].items():
        assert all(np.array_equal(captured[1][idx][k], v) for k, v in st.items())
    assert captured[2] == eager[2]
    step = runs[True][0]._step
    if name == "resnet-small":
        assert step.replays == 0 and step.eager_reason
    else:  # 6 steps an epoch; the first 3 warm up, capture and check the tape
        assert step.replays == 12 - 3 and step.eager_reason is None
    assert not hasattr(runs[False][0]._step, "replays")


def test_a_duck_typed_model_trains_eagerly(tiny):
    # capture needs an nn.Module and an optim.Optimizer; anything else with their methods still trains
    class Proxy:
        def __init__(self, inner):
            self.inner = inner

        def __call__(self, x):
            return self.inner(x)

        def __getattr__(self, name):
            return getattr(self.inner, name)
    t = Trainer.from_config(dict(model="mlp", epochs=1, batch_size=32), data=tiny, quiet=True,
                            log=lambda line: None)
    t = Trainer(Proxy(t.model), t.optimizer, t.scheduler, tiny, t.config, quiet=True, log=lambda line: None)
    t.fit()
    assert not hasattr(t._step, "replays") and np.isfinite(t.history[0]["train_loss"])


def test_a_loss_that_diverges_in_a_replayed_step_stops_before_the_update(tiny):
    t = Trainer.from_config(dict(model="mlp", epochs=2, batch_size=32, checkpoint_every=0), data=tiny, quiet=True,
                            log=lambda line: None)
    t.fit(max_steps=5)
    assert t._step.replays == 2
    last = list(t.model.parameters())[-1]  # the output layer's bias, changed in place (the tape reads it)
    last._data[0] = np.inf
    before = {k: v.copy() for k, v in t.model.state_dict().items()}
    with pytest.raises(FloatingPointError, match="the loss diverged"):
        t.fit()
    assert t._step.replays == 3  # the step that diverged was replayed
    after = t.model.state_dict()
    assert all(np.array_equal(before[k], after[k]) for k in before)  # no update


@pytest.mark.parametrize("split, name", [("train", "training"), ("val", "validation"), ("test", "test")])
def test_non_finite_data_are_refused_before_training(tiny, split, name):
    x = tiny[split][0].copy()
    x[[0, 7], 0, 3, 3] = [np.nan, -np.inf]
    data = dict(tiny, **{split: (x, tiny[split][1])})
    with pytest.raises(ValueError, match=f"the {name} data contain non-finite values \\(2 images\\)"):
        Trainer.from_config(dict(model="mlp", epochs=1), data=data, quiet=True, log=lambda line: None)


@pytest.mark.parametrize("name", ["mlp", "lenet", "resnet-small", "lstm"])
def test_every_cli_model_trains_on_images(tiny, name):
    small = {k: tuple(a[:64] for a in v) for k, v in tiny.items()}
    t = Trainer.from_config(dict(model=name, epochs=1, batch_size=32), data=small, quiet=True,
                            log=lambda line: None)
    before = {k: v.copy() for k, v in t.model.state_dict().items()}
    t.fit()
    assert t.model(fe.tensor(small["val"][0][:3])).shape == (3, 10)
    assert any(not np.array_equal(before[k], v) for k, v in t.model.state_dict().items())
    assert np.isfinite(t.history[0]["train_loss"]) and t.test_result["n"] == 64


def test_fe_load_reads_the_weights_of_a_training_checkpoint(tmp_path, tiny):
    t = Trainer.from_config(dict(model="mlp", epochs=1), data=tiny, out_dir=str(tmp_path), quiet=True,
                            log=lambda line: None)
    t.fit()
    fresh = fe.load(tmp_path / "checkpoints" / "last.safetensors", fe.models.mlp())
    for k, v in t.model.state_dict().items():
        np.testing.assert_array_equal(fresh.state_dict()[k], v)


def test_an_empty_sampler_is_kept_not_replaced(tiny):
    """`sampler or SeededShuffle(...)` took a sampler of length 0 (a rank with no samples) as absent and
    trained that rank on the whole split."""
    empty = fe.data.SeededShuffle(0)
    t = Trainer.from_config(dict(model="mlp", epochs=1, batch_size=32), data=tiny, quiet=True,
                            log=lambda line: None, sampler=empty)
    assert t.sampler is empty
