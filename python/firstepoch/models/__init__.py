"""Classic models built from firstepoch.nn, and create(name) for the command line."""
from .. import nn
from .lenet import LeNet5
from .alexnet import AlexNet, alexnet, alexnet32
from .resnet import BasicBlock, ResNet, ResNetSmall, resnet18, resnet18_32, resnet34, resnet34_32, resnet_small
from .vgg import VGG, make_layers, vgg11, vgg11_32, vgg11_bn, vgg11_bn_32, vgg16, vgg16_32, vgg16_bn, vgg16_bn_32

# torchvision's layouts; create() picks the 32x32 version (small_input=True) for image_size <= 64
ZOO = {"alexnet": alexnet, "vgg11": vgg11, "vgg11_bn": vgg11_bn, "vgg16": vgg16, "vgg16_bn": vgg16_bn,
       "resnet18": resnet18, "resnet34": resnet34}
NAMES = ("mlp", "lenet", "resnet-small", "lstm") + tuple(ZOO)


def mlp(num_classes=10, hidden=256):
    """784-hidden-10 with ReLU; takes (N, 1, 28, 28) images (flattened first)."""
    return nn.Sequential(nn.Flatten(), nn.Linear(784, hidden), nn.ReLU(), nn.Linear(hidden, num_classes))


def create(name, num_classes=10, in_channels=1, image_size=28):
    """A fresh model by its command-line name (NAMES): 'mlp', 'lenet', 'resnet-small' or 'lstm', each
    taking (N, 1, 28, 28) images, or one of torchvision's (ZOO: 'alexnet', 'vgg11', 'vgg11_bn', 'vgg16',
    'vgg16_bn', 'resnet18', 'resnet34') for (N, in_channels, image_size, image_size) images: its 32x32
    version (small_input=True) when image_size <= 64, torchvision's own above."""
    if name in ZOO:
        return ZOO[name](num_classes=num_classes, in_channels=in_channels, small_input=image_size <= 64)
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


__all__ = ["LeNet5", "BasicBlock", "ResNetSmall", "resnet_small", "mlp", "create", "NAMES", "ZOO",
           "AlexNet", "alexnet", "alexnet32", "VGG", "make_layers", "vgg11", "vgg11_bn", "vgg16", "vgg16_bn",
           "vgg11_32", "vgg11_bn_32", "vgg16_32", "vgg16_bn_32", "ResNet", "resnet18", "resnet34", "resnet18_32",
           "resnet34_32"]
