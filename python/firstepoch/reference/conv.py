"""Convolution in plain NumPy (NCHW), written as a learner would: the oracle for the C++ im2col /
col2im kernels and the convolution built on them (firstepoch.ops.conv, _C.conv2d_forward /
conv2d_backward, conv2d_backward_bias; conv_transpose2d_forward / _backward for
ops.conv.ConvTranspose2dFn), with the same names and argument order (less _C's output buffers)."""
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


def col2im(col, dx_shape, kernel_size, stride=1, padding=0, dilation=1):
    """The adjoint of im2col: scatter-add the columns back into an image of shape dx_shape (C, H, W)
    (the shape of the dx buffer _C.col2im takes in its place)."""
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = map(_pair, (kernel_size, stride, padding, dilation))
    C, H, W = dx_shape
    OH, OW = out_size(H, kh, sh, ph, dh), out_size(W, kw, sw, pw, dw)
    xp = np.zeros((C, H + 2 * ph, W + 2 * pw), dtype=col.dtype)
    c = col.reshape(C, kh, kw, OH, OW)
    for i in range(kh):
        for j in range(kw):
            xp[:, i * dh:i * dh + sh * OH:sh, j * dw:j * dw + sw * OW:sw][:, :OH, :OW] += c[:, i, j]
    return xp[:, ph:ph + H, pw:pw + W]


def conv2d_forward(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, activation=None):
    """x (N, C, H, W), weight (OC, C/groups, kh, kw) -> (N, OC, OH, OW); activation None or "relu"
    (applied after the bias)."""
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
    if bias is not None:
        out = out + bias[None, :, None, None]
    return np.maximum(out, 0) if activation == "relu" else out


def conv2d_backward(x, weight, dy, stride=1, padding=0, dilation=1, groups=1):
    """(dx, dweight, dbias) for conv2d_forward, from dy (N, OC, OH, OW)."""
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


def conv2d_backward_bias(dy, y=None):
    """(masked dy, dbias) from dy (N, OC, OH, OW): after a fused ReLU whose output was y, the gradient
    flows only where y > 0 (elsewhere 0, even where dy is NaN or inf, as torch's ReLU backward);
    dbias sums that gradient over everything but the channel."""
    if y is not None:
        dy = np.where(y > 0, dy, 0).astype(dy.dtype)
    return dy, dy.sum(axis=(0, 2, 3))


def conv_transpose2d_forward(x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """x (N, Cin, H, W), weight (Cin, Cout/groups, kh, kw) -> (N, Cout, OH, OW), OH = (H-1)*sh - 2*ph +
    dh*(kh-1) + output_padding + 1: every input pixel scatters its weighted kernel into the output,
    kernel tap (a, b) of input (i, j) landing on (i*sh + a*dh, j*sw + b*dw) before the padding is cut."""
    N, C, H, W = x.shape
    _, OCg, kh, kw = weight.shape
    (sh, sw), (ph, pw), (oph, opw), (dh, dw) = map(_pair, (stride, padding, output_padding, dilation))
    OH = (H - 1) * sh - 2 * ph + dh * (kh - 1) + oph + 1
    OW = (W - 1) * sw - 2 * pw + dw * (kw - 1) + opw + 1
    Cg = C // groups
    full = np.zeros((N, OCg * groups, (H - 1) * sh + dh * (kh - 1) + 1 + oph,
                     (W - 1) * sw + dw * (kw - 1) + 1 + opw), dtype=x.dtype)
    for g in range(groups):
        xg = x[:, g * Cg:(g + 1) * Cg]
        for a in range(kh):
            for b in range(kw):
                wab = weight[g * Cg:(g + 1) * Cg, :, a, b]  # (Cg, OCg)
                rows = slice(a * dh, a * dh + sh * (H - 1) + 1, sh)
                cols = slice(b * dw, b * dw + sw * (W - 1) + 1, sw)
                full[:, g * OCg:(g + 1) * OCg, rows, cols] += np.einsum("nchw,co->nohw", xg, wab, optimize=True)
    y = full[:, :, ph:ph + OH, pw:pw + OW]
    if bias is not None:
        y = y + bias[None, :, None, None]
    return np.ascontiguousarray(y)


def conv_transpose2d_backward(x, weight, dy, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """(dx, dweight, dbias) for conv_transpose2d_forward, from dy (N, Cout, OH, OW): each input pixel's
    gradient gathers dy where its kernel landed."""
    N, C, H, W = x.shape
    _, OCg, kh, kw = weight.shape
    (sh, sw), (ph, pw), (oph, opw), (dh, dw) = map(_pair, (stride, padding, output_padding, dilation))
    OH, OW = dy.shape[2:]
    Cg = C // groups
    full = np.zeros((N, OCg * groups, (H - 1) * sh + dh * (kh - 1) + 1 + oph,
                     (W - 1) * sw + dw * (kw - 1) + 1 + opw), dtype=dy.dtype)
    full[:, :, ph:ph + OH, pw:pw + OW] = dy
    dx = np.zeros_like(x)
    dweight = np.zeros_like(weight)
    for g in range(groups):
        xg = x[:, g * Cg:(g + 1) * Cg]
        for a in range(kh):
            for b in range(kw):
                seen = full[:, g * OCg:(g + 1) * OCg, a * dh:a * dh + sh * (H - 1) + 1:sh,
                            b * dw:b * dw + sw * (W - 1) + 1:sw]  # (N, OCg, H, W)
                wab = weight[g * Cg:(g + 1) * Cg, :, a, b]
                dx[:, g * Cg:(g + 1) * Cg] += np.einsum("nohw,co->nchw", seen, wab, optimize=True)
                dweight[g * Cg:(g + 1) * Cg, :, a, b] = np.einsum("nchw,nohw->co", xg, seen, optimize=True)
    return dx, dweight, dy.sum(axis=(0, 2, 3))
