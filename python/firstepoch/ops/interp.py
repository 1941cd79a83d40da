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
import warnings

import numpy as np

from .. import _C
from ..autograd.function import Function
from .linalg import _torch_name

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


# ---- grid_sample: sampling at given points (spatial transformers) ------------------------------------------
# No C++ kernel: vectorised NumPy over every output point at once (a gather per corner, np.add.at for the
# input gradient). reference/interp.py has the per-point twin (grid_sample2d_forward / _backward).

_GRID_MODES = ("bilinear", "nearest", "bicubic")
_GRID_PADDINGS = ("zeros", "border", "reflection")


def _clip_with_grad(src, size):
    """src clamped to [0, size - 1] (NaN to 0, as torch's CPU kernel) and d(clamped)/d(src): 0 on and
    beyond the borders (torch counts the borders as out of bounds for the gradient), and for NaN."""
    t = src.dtype.type
    inside = (src > 0) & (src < t(size - 1))
    return np.minimum(np.where(src > 0, src, t(0)), t(size - 1)), inside.astype(src.dtype)


def _reflect_with_grad(src, size, align_corners):
    """src reflected into [low, low + span] (torch's reflect_coordinates_get_grad: mirror at -0.5 and
    size - 0.5, or at 0 and size - 1 with align_corners) and the gradient's sign (+-1)."""
    t = src.dtype.type
    if align_corners:
        if size <= 1:  # an empty span: every point reads pixel 0, with no gradient
            return np.zeros_like(src), np.zeros_like(src)
        low, twice_span = t(0), t(2 * (size - 1))
    else:
        low, twice_span = t(-0.5), t(2 * size)
    shifted = src - low
    distance = np.abs(shifted)
    extra = distance - np.trunc(distance / twice_span) * twice_span
    reflected = twice_span - extra
    flip = extra > reflected
    sign = np.where(flip ^ (shifted < 0), t(-1), t(1))
    return np.where(flip, reflected, extra) + low, sign


def grid_source(coord, size, padding_mode, align_corners):
    """Normalized grid values (-1 and 1: the outer pixels' edges, or with align_corners their centres)
    along an axis of `size` pixels -> source pixel coordinates and d(source)/d(coord), in the grid's
    dtype with torch's CPU arithmetic (GridSamplerKernel.cpp, ComputeLocation)."""
    t = coord.dtype.type
    if align_corners:
        scale = t(size - 1) / t(2)
        src = (coord + t(1)) * scale
    else:
        scale = t(size) / t(2)
        src = (coord + t(1)) * scale - t(0.5)
    mult = np.full(coord.shape, scale, coord.dtype)
    if padding_mode == "border":
        src, inside = _clip_with_grad(src, size)
        mult = mult * inside
    elif padding_mode == "reflection":
        src, sign = _reflect_with_grad(src, size, align_corners)
        src, inside = _clip_with_grad(src, size)
        mult = mult * sign * inside
    return src, mult


def _corners(x_shape, grid, mode, padding_mode, align_corners):
    """The pixels each output point reads: a list of (rows, cols, valid, weight) over the output points
    (N, OH, OW), plus what the grid gradient needs (the source coordinates' fractions and d/dgrid)."""
    H, W = x_shape[2:]
    with np.errstate(invalid="ignore"):  # inf - inf for infinite grid points: NaN, as torch's kernel
        return _corners_of(H, W, grid, mode, padding_mode, align_corners)


def _corners_of(H, W, grid, mode, padding_mode, align_corners):
    ix, mult_x = grid_source(grid[..., 0], W, padding_mode, align_corners)
    iy, mult_y = grid_source(grid[..., 1], H, padding_mode, align_corners)
    if mode == "nearest":
        cols, rows = np.rint(ix), np.rint(iy)  # round half to even, as torch's nearbyint
        one = np.ones_like(ix)
        return [(rows, cols, one)], None
    x0, y0 = np.floor(ix), np.floor(iy)
    w, n = ix - x0, iy - y0                # distances to the west and north pixels
    e, s = 1 - w, 1 - n
    corners = [(y0, x0, s * e), (y0, x0 + 1, s * w), (y0 + 1, x0, n * e), (y0 + 1, x0 + 1, n * w)]
    return corners, (w, e, n, s, mult_x, mult_y)


