"""Interpolation (torch.nn.functional.interpolate) on the C++ interpolation kernels: modes 'nearest',
'nearest-exact', 'linear' (3-D input) and 'bilinear' (4-D input), forward and backward.

Every output reads at most two inputs per axis with fixed weights, so the backward is linear in the
gradient: its own Function (Interpolate2dBackwardFn) whose backward is the forward again, which gives
both backward_graph's (create_graph) without a recorded scatter.

`_C` entries and their NumPy twins in `firstepoch.reference.interp`, the same names and argument order:
`interpolate2d_forward`, `interpolate2d_backward` (planes of (N, C, H, W); 1-D input runs as H = 1).
"""
import math
import numbers

import numpy as np

from .. import _C
from ..autograd.function import Function

_MODES = ("nearest", "linear", "bilinear", "bicubic", "trilinear", "lanczos", "area", "nearest-exact")


class Interpolate2dFn(Function):
    """x (N, C, H, W) -> (N, C, OH, OW). mode: 'nearest', 'nearest-exact', 'nearest-1d' (PyTorch's
    1-D nearest, without the out == in, 2 * in shortcuts) or 'linear' (separable bilinear);
    scale_h, scale_w: the scale_factor given to interpolate (PyTorch's coordinates use
    1 / scale_factor then), or 0."""
    kernel = "interp"

    @staticmethod
    def forward(ctx, x, output_size, mode, align_corners, scale_h, scale_w):
        y = np.empty(x.shape[:2] + tuple(output_size), dtype=x.dtype)  # the kernel overwrites every element
        _C.interpolate2d_forward(np.ascontiguousarray(x), y, mode, align_corners, scale_h, scale_w)
        ctx.args = (x.shape[2:], tuple(output_size), mode, align_corners, scale_h, scale_w)
        return y

    @staticmethod
    def backward(ctx, grad):
        in_size, _, mode, ac, sh, sw = ctx.args
        return _interp_backward(grad, in_size, mode, ac, sh, sw), None, None, None, None, None

    @staticmethod
    def backward_graph(ctx, grad):
        in_size, _, mode, ac, sh, sw = ctx.args
        return Interpolate2dBackwardFn.apply(grad, in_size, mode, ac, sh, sw), None, None, None, None, None

    @staticmethod
    def gradcheck_cases(rng):
        x = rng.standard_normal((2, 3, 5, 4))
        return [((x, (7, 9), "nearest", False, 0.0, 0.0), {}), ((x, (3, 2), "nearest-exact", False, 0.0, 0.0), {}),
                ((x, (8, 6), "linear", False, 1.7, 1.5), {}), ((x, (3, 7), "linear", True, 0.0, 0.0), {}),
                ((x, (1, 1), "linear", True, 0.0, 0.0), {})]


class Interpolate2dBackwardFn(Function):
    """The gradient of Interpolate2dFn as an op of its own (dy -> dx, input size (H, W)): linear in dy,
    its backward is Interpolate2dFn's forward (for second derivatives)."""
    kernel = "interp"

    @staticmethod
    def forward(ctx, dy, input_size, mode, align_corners, scale_h, scale_w):
        ctx.args = (dy.shape[2:], mode, align_corners, scale_h, scale_w)
        return _interp_backward(dy, input_size, mode, align_corners, scale_h, scale_w)

    @staticmethod
    def backward(ctx, grad):
        out_size, mode, ac, sh, sw = ctx.args
        y = np.empty(grad.shape[:2] + tuple(out_size), dtype=grad.dtype)
        _C.interpolate2d_forward(np.ascontiguousarray(grad), y, mode, ac, sh, sw)
        return y, None, None, None, None, None

    @staticmethod
    def backward_graph(ctx, grad):
        out_size, mode, ac, sh, sw = ctx.args
        return Interpolate2dFn.apply(grad, out_size, mode, ac, sh, sw), None, None, None, None, None

    @staticmethod
    def gradcheck_cases(rng):
        dy = rng.standard_normal((2, 3, 7, 6))
        return [((dy, (4, 3), "nearest", False, 0.0, 0.0), {}), ((dy, (5, 4), "linear", False, 0.0, 0.0), {}),
                ((dy, (3, 8), "linear", True, 0.0, 0.0), {})]


def _interp_backward(dy, input_size, mode, align_corners, scale_h, scale_w):
    dx = np.empty(dy.shape[:2] + tuple(input_size), dtype=dy.dtype)  # the kernel overwrites every element
    _C.interpolate2d_backward(np.ascontiguousarray(dy), dx, mode, align_corners, scale_h, scale_w)
    return dx


