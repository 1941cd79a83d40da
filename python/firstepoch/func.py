"""torch.func, the part firstepoch has: functional_call (a module called with parameters and buffers taken
from a dict, or a sequence of dicts, for the one call)."""
from .nn.utils.stateless import _functional_call as functional_call

__all__ = ["functional_call"]
