"""The training loop behind `firstepoch train`, reusable from any front end: Trainer.fit() runs the epochs
with a tqdm bar, a Keras-style summary line per epoch, atomic safetensors checkpoints (resumable
mid-epoch, bitwise equal to an uninterrupted run) and reports (metrics.csv/json, curves, confusion).

Hooks for data-parallel training: `sampler(epoch) -> int64 indices` picks this process's training
samples; `after_backward(trainer)` runs between backward and optimizer.step (gradient all-reduce);
`reduce_metrics(array) -> array` combines [loss_sum, correct, count] over processes before they are
reported; `is_main` gates the bar, printing and every file written.
"""
import csv
import io as _pyio
import json
import math
import os
import sys
import time

import numpy as np

from . import _C
from . import io as fio
from . import random as _random
from .autograd import no_grad
from .data import transforms
from .datasets.mnist import mnist as _load_mnist, normalize as _normalize, split_indices as _split_indices
from .nn import functional as F
from .tensor import Tensor

OPTIMIZERS = ("sgd", "adam", "adamw")
SCHEDULERS = ("onecycle", "cosine", "step", "none")
DEFAULT_LR = {"sgd": 0.05, "adam": 1e-3, "adamw": 1e-3}
CHECKPOINT_KIND = "firstepoch-checkpoint"


# ---- data ---------------------------------------------------------------------------------------------

def _prepare(images, labels):
    return _normalize(images, flatten=False)[:, None], np.ascontiguousarray(labels, dtype=np.int64)


