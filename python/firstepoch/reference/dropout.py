"""Inverted dropout and alpha dropout in plain NumPy: the oracle for firstepoch.ops.dropout, with the
mask given (of the input's shape, or per channel, broadcasting)."""
import numpy as np


def dropout_forward(x, p, keep):
    """x * keep / (1 - p): dropped elements are 0, the rest scaled so the mean is unchanged."""
    return x * keep / (1 - p)


def dropout_backward(dy, p, keep):
    return dy * keep / (1 - p)


ALPHA = 1.7580993408473766  # SELU's negative saturation: -SELU(-inf)


def alpha_dropout_forward(x, p, keep):
    """Dropped elements become -ALPHA, then a * value + b with a, b chosen so that an input of mean 0 and
    variance 1 keeps them (keep may be a per-channel mask that broadcasts over x)."""
    a = 1 / np.sqrt((ALPHA ** 2 * p + 1) * (1 - p))
    b = ALPHA * a * p
    dropped_value = np.where(keep, x, -ALPHA)
    return a * dropped_value + b


def alpha_dropout_backward(dy, p, keep):
    a = 1 / np.sqrt((ALPHA ** 2 * p + 1) * (1 - p))
    return dy * keep * a
