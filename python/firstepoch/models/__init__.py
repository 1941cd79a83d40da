"""Classic models built from firstepoch.nn."""
from .lenet import LeNet5

__all__ = ["LeNet5"]
