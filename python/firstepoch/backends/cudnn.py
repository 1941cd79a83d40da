"""cuDNN: not part of firstepoch (CPU-only). `deterministic` and `benchmark` are settable, as in torch,
and change nothing: firstepoch's kernels are already deterministic for any thread count."""

deterministic = False
benchmark = False
enabled = True


def is_available():
    return False


def version():
    return None
