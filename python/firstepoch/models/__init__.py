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


def image_hw(image_size, who="models.create"):
    """(height, width) of an int or an (h, w) pair, each a positive int."""
    if isinstance(image_size, int) and not isinstance(image_size, bool):
        image_size = (image_size, image_size)
    try:
        h, w = (int(v) for v in image_size)
    except (TypeError, ValueError):
        raise ValueError(f"{who}: image_size must be an int or (height, width), got {image_size!r}") from None
    if h < 1 or w < 1:
        raise ValueError(f"{who}: image_size must be positive, got {(h, w)}")
    return h, w


def mlp(num_classes=10, hidden=256, in_channels=1, image_size=28):
    """C*H*W-hidden-num_classes with ReLU; takes (N, C, H, W) images (flattened first), (N, 1, 28, 28) by default."""
    h, w = image_hw(image_size, "mlp")
    return nn.Sequential(nn.Flatten(), nn.Linear(in_channels * h * w, hidden), nn.ReLU(),
                         nn.Linear(hidden, num_classes))


def create(name, num_classes=10, in_channels=1, image_size=28):
    """A fresh model by its command-line name (NAMES): 'mlp', 'lenet', 'resnet-small', 'lstm', or one of
    torchvision's (ZOO: 'alexnet', 'vgg11', 'vgg11_bn', 'vgg16', 'vgg16_bn', 'resnet18', 'resnet34'), for
    (N, in_channels, H, W) images, image_size H = W (an int) or (H, W), and num_classes outputs. A ZOO model
    is its 32x32 version (small_input=True) when both sides are <= 64, torchvision's own above.
    ValueError when the model cannot take that input (LeNet needs at least 12 x 12)."""
    if not (isinstance(num_classes, int) and num_classes >= 1):
        raise ValueError(f"models.create: num_classes must be a positive int, got {num_classes!r}")
    if not (isinstance(in_channels, int) and in_channels >= 1):
        raise ValueError(f"models.create: in_channels must be a positive int, got {in_channels!r}")
    hw = image_hw(image_size)
    if name in ZOO:
        return ZOO[name](num_classes=num_classes, in_channels=in_channels, small_input=max(hw) <= 64)
    if name == "mlp":
        return mlp(num_classes, in_channels=in_channels, image_size=hw)
    if name == "lenet":
        return LeNet5(num_classes, in_channels, hw)
    if name == "resnet-small":
        return resnet_small(num_classes, in_channels)
    if name == "lstm":
        from .lstm import LSTMClassifier
        return LSTMClassifier(input_size=in_channels * hw[1], num_classes=num_classes, in_channels=in_channels)
    raise ValueError(f"models.create: name must be one of {', '.join(NAMES)}, got {name!r}")


__all__ = ["LeNet5", "BasicBlock", "ResNetSmall", "resnet_small", "mlp", "create", "NAMES", "ZOO",
           "AlexNet", "alexnet", "alexnet32", "VGG", "make_layers", "vgg11", "vgg11_bn", "vgg16", "vgg16_bn",
           "vgg11_32", "vgg11_bn_32", "vgg16_32", "vgg16_bn_32", "ResNet", "resnet18", "resnet34", "resnet18_32",
           "resnet34_32"]
