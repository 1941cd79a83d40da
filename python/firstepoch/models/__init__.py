"""Classic models built from firstepoch.nn, and create(name) for the command line."""
from .. import nn
from .lenet import LeNet5
from .resnet import BasicBlock, ResNetSmall, resnet_small

NAMES = ("mlp", "lenet", "resnet-small", "lstm")


def mlp(num_classes=10, hidden=256):
    """784-hidden-10 with ReLU; takes (N, 1, 28, 28) images (flattened first)."""
    return nn.Sequential(nn.Flatten(), nn.Linear(784, hidden), nn.ReLU(), nn.Linear(hidden, num_classes))


def create(name, num_classes=10):
    """A fresh model by its command-line name: 'mlp', 'lenet', 'resnet-small' or 'lstm'; each takes
    (N, 1, 28, 28) images."""
    if name == "mlp":
        return mlp(num_classes)
    if name == "lenet":
        return LeNet5(num_classes)
    if name == "resnet-small":
        return resnet_small(num_classes)
    if name == "lstm":
        from .lstm import LSTMClassifier
        return LSTMClassifier(num_classes=num_classes)
    raise ValueError(f"models.create: name must be one of {', '.join(NAMES)}, got {name!r}")


__all__ = ["LeNet5", "BasicBlock", "ResNetSmall", "resnet_small", "mlp", "create", "NAMES"]
