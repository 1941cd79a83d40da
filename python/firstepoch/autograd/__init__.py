"""Autograd: Function (an op's forward and backward side by side), grad modes, the engine (and
``grad``, as torch.autograd.grad), gradcheck, gradgradcheck and anomaly detection. The ops themselves
live in firstepoch.ops, one file per family; each Function registers itself in REGISTRY when its
module is imported (``import firstepoch`` imports them all).
"""
from . import function, functional
from .anomaly import detect_anomaly, is_anomaly_enabled, set_detect_anomaly
from .engine import backward_many as backward
from .engine import grad
from .function import (REGISTRY, Context, Function, FunctionCtx, enable_grad, is_grad_enabled, no_grad,
                       once_differentiable, set_grad_enabled)
from .grad_mode import inference_mode, is_inference_mode_enabled
from .gradcheck import gradcheck, gradgradcheck

__all__ = ["Function", "FunctionCtx", "Context", "REGISTRY", "grad", "backward", "gradcheck", "gradgradcheck",
           "no_grad", "enable_grad", "inference_mode", "is_inference_mode_enabled", "is_grad_enabled",
           "set_grad_enabled", "detect_anomaly", "set_detect_anomaly", "is_anomaly_enabled", "functional",
           "once_differentiable"]
