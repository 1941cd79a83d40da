"""The loop: Trainer.fit() runs the epochs over a data.DataLoader per epoch, one optimizer step per
batch, with a tqdm bar, a summary line per epoch, checkpoints (resumable mid-epoch, bitwise equal to an
uninterrupted run) and reports. evaluate(model, x, y) gives a classifier's loss, accuracy and predictions.

Hooks for data-parallel training: `sampler(epoch) -> int64 indices` picks this process's training
samples; `after_backward(trainer)` runs between backward and optimizer.step (gradient all-reduce);
`reduce_metrics(array) -> array` combines [loss_sum, correct, count] over processes before they are
reported; `is_main` gates the bar, printing and every file written.
"""
import math
import os
import sys
import time

import numpy as np

from .. import io as fio
from .. import random as _random
from ..autograd import no_grad
from ..capture import CapturedStep
from ..nn import Module
from ..optim import Optimizer
from ..data import SeededShuffle, TensorDataset
from ..nn import functional as F
from . import reports
from .checkpoints import CHECKPOINT_FILES, restore_checkpoint, write_checkpoint
from .config import build_model, build_optimizer, build_scheduler, default_config, preprocess_of
from .data import SeededShifts, check_finite, epoch_loader, eval_loader, load_splits


def _identity(x):
    return x


def evaluate(model, x, y, batch=500):
    """(mean cross-entropy loss, accuracy, predicted labels) of a classifier on arrays x, y, in batches,
    in evaluation mode and without gradients; the model's train/eval mode is restored afterwards."""
    was_training = model.training
    model.eval()
    loss_sum, preds = 0.0, []
    with no_grad():
        for xb, yb in eval_loader(x, y, batch):
            logits = model(xb)
            loss_sum += float(F.cross_entropy(logits, yb).item()) * len(logits._data)
            preds.append(logits._data.argmax(axis=1))
    model.train(was_training)
    preds = np.concatenate(preds) if preds else np.zeros(0, np.int64)
    return loss_sum / max(len(y), 1), float((preds == y).mean()) if len(y) else 0.0, preds


