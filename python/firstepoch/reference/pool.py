"""Max and average pooling in plain NumPy (NCHW), written as a learner would: the oracle for the C++
pooling kernels (firstepoch.ops.pool; _C.max_pool2d_forward, avg_pool2d_forward and their backwards), with
the same names and argument order. Where _C writes into an output buffer the reference returns the
array; a backward whose dx shape the other arguments cannot fix takes it as `dx_shape`, in dx's place.

Output sizes are PyTorch's: with ceil_mode the window count is rounded up, but the last window must
start inside the input or its left padding; such a window may then overhang the padded input."""
import numpy as np

from .conv import _pair


def pool_out_size(n, k, s, p, d, ceil_mode=False):
    """Outputs along one axis (PyTorch's pooling_output_shape)."""
    span = n + 2 * p - d * (k - 1) - 1
    out = (span + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (out - 1) * s >= n + p:
        out -= 1
    return out


def _windows(x, kernel_size, stride, padding, dilation, fill, ceil_mode=False):
    """Every window's values, (kh*kw, N, C, OH, OW); padding and the ceil_mode overhang read as fill."""
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = map(_pair, (kernel_size, stride, padding, dilation))
    N, C, H, W = x.shape
    OH, OW = pool_out_size(H, kh, sh, ph, dh, ceil_mode), pool_out_size(W, kw, sw, pw, dw, ceil_mode)
    # pad after enough for the last window (ceil_mode may reach past the padding)
    bottom = max(ph, (OH - 1) * sh + (kh - 1) * dh + 1 - H - ph)
    right = max(pw, (OW - 1) * sw + (kw - 1) * dw + 1 - W - pw)
    xp = np.pad(x, ((0, 0), (0, 0), (ph, bottom), (pw, right)), constant_values=fill)
    win = np.empty((kh * kw, N, C, OH, OW), dtype=x.dtype)
    for i in range(kh):
        for j in range(kw):
            win[i * kw + j] = xp[:, :, i * dh:i * dh + sh * OH:sh, j * dw:j * dw + sw * OW:sw][:, :, :OH, :OW]
    return win


def _window_rows_cols(oh_ow, k, s, p, d):
    """Input row and column of every window element: (kh*kw, OH, OW) each, in raster order."""
    OH, OW = oh_ow
    i, j = np.divmod(np.arange(k[0] * k[1]), k[1])
    rows = (np.arange(OH) * s[0] - p[0])[None, :, None] + (i * d[0])[:, None, None]
    cols = (np.arange(OW) * s[1] - p[1])[None, None, :] + (j * d[1])[:, None, None]
    return np.broadcast_to(rows, (k[0] * k[1], OH, OW)), np.broadcast_to(cols, (k[0] * k[1], OH, OW))


def max_pool2d_forward(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    """(y, argmax): each window's maximum (padding never wins; NaN propagates) and the flat index in the
    input plane of its first maximum in raster order (-1 for a window that sees only padding)."""
    k, s, p, d = _pair(kernel_size), _pair(stride or kernel_size), _pair(padding), _pair(dilation)
    H, W = x.shape[2:]
    win = _windows(x, k, s, p, d, -np.inf, ceil_mode)     # (kh*kw, N, C, OH, OW)
    y = win.max(axis=0)
    first = win.argmax(axis=0)  # NumPy's argmax: the first maximum, or the first NaN
    OH, OW = y.shape[2:]
    rows, cols = _window_rows_cols((OH, OW), k, s, p, d)
    missed = np.zeros(y.shape, dtype=bool)
    if np.any(y == -np.inf):
        # a window whose inputs are all -inf may have picked a padding cell (-inf too): take its first
        # input instead, or none (-1) when it sees only padding
        inside = ((rows >= 0) & (rows < H) & (cols >= 0) & (cols < W))[:, None, None]
        first_inside = inside.argmax(axis=0)
        lost = (y == -np.inf) & ~np.take_along_axis(inside, first[None], 0)[0]
        first = np.where(lost, first_inside, first)
        missed = lost & ~inside.any(axis=0)
    flat = (rows * W + cols)[first, np.arange(OH)[:, None], np.arange(OW)]
    return y, np.where(missed, -1, flat).astype(np.int64)


def avg_divisors(in_hw, out_hw, kernel_size, stride, padding, count_include_pad=True, divisor_override=None):
    """The divisor of each output (OH, OW), as PyTorch: divisor_override if given; else the window's
    size clipped to the padded input (count_include_pad: padding counts, the ceil_mode overhang does not)
    or to the input itself."""
    if divisor_override:
        return np.full(out_hw, divisor_override)
    sizes = []
    for n, o, k, s, p in zip(in_hw, out_hw, _pair(kernel_size), _pair(stride), _pair(padding)):
        start = np.arange(o) * s - p
        end = np.minimum(start + k, n + p)
        if not count_include_pad:
            start, end = np.maximum(start, 0), np.minimum(end, n)
        sizes.append(end - start)
    return sizes[0][:, None] * sizes[1][None, :]


def avg_pool2d_forward(x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
                       divisor_override=None):
    """Sum over each window (padding adds zeros) divided by the window's divisor (avg_divisors)."""
    stride = stride or kernel_size
    total = _windows(x, kernel_size, stride, padding, 1, 0, ceil_mode).sum(axis=0)
    return total / avg_divisors(x.shape[2:], total.shape[2:], kernel_size, stride, padding, count_include_pad,
                                divisor_override)


def max_pool2d_backward(dy, argmax, dx_shape, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    """dx of max_pool2d_forward: each window's gradient goes to the input its argmax names (none for -1).
    The window (kernel_size ... ceil_mode) fixes dy's shape, which is checked."""
    k, s, p, d = _pair(kernel_size), _pair(stride or kernel_size), _pair(padding), _pair(dilation)
    N, C, H, W = dx_shape
    want = (N, C, pool_out_size(H, k[0], s[0], p[0], d[0], ceil_mode), pool_out_size(W, k[1], s[1], p[1], d[1], ceil_mode))
    if dy.shape != want or argmax.shape != want:
        raise ValueError(f"max_pool2d_backward: dy {dy.shape} and argmax {argmax.shape} must have shape {want}")
    dx = np.zeros((N * C, H * W), dtype=dy.dtype)
    a, g = argmax.reshape(N * C, want[2] * want[3]), dy.reshape(N * C, want[2] * want[3])  # -1: ambiguous if empty
    plane, _ = np.indices(a.shape)
    keep = a >= 0
    np.add.at(dx, (plane[keep], a[keep]), g[keep])
    return dx.reshape(dx_shape)


def avg_pool2d_backward(dy, dx_shape, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
                        divisor_override=None):
    """dx of avg_pool2d_forward: each window spreads dy / divisor over its inputs (the shares of
    padding and of the ceil_mode overhang are dropped)."""
    (kh, kw), (sh, sw), (ph, pw) = _pair(kernel_size), _pair(stride or kernel_size), _pair(padding)
    N, C, H, W = dx_shape
    OH, OW = dy.shape[2], dy.shape[3]
    share = dy / avg_divisors((H, W), (OH, OW), (kh, kw), (sh, sw), (ph, pw), count_include_pad, divisor_override)
    dxp = np.zeros((N, C, max(H + 2 * ph, (OH - 1) * sh + kh), max(W + 2 * pw, (OW - 1) * sw + kw)), dtype=dy.dtype)
    for i in range(kh):
        for j in range(kw):
            dxp[:, :, i:i + sh * OH:sh, j:j + sw * OW:sw][:, :, :OH, :OW] += share
    return dxp[:, :, ph:ph + H, pw:pw + W]
