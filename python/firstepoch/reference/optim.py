"""SGD and Adam updates in plain NumPy (PyTorch's rules): the oracle for the fused C++ updates."""
import math

import numpy as np


def sgd_update(w, grad, buf, lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False, first=False):
    """Updates w (and buf) in place."""
    d = grad + weight_decay * w
    if momentum != 0:
        if first:
            buf[...] = d
        else:
            buf[...] = momentum * buf + (1 - dampening) * d
        d = d + momentum * buf if nesterov else buf
    w -= lr * d


def sgd_update_many(ws, grads, bufs, lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False, first=None):
    """sgd_update for each parameter in turn (bufs: None without momentum; first: one flag per parameter,
    default all False)."""
    first = [False] * len(ws) if first is None else first
    for i, (w, grad) in enumerate(zip(ws, grads)):
        sgd_update(w, grad, None if bufs is None else bufs[i], lr, momentum, dampening, weight_decay, nesterov,
                   first[i])


def adam_update(w, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, lr, beta1=0.9, beta2=0.999, eps=1e-8,
                weight_decay=0.0, step=1, decoupled=False):
    """Updates w and the moment estimates in place (decoupled=True is AdamW; max_exp_avg_sq: AMSGrad)."""
    if weight_decay != 0:
        if decoupled:
            w *= 1 - lr * weight_decay
        else:
            grad = grad + weight_decay * w
    exp_avg[...] = beta1 * exp_avg + (1 - beta1) * grad
    exp_avg_sq[...] = beta2 * exp_avg_sq + (1 - beta2) * grad * grad
    v = exp_avg_sq
    if max_exp_avg_sq is not None:
        np.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)
        v = max_exp_avg_sq
    bc1 = 1 - beta1 ** step
    bc2 = 1 - beta2 ** step
    w -= (lr / bc1) * exp_avg / (np.sqrt(v) / math.sqrt(bc2) + eps)
