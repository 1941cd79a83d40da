"""firstepoch: deep learning from first principles that is also fast.

Readable NumPy references (``firstepoch.reference``) beside C++ SIMD/OpenMP kernels (``firstepoch._C``).

The package, in read order (each layer uses only those above it; csrc/README.md is the C++ side):
    reference/   every op in plain NumPy, one file per family: what each kernel computes
    _C           the C++ kernels (csrc/): <op>_forward / <op>_backward, output buffers overwritten
    autograd/    Function (an op's forward and backward side by side), grad modes, the engine,
                 gradcheck, anomaly detection
    ops/         one file per op family (linalg, conv, pool, norm, softmax, loss, rnn, dropout,
                 embedding, optim, elementwise, shape, reduce): its Functions (<Op>Fn), the only
                 Python that calls _C; reference/ has the same file names, functions and argument order
    tensor.py    Tensor: NumPy data, the tape, PyTorch's methods and type rules, calling ops/
    nn/          Modules (layers, losses, containers, init) and nn.functional, the functional surface
    optim/       optimizers (on ops.optim's fused updates) and learning-rate schedulers
    data/, datasets/   Dataset, DataLoader, samplers, transforms; MNIST (embedded test set, HF hub),
                       CIFAR-10, Fashion-MNIST (HF hub), ImageFolder
    io.py        safetensors checkpoints with per-tensor checksums
    train/       the training loop of `firstepoch train` (config, data, checkpoints, reports, loop)
    cli.py       the `firstepoch` command
    tools        lab/, inspect, interpret, viz, profiler, distributed (importable under these names)
"""
import os as _os
import signal as _signal
import sys as _sys

import numpy as _np

# The `firstepoch` command (the console script, or python -m firstepoch, whose argv[0] is "-m" while the
# package loads) imports this package before any of its own code runs, so it cannot catch what goes
# wrong here: for it alone, a bad FIRSTEPOCH_ISA or FIRSTEPOCH_MALLOC is a one-line usage error and Ctrl-C during the import
# a one-line "interrupted", never a traceback. A library import is left alone.
_argv0 = (getattr(_sys, "argv", None) or [""])[0]
_as_cli = _argv0 == "-m" or _os.path.basename(_argv0).split(".")[0] == "firstepoch"
_sigint = None
if _as_cli:
    def _interrupted_while_importing(signum, frame):
        print("interrupted", file=_sys.stderr)
        _os._exit(130)  # nothing to clean up yet
    try:
        _sigint = _signal.signal(_signal.SIGINT, _interrupted_while_importing)
    except ValueError:  # not the main thread
        pass

try:
    from . import _C
except ImportError as _e:
    if _as_cli and ("FIRSTEPOCH_ISA" in str(_e) or "FIRSTEPOCH_MALLOC" in str(_e)):
        print(f"firstepoch: error: {_e}", file=_sys.stderr)
        raise SystemExit(2) from None
    raise
from ._C import get_num_threads, set_num_threads
from . import autograd
from . import data, datasets, models, nn, optim
from .autograd import (enable_grad, inference_mode, is_grad_enabled, is_inference_mode_enabled, no_grad,
                       set_grad_enabled)
from .random import manual_seed
from . import amp, capture, distributed, distributions, io, viz
from .amp import autocast
from ._torch_switches import (are_deterministic_algorithms_enabled, compile, get_float32_matmul_precision,
                              is_deterministic_algorithms_warn_only_enabled, set_float32_matmul_precision,
                              use_deterministic_algorithms)
from .io import load, save
from .train import Trainer
from .profiler import profile
from .summary import summary
from . import inspect, interpret
from .tensor import (Tensor, arange, cat, from_numpy, full, matmul, ones, ones_like, rand, rand_like, randn,
                     randn_like, stack, tensor, where, zeros, zeros_like)

