"""NumPy implementations of every firstepoch op, written as a learner would write them.

They are the oracle for the tests and the baseline every benchmark reports against. NumPy only:
nothing here calls into ``firstepoch._C``. Each file mirrors firstepoch/ops/<family>.py, with the same
function names and argument order as the `_C` kernels (less their output buffers: a reference returns
what the kernel writes) and the ops:

| file          | functions                                                                      |
| ------------- | ------------------------------------------------------------------------------ |
| elementwise.py | <op>_forward, <op>_backward for add, mul, ..., relu, sigmoid, ...; activation_forward, activation_backward (by kind) |
| shape.py      | reshape_forward, permute_forward, ... and their _backward                      |
| reduce.py     | sum_forward, mean_forward, ... and their _backward                             |
| linalg.py     | gemm (_C.gemm), matmul (ops.linalg.matmul)                                     |
| conv.py       | conv2d_forward, conv2d_backward, conv2d_backward_bias, im2col, col2im, conv_transpose2d_forward / _backward |
| pad.py        | pad_forward, pad_backward (F.pad's constant, reflect, replicate, circular)     |
| interp.py     | interpolate2d_forward, interpolate2d_backward (nearest, nearest-exact, linear)  |
| pool.py       | max_pool2d_forward, max_pool2d_backward, avg_pool2d_forward, avg_pool2d_backward (ceil_mode, divisors: pool_out_size, avg_divisors) |
| norm.py       | batch_norm_forward, batch_norm_eval_forward, batch_norm_backward, layer_norm_forward / _backward, group_norm_forward / _backward |
| softmax.py    | softmax_forward, softmax_backward (log=True: log_softmax), log_softmax_forward / _backward |
| loss.py       | cross_entropy_forward, cross_entropy_backward, cross_entropy (reduced), nll_loss_forward, mse_loss_forward, l1_loss_forward, binary_cross_entropy_with_logits_forward, binary_cross_entropy_forward, smooth_l1_loss_forward, huber_loss_forward, kl_div_forward, pointwise_loss_forward, pointwise_loss_backward (by kind), cosine_similarity, triplet_margin_loss, cross_entropy_probabilities |
| rnn.py        | rnn_forward / rnn_backward, lstm_forward / lstm_backward, gru_forward / gru_backward |
| dropout.py    | dropout_forward, dropout_backward                                              |
| data.py       | take_rows (_C.take_rows: a DataLoader batch's rows of a dataset array)         |
| embedding.py  | embedding_forward, embedding_backward                                          |
| optim.py      | sgd_update, adam_update                                                        |
| attention.py  | attention_forward, attention_backward (the full score matrix; dropout_p, seed), dropout_keep (the kernel's hashed dropout mask), dropout_multipliers |

Whole models trained by hand, the baselines of bench/train.py: mlp.py (NumpyMLP), lenet.py (NumpyLeNet).
"""
from . import attention, conv, data, dropout, elementwise, embedding, interp, linalg, loss, norm, optim, pad, pool, reduce, rnn, shape, softmax
from .linalg import gemm, matmul
from .mlp import NumpyMLP

__all__ = ["attention", "conv", "dropout", "elementwise", "embedding", "interp", "linalg", "loss", "norm", "optim", "pad", "pool", "reduce",
           "rnn", "shape", "softmax", "gemm", "matmul", "NumpyMLP"]
