"""Functional forms (firstepoch.nn.functional, as torch.nn.functional): one import block per op family;
each name is the function its ops/ module defines (no second definition here), or, for the forms written
from other differentiable ops, the one nn/composite.py defines."""
from ..ops.attention import scaled_dot_product_attention  # noqa: F401
from ..ops.conv import conv1d, conv2d, conv3d, conv_transpose1d, conv_transpose2d, conv_transpose3d  # noqa: F401
from ..ops.dropout import alpha_dropout, dropout, dropout2d, dropout3d, feature_alpha_dropout  # noqa: F401
from ..ops.elementwise import (elu, hardsigmoid, hardswish, hardtanh, leaky_relu, mish, prelu, relu,  # noqa: F401
                               relu6, selu, silu, softplus, softsign)
from ..ops.embedding import embedding, embedding_bag  # noqa: F401
from ..ops.interp import grid_sample, interpolate  # noqa: F401
from ..ops.linalg import linear, linear_relu  # noqa: F401
from ..ops.loss import (binary_cross_entropy, binary_cross_entropy_with_logits, cosine_embedding_loss,  # noqa: F401
                        cosine_similarity, cross_entropy, ctc_loss, gaussian_nll_loss, hinge_embedding_loss,
                        huber_loss, kl_div, l1_loss, margin_ranking_loss, mse_loss, multi_margin_loss,
                        multilabel_margin_loss, multilabel_soft_margin_loss, nll_loss, one_hot, pairwise_distance,
                        poisson_nll_loss, smooth_l1_loss, soft_margin_loss, triplet_margin_loss,
                        triplet_margin_with_distance_loss)
from ..ops.norm import batch_norm, group_norm, layer_norm, normalize  # noqa: F401
from ..ops.pad import pad  # noqa: F401
from ..ops.pool import (adaptive_avg_pool2d, adaptive_avg_pool3d, adaptive_max_pool2d, adaptive_max_pool3d,  # noqa: F401
                        avg_pool1d, avg_pool2d, avg_pool3d, max_pool1d, max_pool2d, max_pool3d, max_unpool1d,
                        max_unpool2d, max_unpool3d)
from ..ops.softmax import log_softmax, softmax  # noqa: F401
from ..tensor import Tensor
from .composite import (adaptive_avg_pool1d, adaptive_max_pool1d, adaptive_max_pool1d_with_indices,  # noqa: F401
                        adaptive_max_pool2d_with_indices, adaptive_max_pool3d_with_indices, bilinear, celu, celu_,
                        channel_shuffle, dropout1d, fold,
                        glu, gumbel_softmax, hardshrink, instance_norm, local_response_norm, logsigmoid,
                        lp_pool1d, lp_pool2d, lp_pool3d, max_pool1d_with_indices, max_pool2d_with_indices,
                        max_pool3d_with_indices, pdist, pixel_shuffle, pixel_unshuffle,
                        rms_norm, rrelu, rrelu_, softmin, softshrink, tanhshrink, threshold, threshold_, unfold,
                        upsample, upsample_bilinear, upsample_nearest)
from .composite import affine_grid  # noqa: F401  (grid_sample's companion: the grid of an affine map)

# These are the Tensor methods (F.sigmoid(x) is x.sigmoid(), one definition, which applies the op's
# Function from ops/elementwise.py), under torch's argument name: F.sigmoid(input=x) works.
def sigmoid(input):
    return Tensor.sigmoid(input)


def tanh(input):
    return Tensor.tanh(input)


def gelu(input, approximate="none"):
    return Tensor.gelu(input, approximate)


# The in-place spellings torch has.
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
