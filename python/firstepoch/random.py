"""The global random state: one NumPy Generator, seeded by manual_seed (initialisation, dropout,
shuffling all draw from it, so a seed makes a run repeatable)."""
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