def _gather(xt, rows, cols):
    """xt (N, H, W, C) read at (rows, cols) (N, OH, OW) -> (N, OH, OW, C), 0 outside the input (NaN
    coordinates included), and the valid mask with its integer indices."""
    N, H, W = xt.shape[:3]
    valid = (rows >= 0) & (rows <= H - 1) & (cols >= 0) & (cols <= W - 1)
    r = np.where(valid, rows, 0).astype(np.intp)
    c = np.where(valid, cols, 0).astype(np.intp)
    b = np.arange(N).reshape(N, 1, 1)
    values = np.where(valid[..., None], xt[b, r, c], xt.dtype.type(0))
    return values, valid, (np.broadcast_to(b, r.shape), r, c)


class GridSample2dFn(Function):
    """x (N, C, H, W) sampled at grid (N, OH, OW, 2) (x, y in [-1, 1]) -> (N, C, OH, OW).
    mode: 'bilinear' or 'nearest'; padding_mode: 'zeros', 'border' or 'reflection'. Backward: the
    input gradient scattered with the weights each point read, the grid gradient from the bilinear
    weights' slopes (zero for 'nearest', as torch)."""

    @staticmethod
    def forward(ctx, x, grid, mode, padding_mode, align_corners):
        ctx.save_for_backward(x, grid)
        ctx.args = (mode, padding_mode, align_corners)
        xt = x.transpose(0, 2, 3, 1)  # (N, H, W, C): one gather reads every channel
        corners, _ = _corners(x.shape, grid, mode, padding_mode, align_corners)
        out = None
        for rows, cols, weight in corners:  # torch's order: nw, ne, sw, se
            values, _, _ = _gather(xt, rows, cols)
            term = values * weight[..., None]
            out = term if out is None else out + term
        return np.ascontiguousarray(out.transpose(0, 3, 1, 2))

    @staticmethod
    def backward(ctx, grad):
        x, grid = ctx.saved_tensors
        mode, padding_mode, align_corners = ctx.args
        N, C, H, W = x.shape
        xt = x.transpose(0, 2, 3, 1)
        gout = grad.transpose(0, 2, 3, 1)  # (N, OH, OW, C)
        corners, slopes = _corners(x.shape, grid, mode, padding_mode, align_corners)
        dxt = np.zeros((N, H, W, C), x.dtype) if ctx.needs_input_grad[0] else None
        values = []
        for rows, cols, weight in corners:
            v, valid, index = _gather(xt, rows, cols)
            values.append(v)
            if dxt is not None:
                np.add.at(dxt, tuple(i[valid] for i in index), (gout * weight[..., None])[valid])
        dx = None if dxt is None else np.ascontiguousarray(dxt.transpose(0, 3, 1, 2))
        if not ctx.needs_input_grad[1]:
            return dx, None, None, None, None
        dgrid = np.zeros_like(grid)
        if slopes is not None:  # bilinear; nearest's output is piecewise constant in the grid
            w, e, n, s, mult_x, mult_y = slopes
            nw, ne, sw, se = values
            dgrid[..., 0] = np.sum(gout * ((ne - nw) * s[..., None] + (se - sw) * n[..., None]), -1) * mult_x
            dgrid[..., 1] = np.sum(gout * ((sw - nw) * e[..., None] + (se - ne) * w[..., None]), -1) * mult_y
        return dx, dgrid, None, None, None

    @staticmethod
    def gradcheck_cases(rng):
        # grid points kept away from pixel boundaries (and from the borders where clipping starts), so
        # central differences see a smooth function: cell centres shifted by 0.3 of a pixel
        def grid(n, oh, ow, H, W, spread, align_corners):
            fx = rng.integers(-spread, W + spread, (n, oh, ow)) + rng.uniform(0.2, 0.4, (n, oh, ow))
            fy = rng.integers(-spread, H + spread, (n, oh, ow)) + rng.uniform(0.2, 0.4, (n, oh, ow))
            if align_corners:
                return np.stack([2 * fx / (W - 1) - 1, 2 * fy / (H - 1) - 1], -1)
            return np.stack([(2 * fx + 1) / W - 1, (2 * fy + 1) / H - 1], -1)
        x = rng.standard_normal((2, 3, 4, 5))
        cases = []
        for padding in _GRID_PADDINGS:
            for ac in (False, True):
                cases.append(((x, grid(2, 3, 2, 4, 5, 2, ac), "bilinear", padding, ac), {}))
        cases.append(((x, grid(2, 2, 3, 4, 5, 1, False), "nearest", "zeros", False), {}))
        cases.append(((x, grid(2, 2, 3, 4, 5, 1, True), "nearest", "reflection", True), {}))
        return cases


