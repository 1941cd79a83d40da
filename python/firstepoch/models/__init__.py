"""Classic models built from firstepoch.nn."""
from .lenet import LeNet5
from .resnet import BasicBlock, ResNetSmall, resnet_small

__all__ = ["LeNet5", "BasicBlock", "ResNetSmall", "resnet_small"]
