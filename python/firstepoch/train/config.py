"""The recipe: a training config's keys and defaults (default_config), and the optimizer and schedule it
names, built (build_optimizer, build_scheduler). The loop trains what these build; a checkpoint's config
is checked against the same names."""
from .. import optim
from ..optim import lr_scheduler

OPTIMIZERS = ("sgd", "adam", "adamw")
SCHEDULERS = ("onecycle", "cosine", "step", "none")
DEFAULT_LR = {"sgd": 0.05, "adam": 1e-3, "adamw": 1e-3}


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
    if name == "sgd":
        return optim.SGD(params, lr=lr, momentum=0.9, nesterov=True)
    if name == "adam":
        return optim.Adam(params, lr=lr)
    if name == "adamw":
        return optim.AdamW(params, lr=lr, weight_decay=1e-2)
    raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, got {name!r}")


def build_scheduler(name, optimizer, lr, epochs, steps_per_epoch):
    """Every schedule here steps once per batch."""
    total = epochs * steps_per_epoch
    if name == "onecycle":
        return lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=total)
    if name == "cosine":
        return lr_scheduler.CosineAnnealingLR(optimizer, T_max=total)
    if name == "step":  # x0.1 after each third of the run
        return lr_scheduler.StepLR(optimizer, step_size=max(1, total // 3), gamma=0.1)
    if name == "none":
        return None
    raise ValueError(f"scheduler must be one of {', '.join(SCHEDULERS)}, got {name!r}")
