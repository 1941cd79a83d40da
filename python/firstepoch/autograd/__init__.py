"""Autograd: Function (an op's forward and backward side by side), the engine, gradcheck.

Importing this package imports every op family, so REGISTRY holds every op.
"""
from .anomaly import detect_anomaly, is_anomaly_enabled, set_detect_anomaly
from .function import REGISTRY, Context, Function, enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .gradcheck import gradcheck
from . import activation, arith, reduce, shape, unary  # noqa: F401  (register the ops)

__all__ = ["Function", "Context", "REGISTRY", "gradcheck", "no_grad", "enable_grad", "is_grad_enabled",
           "set_grad_enabled", "detect_anomaly", "set_detect_anomaly", "is_anomaly_enabled"]
