"""Functional forms (firstepoch.nn.functional, as torch.nn.functional)."""
from ..ops.conv import conv1d, conv2d  # noqa: F401
from ..ops.dropout import dropout  # noqa: F401
from ..ops.embedding import embedding  # noqa: F401
from ..ops.linalg import linear, linear_relu  # noqa: F401
from ..ops.loss import binary_cross_entropy_with_logits, cross_entropy, l1_loss, mse_loss, nll_loss  # noqa: F401
from ..ops.norm import batch_norm  # noqa: F401
from ..ops.pool import adaptive_avg_pool2d, avg_pool2d, max_pool2d  # noqa: F401
from ..ops.softmax import log_softmax, softmax  # noqa: F401
from ..tensor import Tensor
# interpolation (issue 17)
from ..ops.interp import interpolate  # noqa: F401,E402


# The pointwise activations are the Tensor methods themselves (F.relu(x) is x.relu()): one definition,
# which applies the op's Function from ops/elementwise.py.
relu = Tensor.relu
leaky_relu = Tensor.leaky_relu
sigmoid = Tensor.sigmoid
tanh = Tensor.tanh
softplus = Tensor.softplus
gelu = Tensor.gelu
