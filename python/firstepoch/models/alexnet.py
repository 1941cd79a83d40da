"""AlexNet with torchvision's module names and layout (a torchvision state dict loads as it is), and
AlexNet-32, the same network sized for 32x32 images (CIFAR-10)."""
from .. import nn
from ._common import check_no_weights


class AlexNet(nn.Module):
    """torchvision's AlexNet: `features` (five convolutions, three max pools), `avgpool`
    (AdaptiveAvgPool2d((6, 6))), `classifier` (Dropout, Linear 9216->4096, ReLU, Dropout, Linear
    4096->4096, ReLU, Linear 4096->num_classes), initialised as torchvision does (each layer's default).
    Takes (N, in_channels, H, W) with H, W >= 63 (224 in the paper).

    How it differs from the paper (Krizhevsky, Sutskever, Hinton, 2012), as torchvision's does: it is
    the single-tower form of "One weird trick..." (Krizhevsky, 2014). The paper split every layer over
    two GPUs (the 2nd, 4th and 5th convolutions saw only their own GPU's half of the channels, i.e.
    groups=2), had 96-256-384-384-256 filters where this has 64-192-384-256-256, applied local response
    normalisation after the first two convolutions (none here), used overlapping 3x3/2 pooling as here,
    and a 224 input with no padding where this pads the first convolution by 2.

    small_input=True (keyword; `alexnet32` sets it) keeps every module name and weight shape and changes
    what has no weights, after the CIFAR-10 AlexNet common in PyTorch code: the first convolution pads by
    5 (32x32 -> 8x8), the three max pools are 2x2/2 with ceil_mode=True (8 -> 4 -> 2 -> 1; 28x28 input
    works too), and `avgpool` is AdaptiveAvgPool2d((1, 1)), so the classifier starts from 256 features
    (Linear 256->4096). Deliberate additions to torchvision's signature: in_channels and small_input
    (keyword only)."""

    def __init__(self, num_classes=1000, dropout=0.5, *, in_channels=3, small_input=False):
        super().__init__()
        self.small_input = small_input
        if small_input:
            pad1, pool, pooled = 5, dict(kernel_size=2, stride=2, ceil_mode=True), 1
        else:
            pad1, pool, pooled = 2, dict(kernel_size=3, stride=2), 6
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 64, kernel_size=11, stride=4, padding=pad1),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(**pool),
            nn.Conv2d(64, 192, kernel_size=5, padding=2),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(**pool),
            nn.Conv2d(192, 384, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(384, 256, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(256, 256, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(**pool),
        )
        self.avgpool = nn.AdaptiveAvgPool2d((pooled, pooled))
        self.classifier = nn.Sequential(
            nn.Dropout(p=dropout),
            nn.Linear(256 * pooled * pooled, 4096),
            nn.ReLU(inplace=True),
            nn.Dropout(p=dropout),
            nn.Linear(4096, 4096),
            nn.ReLU(inplace=True),
            nn.Linear(4096, num_classes),
        )

    def forward(self, x):
        x = self.features(x)
        x = self.avgpool(x)
        x = x.flatten(1)
        return self.classifier(x)


def alexnet(*, weights=None, progress=True, **kwargs):
    """AlexNet (torchvision's layout, 224x224 input); kwargs go to AlexNet (num_classes=1000,
    dropout=0.5, in_channels=3, small_input=False). firstepoch downloads nothing: weights must be None;
    load torchvision's numbers with model.load_state_dict(state_dict)."""
    check_no_weights("alexnet", weights)
    return AlexNet(**kwargs)


def alexnet32(num_classes=10, in_channels=3, **kwargs):
    """AlexNet-32: AlexNet(small_input=True) for 32x32 (or 28x28) images, 10 classes by default."""
    return AlexNet(num_classes=num_classes, in_channels=in_channels, small_input=True, **kwargs)