def grid_sample(input, grid, mode="bilinear", padding_mode="zeros", align_corners=None):
    """As torch.nn.functional.grid_sample for 4-D input (N, C, H, W) and grid (N, OH, OW, 2): modes
    'bilinear' and 'nearest', padding modes 'zeros', 'border', 'reflection', the same values (torch's
    CPU arithmetic: NaN grid points read pixel 0 under border/reflection padding and give 0 (nearest)
    or NaN (bilinear) under zeros padding), gradients for input and grid (zero for the grid under
    'nearest'), argument errors and the UserWarning for align_corners=None (then False).
    Not supported (NotImplementedError): mode='bicubic' and 5-D (volumetric) input. No double
    backward (torch has none either)."""
    if mode not in _GRID_MODES:
        raise ValueError(f"nn.functional.grid_sample(): expected mode to be 'bilinear', 'nearest' or 'bicubic', "
                         f"but got: '{mode}'")
    if padding_mode not in _GRID_PADDINGS:
        raise ValueError("nn.functional.grid_sample(): expected padding_mode to be 'zeros', 'border', or "
                         f"'reflection', but got: '{padding_mode}'")
    if align_corners is None:
        warnings.warn("Default grid_sample and affine_grid behavior has changed to align_corners=False since "
                      "1.3.0. Please specify align_corners=True if the old behavior is desired. See the "
                      "documentation of grid_sample for details.", UserWarning, stacklevel=2)
        align_corners = False
    for name, t in (("input", input), ("grid", grid)):
        if not hasattr(t, "_data"):
            raise TypeError(f"grid_sampler(): argument '{name}' must be Tensor, not {type(t).__name__}")
    if input.ndim == 0:
        raise IndexError("Dimension specified as 0 but tensor has no dimensions")
    ishape, gshape = list(input.shape), list(grid.shape)
    if grid.ndim == 0 or input.shape[0] != grid.shape[0]:
        raise RuntimeError(f"grid_sampler(): expected grid and input to have same batch size, but got input with "
                           f"sizes {ishape} and grid with sizes {gshape}")
    if grid.shape[-1] != input.ndim - 2:
        raise RuntimeError(f"grid_sampler(): expected grid to have size {input.ndim - 2} in last dimension, but got "
                           f"grid with sizes {gshape}")
    for i in range(2, input.ndim):
        if input.shape[i] <= 0:
            raise RuntimeError(f"grid_sampler(): expected input to have non-empty spatial dimensions, but input has "
                               f"sizes {ishape} with dimension {i} being empty")
    if input.ndim == 5 and grid.ndim == 5:
        if mode == "bicubic":
            raise RuntimeError("grid_sampler(): bicubic interpolation only supports 4D input")
        raise NotImplementedError("grid_sample: 5-D (volumetric) input is not supported by firstepoch (4-D only)")
    if input.ndim != 4 or grid.ndim != 4:
        want = 4 if input.ndim == 4 else 5
        raise RuntimeError(f"grid_sampler(): expected {want}D input and grid with same number of dimensions, but got "
                           f"input with sizes {ishape} and grid with sizes {gshape}")
    if mode == "bicubic":
        raise NotImplementedError("grid_sample: mode='bicubic' is not supported by firstepoch (bilinear and nearest "
                                  "only)")
    dtype = input._data.dtype
    if dtype.kind != "f":
        raise NotImplementedError(f"\"grid_sampler_2d_cpu_kernel_impl\" not implemented for "
                                  f"'{_torch_name(dtype)}'")
    if grid._data.dtype != dtype:
        raise RuntimeError(f"expected scalar type {_torch_name(dtype)} but found "
                           f"{_torch_name(grid._data.dtype)}")
    return GridSample2dFn.apply(input, grid, mode, padding_mode, bool(align_corners))

