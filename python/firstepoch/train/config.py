"""The recipe: a training config's keys and defaults (default_config), and the model, optimizer and
schedule it names, built (build_model, build_optimizer, build_scheduler). The loop trains what these
build; a checkpoint's config is checked against the same names.

config["preprocess"] records what the data were turned into, so a checkpoint can be used on new images
(`firstepoch predict`): {"in_channels": 1 or 3, "image_size": [H, W], "mean": [...], "std": [...] (per
channel, on x / 255), "classes": [names]}. load_splits fills it in; None (and checkpoints from before it
existed) means MNIST's: 1 x 28 x 28 digits, mean 0.1307, std 0.3081, classes "0".."9".
"""
from .. import models, optim
from ..datasets.mnist import MEAN as MNIST_MEAN
from ..datasets.mnist import STD as MNIST_STD
from ..optim import lr_scheduler

OPTIMIZERS = ("sgd", "adam", "adamw")
SCHEDULERS = ("onecycle", "cosine", "step", "none")
DEFAULT_LR = {"sgd": 0.05, "adam": 1e-3, "adamw": 1e-3}


def with_overrides(name, cfg, overrides):
    """cfg updated by overrides, or ValueError naming any key cfg does not have (a recipe's typo)."""
    unknown = set(overrides) - set(cfg)
    if unknown:
        raise ValueError(f"{name}: unknown keys {sorted(unknown)}")
    cfg.update(overrides)
    return cfg


def default_config(**overrides):
    """The recipe `firstepoch train` runs with no options (LeNet-5 on the embedded digits, >= 98% test)."""
    cfg = with_overrides("default_config", {
        "model": "lenet", "dataset": "mnist-embedded", "epochs": 10, "batch_size": 64, "lr": None,
        "optimizer": "sgd", "scheduler": "onecycle", "augment": False, "seed": 0, "checkpoint_every": 50,
        "preprocess": None}, overrides)
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


MNIST_PREPROCESS = {"in_channels": 1, "image_size": [28, 28], "mean": [MNIST_MEAN], "std": [MNIST_STD],
                    "classes": [str(d) for d in range(10)]}


def preprocess_of(config):
    """The config's preprocessing record, MNIST's when it has none."""
    return (config or {}).get("preprocess") or MNIST_PREPROCESS


def build_model(config):
    """models.create(config['model']) sized for the data the config records: its classes, channels and
    image size (ValueError when the model cannot take them)."""
    pre = preprocess_of(config)
    return models.create(config["model"], num_classes=len(pre["classes"]), in_channels=pre["in_channels"],
                         image_size=tuple(pre["image_size"]))