# ---- the module surface torch scripts import (issue 16) ------------------------------------------
from . import backends, cuda, func, utils
from ._device import device
from ._formats import (channels_last, channels_last_3d, contiguous_format, layout, memory_format,
                       preserve_format, strided)
from .random import Generator, default_generator, get_rng_state, initial_seed, seed, set_rng_state
from .tensor import (empty, empty_like, eye, full_like, get_default_dtype, linspace, multinomial, normal, randint,
                     randperm)
from .functions import (abs, allclose, argmax, argmin, bmm, clamp, clip, concat, concatenate, einsum, equal, exp,
                        flatten, is_tensor, isclose, log, log10, log2, log_softmax, max, maximum, mean, min, minimum,
                        mm, numel, permute, relu, reshape, sigmoid, softmax, sqrt, squeeze, std, sum, tanh, transpose,
                        unsqueeze, var)
from .functions import (all, any, argsort, bitwise_and, bitwise_not, bitwise_or, bitwise_xor, chunk, clone, cos,
                        cumsum, eq, expm1, flip, floor_divide, gather, ge, gt, index_select, le, log1p, logical_and,
                        logical_not, logical_or, logical_xor, logsumexp, lt, masked_fill, ne, norm, pow, prod,
                        remainder, roll, scatter, sin, sort, split, t, topk, unbind)
from .functions import bitwise_left_shift, bitwise_right_shift, broadcast_shapes, isin, scatter_reduce
from . import linalg
from .functions import cdist, det, dist, inverse, logdet, matrix_power, pinverse, slogdet, svd
from .functions import cholesky, cholesky_inverse, cholesky_solve, lu_unpack, matrix_exp, qr
from .functions import (add, amax, amin, argwhere, div, isfinite, isinf, isnan, mul, narrow, neg, nonzero, select,
                        square, sub, swapaxes, tril, triu, true_divide, unflatten, unique)

# pointwise math under torch's names
from .functions import (sign, sgn, floor, ceil, round, trunc, fix, frac, reciprocal, rsqrt, exp2, float_power, fmod,
                        atan2, arctan2, hypot, logaddexp, sinh, cosh, asin, acos, atan, arcsin, arccos, arctan, logit,
                        xlogy, copysign, heaviside, clamp_min, clamp_max, lerp, addcmul, addcdiv, nan_to_num,
                        positive, negative, floor_, ceil_, trunc_, fix_, frac_, round_, reciprocal_, rsqrt_,
                        clamp_min_, clamp_max_, nan_to_num_)

# linear algebra
from .functions import (dot, vdot, inner, mv, outer, ger, addmm, addmv, baddbmm, addbmm, kron, trace, diagonal, diag,
                        diag_embed, diagflat, movedim, moveaxis, cross, tensordot, tril_indices, triu_indices)

# cumulative ops, order statistics, counting
from .functions import (cumprod, cummax, cummin, logcumsumexp, diff, kthvalue, mode, quantile, nanquantile,
                        count_nonzero, nansum, nanmean, aminmax, msort, bincount, histc, unique_consecutive, median,
                        nanmedian, std_mean, var_mean, searchsorted, bucketize)

# shape and index ops
from .functions import (tile, ravel, broadcast_to, tensor_split, hsplit, vsplit, dsplit, rot90, fliplr, flipud, take,
                        take_along_dim, scatter_add, index_add, index_fill, index_copy, masked_select, masked_scatter,
                        repeat_interleave, broadcast_tensors, atleast_1d, atleast_2d, atleast_3d, hstack, vstack,
                        row_stack, dstack, column_stack, block_diag, meshgrid, cartesian_prod, combinations)

# dtype queries, more constructors, sampling, print options
from .tensor import (finfo, iinfo, result_type, promote_types, can_cast, is_nonzero, as_tensor, logspace,
                     randint_like, bernoulli, poisson, set_default_dtype)
