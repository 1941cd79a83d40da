"""`device`: PyTorch's device names, parsed as torch.device parses them. firstepoch runs on the CPU
only: "cuda", "mps" and the rest parse (scripts build them before checking is_available), but any use
of one raises a RuntimeError that names it."""

# the device types torch.device accepts, in its order (its error message lists them)
_TYPES = ("cpu", "cuda", "ipu", "xpu", "mkldnn", "opengl", "opencl", "ideep", "hip", "ve", "fpga", "maia", "xla",
          "lazy", "vulkan", "mps", "meta", "hpu", "mtia", "privateuseone")


class device:
    """A device name: device("cpu"), device("cuda:1"), device("cuda", 0); .type, .index, str/repr/==
    and hashing as torch.device. Only "cpu" can hold tensors here."""

    __slots__ = ("type", "index")

    def __init__(self, type, index=None):
        if isinstance(type, device):
            if index is not None:
                raise TypeError("device: an index cannot be given with a device object")
            self.type, self.index = type.type, type.index
            return
        if isinstance(type, int) and not isinstance(type, bool):  # torch.device(0): accelerator 0
            type, index = "cuda", type
        if not isinstance(type, str):
            raise TypeError(f"device: expected a str, a device or an int, got {builtins_type(type).__name__}")
        name, _, idx = type.partition(":")
        if idx:
            if index is not None:
                raise RuntimeError(f"device: type (string) must not include an index because index was passed "
                                   f"explicitly: {type}")
            if not idx.isdigit():
                raise RuntimeError(f"Invalid device string: '{type}'")
            index = int(idx)
        if name not in _TYPES:
            raise RuntimeError(f"Expected one of {', '.join(_TYPES)} device type at start of device string: {type}")
        if index is not None and (not isinstance(index, int) or isinstance(index, bool) or index < 0):
            raise RuntimeError(f"Device index must not be negative, got {index}")
        self.type, self.index = name, index

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self):
        if self.index is None:
            return f"device(type='{self.type}')"
        return f"device(type='{self.type}', index={self.index})"

    def __eq__(self, other):
        if not isinstance(other, device):
            return NotImplemented  # as torch: device("cpu") == "cpu" is False
        return self.type == other.type and self.index == other.index

    def __hash__(self):
        return hash((self.type, self.index))

    def __reduce__(self):
        return (device, (self.type, self.index))


builtins_type = type
CPU = device("cpu")


def check_device(dev, who):
    """None, "cpu" or a cpu device pass; another device is a RuntimeError naming it (firstepoch is
    CPU-only); something that is not a device name is a TypeError. Returns the device (CPU for None)."""
    if dev is None or dev == "cpu":
        return CPU
    if not isinstance(dev, device):
        if not isinstance(dev, (str, int)) or isinstance(dev, bool):
            raise TypeError(f"{who}: device must be a str or a firstepoch.device, got {builtins_type(dev).__name__}")
        dev = device(dev)
    if dev.type != "cpu":
        raise RuntimeError(f"{who}: device '{dev}' is not available: firstepoch runs on the CPU only "
                           f"(use device='cpu'; firstepoch.cuda.is_available() is False)")
    return dev
