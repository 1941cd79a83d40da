"""torch.amp's names for mixed precision, as they behave where the low-precision path cannot run:
firstepoch's kernels are float32 and float64 only, so `autocast` runs its block in the tensors' own dtypes
(a warning, once, when asked for float16 or bfloat16) and `GradScaler` is a disabled scaler (scale(loss)
is the loss, step(optimizer) is optimizer.step()), which is what torch's GradScaler is on a machine
without CUDA. A mixed-precision training loop ported from torch runs unchanged, in float32.

Deliberate difference: torch's CPU autocast computes matmuls and convolutions in bfloat16; here they stay
in float32, so results are closer to float32 ones and the speed is float32's.
"""
import contextlib
import warnings

__all__ = ["autocast", "GradScaler", "is_autocast_available"]

_warned = set()


def is_autocast_available(device_type):
    """False: no low-precision kernels (the block would run unchanged)."""
    return False


class autocast(contextlib.ContextDecorator):
    """Context manager and decorator taking torch.autocast's arguments; the block runs unchanged."""

    def __init__(self, device_type="cpu", dtype=None, enabled=True, cache_enabled=None):
        if not isinstance(device_type, str):
            raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")
        self.device_type, self.fast_dtype, self._enabled = device_type, dtype, bool(enabled)
        name = getattr(dtype, "name", None) or str(dtype)
        if self._enabled and name not in ("None", "float32", "float64") and name not in _warned:
            _warned.add(name)
            warnings.warn(f"autocast: firstepoch has no {name} kernels; the block runs in float32 (see "
                          "firstepoch.amp)", UserWarning, stacklevel=2)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


class GradScaler:
    """torch.amp.GradScaler's interface, always disabled (no float16 gradients to protect from
    underflow): as torch's scaler when CUDA is not available."""

    def __init__(self, device="cuda", init_scale=2.0 ** 16, growth_factor=2.0, backoff_factor=0.5,
                 growth_interval=2000, enabled=True):
        if enabled and device == "cuda":
            warnings.warn("torch.cuda.amp.GradScaler is enabled, but CUDA is not available.  Disabling.",
                          UserWarning, stacklevel=2)
        self._init_scale, self._growth_factor, self._backoff_factor = init_scale, growth_factor, backoff_factor
        self._growth_interval = growth_interval

    def is_enabled(self):
        return False

    def scale(self, outputs):
        return outputs

    def unscale_(self, optimizer):
        return None

    def step(self, optimizer, *args, **kwargs):
        return optimizer.step(*args, **kwargs)

    def update(self, new_scale=None):
        return None

    def get_scale(self):
        return 1.0

    def get_growth_factor(self):
        return self._growth_factor

    def get_backoff_factor(self):
        return self._backoff_factor

    def get_growth_interval(self):
        return self._growth_interval

    def state_dict(self):
        return {}

    def load_state_dict(self, state_dict):
        return None
