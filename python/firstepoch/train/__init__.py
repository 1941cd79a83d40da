"""firstepoch.train: the training loop behind `firstepoch train`, reusable from any front end.

    from firstepoch.train import Trainer          # README's name: firstepoch.trainer, the same objects
    trainer = Trainer.from_config({"model": "lenet", "epochs": 10}, out_dir="runs/lenet")
    trainer.fit()

The tree, in read order (each file depends only on those above it):
    config.py       the recipe: default_config, OPTIMIZERS, SCHEDULERS, build_optimizer, build_scheduler
    data.py         load_splits (the dataset's train/val/test arrays); each epoch's data.DataLoader, in the
                    sampler's order (data.SeededShuffle by default), started at the batch a resumed run
                    stopped before, with --augment's shifts seeded per batch
    checkpoints.py  write_checkpoint / restore_checkpoint / read_checkpoint_fields: one safetensors file
                    with model, optimizer, schedule, progress, RNG and config, every field schema-checked
    reports.py      progress bar, epoch and test lines, metrics.csv/json, curves.png, confusion.png
    lr_find.py      fast.ai's learning-rate finder: lr_find(model, optimizer, batches), plot_lr_find
    loop.py         evaluate(model, x, y); Trainer: fit (the epochs), finish (the test), lr_find,
                    save/load_checkpoint, and the data-parallel hooks (sampler, after_backward,
                    reduce_metrics, is_main)
"""
from .checkpoints import CHECKPOINT_KIND, checkpoint_config, read_checkpoint, read_checkpoint_fields
from .config import DEFAULT_LR, OPTIMIZERS, SCHEDULERS, build_optimizer, build_scheduler, default_config
from .data import load_splits
from .loop import Trainer, evaluate
from .lr_find import LRFindResult, lr_find, plot_lr_find
from .reports import write_confusion, write_curves

__all__ = ["Trainer", "evaluate", "default_config", "build_optimizer", "build_scheduler", "OPTIMIZERS", "SCHEDULERS",
           "DEFAULT_LR", "load_splits", "read_checkpoint", "read_checkpoint_fields", "checkpoint_config",
           "CHECKPOINT_KIND", "write_curves", "write_confusion", "lr_find", "plot_lr_find", "LRFindResult"]
