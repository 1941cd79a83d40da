"""Interpolation (F.interpolate's 'nearest', 'nearest-exact', 'linear' modes and 'nearest-1d', the 1-D
nearest forward of PyTorch) in plain NumPy, on
(N, C, H, W) arrays, written as a learner would: the oracle for the C++ interpolation kernels
(firstepoch.ops.interp; _C.interpolate2d_forward and interpolate2d_backward), with the same names and
argument order. Where _C writes into an output buffer the reference returns the array: the forward
takes the output size in y's place, the backward the input shape in dx's place.

Which inputs an output reads follows PyTorch exactly (aten/src/ATen/native/UpSample.h), in PyTorch's
arithmetic: nearest coordinates in float32, linear ones in the input's dtype. scale_h, scale_w are
the scale_factor given to F.interpolate (PyTorch then uses 1 / scale_factor, not in / out), or 0.

grid_sample2d_forward / grid_sample2d_backward (F.grid_sample, 4-D) loop over the output points one at a
time: the oracle for the vectorised NumPy op (firstepoch.ops.interp.GridSample2dFn), which has no kernel.
"""
import numpy as np


def _scale(scale, size_in, size_out, t):
    """PyTorch's compute_scales_value, in the scalar type t."""
    return t(1.0 / scale) if scale > 0 else t(size_in) / t(size_out)


def nearest_indices(size_in, size_out, scale, exact=False, shortcuts=True):
    """The input index each output reads: floor(o * s) ('nearest') or floor((o + 0.5) * s)
    ('nearest-exact'), s in float32, clamped to the last input. PyTorch's 2-D nearest takes o for
    out == in and o // 2 for out == 2 * in (shortcuts); its 1-D forward does not ('nearest-1d')."""
    o = np.arange(size_out)
    if shortcuts and not exact and size_out == size_in:
        return o
    if shortcuts and not exact and size_out == 2 * size_in:
        return o // 2
    s = _scale(scale, size_in, size_out, np.float32)
    if exact:
        src = ((o + 0.5) * np.float64(s)).astype(np.float32)   # computed in double, rounded to float
    else:
        src = o.astype(np.float32) * s
    return np.minimum(np.floor(src), size_in - 1).astype(np.int64)   # clamped before the cast (huge src)


def linear_weights(size_in, size_out, align_corners, scale, dtype):
    """(i0, i1, l0, l1): output o is l0[o] * input[i0[o]] + l1[o] * input[i1[o]]."""
    t = np.dtype(dtype).type
    o = np.arange(size_out)
    if size_out == size_in:                       # PyTorch copies
        return o, o, np.ones(size_out, dtype), np.zeros(size_out, dtype)
    of = o.astype(dtype)
    if align_corners:
        ratio = t(size_in - 1) / t(size_out - 1) if size_out > 1 else t(0)
        src = ratio * of
    else:
        ratio = _scale(scale, size_in, size_out, t)
        # ratio * (o + 0.5) - 0.5 with one rounding (PyTorch's compiled code fuses the multiply-add):
        # exact in float64 for float32; in long double (nearly exact) for float64
        wide = np.float64 if t is np.float32 else np.longdouble
        src = (wide(ratio) * (of.astype(wide) + wide(0.5)) - wide(0.5)).astype(dtype)
        src = np.maximum(src, t(0))                                  # never left of the first input
    i0 = np.minimum(np.floor(src), size_in - 1).astype(np.int64)
    l1 = np.clip(src - i0.astype(dtype), t(0), t(1))
    i1 = np.where(i0 < size_in - 1, i0 + 1, i0)
    return i0, i1, (t(1) - l1).astype(dtype), l1.astype(dtype)


def interpolate2d_forward(x, output_size, mode, align_corners, scale_h, scale_w):
    """x (N, C, H, W) resampled to (N, C, OH, OW): along W first, then along H (PyTorch's order)."""
    (H, W), (OH, OW) = x.shape[2:], output_size
    if mode.startswith("nearest"):
        exact, short = mode == "nearest-exact", mode == "nearest"
        ih, iw = nearest_indices(H, OH, scale_h, exact, short), nearest_indices(W, OW, scale_w, exact, short)
        return x[:, :, ih, :][:, :, :, iw]
    h0, h1, lh0, lh1 = linear_weights(H, OH, align_corners, scale_h, x.dtype)
    w0, w1, lw0, lw1 = linear_weights(W, OW, align_corners, scale_w, x.dtype)
    rows = lw0 * x[:, :, :, w0] + lw1 * x[:, :, :, w1]                     # (N, C, H, OW)
    return lh0[:, None] * rows[:, :, h0, :] + lh1[:, None] * rows[:, :, h1, :]


def interpolate2d_backward(dy, dx_shape, mode, align_corners, scale_h, scale_w):
    """dx of interpolate2d_forward: each output's gradient added to the inputs it read, with their
    weights: rows of dy into input rows (output rows in order), then along W (outputs in order)."""
    N, C, H, W = dx_shape
    OH, OW = dy.shape[2:]
    if mode.startswith("nearest"):
        exact, short = mode == "nearest-exact", mode == "nearest"
        ih, iw = nearest_indices(H, OH, scale_h, exact, short), nearest_indices(W, OW, scale_w, exact, short)
        h0, h1, lh0, lh1 = ih, ih, np.ones(OH, dy.dtype), np.zeros(OH, dy.dtype)
        w0, w1, lw0, lw1 = iw, iw, np.ones(OW, dy.dtype), np.zeros(OW, dy.dtype)
    else:
        h0, h1, lh0, lh1 = linear_weights(H, OH, align_corners, scale_h, dy.dtype)
        w0, w1, lw0, lw1 = linear_weights(W, OW, align_corners, scale_w, dy.dtype)
    s = np.zeros((N, C, H, OW), dy.dtype)
    for o in range(OH):
        s[:, :, h0[o]] += lh0[o] * dy[:, :, o]
        s[:, :, h1[o]] += lh1[o] * dy[:, :, o]
    dx = np.zeros(dx_shape, dy.dtype)
    for q in range(OW):
        dx[:, :, :, w0[q]] += lw0[q] * s[:, :, :, q]
        dx[:, :, :, w1[q]] += lw1[q] * s[:, :, :, q]
    return dx


