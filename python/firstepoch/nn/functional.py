"""Functional forms (firstepoch.nn.functional, as torch.nn.functional)."""
from ..autograd import activation as _act
from ..ops.conv import conv1d, conv2d  # noqa: F401
from ..ops.dropout import dropout  # noqa: F401
from ..ops.embedding import embedding  # noqa: F401
from ..ops.linalg import linear, linear_relu  # noqa: F401
from ..ops.loss import binary_cross_entropy_with_logits, cross_entropy, l1_loss, mse_loss, nll_loss  # noqa: F401
from ..ops.norm import batch_norm  # noqa: F401
from ..ops.pool import adaptive_avg_pool2d, avg_pool2d, max_pool2d  # noqa: F401
from ..ops.softmax import log_softmax, softmax  # noqa: F401


def relu(x):
    return _act.ReLU.apply(x)


def leaky_relu(x, negative_slope=0.01):
    return _act.LeakyReLU.apply(x, negative_slope)


def sigmoid(x):
    return _act.Sigmoid.apply(x)


def tanh(x):
    return _act.Tanh.apply(x)


def softplus(x):
    return _act.Softplus.apply(x)


def gelu(x, approximate="none"):
    return _act.GELU.apply(x, approximate=approximate)
