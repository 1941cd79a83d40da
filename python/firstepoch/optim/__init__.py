"""Optimizers and learning-rate schedules (PyTorch's update rules)."""
from . import lr_scheduler
from .optimizer import (ASGD, LBFGS, SGD, Adadelta, Adafactor, Adagrad, Adam, AdamW, Adamax, NAdam, Optimizer, RAdam,
                        RMSprop, Rprop, SparseAdam)

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax", "NAdam", "RAdam",
           "Rprop", "LBFGS", "ASGD", "Adafactor", "SparseAdam", "lr_scheduler"]
