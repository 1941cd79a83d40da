"""Neural-network building blocks: Module, layers, losses, init, functional."""
from . import functional, init, utils
from .conv import Conv1d, Conv2d
from .pooling import AdaptiveAvgPool2d, AvgPool2d, MaxPool2d
from .norm import BatchNorm1d, BatchNorm2d
from .activation import GELU, LeakyReLU, LogSoftmax, ReLU, Sigmoid, Softmax, Softplus, Tanh
from .container import Sequential
from .dropout import Dropout
from .embedding import Embedding
from .flatten import Flatten
from .linear import Identity, Linear
from .loss import BCEWithLogitsLoss, CrossEntropyLoss, L1Loss, MSELoss, NLLLoss
from .module import Module, Parameter
from .rnn import GRU, GRUCell, LSTM, LSTMCell, RNN, RNNCell
from .container import ModuleDict, ModuleList, ParameterDict, ParameterList
from .conv import ConvTranspose1d, ConvTranspose2d
from .loss import (BCELoss, CosineEmbeddingLoss, CosineSimilarity, HuberLoss, KLDivLoss, MarginRankingLoss,
                   PairwiseDistance, SmoothL1Loss, TripletMarginLoss)
from .norm import GroupNorm, LayerNorm
from .activation import ELU, SELU, SiLU, Mish, Hardtanh, ReLU6, Softsign, PReLU, Hardsigmoid, Hardswish
from .dropout import Dropout2d, AlphaDropout
from .pooling import AdaptiveMaxPool2d, AvgPool1d, MaxPool1d, MaxUnpool2d

__all__ = ["Module", "Parameter", "Linear", "Sequential", "Identity", "ReLU", "LeakyReLU", "Sigmoid", "Tanh",
           "Softplus", "GELU", "Softmax", "LogSoftmax", "Dropout", "Embedding", "Flatten", "CrossEntropyLoss", "NLLLoss",
           "MSELoss", "L1Loss", "BCEWithLogitsLoss", "Conv1d", "Conv2d", "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d", "BatchNorm1d",
           "BatchNorm2d", "RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell", "functional", "init",
           "utils", "ModuleList", "ModuleDict", "ParameterList", "ParameterDict", "ConvTranspose1d",
           "ConvTranspose2d", "BCELoss", "SmoothL1Loss", "HuberLoss", "KLDivLoss", "CosineSimilarity",
           "PairwiseDistance", "CosineEmbeddingLoss", "MarginRankingLoss", "TripletMarginLoss", "LayerNorm",
           "GroupNorm", "ELU", "SELU", "SiLU", "Mish", "Hardtanh", "ReLU6", "Softsign", "PReLU", "Hardsigmoid",
           "Hardswish", "Dropout2d", "AlphaDropout", "MaxPool1d", "AvgPool1d", "MaxUnpool2d", "AdaptiveMaxPool2d"]