from ._tensor_str import set_printoptions
from .functions import is_floating_point
from .functions import erf, erfc, erfinv, erf_, erfc_
from .functions import (cov, corrcoef, histogram, frexp, diagonal_scatter, select_scatter, slice_scatter, index_put,
                        index_put_, put, renorm, split_with_sizes, trapezoid, trapz, cumulative_trapezoid, vander,
                        unravel_index)
from .tensor import (hann_window, hamming_window, blackman_window, bartlett_window, kaiser_window, scalar_tensor,
                     asarray, empty_strided)
from .functions import (tan, asinh, acosh, atanh, arcsinh, arccosh, arctanh, deg2rad, rad2deg, sinc, lgamma, digamma,
                        polygamma, fmax, fmin, logaddexp2, ldexp, signbit, isposinf, isneginf, gcd, lcm, nextafter,
                        tan_, asinh_, acosh_, atanh_, arcsinh_, arccosh_, arctanh_, deg2rad_, rad2deg_, sinc_, ldexp_,
                        gcd_, lcm_, subtract, multiply, divide, greater, greater_equal, less, less_equal, not_equal,
                        absolute, swapdims, rsub, is_signed, is_same_size)

# torch's top-level forms of nn.functional ops, and small top-level queries
from .functions import (conv1d, conv2d, conv3d, conv_transpose1d, conv_transpose2d, conv_transpose3d, max_pool1d,
                        max_pool2d, max_pool3d, max_pool1d_with_indices, avg_pool1d, adaptive_avg_pool1d,
                        adaptive_max_pool1d, dropout, alpha_dropout, feature_alpha_dropout, feature_dropout, embedding,
                        layer_norm, group_norm, batch_norm, instance_norm, rms_norm, prelu, selu, celu, rrelu,
                        threshold, hardshrink, pixel_shuffle, pixel_unshuffle, channel_shuffle, cosine_similarity,
                        pairwise_distance, pdist, bilinear, kl_div, margin_ranking_loss, cosine_embedding_loss,
                        hinge_embedding_loss, poisson_nll_loss, triplet_margin_loss, binary_cross_entropy_with_logits,
                        ctc_loss, chain_matmul, detach, fill, is_complex, is_inference, is_neg, is_conj, conj,
                        resolve_conj, resolve_neg, real, imag, angle, isreal, get_default_device, set_default_device)

# dtypes under torch's names: NumPy dtype objects, so x.dtype == firstepoch.float32 and dtype=firstepoch.long
# work everywhere a dtype is taken (these names shadow Python's float, int and bool inside this module only)
float32 = float = _np.dtype("float32")
float64 = double = _np.dtype("float64")
int64 = long = _np.dtype("int64")
int32 = int = _np.dtype("int32")
int16 = short = _np.dtype("int16")
int8 = _np.dtype("int8")
uint8 = _np.dtype("uint8")
bool = _np.dtype("bool")


def cpu_info():
    """The ISA in use, the ISAs this CPU and build support, the thread count, the kernel names, the
    malloc policy ("malloc": "keep" or "system", see release_free_memory) and the alignment of NumPy's
    array data ("numpy_alignment": 64 with the keep policy, as PyTorch's allocator; None with system)."""
    return _C.cpu_info()


def release_free_memory():
    """Returns to the OS the freed memory this process's malloc keeps for reuse; True if any was returned.

    At import firstepoch sets glibc's malloc to keep freed buffers (up to 32 MiB each, and up to 1 GiB of
    free heap) for the next allocation instead of handing them back to the OS at once: a training step
    frees its activations after the backward pass and allocates them again in the next step, and each
    buffer returned to the OS is page-faulted and zero-filled again (a GPT step of bench/gpt.py: about
    15,000 faults, 152 ms a step instead of 125). The process's resident memory then stays at its peak,
    as PyTorch's caching allocator keeps freed GPU memory; call this after training to shrink it.
    FIRSTEPOCH_MALLOC=system in the environment before the import leaves malloc as it was (as does any
    malloc other than glibc's); cpu_info()["malloc"] says which policy is in force. The keep policy also
    makes NumPy's arrays (those made after the import, in the importing thread's context) start on a
    64-byte boundary, so no vector load of them spans two cache lines; system leaves NumPy's allocator
    alone too."""
    return _C.release_free_memory()


