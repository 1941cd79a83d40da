"""Functional forms (firstepoch.nn.functional, as torch.nn.functional)."""
from ..ops.conv import conv1d, conv2d  # noqa: F401
from ..ops.dropout import dropout  # noqa: F401
from ..ops.embedding import embedding  # noqa: F401
from ..ops.linalg import linear, linear_relu  # noqa: F401
from ..ops.loss import binary_cross_entropy_with_logits, cross_entropy, l1_loss, mse_loss, nll_loss  # noqa: F401
from ..ops.norm import batch_norm  # noqa: F401
from ..ops.pool import adaptive_avg_pool2d, avg_pool2d, max_pool2d  # noqa: F401
from ..ops.softmax import log_softmax, softmax  # noqa: F401
from ..ops.loss import (binary_cross_entropy, cosine_embedding_loss, cosine_similarity, huber_loss,  # noqa: F401
                        kl_div, margin_ranking_loss, one_hot, pairwise_distance, smooth_l1_loss,
                        triplet_margin_loss)
from ..ops.pool import adaptive_max_pool2d, avg_pool1d, max_pool1d, max_unpool2d  # noqa: F401
from ..tensor import Tensor
# convolution (issue 17): padding strings, F.pad, transposed convolutions
from ..ops.conv import conv_transpose1d, conv_transpose2d  # noqa: F401,E402
from ..ops.pad import pad  # noqa: F401,E402
from ..ops.norm import group_norm, layer_norm  # noqa: F401,E402


# The pointwise activations are the Tensor methods themselves (F.relu(x) is x.relu()): one definition,
# which applies the op's Function from ops/elementwise.py.
relu = Tensor.relu
leaky_relu = Tensor.leaky_relu
sigmoid = Tensor.sigmoid
tanh = Tensor.tanh
softplus = Tensor.softplus
gelu = Tensor.gelu

# Activations and dropout (issue 17): inplace= where PyTorch has it (relu, leaky_relu and softplus are
# rebound here to the forms that take inplace=, or beta and threshold, and refuse integer input as torch).
from ..ops.dropout import alpha_dropout, dropout2d, feature_alpha_dropout  # noqa: E402,F401
from ..ops.elementwise import elu, hardsigmoid, hardswish, hardtanh, mish, prelu, relu6, selu  # noqa: E402,F401
from ..ops.elementwise import silu, softsign  # noqa: E402,F401
from ..ops.elementwise import leaky_relu, relu, softplus  # noqa: E402,F401,F811


def relu_(input):
    return relu(input, inplace=True)


def leaky_relu_(input, negative_slope=0.01):
    return leaky_relu(input, negative_slope, inplace=True)


def elu_(input, alpha=1.0):
    return elu(input, alpha, inplace=True)


def selu_(input):
    return selu(input, inplace=True)


def hardtanh_(input, min_val=-1.0, max_val=1.0):
    return hardtanh(input, min_val, max_val, inplace=True)
