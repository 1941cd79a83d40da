"""firstepoch.backends: torch.backends' queries, answered for a CPU-only library (scripts check
`torch.backends.mps.is_available()` and set `torch.backends.cudnn.deterministic`)."""
from . import cudnn, mps

__all__ = ["cudnn", "mps"]
