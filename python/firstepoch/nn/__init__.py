"""Neural-network building blocks: Module, layers, losses, init, functional."""
from . import functional, init, utils
from .module import Module, Parameter
from .container import ModuleDict, ModuleList, ParameterDict, ParameterList, Sequential
from .linear import Identity, Linear
from .activation import (ELU, GELU, Hardsigmoid, Hardswish, Hardtanh, LeakyReLU, LogSoftmax, Mish, PReLU, ReLU,
                         ReLU6, SELU, Sigmoid, SiLU, Softmax, Softplus, Softsign, Tanh)
from .dropout import AlphaDropout, Dropout, Dropout2d
from .conv import Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d
from .pooling import AdaptiveAvgPool2d, AdaptiveMaxPool2d, AvgPool1d, AvgPool2d, MaxPool1d, MaxPool2d, MaxUnpool2d
from .norm import BatchNorm1d, BatchNorm2d, GroupNorm, LayerNorm
from .embedding import Embedding
from .flatten import Flatten, Unflatten
from .rnn import GRU, GRUCell, LSTM, LSTMCell, RNN, RNNCell
from .loss import (BCELoss, BCEWithLogitsLoss, CosineEmbeddingLoss, CosineSimilarity, CrossEntropyLoss,
                   GaussianNLLLoss, HingeEmbeddingLoss, HuberLoss, KLDivLoss, L1Loss, MarginRankingLoss, MSELoss,
                   MultiLabelSoftMarginLoss, MultiMarginLoss, NLLLoss, PairwiseDistance, PoissonNLLLoss, SmoothL1Loss,
                   SoftMarginLoss, TripletMarginLoss)
from .upsample import Upsample, UpsamplingBilinear2d, UpsamplingNearest2d
from .transformer import (MultiheadAttention, Transformer, TransformerDecoder, TransformerDecoderLayer,
                          TransformerEncoder, TransformerEncoderLayer)

__all__ = ["Module", "Parameter", "Linear", "Sequential", "Identity", "ReLU", "LeakyReLU", "Sigmoid", "Tanh",
           "Softplus", "GELU", "Softmax", "LogSoftmax", "Dropout", "Embedding", "Flatten", "Unflatten",
           "CrossEntropyLoss",
           "NLLLoss", "MSELoss", "L1Loss", "BCEWithLogitsLoss", "Conv1d", "Conv2d", "MaxPool2d", "AvgPool2d",
           "AdaptiveAvgPool2d", "BatchNorm1d", "BatchNorm2d", "RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell",
           "functional", "init", "utils", "ModuleList", "ModuleDict", "ParameterList", "ParameterDict",
           "ConvTranspose1d", "ConvTranspose2d", "BCELoss", "SmoothL1Loss", "HuberLoss", "KLDivLoss",
           "CosineSimilarity", "PairwiseDistance", "CosineEmbeddingLoss", "MarginRankingLoss", "TripletMarginLoss",
           "LayerNorm", "GroupNorm", "ELU", "SELU", "SiLU", "Mish", "Hardtanh", "ReLU6", "Softsign", "PReLU",
           "Hardsigmoid", "Hardswish", "Dropout2d", "AlphaDropout", "MaxPool1d", "AvgPool1d", "MaxUnpool2d",
           "AdaptiveMaxPool2d",
           "Upsample", "UpsamplingNearest2d", "UpsamplingBilinear2d",
           "MultiheadAttention", "TransformerEncoderLayer", "TransformerDecoderLayer", "TransformerEncoder",
           "TransformerDecoder", "Transformer",
           "PoissonNLLLoss", "GaussianNLLLoss", "HingeEmbeddingLoss", "SoftMarginLoss", "MultiLabelSoftMarginLoss",
           "MultiMarginLoss"]
