"""Apple's Metal backend: not built into firstepoch (CPU-only)."""


def is_available():
    return False


def is_built():
    return False
