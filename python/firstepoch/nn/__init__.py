"""Neural-network building blocks: Module, layers, losses, init, functional."""
from . import functional, init, utils
from .conv import AdaptiveAvgPool2d, AvgPool2d, Conv1d, Conv2d, MaxPool2d
from .norm import BatchNorm1d, BatchNorm2d
from .layers import (GELU, Dropout, Flatten, Identity, LeakyReLU, LogSoftmax, ReLU, Sequential, Sigmoid, Softmax,
                     Softplus, Tanh)
from .linear import Linear
from .loss import BCEWithLogitsLoss, CrossEntropyLoss, L1Loss, MSELoss, NLLLoss
from .module import Module, Parameter

__all__ = ["Module", "Parameter", "Linear", "Sequential", "Identity", "ReLU", "LeakyReLU", "Sigmoid", "Tanh",
           "Softplus", "GELU", "Softmax", "LogSoftmax", "Dropout", "Flatten", "CrossEntropyLoss", "NLLLoss",
           "MSELoss", "L1Loss", "BCEWithLogitsLoss", "Conv1d", "Conv2d", "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d", "BatchNorm1d",
           "BatchNorm2d", "functional", "init",
           "utils"]
