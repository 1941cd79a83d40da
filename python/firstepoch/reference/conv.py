"""Convolution and pooling in plain NumPy (NCHW), written as a learner would: the oracle for the C++
im2col / col2im / pooling kernels and the convolution built on them."""
import numpy as np


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def out_size(n, k, s, p, d):
    return (n + 2 * p - d * (k - 1) - 1) // s + 1


def im2col(x, kernel_size, stride=1, padding=0, dilation=1):
    """x (C, H, W) -> (C*kh*kw, OH*OW): for every kernel offset, the input values it sees."""
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = map(_pair, (kernel_size, stride, padding, dilation))
    C, H, W = x.shape
    OH, OW = out_size(H, kh, sh, ph, dh), out_size(W, kw, sw, pw, dw)
    xp = np.pad(x, ((0, 0), (ph, ph), (pw, pw)))
    col = np.empty((C, kh, kw, OH, OW), dtype=x.dtype)
    for i in range(kh):
        for j in range(kw):
            col[:, i, j] = xp[:, i * dh:i * dh + sh * OH:sh, j * dw:j * dw + sw * OW:sw][:, :OH, :OW]
    return col.reshape(C * kh * kw, OH * OW)


def col2im(col, shape, kernel_size, stride=1, padding=0, dilation=1):
    """The adjoint of im2col: scatter-add the columns back into an image of shape (C, H, W)."""
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = map(_pair, (kernel_size, stride, padding, dilation))
    C, H, W = shape
    OH, OW = out_size(H, kh, sh, ph, dh), out_size(W, kw, sw, pw, dw)
    xp = np.zeros((C, H + 2 * ph, W + 2 * pw), dtype=col.dtype)
    c = col.reshape(C, kh, kw, OH, OW)
    for i in range(kh):
        for j in range(kw):
            xp[:, i * dh:i * dh + sh * OH:sh, j * dw:j * dw + sw * OW:sw][:, :OH, :OW] += c[:, i, j]
    return xp[:, ph:ph + H, pw:pw + W]


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """x (N, C, H, W), weight (OC, C/groups, kh, kw) -> (N, OC, OH, OW)."""
    N, C, H, W = x.shape
    OC, Cg, kh, kw = weight.shape
    (sh, sw), (ph, pw), (dh, dw) = map(_pair, (stride, padding, dilation))
    OH, OW = out_size(H, kh, sh, ph, dh), out_size(W, kw, sw, pw, dw)
    out = np.empty((N, OC, OH * OW), dtype=x.dtype)
    OCg = OC // groups
    for n in range(N):
        col = im2col(x[n], (kh, kw), stride, padding, dilation).reshape(groups, Cg * kh * kw, OH * OW)
        for g in range(groups):
            out[n, g * OCg:(g + 1) * OCg] = weight[g * OCg:(g + 1) * OCg].reshape(OCg, Cg * kh * kw) @ col[g]
    out = out.reshape(N, OC, OH, OW)
    return out if bias is None else out + bias[None, :, None, None]


def conv2d_backward(x, weight, dy, stride=1, padding=0, dilation=1, groups=1):
    """(dx, dweight, dbias) for conv2d, from dy (N, OC, OH, OW)."""
    N, C, H, W = x.shape
    OC, Cg, kh, kw = weight.shape
    OCg = OC // groups
    dx = np.zeros_like(x)
    dw = np.zeros_like(weight)
    dyf = dy.reshape(N, OC, dy.shape[2] * dy.shape[3])  # sizes spelled out: -1 is ambiguous when empty
    for n in range(N):
        col = im2col(x[n], (kh, kw), stride, padding, dilation).reshape(groups, Cg * kh * kw, dyf.shape[2])
        dcol = np.empty_like(col)
        for g in range(groups):
            wg = weight[g * OCg:(g + 1) * OCg].reshape(OCg, Cg * kh * kw)
            dw[g * OCg:(g + 1) * OCg] += (dyf[n, g * OCg:(g + 1) * OCg] @ col[g].T).reshape(OCg, Cg, kh, kw)
            dcol[g] = wg.T @ dyf[n, g * OCg:(g + 1) * OCg]
        dx[n] = col2im(dcol.reshape(C * kh * kw, dyf.shape[2]), (C, H, W), (kh, kw), stride, padding, dilation)
    return dx, dw, dy.sum(axis=(0, 2, 3))


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


def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1):
    return _windows(x, kernel_size, stride or kernel_size, padding, dilation, -np.inf).max(axis=0)


def avg_pool2d(x, kernel_size, stride=None, padding=0):
    """Mean over each window, padding counted as zeros (PyTorch's count_include_pad=True)."""
    return _windows(x, kernel_size, stride or kernel_size, padding, 1, 0).mean(axis=0)


def max_pool2d_backward(x, dy, kernel_size, stride=None):
    """dx of max_pool2d without padding: each window's gradient goes to its first maximum."""
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