def _is_integer(v):
    return isinstance(v, (numbers.Integral, np.integer))


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    """As torch.nn.functional.interpolate for 3-D (N, C, L) input with modes 'nearest', 'nearest-exact'
    and 'linear', and 4-D (N, C, H, W) input with 'nearest', 'nearest-exact' and 'bilinear': the same
    output size, the same inputs read by each output and the same weights (PyTorch's float32
    coordinates for nearest, 1 / scale_factor when scale_factor is given and recompute_scale_factor is
    not True), the same argument errors. float32 and float64 only.

    Deliberate difference: the gradient is always the exact adjoint of the forward. PyTorch's 1-D
    'nearest' backward takes index o for out == in and o // 2 for out == 2 * in while its forward
    reads floor(o / scale_factor) (they differ for a scale_factor such as 1.1 or 2.1 on a short input);
    here both read floor(o / scale_factor), as PyTorch's forward. Not supported (NotImplementedError):
    5-D input, modes 'bicubic', 'trilinear', 'area', 'lanczos', and antialias=True."""
    if mode in ("nearest", "area", "nearest-exact"):
        if align_corners is not None:
            raise ValueError("align_corners option can only be set with the interpolating modes: "
                             "linear | bilinear | bicubic | trilinear")
    elif align_corners is None:
        align_corners = False
    dim = input.ndim - 2
    if size is not None and scale_factor is not None:
        raise ValueError("only one of size or scale_factor should be defined")
    if size is not None:
        if isinstance(size, (list, tuple)):
            if len(size) != dim:
                raise ValueError("Input and output must have the same number of spatial dimensions, but got "
                                 f"input with spatial dimensions of {list(input.shape[2:])} and output size of {size}. "
                                 "Please provide input tensor in (N, C, d1, d2, ...,dK) format and output size in "
                                 "(o1, o2, ...,oK) format.")
            if not all(_is_integer(v) for v in size):
                raise TypeError("expected size to be one of int or Tuple[int] or Tuple[int, int] or Tuple[int, int, "
                                f"int], but got size with types {[type(v) for v in size]}")
            output_size = [int(v) for v in size]
        else:
            output_size = [size] * dim
        scale_factors = None
    elif scale_factor is not None:
        if isinstance(scale_factor, (list, tuple)):
            if len(scale_factor) != dim:
                raise ValueError("Input and scale_factor must have the same number of spatial dimensions, but got "
                                 f"input with spatial dimensions of {list(input.shape[2:])} and scale_factor of shape "
                                 f"{scale_factor}. Please provide input tensor in (N, C, d1, d2, ...,dK) format and "
                                 "scale_factor in (s1, s2, ...,sK) format.")
            scale_factors = [float(s) for s in scale_factor]
        else:
            scale_factors = [float(scale_factor)] * dim
        output_size = None
    else:
        raise ValueError("either size or scale_factor should be defined")
    if recompute_scale_factor and size is not None:
        raise ValueError("recompute_scale_factor is not meaningful with an explicit size.")
    if recompute_scale_factor:
        output_size = [int(input.shape[i + 2] * scale_factors[i]) for i in range(dim)]
        scale_factors = None
    if antialias:
        if not (mode in ("bilinear", "bicubic", "lanczos") and input.ndim == 4):
            raise ValueError("Anti-alias option is restricted to bilinear, bicubic, and lanczos modes and requires a "
                             "4-D tensor as input")
        raise NotImplementedError("interpolate: antialias=True is not supported by firstepoch")
    kind = {(3, "nearest"), (3, "nearest-exact"), (3, "linear"), (4, "nearest"), (4, "nearest-exact"),
            (4, "bilinear")}
    if (input.ndim, mode) not in kind:
        if mode in _MODES and input.ndim in (3, 4, 5):
            need = {"linear": 3, "bilinear": 4, "trilinear": 5}.get(mode)
            if need is not None and need != input.ndim:
                raise NotImplementedError(f"Got {input.ndim}D input, but {mode} mode needs {need}D input")
            raise NotImplementedError(f"interpolate: mode '{mode}' with {input.ndim}-D input is not supported by "
                                      "firstepoch (only nearest, nearest-exact, linear (3-D), bilinear (4-D))")
        raise NotImplementedError(f"Input Error: Only 3D, 4D and 5D input Tensors supported (got {input.ndim}D) for "
                                  "the modes: nearest | linear | bilinear | bicubic | trilinear | lanczos | area | "
                                  f"nearest-exact (got {mode})")
    if output_size is None:  # PyTorch's compute_output_size: floor(in * scale), an int64
        sizes = [input.shape[i + 2] * scale_factors[i] for i in range(dim)]
        if not all(math.isfinite(v) and abs(v) < 2.0 ** 63 for v in sizes):
            raise RuntimeError(f"value cannot be converted to type int64_t without overflow (interpolate: input of "
                               f"shape {list(input.shape)} with scale_factor={scale_factor})")
        output_size = [math.floor(v) for v in sizes]
    in_size = list(input.shape[2:])
    if min(in_size) <= 0 or min(output_size) <= 0:
        names = ("H", "W")[-dim:]
        got_in = ", ".join(f"{n}: {v}" for n, v in zip(names, in_size))
        got_out = ", ".join(f"{n}: {v}" for n, v in zip(names, output_size))
        raise RuntimeError(f"Input and output sizes should be greater than 0, but got input ({got_in}) "
                           f"output ({got_out})")
    if input.shape[0] != 0 and math.prod(input.shape[1:]) == 0:
        raise RuntimeError(f"Non-empty {input.ndim}D data tensor expected but got a tensor with sizes "
                           f"{list(input.shape)}")
    kernel_mode = "linear" if mode in ("linear", "bilinear") else mode
    if dim == 1 and mode == "nearest":
        kernel_mode = "nearest-1d"  # PyTorch's 1-D forward skips the out == in, 2 * in shortcuts
    ac = bool(align_corners) if kernel_mode == "linear" else False
    scales = [0.0] * dim if scale_factors is None else [s if s > 0 else 0.0 for s in scale_factors]
    if dim == 1:
        N, C, L = input.shape
        y = Interpolate2dFn.apply(input.reshape(N, C, 1, L), (1, output_size[0]), kernel_mode, ac, 0.0, scales[0])
        return y.reshape(N, C, output_size[0])
    return Interpolate2dFn.apply(input, tuple(output_size), kernel_mode, ac, scales[0], scales[1])
