"""firstepoch.utils: where torch scripts import their data tools from. firstepoch.utils.data is
firstepoch.data itself (the same module object), so `from firstepoch.utils.data import DataLoader`
and `import firstepoch.utils.data as D` both work."""
import sys as _sys

from .. import data

_sys.modules[__name__ + ".data"] = data

__all__ = ["data"]