# ---- grid_sample (firstepoch.ops.interp.GridSample2dFn), one output point at a time ----------------------
# torch's scalar helpers (aten/src/ATen/native/GridSampler.h) in plain Python: the oracle for the
# vectorised NumPy op. Coordinates in the grid's dtype.

def grid_source_index(coord, size, padding_mode, align_corners):
    """One normalized grid value -> (source pixel coordinate, its derivative by the grid value)."""
    t = type(coord)
    if align_corners:
        scale = t(size - 1) / t(2)
        src = (coord + t(1)) * scale
    else:
        scale = t(size) / t(2)
        src = (coord + t(1)) * scale - t(0.5)
    grad = scale
    if padding_mode == "reflection":
        if align_corners and size <= 1:
            return t(0), t(0)
        low, span = (t(0), t(size - 1)) if align_corners else (t(-0.5), t(size))
        shifted = src - low
        sign = t(-1) if shifted < 0 else t(1)
        shifted = abs(shifted)
        flips = int(np.floor(shifted / span)) if np.isfinite(shifted) else 0
        extra = np.fmod(shifted, span)
        if flips % 2:
            src, sign = span - extra + low, -sign
        else:
            src = extra + low
        grad = grad * sign
    if padding_mode in ("border", "reflection"):
        if not src > 0:                 # NaN reads pixel 0, as torch's CPU kernel
            src, grad = t(0), t(0)
        elif src >= size - 1:
            src, grad = t(size - 1), t(0)
    return src, grad


def _pixel(x, b, row, col):
    """x[b, :, row, col], or zeros outside the input."""
    H, W = x.shape[2:]
    if 0 <= row <= H - 1 and 0 <= col <= W - 1:
        return x[b, :, int(row), int(col)]
    return np.zeros(x.shape[1], x.dtype)


def grid_sample2d_forward(x, grid, mode, padding_mode, align_corners):
    """x (N, C, H, W) read at grid (N, OH, OW, 2) (x, y in [-1, 1]) -> (N, C, OH, OW)."""
    N, C, H, W = x.shape
    OH, OW = grid.shape[1:3]
    y = np.zeros((N, C, OH, OW), x.dtype)
    for b in range(N):
        for i in range(OH):
            for j in range(OW):
                ix, _ = grid_source_index(grid[b, i, j, 0], W, padding_mode, align_corners)
                iy, _ = grid_source_index(grid[b, i, j, 1], H, padding_mode, align_corners)
                if mode == "nearest":
                    y[b, :, i, j] = _pixel(x, b, np.rint(iy), np.rint(ix))
                    continue
                x0, y0 = np.floor(ix), np.floor(iy)
                w, n = ix - x0, iy - y0
                y[b, :, i, j] = (_pixel(x, b, y0, x0) * ((1 - n) * (1 - w)) + _pixel(x, b, y0, x0 + 1) * ((1 - n) * w)
                                 + _pixel(x, b, y0 + 1, x0) * (n * (1 - w)) + _pixel(x, b, y0 + 1, x0 + 1) * (n * w))
    return y


def grid_sample2d_backward(dy, x, grid, mode, padding_mode, align_corners):
    """(dx, dgrid) of grid_sample2d_forward: each point's gradient added to the pixels it read, with
    their weights; the grid's from the slopes of the bilinear weights (zero for nearest)."""
    N, C, H, W = x.shape
    OH, OW = grid.shape[1:3]
    dx, dgrid = np.zeros_like(x), np.zeros_like(grid)

    def add(b, row, col, g):
        if 0 <= row <= H - 1 and 0 <= col <= W - 1:
            dx[b, :, int(row), int(col)] += g

    for b in range(N):
        for i in range(OH):
            for j in range(OW):
                g = dy[b, :, i, j]
                ix, gx = grid_source_index(grid[b, i, j, 0], W, padding_mode, align_corners)
                iy, gy = grid_source_index(grid[b, i, j, 1], H, padding_mode, align_corners)
                if mode == "nearest":
                    add(b, np.rint(iy), np.rint(ix), g)
                    continue
                x0, y0 = np.floor(ix), np.floor(iy)
                w, n = ix - x0, iy - y0
                add(b, y0, x0, g * ((1 - n) * (1 - w)))
                add(b, y0, x0 + 1, g * ((1 - n) * w))
                add(b, y0 + 1, x0, g * (n * (1 - w)))
                add(b, y0 + 1, x0 + 1, g * (n * w))
                nw, ne = _pixel(x, b, y0, x0), _pixel(x, b, y0, x0 + 1)
                sw, se = _pixel(x, b, y0 + 1, x0), _pixel(x, b, y0 + 1, x0 + 1)
                dgrid[b, i, j, 0] = np.sum(g * ((ne - nw) * (1 - n) + (se - sw) * n)) * gx
                dgrid[b, i, j, 1] = np.sum(g * ((sw - nw) * (1 - w) + (se - ne) * w)) * gy
    return dx, dgrid
