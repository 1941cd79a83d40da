"""Optimizers and learning-rate schedules (PyTorch's update rules)."""
from . import lr_scheduler
from .optimizer import LBFGS, SGD, Adadelta, Adagrad, Adam, AdamW, Adamax, NAdam, Optimizer, RAdam, RMSprop, Rprop

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax", "NAdam", "RAdam",
           "Rprop", "LBFGS", "lr_scheduler"]
