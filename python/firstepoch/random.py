"""The global random state: one NumPy Generator, seeded by manual_seed (initialisation, dropout,
shuffling all draw from it, so a seed makes a run repeatable)."""
import numbers

import numpy as np

_generator = np.random.default_rng()


def manual_seed(seed):
    """Seeds every random draw firstepoch makes."""
    global _generator
    _generator = np.random.default_rng(seed)
    return _generator


def generator():
    return _generator


def get_state():
    """The generator's state (a dict of plain values), for checkpoints."""
    return _generator.bit_generator.state


def set_state(state):
    _generator.bit_generator.state = state


def as_generator(generator, who):
    """None (firstepoch.manual_seed's generator), an int seed, or a NumPy Generator -> a Generator."""
    if generator is None:
        return _generator
    if isinstance(generator, np.random.Generator):
        return generator
    if isinstance(generator, numbers.Integral) and not isinstance(generator, bool):
        return np.random.default_rng(int(generator))
    raise TypeError(f"{who}: generator must be None, an int seed or a numpy.random.Generator, "
                    f"got {type(generator).__name__}")
