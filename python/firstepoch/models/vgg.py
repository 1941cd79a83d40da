"""VGG-11 and VGG-16, with and without batch norm, in torchvision's module names and layout (a
torchvision state dict loads as it is), and VGG-32 versions sized for 32x32 images (CIFAR-10)."""
from .. import nn
from ._common import check_no_weights

# torchvision's configurations: output channels of each 3x3 convolution, "M" a 2x2/2 max pool.
cfgs = {
    "A": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],                       # VGG-11
    "B": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],               # VGG-13
    "D": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],  # VGG-16
    "E": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M"],
}


def make_layers(cfg, batch_norm=False, *, in_channels=3, ceil_mode=False):
    """torchvision's make_layers: per entry Conv2d(3x3, padding 1) [+ BatchNorm2d] + ReLU, or
    MaxPool2d(2, 2). in_channels and ceil_mode (for the pools; keyword only) are firstepoch's additions."""
    layers = []
    for v in cfg:
        if v == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2, ceil_mode=ceil_mode))
            continue
        layers.append(nn.Conv2d(in_channels, v, kernel_size=3, padding=1))
        if batch_norm:
            layers.append(nn.BatchNorm2d(v))
        layers.append(nn.ReLU(inplace=True))
        in_channels = v
    return nn.Sequential(*layers)


class VGG(nn.Module):
    """torchvision's VGG around a `features` Sequential (make_layers): `avgpool`
    (AdaptiveAvgPool2d((7, 7))), `classifier` (Linear 25088->4096, ReLU, Dropout, Linear 4096->4096,
    ReLU, Dropout, Linear 4096->num_classes); init_weights=True initialises as torchvision (convolutions
    Kaiming-normal, fan_out, zero bias; batch norm 1 and 0; linear N(0, 0.01), zero bias). Takes
    (N, C, H, W) with H, W >= 32 (224 in the paper).

    How it differs from the paper (Simonyan and Zisserman, 2014), as torchvision's does: the adaptive
    average pool (the paper's 224 input gives 7x7 after the last pool; here any size does), Kaiming
    initialisation where the paper initialised VGG-11 from N(0, 0.01) and deeper nets from it, the
    `_bn` variants' batch norm after each convolution (batch norm came a year after the paper), and no
    test-time dense evaluation or multi-scale training.

    small_input=True (keyword; the `*_32` builders set it) follows the CIFAR-10 VGG common in PyTorch
    code: `features` is unchanged (its numbers load from torchvision's), `avgpool` is
    AdaptiveAvgPool2d((1, 1)) (32x32 input is 1x1 after five pools) and the classifier keeps its seven
    modules and names with 512 where torchvision has 25088 and 4096: Linear 512->512, ReLU, Dropout,
    Linear 512->512, ReLU, Dropout, Linear 512->num_classes. Build its features with
    make_layers(..., ceil_mode=True) for inputs below 32 (the builders do: 28x28 then works; 32x32 gives
    the same numbers either way). Deliberate addition to torchvision's signature: small_input (keyword)."""

    def __init__(self, features, num_classes=1000, init_weights=True, dropout=0.5, *, small_input=False):
        super().__init__()
        self.small_input = small_input
        pooled, hidden = (1, 512) if small_input else (7, 4096)
        self.features = features
        self.avgpool = nn.AdaptiveAvgPool2d((pooled, pooled))
        self.classifier = nn.Sequential(
            nn.Linear(512 * pooled * pooled, hidden),
            nn.ReLU(True),
            nn.Dropout(p=dropout),
            nn.Linear(hidden, hidden),
            nn.ReLU(True),
            nn.Dropout(p=dropout),
            nn.Linear(hidden, num_classes),
        )
        if init_weights:
            for m in self.modules():
                if isinstance(m, nn.Conv2d):
                    nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                    if m.bias is not None:
                        nn.init.constant_(m.bias, 0)
                elif isinstance(m, nn.BatchNorm2d):
                    nn.init.constant_(m.weight, 1)
                    nn.init.constant_(m.bias, 0)
                elif isinstance(m, nn.Linear):
                    nn.init.normal_(m.weight, 0, 0.01)
                    nn.init.constant_(m.bias, 0)

    def forward(self, x):
        x = self.features(x)
        x = self.avgpool(x)
        x = x.flatten(1)
        return self.classifier(x)


def _vgg(name, cfg, batch_norm, weights, in_channels=3, small_input=False, **kwargs):
    check_no_weights(name, weights)
    features = make_layers(cfgs[cfg], batch_norm, in_channels=in_channels, ceil_mode=small_input)
    return VGG(features, small_input=small_input, **kwargs)


def vgg11(*, weights=None, progress=True, **kwargs):
    """VGG-11 (configuration "A"), torchvision's layout; kwargs: num_classes=1000, init_weights=True,
    dropout=0.5, in_channels=3, small_input=False. weights must be None (load a state dict instead)."""
    return _vgg("vgg11", "A", False, weights, **kwargs)


def vgg11_bn(*, weights=None, progress=True, **kwargs):
    """VGG-11 with batch norm after each convolution; as vgg11."""
    return _vgg("vgg11_bn", "A", True, weights, **kwargs)


def vgg16(*, weights=None, progress=True, **kwargs):
    """VGG-16 (configuration "D"); as vgg11."""
    return _vgg("vgg16", "D", False, weights, **kwargs)


def vgg16_bn(*, weights=None, progress=True, **kwargs):
    """VGG-16 with batch norm after each convolution; as vgg11."""
    return _vgg("vgg16_bn", "D", True, weights, **kwargs)


def vgg11_32(num_classes=10, in_channels=3, **kwargs):
    """VGG-11 for 32x32 (or 28x28) images: VGG(small_input=True), 10 classes by default."""
    return _vgg("vgg11_32", "A", False, None, in_channels, True, num_classes=num_classes, **kwargs)


def vgg11_bn_32(num_classes=10, in_channels=3, **kwargs):
    """VGG-11 with batch norm for 32x32 images; as vgg11_32."""
    return _vgg("vgg11_bn_32", "A", True, None, in_channels, True, num_classes=num_classes, **kwargs)


def vgg16_32(num_classes=10, in_channels=3, **kwargs):
    """VGG-16 for 32x32 images; as vgg11_32."""
    return _vgg("vgg16_32", "D", False, None, in_channels, True, num_classes=num_classes, **kwargs)


def vgg16_bn_32(num_classes=10, in_channels=3, **kwargs):
    """VGG-16 with batch norm for 32x32 images; as vgg11_32."""
    return _vgg("vgg16_bn_32", "D", True, None, in_channels, True, num_classes=num_classes, **kwargs)