def load_splits(dataset="mnist-embedded"):
    """{'train', 'val', 'test'} -> (float32 (N, 1, 28, 28) normalised images, int64 labels).

    'mnist-embedded': datasets.mnist's fixed, disjoint split of the 10,000 digits inside the package:
    8,000 train, 1,000 val, 1,000 test.
    'ylecun/mnist': the hub's 60,000 train digits split 55,000 / 5,000 into train / val, its test split
    as test. A path (parquet file, or a folder of parquet files or of class-named image folders): all of
    its digits split 80 / 10 / 10 in a fixed hash order.
    """
    if dataset == "mnist-embedded":
        return {k: _prepare(*_load_mnist(k)) for k in ("train", "val", "test")}
    if dataset in ("ylecun/mnist", "hf"):
        x, y = _load_mnist("train", source="ylecun/mnist")
        tx, ty = _load_mnist("test", source="ylecun/mnist")
        train, val = _split_indices(len(y), len(y) - 5000, seed=1)
        return {"train": _prepare(x[train], y[train]), "val": _prepare(x[val], y[val]), "test": _prepare(tx, ty)}
    if not os.path.exists(dataset):
        raise FileNotFoundError(f"dataset must be 'mnist-embedded', 'ylecun/mnist' or an existing path, "
                                f"got {dataset!r}")
    x, y = _load_mnist("train", source=dataset)
    n = len(y)
    train, rest = _split_indices(n, n - 2 * (n // 10), seed=1)
    val, test = rest[: n // 10], rest[n // 10:]
    return {"train": _prepare(x[train], y[train]), "val": _prepare(x[val], y[val]), "test": _prepare(x[test], y[test])}


def _check_finite(what, x):
    """A NaN or inf pixel would surface later as a diverging loss and the advice to lower the learning
    rate; name it before training instead."""
    if x is None or not np.issubdtype(np.asarray(x).dtype, np.floating) or np.isfinite(x).all():
        return
    x = np.asarray(x)
    bad = int((~np.isfinite(x.reshape(len(x), -1))).any(axis=1).sum())
    raise ValueError(f"the {what} data contain non-finite values ({bad} image{'s' if bad != 1 else ''})")


class SeededShuffle:
    """The default training sampler: epoch e's order is a permutation drawn from a generator seeded
    with (seed, e), so any epoch's order can be recomputed on resume without replaying the others."""

    def __init__(self, n, seed):
        self.n, self.seed = int(n), int(seed)

    def __call__(self, epoch):
        return np.random.default_rng([self.seed, int(epoch)]).permutation(self.n).astype(np.int64)


# ---- building from a config -------------------------------------------------------------------------

def default_config(**overrides):
    """The recipe `firstepoch train` runs with no options (LeNet-5 on the embedded digits, >= 98% test)."""
    cfg = {"model": "lenet", "dataset": "mnist-embedded", "epochs": 10, "batch_size": 64, "lr": None,
           "optimizer": "sgd", "scheduler": "onecycle", "augment": False, "seed": 0, "checkpoint_every": 50}
    unknown = set(overrides) - set(cfg)
    if unknown:
        raise ValueError(f"default_config: unknown keys {sorted(unknown)}")
    cfg.update(overrides)
    if cfg["optimizer"] not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, got {cfg['optimizer']!r}")
    if cfg["lr"] is None:
        cfg["lr"] = DEFAULT_LR[cfg["optimizer"]]
    return cfg


def build_optimizer(name, params, lr):
    from . import optim
    if name == "sgd":
        return optim.SGD(params, lr=lr, momentum=0.9, nesterov=True)
    if name == "adam":
        return optim.Adam(params, lr=lr)
    if name == "adamw":
        return optim.AdamW(params, lr=lr, weight_decay=1e-2)
    raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, got {name!r}")


def build_scheduler(name, optimizer, lr, epochs, steps_per_epoch):
    """Every schedule here steps once per batch."""
    from .optim import lr_scheduler as S
    total = epochs * steps_per_epoch
    if name == "onecycle":
        return S.OneCycleLR(optimizer, max_lr=lr, total_steps=total)
    if name == "cosine":
        return S.CosineAnnealingLR(optimizer, T_max=total)
    if name == "step":  # x0.1 after each third of the run
        return S.StepLR(optimizer, step_size=max(1, total // 3), gamma=0.1)
    if name == "none":
        return None
    raise ValueError(f"scheduler must be one of {', '.join(SCHEDULERS)}, got {name!r}")


# ---- the trainer ---------------------------------------------------------------------------------

def _identity(x):
    return x


class Trainer:
    """Trains `model` on `data` ({'train', 'val', 'test'} -> (x, y) arrays) as `config` says (see
    default_config). Use Trainer.from_config(config) to build the model, optimizer and scheduler.

    out_dir: where checkpoints/last.safetensors, checkpoints/best.safetensors and the reports go (None:
    nothing is written). quiet: no progress bar (also off when stderr is not a terminal).
    log: a function taking one line (default print to stdout).
    """

    def __init__(self, model, optimizer, scheduler, data, config, out_dir=None, quiet=False, log=None,
                 sampler=None, after_backward=None, reduce_metrics=None, is_main=True):
        self.model, self.optimizer, self.scheduler = model, optimizer, scheduler
        self.config = dict(config)
        self.train_x, self.train_y = data["train"]
        self.val_x, self.val_y = data["val"]
        self.test_x, self.test_y = data.get("test", (None, None))
        for what, x in (("training", self.train_x), ("validation", self.val_x), ("test", self.test_x)):
            _check_finite(what, x)
        self.out_dir = out_dir
        self.quiet = quiet
        self.is_main = bool(is_main)
        self._log = log or (lambda line: print(line, flush=True))
        self.sampler = sampler or SeededShuffle(len(self.train_y), self.config["seed"])
        self.after_backward = after_backward
        self.reduce_metrics = reduce_metrics or _identity
        self.batch_size = int(self.config["batch_size"])
        self.epochs = int(self.config["epochs"])
        self.checkpoint_every = int(self.config.get("checkpoint_every") or 0)
        self._augment = (transforms.RandomCrop(28, padding=2) if self.config.get("augment") else None)
        # progress: epochs completed, batches done in the current epoch, and the epoch's running sums
        self.epoch = 0
        self.step_in_epoch = 0
        self.global_step = 0
        self._sums = [0.0, 0, 0]  # loss * n, correct, n
        self._epoch_time = 0.0
        self.history = []
        self.best_val_acc = -1.0
        self.test_result = None
        if self.out_dir is not None and self.is_main:
            self._remove_stale_temporaries()

    @classmethod
    def from_config(cls, config, data=None, **kwargs):
        """Seeds the global generator with config['seed'], builds the model, optimizer and scheduler."""
        from . import models
        config = default_config(**config)
        if data is None:
            data = load_splits(config["dataset"])
        _random.manual_seed(config["seed"])
        model = models.create(config["model"])
        opt = build_optimizer(config["optimizer"], model.parameters(), config["lr"])
        steps = math.ceil(len(data["train"][1]) / config["batch_size"])
        sched = build_scheduler(config["scheduler"], opt, config["lr"], config["epochs"], steps)
        return cls(model, opt, sched, data, config, **kwargs)

    # ---- printing and files, only on the main process -----------------------------------------------
    def log(self, line):
        if self.is_main:
            self._log(line)

    def _path(self, *parts):
        return os.path.join(self.out_dir, *parts)

    def _show_bar(self):
        return self.is_main and not self.quiet and sys.stderr.isatty()

    # ---- one epoch --------------------------------------------------------------------------------
    def _batches(self, epoch):
        order = np.asarray(self.sampler(epoch), dtype=np.int64)
        return [order[i:i + self.batch_size] for i in range(0, len(order), self.batch_size)]

    def _train_step(self, epoch, b, idx):
        x, y = self.train_x[idx], self.train_y[idx]
        if self._augment is not None:  # a generator per batch: resuming mid-epoch redraws the same shifts
            self._augment.generator = np.random.default_rng([self.config["seed"], epoch, b, 1])
            x = self._augment(x).astype(np.float32, copy=False)
        logits = self.model(Tensor(x))
        loss = F.cross_entropy(logits, Tensor(y))
        value = float(loss.item())
        if not math.isfinite(value):  # stop before the step: the weights (and `last`) stay finite
            raise FloatingPointError(f"the loss diverged (became inf/nan) at epoch {epoch + 1} step {b + 1}; "
                                     f"lower --lr (now {self.config['lr']:g})")
        self.optimizer.zero_grad()
        loss.backward()
        if self.after_backward is not None:
            self.after_backward(self)
        self.optimizer.step()
        if self.scheduler is not None:
            self.scheduler.step()
        self._sums[0] += value * len(y)
        self._sums[1] += int((logits.data.argmax(axis=1) == y).sum())
        self._sums[2] += len(y)
        return value

    def fit(self, max_steps=None):
        """Trains to config['epochs'] from wherever the trainer stands (0, or a resumed checkpoint).
        max_steps: stop (after saving `last`) once this many batches have run in total, as a kill would.
        Returns the history (one dict per epoch), with the test result in self.test_result."""
        model = self.model
        while self.epoch < self.epochs:
            epoch = self.epoch
            batches = self._batches(epoch)
            model.train()
            t0 = time.perf_counter() - self._epoch_time
            bar = None
            if self._show_bar():
                from tqdm import tqdm
                bar = tqdm(total=len(batches), initial=self.step_in_epoch, unit="batch", leave=False,
                           desc=f"epoch {epoch + 1}/{self.epochs}", dynamic_ncols=True, file=sys.stderr)
            try:
                for b in range(self.step_in_epoch, len(batches)):
                    loss = self._train_step(epoch, b, batches[b])
                    self.step_in_epoch = b + 1
                    self.global_step += 1
                    self._epoch_time = time.perf_counter() - t0
                    if bar is not None:
                        bar.update(1)
                        bar.set_postfix(loss=f"{self._sums[0] / self._sums[2]:.4f}", refresh=False)
                    stop = max_steps is not None and self.global_step >= max_steps
                    if stop or (self.checkpoint_every and self.global_step % self.checkpoint_every == 0):
                        if self.step_in_epoch < len(batches):
                            self.save_checkpoint()
                    if stop and self.step_in_epoch < len(batches):
                        return self.history
            finally:
                if bar is not None:
                    bar.close()
            self._end_epoch(epoch, time.perf_counter() - t0)
            if max_steps is not None and self.global_step >= max_steps and self.epoch < self.epochs:
                return self.history
        self.test_result = self.finish()
        return self.history

    def _end_epoch(self, epoch, seconds):
        loss_sum, correct, count = self.reduce_metrics(np.array(self._sums, dtype=np.float64))
        val_loss, val_acc, _ = self.evaluate(self.val_x, self.val_y)
        row = {"epoch": epoch + 1, "train_loss": float(loss_sum / count), "train_acc": float(correct / count),
               "val_loss": val_loss, "val_acc": val_acc, "lr": float(self.optimizer.param_groups[0]["lr"]),
               "time_s": round(seconds, 3)}
        self.history.append(row)
        self.epoch = epoch + 1
        self.step_in_epoch = 0
        self._sums = [0.0, 0, 0]
        self._epoch_time = 0.0
        self.log(f"epoch {row['epoch']}/{self.epochs}  train loss {row['train_loss']:.4f} acc "
                 f"{row['train_acc']:.2%}  val loss {val_loss:.4f} acc {val_acc:.2%}  lr {row['lr']:.2e}  "
                 f"{seconds:.1f} s")
        improved = val_acc > self.best_val_acc
        self.best_val_acc = max(self.best_val_acc, val_acc)  # before saving: `last` carries the best so far
        if self.out_dir is not None and self.is_main:
            # best, then last: a kill between the two resumes from the previous `last`, which redoes this
            # epoch bitwise and rewrites the same best; `last` never records a best that best.safetensors
            # does not hold
            if improved:
                self.save_checkpoint(self._path("checkpoints", "best.safetensors"))
            self.save_checkpoint()
            self.write_metrics()

    def evaluate(self, x, y, batch=500):
        """(mean loss, accuracy, predicted labels) of the model on arrays x, y, in evaluation mode."""
        was_training = self.model.training
        self.model.eval()
        loss_sum, preds = 0.0, []
        with no_grad():
            for i in range(0, len(y), batch):
                logits = self.model(Tensor(x[i:i + batch]))
                loss_sum += float(F.cross_entropy(logits, Tensor(y[i:i + batch])).item()) * len(logits.data)
                preds.append(logits.data.argmax(axis=1))
        self.model.train(was_training)
        preds = np.concatenate(preds) if preds else np.zeros(0, np.int64)
        return loss_sum / max(len(y), 1), float((preds == y).mean()) if len(y) else 0.0, preds

    def finish(self):
        """Test loss and accuracy, printed, and the final reports written."""
        if self.test_y is None:
            return None
        loss, acc, preds = self.evaluate(self.test_x, self.test_y)
        confusion = confusion_matrix(self.test_y, preds)
        result = {"test_loss": loss, "test_acc": acc, "n": int(len(self.test_y)), "confusion": confusion.tolist()}
        self.log(f"test loss {loss:.4f}  test accuracy {acc:.2%} ({int(round(acc * len(preds)))}/{len(preds)})")
        if self.out_dir is not None and self.is_main:
            self.test_result = result
            self.write_metrics()
            write_curves(self.history, self._path("curves.png"))
            write_confusion(confusion, self._path("confusion.png"), acc)
            self.log(f"reports in {self.out_dir}: metrics.csv metrics.json curves.png confusion.png "
                     f"checkpoints/last.safetensors checkpoints/best.safetensors")
        return result

    def write_metrics(self):
        fields = ["epoch", "train_loss", "train_acc", "val_loss", "val_acc", "lr", "time_s"]
        buf = _pyio.StringIO()
        w = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
        w.writeheader()
        for row in self.history:
            w.writerow(row)
        fio.atomic_write_text(self._path("metrics.csv"), buf.getvalue())
        doc = {"config": self.config, "history": self.history, "test": self.test_result}
        fio.atomic_write_text(self._path("metrics.json"), json.dumps(doc, indent=2) + "\n")

    # ---- checkpoints ------------------------------------------------------------------------------
    def save_checkpoint(self, path=None):
        """Model, optimizer, scheduler position, progress, RNG state and config in one safetensors file,
        written atomically (default: OUT/checkpoints/last.safetensors)."""
        if not self.is_main:
            return
        if path is None:
            if self.out_dir is None:
                return
            path = self._path("checkpoints", "last.safetensors")
        tensors = {f"model.{k}": v for k, v in self.model.state_dict().items()}
        opt = self.optimizer.state_dict()
        scalars = {}
        for idx, st in opt["state"].items():
            for k, v in st.items():
                if isinstance(v, np.ndarray):
                    tensors[f"optimizer.{idx}.{k}"] = v
                else:
                    scalars.setdefault(str(idx), {})[k] = v
        progress = {"epoch": self.epoch, "step_in_epoch": self.step_in_epoch, "global_step": self.global_step,
                    "sums": self._sums, "epoch_time": self._epoch_time, "history": self.history,
                    "best_val_acc": self.best_val_acc}
        meta = {"format": fio.FORMAT, "kind": CHECKPOINT_KIND, "class": type(self.model).__name__,
                "config": json.dumps(self.config), "progress": json.dumps(progress),
                "rng": json.dumps(_random.get_state()),
                "optimizer": json.dumps({"type": type(self.optimizer).__name__, "param_groups": opt["param_groups"],
                                         "scalars": scalars}),
                "scheduler": json.dumps(None if self.scheduler is None else self.scheduler.last_epoch),
                "version": getattr(_C, "__version__", "0")}
        fio.save_safetensors(tensors, path, meta)

    def load_checkpoint(self, path):
        """Restores everything save_checkpoint wrote; the file must come from the same model and
        optimizer (CheckpointError names what differs). Everything is checked before anything is
        restored: a refused checkpoint leaves the trainer as it was."""
        tensors, meta, parsed = read_checkpoint_fields(path)
        where = f"checkpoint {os.fspath(path)!r}"
        model_sd = {k[6:]: v for k, v in tensors.items() if k.startswith("model.")}
        fio.check_class(self.model, meta, path)  # the plainest mismatch is named first
        opt_state = self._optimizer_state(tensors, parsed["optimizer"], where)
        fio.load_into(self.model, model_sd, meta, path)  # checks, then copies: nothing half-loaded
        self.optimizer.load_state_dict(opt_state)  # checked by _optimizer_state: cannot fail now
        sched = parsed["scheduler"]
        if self.scheduler is not None and sched is not None:
            self.scheduler.last_epoch = int(sched)
        p = parsed["progress"]
        self.epoch, self.step_in_epoch, self.global_step = p["epoch"], p["step_in_epoch"], p["global_step"]
        self._sums, self._epoch_time = list(p["sums"]), float(p["epoch_time"])
        self.history, self.best_val_acc = p["history"], float(p["best_val_acc"])
        _random.set_state(parsed["rng"])
        return self

    def _optimizer_state(self, tensors, opt_meta, where):
        """The optimizer state dict of a checkpoint, after the optimizer's own check_state_dict found
        that it fits this run's optimizer (nothing is loaded yet)."""
        if opt_meta["type"] != type(self.optimizer).__name__:
            raise fio.CheckpointError(f"{where} holds {opt_meta['type']} state, the run uses "
                                      f"{type(self.optimizer).__name__}")
        state = {}
        for k, v in tensors.items():
            if k.startswith("optimizer."):
                _, idx, name = k.split(".", 2)
                state.setdefault(int(idx), {})[name] = v
        for idx, st in opt_meta["scalars"].items():
            state.setdefault(int(idx), {}).update(st)
        sd = {"state": state, "param_groups": opt_meta["param_groups"]}
        try:
            self.optimizer.check_state_dict(sd)
        except ValueError as e:
            raise fio.CheckpointError(f"{where}: optimizer state does not fit: {e}") from None
        return sd

    def _remove_stale_temporaries(self):
        """A run killed outright (kill -9) mid-write leaves atomic_write's temporaries; this run owns the
        folder, so they go at its start."""
        fio.remove_stale_temporaries(self._path("checkpoints"), ["last.safetensors", "best.safetensors"])
        fio.remove_stale_temporaries(self.out_dir, ["metrics.csv", "metrics.json", "curves.png", "confusion.png"])


# ---- reading checkpoints: every metadata field is checked against a schema before it is used -------

CHECKPOINT_FIELDS = ("config", "progress", "rng", "optimizer", "scheduler")


_is_int, _short = fio._is_int, fio._short  # an int that is not a bool; a repr cut for messages


def _is_count(v):
    return _is_int(v) and v >= 0


def _is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _is_finite(v):
    return _is_number(v) and math.isfinite(v)


def _config_problem(cfg):
    """What is wrong with a checkpoint's config, or None."""
    from .models import NAMES
    if not isinstance(cfg, dict):
        return f"its config is a JSON {type(cfg).__name__}, not an object"
    schema = {
        "model": (lambda v: isinstance(v, str) and v in NAMES, f"one of {', '.join(NAMES)}"),
        "dataset": (lambda v: isinstance(v, str) and v != "", "a dataset name or path"),
        "epochs": (lambda v: _is_int(v) and v >= 1, "an integer >= 1"),
        "batch_size": (lambda v: _is_int(v) and v >= 1, "an integer >= 1"),
        "lr": (lambda v: _is_finite(v) and v > 0, "a positive number"),
        "optimizer": (lambda v: isinstance(v, str) and v in OPTIMIZERS, f"one of {', '.join(OPTIMIZERS)}"),
        "scheduler": (lambda v: isinstance(v, str) and v in SCHEDULERS, f"one of {', '.join(SCHEDULERS)}"),
        "augment": (lambda v: isinstance(v, bool), "true or false"),
        "seed": (_is_count, "an integer >= 0"),
        "checkpoint_every": (lambda v: v is None or _is_count(v), "an integer >= 0"),
    }
    unknown = sorted(set(cfg) - set(schema) - set(default_config()))  # keys a newer recipe adds pass as they are
    if unknown:
        return f"its config has unknown keys {unknown}"
    return _fields_problem("config", cfg, schema)


def _fields_problem(what, record, schema):
    """The first field of `record` that is missing or fails its check in schema {key: (check, expected)},
    as a message; None when all pass."""
    for key, (ok, expected) in schema.items():
        if key not in record:
            return f"its {what} lacks {key!r}"
        if not ok(record[key]):
            return f"its {what} has {key} = {_short(record[key])}" + (f", expected {expected}" if expected else "")
    return None


def _progress_problem(p):
    if not isinstance(p, dict):
        return f"its progress is a JSON {type(p).__name__}, not an object"
    checks = {"epoch": _is_count, "step_in_epoch": _is_count, "global_step": _is_count,
              "sums": lambda v: isinstance(v, list) and len(v) == 3 and all(_is_finite(x) for x in v),
              "epoch_time": lambda v: _is_finite(v) and v >= 0,
              "history": lambda v: isinstance(v, list) and all(
                  isinstance(r, dict) and all(_is_number(x) for x in r.values()) for r in v),
              "best_val_acc": _is_finite}
    return _fields_problem("progress", p, {k: (ok, None) for k, ok in checks.items()})


def _rng_problem(state):
    scratch = np.random.default_rng(0).bit_generator  # the global generator's kind, left untouched
    try:  # the generator's own setter is the schema
        scratch.state = state
    except (TypeError, ValueError, KeyError, OverflowError) as e:
        return f"its random generator state does not fit a {type(scratch).__name__} ({e})"
    return None


def _optimizer_problem(o, tensors):
    if not isinstance(o, dict):
        return f"its optimizer record is a JSON {type(o).__name__}, not an object"
    if not isinstance(o.get("type"), str):
        return "its optimizer record lacks a type"
    groups = o.get("param_groups")
    if not isinstance(groups, list) or not all(
            isinstance(g, dict) and isinstance(g.get("params"), list) and all(_is_count(i) for i in g["params"])
            for g in groups):
        return "its optimizer record's param_groups are not a list of groups with parameter indices"
    scalars = o.get("scalars")
    if not isinstance(scalars, dict) or not all(
            isinstance(k, str) and k.isdigit() and k.isascii() and isinstance(v, dict)
            and all(v2 is None or isinstance(v2, bool) or _is_finite(v2) for v2 in v.values())
            for k, v in scalars.items()):
        return "its optimizer record's scalars are not {parameter index: {name: number}}"
    for name in tensors:
        if name.startswith("model."):
            continue
        parts = name.split(".", 2)
        if (parts[0] != "optimizer" or len(parts) != 3 or not (parts[1].isdigit() and parts[1].isascii())
                or not parts[2]):
            return f"tensor {name!r} is neither model.NAME nor optimizer.INDEX.NAME"
    return None


def read_checkpoint_fields(path):
    """(tensors, metadata strings, {field: parsed JSON}) of a training checkpoint, every field of
    CHECKPOINT_FIELDS checked against its schema."""
    tensors, meta = fio.load_safetensors(path)
    where = f"checkpoint {os.fspath(path)!r}"
    if meta.get("kind") != CHECKPOINT_KIND:
        raise fio.CheckpointError(f"{where} is not a firstepoch training checkpoint "
                                  f"(its metadata has kind={meta.get('kind')!r}; firstepoch.save files hold "
                                  "weights only: load them with firstepoch.load)")
    parsed = {}
    for key in CHECKPOINT_FIELDS:
        if key not in meta:
            raise fio.CheckpointError(f"{where} is corrupted: its metadata lacks {key!r}")
        try:
            parsed[key] = fio.parse_json(meta[key], f"its metadata {key!r}")
        except ValueError as e:
            raise fio.CheckpointError(f"{where} is corrupted: {e}") from None
    problem = (_config_problem(parsed["config"]) or _progress_problem(parsed["progress"])
               or _rng_problem(parsed["rng"]) or _optimizer_problem(parsed["optimizer"], tensors))
    if problem is None and not (parsed["scheduler"] is None or _is_int(parsed["scheduler"])):
        problem = f"its scheduler position is {_short(parsed['scheduler'])}, not an integer"
    if problem is not None:
        raise fio.CheckpointError(f"{where} is corrupted: {problem}")
    return tensors, meta, parsed


def read_checkpoint(path):
    """(tensors, metadata) of a training checkpoint; CheckpointError when the file is not one or any of
    its metadata fields (config, progress, rng, optimizer, scheduler) is missing or malformed."""
    tensors, meta, _ = read_checkpoint_fields(path)
    return tensors, meta


def checkpoint_config(path):
    """The config of a training checkpoint, checked (CheckpointError when it is not a valid recipe)."""
    return read_checkpoint_fields(path)[2]["config"]


# ---- reports -----------------------------------------------------------------------------------------

def confusion_matrix(y_true, y_pred, num_classes=10):
    """(true, predicted) counts: row i, column j = digits of class i predicted as j."""
    m = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(m, (np.asarray(y_true), np.asarray(y_pred)), 1)
    return m


def _save_figure(fig, path):
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # no pyplot: no global backend state
    FigureCanvasAgg(fig)
    buf = _pyio.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    fio.atomic_write(path, [buf.getvalue()])


def write_curves(history, path):
    """Loss and accuracy per epoch, train against validation, in one PNG."""
    from matplotlib.figure import Figure
    fig = Figure(figsize=(10, 4), layout="tight")
    epochs = [r["epoch"] for r in history]
    ax1, ax2 = fig.subplots(1, 2)
    ax1.plot(epochs, [r["train_loss"] for r in history], "o-", label="train")
    ax1.plot(epochs, [r["val_loss"] for r in history], "s-", label="validation")
    ax1.set(xlabel="epoch", ylabel="cross-entropy loss", title="loss", yscale="log")
    ax2.plot(epochs, [100 * r["train_acc"] for r in history], "o-", label="train")
    ax2.plot(epochs, [100 * r["val_acc"] for r in history], "s-", label="validation")
    ax2.set(xlabel="epoch", ylabel="accuracy (%)", title="accuracy")
    for ax in (ax1, ax2):
        ax.grid(alpha=0.3)
        ax.legend()
    _save_figure(fig, path)


def write_confusion(matrix, path, accuracy=None):
    from matplotlib.figure import Figure
    fig = Figure(figsize=(6, 5.4), layout="tight")
    ax = fig.subplots()
    im = ax.imshow(matrix, cmap="Blues")
    n = matrix.shape[0]
    for i in range(n):
        for j in range(n):
            if matrix[i, j]:
                ax.text(j, i, str(matrix[i, j]), ha="center", va="center", fontsize=8,
                        color="white" if matrix[i, j] > matrix.max() / 2 else "black")
    ax.set(xticks=range(n), yticks=range(n), xlabel="predicted", ylabel="true",
           title="test confusion matrix" + (f" (accuracy {accuracy:.2%})" if accuracy is not None else ""))
    fig.colorbar(im, ax=ax, fraction=0.046)
    _save_figure(fig, path)
