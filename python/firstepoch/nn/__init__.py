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
# upsampling (issue 17)
from .upsample import Upsample, UpsamplingBilinear2d, UpsamplingNearest2d

__all__ = ["Module", "Parameter", "Linear", "Sequential", "Identity", "ReLU", "LeakyReLU", "Sigmoid", "Tanh",
           "Softplus", "GELU", "Softmax", "LogSoftmax", "Dropout", "Embedding", "Flatten", "CrossEntropyLoss", "NLLLoss",
           "MSELoss", "L1Loss", "BCEWithLogitsLoss", "Conv1d", "Conv2d", "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d", "BatchNorm1d",
           "BatchNorm2d", "RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell", "functional", "init",
           "utils"]
# upsampling (issue 17)
__all__ += ["Upsample", "UpsamplingNearest2d", "UpsamplingBilinear2d"]
