"""Convolution vs cross-correlation: what a "convolutional" layer computes, and the flipped kernel.

The two operations, for an image x and a K x K kernel k, on the "valid" output positions:
    cross-correlation   y[i, j] = sum_{a,b} x[i + a, j + b] k[a, b]             (slide k, multiply, add)
    convolution         y[i, j] = sum_{a,b} x[i + a, j + b] k[K-1-a, K-1-b]     (the same with k flipped
                                                                                 in both axes, i.e. (x * k)[m, n]
                                                                                 = sum x[u, v] k[m-u, n-v])
Deep learning libraries, firstepoch's F.conv2d / nn.Conv2d and PyTorch's alike, compute the first and
call it convolution: the kernel is learned, so whether it is stored flipped makes no difference to what
a network can represent. It does make a difference when you bring a kernel from signal processing or a
textbook: to get the true convolution, flip it first (weight.flip) -- or, equivalently, the layer's
cross-correlation with k is the true convolution with k flipped.

What to see: firstepoch's conv2d agrees to rounding with cross-correlation written from its definition
and disagrees with convolution, unless the kernel is flipped first; in 1-D the same holds against
NumPy's own np.correlate and np.convolve. The figure shows the clearest case, an impulse (a single 1
pixel): cross-correlation draws the kernel upside down and mirrored, convolution draws it as it is (a
convolution with an impulse is the identity). A symmetric kernel (a blur) cannot tell them apart.
"""
import numpy as np

import firstepoch as fe
import firstepoch.nn as nn
import firstepoch.nn.functional as F

from ._common import format_table, mnist_subset, new_figure, result, save_figure, seed_everything

NAME = "convolution"
DESCRIPTION = "conv2d computes cross-correlation; flipping the kernel gives the true convolution (impulse, np.convolve)"

# asymmetric on purpose: every flip of it is a different kernel
KERNEL = np.array([[1.0, 2.0, 3.0],
                   [0.0, 0.0, 4.0],
                   [0.0, 0.0, 5.0]])
BLUR = np.array([[1.0, 2.0, 1.0], [2.0, 4.0, 2.0], [1.0, 2.0, 1.0]]) / 16


def cross_correlate2d(x, k):
    """'valid' 2-D cross-correlation from its definition, in plain loops over the kernel."""
    K, L = k.shape
    out = np.zeros((x.shape[0] - K + 1, x.shape[1] - L + 1))
    for a in range(K):
        for b in range(L):
            out += k[a, b] * x[a:a + out.shape[0], b:b + out.shape[1]]
    return out


def convolve2d(x, k):
    """'valid' 2-D convolution from its definition (x * k)[m, n] = sum_{u,v} x[u, v] k[m - u, n - v]:
    the full convolution, then the positions where k lies wholly inside x."""
    K, L = k.shape
    full = np.zeros((x.shape[0] + K - 1, x.shape[1] + L - 1))
    for u in range(x.shape[0]):
        for v in range(x.shape[1]):
            full[u:u + K, v:v + L] += x[u, v] * k
    return full[K - 1:x.shape[0], L - 1:x.shape[1]]


def fe_conv2d(x, k, padding=0):
    """firstepoch's F.conv2d of one single-channel float64 image with one kernel, as a 2-D array."""
    return F.conv2d(fe.tensor(x[None, None]), fe.tensor(k[None, None]), padding=padding)._data[0, 0]


def max_diff(a, b):
    return float(np.abs(a - b).max())


