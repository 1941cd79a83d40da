"""firstepoch.cuda: the answers torch.cuda gives on a machine without a GPU (firstepoch is CPU-only),
so scripts that ask `torch.cuda.is_available()` take their CPU path."""
from .amp import GradScaler as _GradScaler
from .amp import autocast as _autocast


def is_available():
    """False: firstepoch runs on the CPU only."""
    return False


def device_count():
    return 0


def manual_seed(seed):
    """Does nothing (no GPU generator to seed), as torch.cuda.manual_seed without CUDA."""


def manual_seed_all(seed):
    """Does nothing, as torch.cuda.manual_seed_all without CUDA."""


def is_initialized():
    return False


def synchronize(device=None):
    """Nothing runs asynchronously here: returns at once."""


class amp:
    """torch.cuda.amp's deprecated names: autocast (device 'cuda') and GradScaler, as firstepoch.amp's."""

    @staticmethod
    def autocast(enabled=True, dtype=None, cache_enabled=None):
        return _autocast("cuda", dtype=dtype, enabled=enabled, cache_enabled=cache_enabled)

    @staticmethod
    def GradScaler(init_scale=2.0 ** 16, growth_factor=2.0, backoff_factor=0.5, growth_interval=2000,
                   enabled=True):
        return _GradScaler("cuda", init_scale, growth_factor, backoff_factor, growth_interval, enabled)
