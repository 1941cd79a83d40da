"""torch's global switches that ported scripts set at the top, as they apply to firstepoch: compile (no
compiler: the model or function is returned as it is, which is torch.compile's contract of unchanged
results), the float32 matmul precision (firstepoch's GEMM is always full float32: the setting is kept and
read back, as torch's), and deterministic algorithms (every firstepoch kernel already is: results do
not depend on the thread count)."""

__all__ = ["compile", "set_float32_matmul_precision", "get_float32_matmul_precision",
           "use_deterministic_algorithms", "are_deterministic_algorithms_enabled",
           "is_deterministic_algorithms_warn_only_enabled"]

_precision = ["highest"]
_deterministic = [False, False]


def compile(model=None, *, fullgraph=False, dynamic=None, backend="inductor", mode=None, options=None,
            disable=False):
    """As torch.compile's signature: returns `model` itself (or, called without one, a decorator that
    does). Deliberate difference: nothing is compiled; the model runs as firstepoch always runs it."""
    if model is None:
        return lambda fn: fn
    if not callable(model):
        raise RuntimeError(f"compile: model must be callable, got {type(model).__name__}")
    return model


def set_float32_matmul_precision(precision):
    """Accepts torch's 'highest', 'high' and 'medium'; the GEMM stays full float32 whatever is set."""
    if precision not in ("highest", "high", "medium"):
        raise RuntimeError(f"Invalid precision {precision!r}: expected 'highest', 'high' or 'medium'")
    _precision[0] = precision


def get_float32_matmul_precision():
    return _precision[0]


def use_deterministic_algorithms(mode, *, warn_only=False):
    """Kept and read back; firstepoch's kernels are deterministic either way (a fixed reduction order
    that depends on the shape only)."""
    if not isinstance(mode, bool):
        raise RuntimeError(f"use_deterministic_algorithms expects a bool, but got {type(mode).__name__}")
    _deterministic[0], _deterministic[1] = mode, bool(warn_only)


def are_deterministic_algorithms_enabled():
    return _deterministic[0]


def is_deterministic_algorithms_warn_only_enabled():
    return _deterministic[1]
