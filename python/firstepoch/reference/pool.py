"""Max and average pooling in plain NumPy (NCHW), written as a learner would: the oracle for the C++
pooling kernels (firstepoch.ops.pool; _C.max_pool2d, avg_pool2d and their backwards)."""
import numpy as np

from .conv import _pair, out_size


def _windows(x, kernel_size, stride, padding, dilation, fill):
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = map(_pair, (kernel_size, stride, padding, dilation))
    N, C, H, W = x.shape
    OH, OW = out_size(H, kh, sh, ph, dh), out_size(W, kw, sw, pw, dw)
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=fill)
    win = np.empty((kh * kw, N, C, OH, OW), dtype=x.dtype)
    for i in range(kh):
        for j in range(kw):
            win[i * kw + j] = xp[:, :, i * dh:i * dh + sh * OH:sh, j * dw:j * dw + sw * OW:sw][:, :, :OH, :OW]
    return win


def max_pool2d_forward(x, kernel_size, stride=None, padding=0, dilation=1):
    return _windows(x, kernel_size, stride or kernel_size, padding, dilation, -np.inf).max(axis=0)


def avg_pool2d_forward(x, kernel_size, stride=None, padding=0):
    """Mean over each window, padding counted as zeros (PyTorch's count_include_pad=True)."""
    return _windows(x, kernel_size, stride or kernel_size, padding, 1, 0).mean(axis=0)


def max_pool2d_backward(x, dy, kernel_size, stride=None):
    """dx of max_pool2d_forward without padding: each window's gradient goes to its first maximum."""
    k, s = _pair(kernel_size), _pair(stride or kernel_size)
    win = _windows(x, k, s, 0, 1, -np.inf)                 # (kh*kw, N, C, OH, OW)
    first = win.argmax(axis=0)
    N, C, OH, OW = dy.shape
    dx = np.zeros_like(x)
    n, c, oh, ow = np.indices((N, C, OH, OW))
    rows = oh * s[0] + first // k[1]
    cols = ow * s[1] + first % k[1]
    np.add.at(dx, (n, c, rows, cols), dy)
    return dx


def avg_pool2d_backward(x, dy, kernel_size, stride=None, padding=0):
    """dx of avg_pool2d_forward: each window spreads dy / (kh * kw) over its inputs (padding included
    in the count, so the padded positions' shares are dropped)."""
    (kh, kw), (sh, sw), (ph, pw) = _pair(kernel_size), _pair(stride or kernel_size), _pair(padding)
    N, C, H, W = x.shape
    OH, OW = dy.shape[2], dy.shape[3]
    dxp = np.zeros((N, C, H + 2 * ph, W + 2 * pw), dtype=dy.dtype)
    share = dy / (kh * kw)
    for i in range(kh):
        for j in range(kw):
            dxp[:, :, i:i + sh * OH:sh, j:j + sw * OW:sw][:, :, :OH, :OW] += share
    return dxp[:, :, ph:ph + H, pw:pw + W]
