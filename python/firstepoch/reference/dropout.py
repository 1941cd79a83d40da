"""Inverted dropout in plain NumPy: the oracle for firstepoch.ops.dropout, with the mask given."""


def dropout_forward(x, p, keep):
    """x * keep / (1 - p): dropped elements are 0, the rest scaled so the mean is unchanged."""
    return x * keep / (1 - p)


def dropout_backward(dy, p, keep):
    return dy * keep / (1 - p)