def run(out_dir, seed=0, tiny=False):
    rng = seed_everything(seed)
    _, _, digits, _ = mnist_subset(1, 1, seed=seed, flatten=False)
    digit = digits[0, 0].astype(np.float64)
    noise = rng.standard_normal((7, 9) if tiny else (31, 37))
    flipped = KERNEL[::-1, ::-1].copy()
    rows, metrics = [], {}
    for label, x in (("MNIST digit 28x28", digit), (f"random {noise.shape[0]}x{noise.shape[1]}", noise)):
        for kname, k in (("asymmetric 3x3", KERNEL), ("symmetric blur 3x3", BLUR)):
            layer = fe_conv2d(x, k)
            flip = fe_conv2d(x, k[::-1, ::-1].copy())
            xcorr, conv = cross_correlate2d(x, k), convolve2d(x, k)
            r = {"layer_vs_xcorr": max_diff(layer, xcorr), "layer_vs_conv": max_diff(layer, conv),
                 "flipped_vs_conv": max_diff(flip, conv), "scale": float(np.abs(conv).max())}
            metrics[f"{label} / {kname}"] = r
            rows.append([label, kname, r["layer_vs_xcorr"], r["layer_vs_conv"], r["flipped_vs_conv"]])

    # 1-D, against NumPy's own definitions (np.correlate is cross-correlation, np.convolve convolution)
    signal = rng.standard_normal(50 if tiny else 500)
    k1 = np.array([1.0, 2.0, 3.0, -1.0])

    def fe_conv1d(s, k):
        return F.conv1d(fe.tensor(s[None, None]), fe.tensor(k[None, None].copy()))._data[0, 0]

    one_d = {"layer_vs_np_correlate": max_diff(fe_conv1d(signal, k1), np.correlate(signal, k1, "valid")),
             "layer_vs_np_convolve": max_diff(fe_conv1d(signal, k1), np.convolve(signal, k1, "valid")),
             "flipped_vs_np_convolve": max_diff(fe_conv1d(signal, k1[::-1]), np.convolve(signal, k1, "valid"))}
    metrics["1-D"] = one_d
    rows.append([f"1-D random, length {len(signal)}", "[1, 2, 3, -1]", one_d["layer_vs_np_correlate"],
                 one_d["layer_vs_np_convolve"], one_d["flipped_vs_np_convolve"]])

    # an impulse through nn.Conv2d: the layer's weight comes back mirrored, the flipped weight as it is
    impulse = np.zeros((7, 7))
    impulse[3, 3] = 1.0
    layer = nn.Conv2d(1, 1, 3, padding=1, bias=False, dtype=np.float64)
    layer.weight._data[0, 0] = KERNEL
    with fe.no_grad():
        response = layer(fe.tensor(impulse[None, None]))._data[0, 0]
        layer.weight._data[0, 0] = flipped
        response_flipped = layer(fe.tensor(impulse[None, None]))._data[0, 0]
    metrics["impulse"] = {"response_is_flipped_kernel": bool(np.array_equal(response[2:5, 2:5], flipped)),
                          "flipped_response_is_kernel": bool(np.array_equal(response_flipped[2:5, 2:5], KERNEL))}
    table = format_table(["input", "kernel", "|conv2d - xcorr|", "|conv2d - conv|", "|conv2d(flipped k) - conv|"],
                         rows, digits=3,
                         title="convolution: max |difference| between firstepoch's F.conv2d (F.conv1d in 1-D), "
                               "float64, 'valid' positions,\nand cross-correlation / convolution written from "
                               "their definitions (1-D: np.correlate / np.convolve)")
    table += (f"\n\nimpulse through nn.Conv2d(1, 1, 3, padding=1) with weight k: the response is k flipped: "
              f"{metrics['impulse']['response_is_flipped_kernel']}; with weight flip(k) it is k: "
              f"{metrics['impulse']['flipped_response_is_kernel']}")

    fig, ax = new_figure(2, 4, size=(15, 7.4))
    panels = [(KERNEL, "kernel k"), (impulse, "input: an impulse"), (response, "nn.Conv2d with weight k\n"
              "(cross-correlation: k mirrored)"), (response_flipped, "nn.Conv2d with weight flip(k)\n"
                                                                   "(true convolution: k as it is)"),
              (digit, "input: a digit"), (fe_conv2d(digit, KERNEL, padding=1), "conv2d(digit, k)\n= cross-correlation"),
              (fe_conv2d(digit, flipped, padding=1), "conv2d(digit, flip(k))\n= convolution with k"),
              (fe_conv2d(digit, KERNEL, padding=1) - fe_conv2d(digit, flipped, padding=1), "difference")]
    for a, (img, title) in zip(ax.ravel(), panels):
        a.imshow(img, cmap="viridis" if img.shape[0] < 10 else "gray")
        if img.shape[0] < 10:
            for (i, j), v in np.ndenumerate(img):
                if v:
                    a.text(j, i, f"{v:g}", ha="center", va="center", color="w", fontsize=9)
        a.set_title(title, fontsize=9)
        a.set_xticks([])
        a.set_yticks([])
    png = save_figure(fig, out_dir, NAME)
    return result(table, png, metrics)
