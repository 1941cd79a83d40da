"""Neural-network building blocks: Module, layers, losses, init, functional."""
from . import functional, init, utils
from .module import Module, Parameter
from .container import ModuleDict, ModuleList, ParameterDict, ParameterList, Sequential
from .linear import Bilinear, Identity, LazyLinear, Linear
from .adaptive import AdaptiveLogSoftmaxWithLoss
from .activation import (CELU, ELU, GELU, GLU, Hardshrink, Hardsigmoid, Hardswish, Hardtanh, LeakyReLU, LogSigmoid,
                         LogSoftmax, Mish, PReLU, ReLU, ReLU6, RReLU, SELU, Sigmoid, SiLU, Softmax, Softmax2d, Softmin,
                         Softplus, Softshrink, Softsign, Tanh, Tanhshrink, Threshold)
from .dropout import AlphaDropout, Dropout, Dropout1d, Dropout2d, Dropout3d, FeatureAlphaDropout
from .conv import (Conv1d, Conv2d, Conv3d, ConvTranspose1d, ConvTranspose2d, ConvTranspose3d, LazyConv1d, LazyConv2d,
                   LazyConv3d, LazyConvTranspose1d, LazyConvTranspose2d, LazyConvTranspose3d)
from .pooling import (AdaptiveAvgPool1d, AdaptiveAvgPool2d, AdaptiveAvgPool3d, AdaptiveMaxPool1d, AdaptiveMaxPool2d,
                      AdaptiveMaxPool3d, AvgPool1d, AvgPool2d, AvgPool3d, LPPool1d, LPPool2d, LPPool3d, MaxPool1d,
                      MaxPool2d, MaxPool3d, MaxUnpool1d, MaxUnpool2d, MaxUnpool3d)
from .norm import (BatchNorm1d, BatchNorm2d, BatchNorm3d, GroupNorm, InstanceNorm1d, InstanceNorm2d, InstanceNorm3d,
                   LayerNorm, LazyBatchNorm1d, LazyBatchNorm2d, LazyBatchNorm3d, LazyInstanceNorm1d, LazyInstanceNorm2d,
                   LazyInstanceNorm3d, LocalResponseNorm, RMSNorm)
from .padding import (CircularPad1d, CircularPad2d, CircularPad3d, ConstantPad1d, ConstantPad2d, ConstantPad3d,
                      ReflectionPad1d, ReflectionPad2d, ReflectionPad3d, ReplicationPad1d, ReplicationPad2d,
                      ReplicationPad3d, ZeroPad1d, ZeroPad2d, ZeroPad3d)
from .pixelshuffle import ChannelShuffle, PixelShuffle, PixelUnshuffle
from .fold import Fold, Unfold
from .embedding import Embedding, EmbeddingBag
from .flatten import Flatten, Unflatten
from .rnn import GRU, GRUCell, LSTM, LSTMCell, RNN, RNNBase, RNNCell, RNNCellBase
from .loss import (BCELoss, BCEWithLogitsLoss, CosineEmbeddingLoss, CosineSimilarity, CrossEntropyLoss, CTCLoss,
                   GaussianNLLLoss, HingeEmbeddingLoss, HuberLoss, KLDivLoss, L1Loss, MarginRankingLoss, MSELoss,
                   MultiLabelMarginLoss, MultiLabelSoftMarginLoss, MultiMarginLoss, NLLLoss, PairwiseDistance,
                   PoissonNLLLoss, SmoothL1Loss, SoftMarginLoss, TripletMarginLoss, TripletMarginWithDistanceLoss)
from .upsample import Upsample, UpsamplingBilinear2d, UpsamplingNearest2d
from .transformer import (MultiheadAttention, Transformer, TransformerDecoder, TransformerDecoderLayer,
                          TransformerEncoder, TransformerEncoderLayer)

__all__ = ["Module", "Parameter", "Linear", "Sequential", "Identity", "ReLU", "LeakyReLU", "Sigmoid", "Tanh",
           "Softplus", "GELU", "Softmax", "LogSoftmax", "Dropout", "Embedding", "EmbeddingBag", "Flatten", "Unflatten",
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
           "MultiMarginLoss", "CTCLoss", "MultiLabelMarginLoss", "TripletMarginWithDistanceLoss",
           "LogSigmoid", "Softmin", "Softmax2d", "Hardshrink", "Softshrink", "Tanhshrink", "Threshold", "CELU", "GLU",
           "RReLU", "RMSNorm", "InstanceNorm1d", "InstanceNorm2d", "LocalResponseNorm", "ZeroPad1d", "ZeroPad2d",
           "ConstantPad1d", "ConstantPad2d", "ReflectionPad1d", "ReflectionPad2d", "ReplicationPad1d",
           "ReplicationPad2d", "CircularPad1d", "CircularPad2d", "PixelShuffle", "PixelUnshuffle", "ChannelShuffle",
           "Fold", "Unfold", "Bilinear", "AdaptiveAvgPool1d", "AdaptiveMaxPool1d", "Dropout1d", "FeatureAlphaDropout",
           "LazyLinear", "LPPool1d", "LPPool2d", "MaxUnpool1d",
           "BatchNorm3d", "InstanceNorm3d", "Dropout3d", "ZeroPad3d", "ConstantPad3d", "ReflectionPad3d",
           "ReplicationPad3d", "CircularPad3d", "LazyBatchNorm1d", "LazyBatchNorm2d", "LazyBatchNorm3d",
           "LazyInstanceNorm1d", "LazyInstanceNorm2d", "LazyInstanceNorm3d", "MaxPool3d", "AvgPool3d",
           "AdaptiveAvgPool3d", "AdaptiveMaxPool3d", "Conv3d", "ConvTranspose3d",
           "AdaptiveLogSoftmaxWithLoss", "LazyConv1d", "LazyConv2d", "LazyConv3d", "LazyConvTranspose1d",
           "LazyConvTranspose2d", "LazyConvTranspose3d", "MaxUnpool3d", "LPPool3d", "RNNBase",
           "RNNCellBase"]