__version__ = getattr(_C, "__version__", "0.0.0")

if _sigint is not None:  # the import is done: Ctrl-C is KeyboardInterrupt again, for cli.main to report
    _signal.signal(_signal.SIGINT, _sigint)

__all__ = ["cpu_info", "release_free_memory", "get_num_threads", "set_num_threads", "__version__", "Tensor", "tensor", "from_numpy",
           "zeros", "ones", "full", "rand", "randn", "arange", "zeros_like", "ones_like", "rand_like",
           "randn_like", "cat", "stack", "where", "matmul", "manual_seed", "no_grad", "enable_grad",
           "inference_mode", "is_inference_mode_enabled",
           "set_grad_enabled", "is_grad_enabled", "autograd", "nn", "optim", "data", "datasets", "models", "float32",
           "float64", "int64", "io", "viz", "distributed", "distributions", "amp", "autocast", "compile",
           "set_float32_matmul_precision", "get_float32_matmul_precision", "use_deterministic_algorithms",
           "are_deterministic_algorithms_enabled", "is_deterministic_algorithms_warn_only_enabled", "save", "load",
           "Trainer", "profile", "summary", "inspect", "interpret",
           # the torch module surface
           "backends", "cuda", "func", "utils", "device", "Generator", "default_generator", "get_rng_state", "initial_seed",
           "seed", "set_rng_state", "linalg", "cdist", "det", "dist", "inverse", "logdet", "matrix_power",
           "pinverse", "slogdet", "svd", "matrix_exp", "qr", "cholesky", "cholesky_solve", "cholesky_inverse", "lu_unpack",
           "empty", "empty_like", "eye", "full_like",
           "get_default_dtype", "linspace", "multinomial", "normal", "randint", "randperm", "abs", "allclose",
           "argmax", "argmin", "bmm", "clamp", "clip", "concat", "concatenate", "einsum", "equal", "exp", "flatten",
           "is_tensor", "isclose", "log", "log10", "log2", "log_softmax", "max", "maximum", "mean", "min", "minimum",
           "mm", "numel", "permute", "relu", "reshape", "sigmoid", "softmax", "sqrt", "squeeze", "std", "sum", "tanh",
           "transpose", "unsqueeze", "var", "float", "double", "long", "int32", "int", "int16", "short", "int8",
           "uint8", "bool", "add", "sub", "mul", "div", "true_divide", "neg", "square", "isnan", "isinf",
           "isfinite", "amax", "amin", "swapaxes", "nonzero", "argwhere", "narrow", "select", "unflatten", "tril",
           "triu", "unique",
           # pointwise math
           "sign", "sgn", "floor", "ceil", "round", "trunc", "fix", "frac", "reciprocal", "rsqrt", "exp2",
           "float_power", "fmod", "atan2", "arctan2", "hypot", "logaddexp", "sinh", "cosh", "asin", "acos", "atan",
           "arcsin", "arccos", "arctan", "logit", "xlogy", "copysign", "heaviside", "clamp_min", "clamp_max", "lerp",
           "addcmul", "addcdiv", "nan_to_num", "positive", "negative", "floor_", "ceil_", "trunc_", "fix_", "frac_",
           "round_", "reciprocal_", "rsqrt_", "clamp_min_", "clamp_max_", "nan_to_num_",
           # linear algebra
           "dot", "vdot", "inner", "mv", "outer", "ger", "addmm", "addmv", "baddbmm", "addbmm", "kron", "trace",
           "diagonal", "diag", "diag_embed", "diagflat", "movedim", "moveaxis", "cross", "tensordot", "tril_indices",
           "triu_indices",
           # cumulative ops, order statistics, counting
           "cumprod", "cummax", "cummin", "logcumsumexp", "diff", "kthvalue", "mode", "quantile", "nanquantile",
           "count_nonzero", "nansum", "nanmean", "aminmax", "msort", "bincount", "histc", "unique_consecutive",
           "median", "nanmedian", "std_mean", "var_mean", "searchsorted", "bucketize",
           # shape and index ops
           "tile", "ravel", "broadcast_to", "tensor_split", "hsplit", "vsplit", "dsplit", "rot90", "fliplr", "flipud",
           "take", "take_along_dim", "scatter_add", "index_add", "index_fill", "index_copy", "masked_select",
           "masked_scatter", "repeat_interleave", "broadcast_tensors", "atleast_1d", "atleast_2d", "atleast_3d",
           "hstack", "vstack", "row_stack", "dstack", "column_stack", "block_diag", "meshgrid", "cartesian_prod",
           "combinations",
           # dtype queries, constructors, sampling, print options
           "finfo", "iinfo", "result_type", "promote_types", "can_cast", "is_nonzero", "as_tensor", "logspace",
           "randint_like", "bernoulli", "poisson", "set_default_dtype", "set_printoptions", "is_floating_point",
           "erf", "erfc", "erfinv", "erf_", "erfc_",
           # more pointwise math, comparisons and aliases
           "tan", "asinh", "acosh", "atanh", "arcsinh", "arccosh", "arctanh", "deg2rad", "rad2deg", "sinc", "lgamma",
           "digamma", "polygamma", "fmax", "fmin", "logaddexp2", "ldexp", "signbit", "isposinf", "isneginf", "gcd",
           "lcm", "nextafter", "tan_", "asinh_", "acosh_", "atanh_", "arcsinh_", "arccosh_", "arctanh_", "deg2rad_",
           "rad2deg_", "sinc_", "ldexp_", "gcd_", "lcm_", "subtract", "multiply", "divide", "greater",
           "greater_equal", "less", "less_equal", "not_equal", "absolute", "swapdims", "rsub", "is_signed",
           "is_same_size",
           # statistics, scatters, windows and constructors
           "cov", "corrcoef", "histogram", "frexp", "diagonal_scatter", "select_scatter", "slice_scatter",
           "index_put", "index_put_", "put", "renorm", "split_with_sizes", "trapezoid", "trapz",
           "cumulative_trapezoid", "vander", "unravel_index", "hann_window", "hamming_window", "blackman_window",
           "bartlett_window", "kaiser_window", "scalar_tensor", "asarray", "empty_strided",
           # torch's top-level forms of nn.functional ops, small queries
           "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
           "max_pool1d", "max_pool2d", "max_pool3d", "max_pool1d_with_indices", "avg_pool1d",
           "adaptive_avg_pool1d", "adaptive_max_pool1d", "dropout", "alpha_dropout",
           "feature_alpha_dropout", "feature_dropout", "embedding", "layer_norm", "group_norm",
           "batch_norm", "instance_norm", "rms_norm", "prelu", "selu", "celu", "rrelu", "threshold",
           "hardshrink", "pixel_shuffle", "pixel_unshuffle", "channel_shuffle", "cosine_similarity",
           "pairwise_distance", "pdist", "bilinear", "kl_div", "margin_ranking_loss",
           "cosine_embedding_loss", "hinge_embedding_loss", "poisson_nll_loss", "triplet_margin_loss",
           "binary_cross_entropy_with_logits", "ctc_loss", "chain_matmul", "detach", "fill", "is_complex",
           "is_inference", "is_neg", "is_conj", "conj", "resolve_conj", "resolve_neg", "real", "imag",
           "angle", "isreal", "get_default_device", "set_default_device"]
