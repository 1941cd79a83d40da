"""The global random state: one NumPy Generator, seeded by manual_seed (initialisation, dropout,
shuffling all draw from it, so a seed makes a run repeatable), and `Generator`, torch.Generator's
interface over a NumPy Generator for the `generator=` arguments.

Deliberate difference from PyTorch: the numbers are NumPy's PCG64 stream, not torch's Mersenne
Twister: a seed makes a run repeatable, but the values differ from those torch draws with that seed.
"""
import numbers

import numpy as np

_generator = np.random.default_rng()


def manual_seed(seed):
    """Seeds every random draw firstepoch makes. As torch.manual_seed, the seed goes through int() (1.5,
    "1" and True are 1) and must fit 64 bits; a negative one wraps to its unsigned 64-bit value."""
    global _generator
    try:
        value = int(seed)
    except (TypeError, ValueError) as e:
        raise type(e)(f"manual_seed: seed must be an int or convertible by int(), got {seed!r} ({e})") from None
    if not -0x8000_0000_0000_0000 <= value <= 0xFFFF_FFFF_FFFF_FFFF:
        raise ValueError(f"Overflow when unpacking long long (manual_seed: seed {value} does not fit in 64 bits)")
    _generator = np.random.default_rng(value & 0xFFFF_FFFF_FFFF_FFFF)
    return _generator


def generator():
    return _generator


def get_state():
    """The generator's state (a dict of plain values), for checkpoints."""
    return _generator.bit_generator.state


def set_state(state):
    _generator.bit_generator.state = state


class Generator:
    """torch.Generator's interface: g = Generator().manual_seed(2147483647), then randn(..., generator=g).
    A separate stream from the global one (firstepoch.manual_seed). get_state() is the NumPy bit
    generator's state (a dict), not torch's ByteTensor; the values are NumPy's stream (see the module doc)."""

    __slots__ = ("_rng", "_seed", "device")

    def __init__(self, device="cpu"):
        from ._device import check_device
        self.device = check_device(device, "Generator")
        self.seed()

    def manual_seed(self, seed):
        """Restarts the stream from `seed` (an int); returns the generator, as torch."""
        if not isinstance(seed, numbers.Integral) or isinstance(seed, bool):
            raise TypeError(f"manual_seed: seed must be an int, got {type(seed).__name__}")
        seed = int(seed)
        if not -0x8000_0000_0000_0000 <= seed <= 0xFFFF_FFFF_FFFF_FFFF:
            raise RuntimeError(f"Overflow when unpacking long: seed {seed} does not fit in 64 bits")
        seed &= 0xFFFF_FFFF_FFFF_FFFF  # a negative seed wraps to its unsigned 64-bit value, as torch
        self._seed = seed
        self._rng = np.random.default_rng(seed)
        return self

    def seed(self):
        """Seeds the stream from the operating system's entropy; returns that seed."""
        seed = int(np.random.SeedSequence().generate_state(1, np.uint64)[0])
        self.manual_seed(seed)
        return seed

    def initial_seed(self):
        """The seed the stream last started from."""
        return self._seed

    def get_state(self):
        return self._rng.bit_generator.state

    def set_state(self, state):
        self._rng.bit_generator.state = state
        return self

    def __repr__(self):
        return f"Generator(initial_seed={self._seed})"


def as_generator(generator, who):
    """None (firstepoch.manual_seed's generator), an int seed, a firstepoch.Generator or a NumPy
    Generator -> the NumPy Generator to draw from."""
    if generator is None:
        return _generator
    if isinstance(generator, Generator):
        return generator._rng
    if isinstance(generator, np.random.Generator):
        return generator
    if isinstance(generator, numbers.Integral) and not isinstance(generator, bool):
        return np.random.default_rng(int(generator))
    raise TypeError(f"{who}: generator must be None, a firstepoch.Generator, an int seed or a "
                    f"numpy.random.Generator, got {type(generator).__name__}")
