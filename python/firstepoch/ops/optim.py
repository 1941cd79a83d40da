"""The fused optimizer updates: one C++ pass per parameter updates w and its state in place.

sgd_update:   d = g + wd * w;  buf = momentum * buf + (1 - dampening) * d (buf = d at the first step);
              w -= lr * (d + momentum * buf if nesterov else buf)
adam_update:  m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2 (AMSGrad: vmax = max(vmax, v));
              w -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps); weight decay as L2 on g, or
              decoupled (AdamW: w *= 1 - lr * wd first)

`_C` entries: `sgd_update`, `sgd_update_many` (all parameters of a group in one call), `adam_update`.
Reference: `firstepoch.reference.optim` (`sgd_update`, `sgd_update_many`, `adam_update`), the same names
and arguments. firstepoch.optim's SGD, Adam and AdamW call these.
"""
import numpy as np

from .. import _C


def _contiguous(grad):
    """The gradient as the kernels read it: C-contiguous (a copy only when it is not)."""
    return grad if grad.flags.c_contiguous else np.ascontiguousarray(grad)


def sgd_update(w, grad, buf, lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False, first=False):
    """Updates w (and buf, the momentum buffer, or None without momentum) in place."""
    _C.sgd_update(w, _contiguous(grad), buf, lr=lr, momentum=momentum, dampening=dampening,
                  weight_decay=weight_decay, nesterov=nesterov, first=first)


def sgd_update_many(ws, grads, bufs, lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False, first=None):
    """sgd_update over lists of parameters in one kernel call (bufs: None without momentum; first: one flag
    per parameter, default all False). Every parameter is checked before any is updated."""
    first = [False] * len(ws) if first is None else list(first)
    _C.sgd_update_many(ws, [_contiguous(g) for g in grads], bufs, lr=lr, momentum=momentum, dampening=dampening,
                       weight_decay=weight_decay, nesterov=nesterov, first=first)


def adam_update(w, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, lr, beta1=0.9, beta2=0.999, eps=1e-8,
                weight_decay=0.0, step=1, decoupled=False):
    """Updates w and the moment estimates in place (decoupled=True is AdamW; max_exp_avg_sq: AMSGrad)."""
    _C.adam_update(w, _contiguous(grad), exp_avg, exp_avg_sq, max_exp_avg_sq, lr=lr, beta1=beta1, beta2=beta2,
                   eps=eps, weight_decay=weight_decay, step=step, decoupled=decoupled)
