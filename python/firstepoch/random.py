"""The global random state and torch's RNG functions: `default_generator`, one `Generator` (a NumPy
PCG64 stream) that initialisation, dropout and shuffling draw from, seeded by manual_seed (so a seed makes
a run repeatable); seed, initial_seed, get_rng_state / set_rng_state and fork_rng as torch.random's; and
`Generator`, torch.Generator's interface, for the `generator=` arguments.

Deliberate differences from PyTorch: the numbers are NumPy's PCG64 stream, not torch's Mersenne Twister:
a seed makes a run repeatable, but the values differ from those torch draws with that seed. A state
(get_rng_state, Generator.get_state) is a uint8 Tensor of 48 bytes, not torch's 5056: it restores what
it saved, it is not interchangeable with torch's.
"""
import contextlib
import numbers

import numpy as np

_STATE_BYTES = 48  # PCG64 state (16 bytes) and increment (16), the buffered uint32 (4), its flag (4), seed (8)


def manual_seed(seed):
    """Seeds every random draw firstepoch makes (default_generator) and returns default_generator, as
    torch.manual_seed. The seed goes through int() (1.5, "1" and True are 1) and must fit 64 bits; a
    negative one wraps to its unsigned 64-bit value."""
    try:
        value = int(seed)
    except (TypeError, ValueError) as e:
        raise type(e)(f"manual_seed: seed must be an int or convertible by int(), got {seed!r} ({e})") from None
    if not -0x8000_0000_0000_0000 <= value <= 0xFFFF_FFFF_FFFF_FFFF:
        raise ValueError(f"Overflow when unpacking long long (manual_seed: seed {value} does not fit in 64 bits)")
    return default_generator.manual_seed(value)


def seed():
    """Seeds default_generator from the operating system's entropy and returns that seed (torch.seed)."""
    return default_generator.seed()


def initial_seed():
    """The seed default_generator last started from (manual_seed's, seed()'s, or a DataLoader worker's
    base_seed + worker_id inside that worker), as torch.initial_seed."""
    return default_generator.initial_seed()


def get_rng_state():
    """default_generator's state as a uint8 Tensor (a copy), for set_rng_state (torch.get_rng_state;
    48 bytes, not torch's 5056: see the module doc)."""
    return default_generator.get_state()


def set_rng_state(new_state):
    """Restores default_generator to a state get_rng_state returned (its seed too), as torch.set_rng_state."""
    default_generator.set_state(new_state)


@contextlib.contextmanager
def fork_rng(devices=None, enabled=True, _caller="fork_rng", _devices_kw="devices", device_type="cuda"):
    """torch.random.fork_rng: the random state inside the block is restored when the block ends, so draws
    made there do not change what comes after. There are no CUDA generators: `devices` is accepted and
    only an empty or CPU-free list is meaningful; the CPU generator is always forked (as torch)."""
    if not enabled:
        yield
        return
    state = get_rng_state()
    try:
        yield
    finally:
        set_rng_state(state)


def generator():
    """The NumPy Generator firstepoch's own draws come from (default_generator's)."""
    return default_generator._rng


def get_state():
    """The global generator's state (a dict of plain values, JSON-able), for checkpoints."""
    return default_generator._rng.bit_generator.state


def set_state(state):
    default_generator._rng.bit_generator.state = state


class Generator:
    """torch.Generator's interface: g = Generator().manual_seed(2147483647), then randn(..., generator=g).
    A separate stream from the global one (default_generator, which firstepoch.manual_seed seeds).
    get_state() is a uint8 Tensor of 48 bytes, not torch's 5056; the values are NumPy's stream (see the
    module doc)."""

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
        """The stream's state and initial seed as a uint8 Tensor (a copy), for set_state."""
        from .tensor import Tensor
        st = self._rng.bit_generator.state
        if st.get("bit_generator") != "PCG64":
            raise RuntimeError(f"get_state: a {st.get('bit_generator')} stream has no state in this format")
        out = np.empty(_STATE_BYTES, np.uint8)
        out[0:16] = np.frombuffer(st["state"]["state"].to_bytes(16, "little"), np.uint8)
        out[16:32] = np.frombuffer(st["state"]["inc"].to_bytes(16, "little"), np.uint8)
        out[32:36] = np.frombuffer(int(st["uinteger"]).to_bytes(4, "little"), np.uint8)
        out[36:40] = np.frombuffer(int(st["has_uint32"]).to_bytes(4, "little"), np.uint8)
        out[40:48] = np.frombuffer(self._seed.to_bytes(8, "little"), np.uint8)
        return Tensor(out)

    def set_state(self, new_state):
        """Restores a state get_state returned (a uint8 Tensor of 48 bytes, any shape, as torch reads its
        bytes); the dict firstepoch.random.get_state gives is taken too. Returns the generator."""
        from .tensor import Tensor
        if isinstance(new_state, dict):
            self._rng.bit_generator.state = new_state
            return self
        if not isinstance(new_state, Tensor):
            raise TypeError(f"expected a torch.ByteTensor, but got {type(new_state).__name__}")
        if new_state.dtype != np.uint8:
            raise TypeError(f"RNG state must be a torch.ByteTensor (a uint8 Tensor), got dtype {new_state.dtype}")
        b = np.ascontiguousarray(new_state.numpy()).reshape(-1)
        if b.size != _STATE_BYTES:
            raise RuntimeError(f"Expected a firstepoch generator state of size {_STATE_BYTES} but found the input "
                               f"RNG state size to be {b.size}")
        state = {"bit_generator": "PCG64",
                 "state": {"state": int.from_bytes(b[0:16].tobytes(), "little"),
                           "inc": int.from_bytes(b[16:32].tobytes(), "little")},
                 "uinteger": int.from_bytes(b[32:36].tobytes(), "little"),
                 "has_uint32": int.from_bytes(b[36:40].tobytes(), "little")}
        if state["has_uint32"] not in (0, 1) or state["state"]["inc"] % 2 != 1:
            raise RuntimeError("set_state: these 48 bytes are not a generator state get_state wrote")
        rng = np.random.default_rng()
        rng.bit_generator.state = state
        self._rng, self._seed = rng, int.from_bytes(b[40:48].tobytes(), "little")
        return self

    def __repr__(self):
        return f"Generator(initial_seed={self._seed})"


def as_generator(generator, who):
    """None (firstepoch.manual_seed's generator), an int seed, a firstepoch.Generator or a NumPy
    Generator -> the NumPy Generator to draw from."""
    if generator is None:
        return default_generator._rng
    if isinstance(generator, Generator):
        return generator._rng
    if isinstance(generator, np.random.Generator):
        return generator
    if isinstance(generator, numbers.Integral) and not isinstance(generator, bool):
        return np.random.default_rng(int(generator))
    raise TypeError(f"{who}: generator must be None, a firstepoch.Generator, an int seed or a "
                    f"numpy.random.Generator, got {type(generator).__name__}")


default_generator = Generator()  # the global stream: manual_seed, seed, get_rng_state act on it
