"""firstepoch.cuda: the answers torch.cuda gives on a machine without a GPU (firstepoch is CPU-only),
so scripts that ask `torch.cuda.is_available()` take their CPU path."""


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
