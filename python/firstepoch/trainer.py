"""`firstepoch.trainer`: the name the README gives the training loop. The code lives in firstepoch.train
(its docstring gives the tree and read order); this module is that package's public API under the
documented name, the same objects."""
from .train import *  # noqa: F401,F403
from .train import __all__  # noqa: F401
