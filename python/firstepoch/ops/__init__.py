"""The op layer: one file per op family, the only Python that calls `firstepoch._C` for its family.

Each ops/<family>.py holds, for its ops: the autograd Functions (`<Op>Fn`: forward and backward side
by side, on NumPy arrays, each with its gradcheck cases), the array-level helpers that call the
kernels, and the functional forms nn.functional exports. firstepoch.reference/<family>.py has the same
ops in plain NumPy, with the same names and argument order.

Read in this order: elementwise (NumPy, its activations in the C++ activation kernels), shape, reduce (pure
NumPy), then linalg (matmul, linear: the GEMM every layer builds on), conv, pad, pool, interp, norm, softmax, loss, rnn, dropout, embedding, optim.

| family     | Functions                                   | `_C` entries                                   |
| ---------- | ------------------------------------------- | ---------------------------------------------- |
| elementwise | AddFn, MulFn, ..., TanhFn (NumPy); ReLUFn, SigmoidFn (kernel for float32/float64), ELUFn, SiluFn, MishFn, GELUFn, PreluFn, ... (kernels) | activation_forward, _backward, prelu_forward, _backward |
| shape      | ReshapeFn, PermuteFn, IndexFn, ... (NumPy)   | (NumPy)                                        |
| reduce     | SumFn, MeanFn, MaxFn, ... (NumPy)            | (NumPy)                                        |
| linalg     | MatmulFn, LinearFn; matmul (arrays)          | gemm                                           |
| decompositions | SvdFn, SvdvalsFn, EighFn, EigvalshFn, CholeskyFn, QrFn; svd, svdvals, eigh, eigvalsh, cholesky, qr (Tensors) | (NumPy's LAPACK) |
| matrix     | InvFn, DetFn, LogAbsDetFn, SolveFn; LinAlgError | (NumPy's LAPACK)                       |
| conv       | Conv2dFn, ConvTranspose2dFn, ConvInputGradFn, ConvWeightGradFn | conv2d_forward, conv2d_backward, conv2d_backward_bias |
| pad        | PadFn, PadGradFn (NumPy)                    | (NumPy)                                        |
| interp     | Interpolate2dFn, Interpolate2dBackwardFn    | interpolate2d_forward, interpolate2d_backward  |
| pool       | MaxPool2dFn, MaxPool2dIndicesFn, AvgPool2dFn, AvgPool2dBackwardFn, MaxUnpool2dFn | max_pool2d_forward, _backward, avg_pool2d_forward, _backward |
| norm       | BatchNormFn, LayerNormFn, GroupNormFn       | batch_norm_forward, batch_norm_eval_forward, _backward; layer_norm_ and group_norm_forward, _backward |
| softmax    | SoftmaxFn (softmax, log_softmax)            | softmax_forward, softmax_backward              |
| loss       | CrossEntropyFn, NLLLossFn, MSELossFn, L1LossFn, BCEWithLogitsFn, BinaryCrossEntropyFn, SmoothL1LossFn, HuberLossFn, KLDivFn, OneHotFn | cross_entropy_forward, _backward, pointwise_loss_forward, _backward |
| rnn        | RNNFn (RNN tanh/ReLU, LSTM, GRU)            | rnn_forward, _backward, _workspace_size        |
| dropout    | DropoutFn, AlphaDropoutFn                   | (NumPy)                                        |
| embedding  | EmbeddingFn                                 | (NumPy)                                        |
| optim      | sgd_update, adam_update (no autograd)       | sgd_update, adam_update                        |
| attention  | ScaledDotProductAttentionFn (scaled_dot_product_attention) | attention_forward, _backward, _workspace_size |

`firstepoch.ops.matmul(a, b)` is NumPy's matmul on the GEMM kernel (ops.linalg.matmul).
"""
from . import attention  # noqa: F401  (each import registers the family's Functions)
from . import conv  # noqa: F401
from . import decompositions  # noqa: F401
from . import dropout  # noqa: F401
from . import elementwise  # noqa: F401
from . import embedding  # noqa: F401
from . import interp  # noqa: F401
from . import linalg  # noqa: F401
from . import matrix  # noqa: F401
from . import loss  # noqa: F401
from . import norm  # noqa: F401
from . import optim  # noqa: F401
from . import pad  # noqa: F401
from . import pool  # noqa: F401
from . import reduce  # noqa: F401
from . import rnn  # noqa: F401
from . import shape  # noqa: F401
from . import softmax  # noqa: F401
from .linalg import matmul

__all__ = ["matmul", "attention", "conv", "dropout", "elementwise", "embedding", "interp", "linalg", "loss", "norm", "optim", "pad",
           "pool", "reduce", "rnn", "shape", "softmax"]
