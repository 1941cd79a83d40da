"""Interpolation (F.interpolate's 'nearest', 'nearest-exact', 'linear' modes and 'nearest-1d', the 1-D
nearest forward of PyTorch) in plain NumPy, on
(N, C, H, W) arrays, written as a learner would: the oracle for the C++ interpolation kernels
(firstepoch.ops.interp; _C.interpolate2d_forward and interpolate2d_backward), with the same names and
argument order. Where _C writes into an output buffer the reference returns the array: the forward
takes the output size in y's place, the backward the input shape in dx's place.

Which inputs an output reads follows PyTorch exactly (aten/src/ATen/native/UpSample.h), in PyTorch's
arithmetic: nearest coordinates in float32, linear ones in the input's dtype. scale_h, scale_w are
the scale_factor given to F.interpolate (PyTorch then uses 1 / scale_factor, not in / out), or 0.
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