class Trainer:
    """Trains `model` on `data` ({'train', 'val', 'test'} -> (x, y) arrays) as `config` says (see
    default_config). Use Trainer.from_config(config) to build the model, optimizer and scheduler.

    out_dir: where checkpoints/last.safetensors, checkpoints/best.safetensors and the reports go (None:
    nothing is written). quiet: no progress bar (also off when stderr is not a terminal).
    log: a function taking one line (default print to stdout).
    capture: each step's forward and backward run through firstepoch.capture.CapturedStep (replayed
    kernel calls once captured, bitwise the same results; a model it cannot capture runs eagerly);
    False: always eagerly. The optimizer's update, after the loss is checked, is never captured. Once
    steps replay, a parameter's .grad that after_backward sees is the same Tensor every step, overwritten
    in place (copy it to keep one).
    """

    def __init__(self, model, optimizer, scheduler, data, config, out_dir=None, quiet=False, log=None,
                 sampler=None, after_backward=None, reduce_metrics=None, is_main=True, capture=True):
        self.model, self.optimizer, self.scheduler = model, optimizer, scheduler
        self.config = dict(config)
        self.train_x, self.train_y = data["train"]
        self.val_x, self.val_y = data["val"]
        self.test_x, self.test_y = data.get("test", (None, None))
        for what, x in (("training", self.train_x), ("validation", self.val_x), ("test", self.test_x)):
            check_finite(what, x)
        self.train_set = TensorDataset(self.train_x, self.train_y)
        self.out_dir = out_dir
        self.quiet = quiet
        self.is_main = bool(is_main)
        self._log = log or (lambda line: print(line, flush=True))
        self.sampler = sampler if sampler is not None else SeededShuffle(len(self.train_y), self.config["seed"])
        self.after_backward = after_backward
        self.reduce_metrics = reduce_metrics or _identity
        self.batch_size = int(self.config["batch_size"])
        self.epochs = int(self.config["epochs"])
        self.checkpoint_every = int(self.config.get("checkpoint_every") or 0)
        self.augment = bool(self.config.get("augment"))
        # progress: epochs completed, batches done in the current epoch, and the epoch's running sums
        self.epoch = 0
        self.step_in_epoch = 0
        self.global_step = 0
        self._sums = [0.0, 0, 0]  # loss * n, correct, n
        self._epoch_time = 0.0
        self.history = []
        self.best_val_acc = -1.0
        self.test_result = None
        # forward and backward replayed from a capture (see firstepoch.capture; a model with an op that
        # cannot be captured runs eagerly), the update eager: the loss is checked before it
        capturable = isinstance(model, Module) and isinstance(optimizer, Optimizer)  # (else duck-typed: eager)
        self._step = (CapturedStep(self._forward_backward, model=model, optimizer=optimizer)
                      if capture and capturable else self._forward_backward)
        if self.out_dir is not None and self.is_main:
            self._remove_stale_temporaries()

    @classmethod
    def from_config(cls, config, data=None, **kwargs):
        """Seeds the global generator with config['seed'], builds the model, optimizer and scheduler."""
        config = default_config(**config)
        if data is None:
            data = load_splits(config["dataset"])
        if getattr(data, "preprocess", None) is not None:
            config["preprocess"] = data.preprocess  # the checkpoint records how the images were made
        _random.manual_seed(config["seed"])
        model = build_model(config)
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
    def _epoch_loader(self, epoch):
        """This epoch's DataLoader, from the batch the run stands at (0, or where a checkpoint stopped)."""
        shifts = (SeededShifts(self.config["seed"], epoch, self.step_in_epoch, self.train_x.shape[-2:])
                  if self.augment else None)
        return epoch_loader(self.train_set, self.sampler(epoch), self.batch_size, self.step_in_epoch, shifts)

    def _forward_backward(self, x, y):
        """The step up to the gradients: what self._step captures and replays (firstepoch.capture)."""
        logits = self.model(x)
        loss = F.cross_entropy(logits, y)
        self.optimizer.zero_grad()
        loss.backward()
        return loss, logits

    def _train_step(self, epoch, b, batch):
        x, y = batch
        loss, logits = self._step(x, y)
        value = float(loss.item())
        if not math.isfinite(value):  # stop before the update: the weights (and `last`) stay finite
            raise FloatingPointError(f"the loss diverged (became inf/nan) at epoch {epoch + 1} step {b + 1}; "
                                     f"lower --lr (now {self.config['lr']:g})")
        if self.after_backward is not None:
            self.after_backward(self)
        self.optimizer.step()
        if self.scheduler is not None:
            self.scheduler.step()
        self._sums[0] += value * len(y)
        self._sums[1] += int((logits._data.argmax(axis=1) == y._data).sum())
        self._sums[2] += len(y)
        return value

    def fit(self, max_steps=None):
        """Trains to config['epochs'] from wherever the trainer stands (0, or a resumed checkpoint).
        max_steps: stop (after saving `last`) once this many batches have run in total, as a kill would.
        Returns the history (one dict per epoch), with the test result in self.test_result."""
        model = self.model
        while self.epoch < self.epochs:
            epoch = self.epoch
            loader = self._epoch_loader(epoch)
            n_batches = self.step_in_epoch + len(loader)
            model.train()
            t0 = time.perf_counter() - self._epoch_time
            bar = reports.progress_bar(n_batches, self.step_in_epoch, epoch, self.epochs) if self._show_bar() else None
            try:
                for b, batch in enumerate(loader, start=self.step_in_epoch):
                    self._train_step(epoch, b, batch)
                    self.step_in_epoch = b + 1
                    self.global_step += 1
                    self._epoch_time = time.perf_counter() - t0
                    if bar is not None:
                        bar.update(1)
                        bar.set_postfix(loss=f"{self._sums[0] / self._sums[2]:.4f}", refresh=False)
                    stop = max_steps is not None and self.global_step >= max_steps
                    if stop or (self.checkpoint_every and self.global_step % self.checkpoint_every == 0):
                        if self.step_in_epoch < n_batches:
                            self.save_checkpoint()
                    if stop and self.step_in_epoch < n_batches:
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
        self.log(reports.epoch_line(row, self.epochs, seconds))
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
        return evaluate(self.model, x, y, batch)

    def finish(self):
        """Test loss and accuracy, printed, and the final reports written."""
        if self.test_y is None:
            return None
        loss, acc, preds = self.evaluate(self.test_x, self.test_y)
        num_classes = len(preprocess_of(self.config)["classes"])
        result, confusion, line = reports.test_summary(self.test_y, preds, loss, acc, num_classes)
        self.log(line)
        if self.out_dir is not None and self.is_main:
            self.test_result = result
            self.write_metrics()
            reports.write_curves(self.history, self._path("curves.png"))
            reports.write_confusion(confusion, self._path("confusion.png"), acc)
            self.log(f"reports in {self.out_dir}: {' '.join(reports.REPORT_FILES)} "
                     + " ".join(f"checkpoints/{name}" for name in CHECKPOINT_FILES))
        return result

    def write_metrics(self):
        reports.write_metrics(self.out_dir, self.config, self.history, self.test_result)

    # ---- the learning-rate finder ----------------------------------------------------------------
    def lr_find(self, start_lr=1e-7, end_lr=10, num_it=100, stop_div=True, suggest="valley", path=None):
        """fast.ai's learning-rate finder on this run's training batches (train.lr_find: exponential
        sweep, smoothed loss, stop on divergence, 'valley' suggestion); the model, optimizer, scheduler
        position and random generator are left as they were, so fit() afterwards runs as without it.
        path: also write the curve there as a PNG. Returns an LRFindResult (.suggestion)."""
        from .lr_find import lr_find, plot_lr_find
        batches = lambda k: epoch_loader(self.train_set, self.sampler(k), self.batch_size)  # noqa: E731
        sched = None if self.scheduler is None else self.scheduler.last_epoch
        try:
            result = lr_find(self.model, self.optimizer, batches, F.cross_entropy, start_lr, end_lr, num_it,
                             stop_div, suggest)
        finally:
            if sched is not None:
                self.scheduler.last_epoch = sched
        if path is not None:
            plot_lr_find(result, path)
        return result

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
        progress = {"epoch": self.epoch, "step_in_epoch": self.step_in_epoch, "global_step": self.global_step,
                    "sums": self._sums, "epoch_time": self._epoch_time, "history": self.history,
                    "best_val_acc": self.best_val_acc}
        write_checkpoint(path, self.model, self.optimizer, self.scheduler, self.config, progress)

    def load_checkpoint(self, path):
        """Restores everything save_checkpoint wrote; the file must come from the same model and
        optimizer (CheckpointError names what differs). Everything is checked before anything is
        restored: a refused checkpoint leaves the trainer as it was."""
        p = restore_checkpoint(path, self.model, self.optimizer, self.scheduler)
        self.epoch, self.step_in_epoch, self.global_step = p["epoch"], p["step_in_epoch"], p["global_step"]
        self._sums, self._epoch_time = list(p["sums"]), float(p["epoch_time"])
        self.history, self.best_val_acc = p["history"], float(p["best_val_acc"])
        return self

    def _remove_stale_temporaries(self):
        """A run killed outright (kill -9) mid-write leaves atomic_write's temporaries; this run owns the
        folder, so they go at its start."""
        fio.remove_stale_temporaries(self._path("checkpoints"), list(CHECKPOINT_FILES))
        fio.remove_stale_temporaries(self.out_dir, list(reports.REPORT_FILES))
