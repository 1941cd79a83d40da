"""ResNet-18 and ResNet-34 in torchvision's module names and layout (a torchvision state dict loads as
it is) with versions for 32x32 images, and ResNetSmall, a narrow three-stage ResNet for 28x28 digits."""
from .. import nn
from ._common import check_no_weights


def conv3x3(in_planes, out_planes, stride=1, groups=1, dilation=1):
    """3x3 convolution with padding, no bias (torchvision's helper)."""
    return nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=dilation, groups=groups,
                     bias=False, dilation=dilation)


def conv1x1(in_planes, out_planes, stride=1):
    """1x1 convolution, no bias (torchvision's helper)."""
    return nn.Conv2d(in_planes, out_planes, kernel_size=1, stride=stride, bias=False)


class BasicBlock(nn.Module):
    """torchvision's BasicBlock: conv1 (3x3, stride), bn1, relu, conv2 (3x3), bn2, plus the shortcut:
    x itself, or downsample(x) when given (ResNet passes a 1x1 convolution and batch norm when the
    stride or the width changes), then relu. Only groups=1, base_width=64, dilation=1, as torchvision."""
    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None, groups=1, base_width=64, dilation=1,
                 norm_layer=None):
        super().__init__()
        if norm_layer is None:
            norm_layer = nn.BatchNorm2d
        if groups != 1 or base_width != 64:
            raise ValueError("BasicBlock only supports groups=1 and base_width=64")
        if dilation > 1:
            raise NotImplementedError("Dilation > 1 not supported in BasicBlock")
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = norm_layer(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = norm_layer(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class ResNet(nn.Module):
    """torchvision's ResNet with BasicBlocks: conv1 (7x7/2, 64), bn1, relu, maxpool (3x3/2, padding 1),
    layer1..layer4 (64, 128, 256, 512 channels; the first block of layer2..4 halves the size through a
    `downsample` of conv1x1 + batch norm), avgpool (AdaptiveAvgPool2d((1, 1))), fc. Initialised as
    torchvision: convolutions Kaiming-normal (fan_out), batch norm 1 and 0, fc PyTorch's default;
    zero_init_residual=True zeroes each block's bn2 weight. Takes (N, in_channels, H, W), any H, W.

    How it differs from the paper (He, Zhang, Ren, Sun, 2015), as torchvision's does: the shortcut
    when the shape changes is the paper's option B (a 1x1 projection) with batch norm after it; the
    paper's CIFAR-10 networks were a different family (three stages of 16-32-64 channels, 6n+2 layers,
    option A's zero-padding shortcut), not these. The bottleneck blocks of ResNet-50 and up are not here.

    small_input=True (keyword; resnet18_32 and resnet34_32 set it) is the CIFAR-10 ResNet-18 common in
    PyTorch code: conv1 is a 3x3 stride-1 convolution (padding 1) and maxpool is nn.Identity(), so a
    32x32 image reaches layer4 as 4x4. Every other module and weight shape is torchvision's (only
    conv1.weight's shape differs). Deliberate additions to torchvision's signature: in_channels and
    small_input (keyword only); groups, width_per_group, replace_stride_with_dilation and norm_layer
    are not taken."""

    def __init__(self, block, layers, num_classes=1000, zero_init_residual=False, *, in_channels=3,
                 small_input=False):
        super().__init__()
        self.inplanes = 64
        self.small_input = small_input
        if small_input:
            self.conv1 = nn.Conv2d(in_channels, 64, kernel_size=3, stride=1, padding=1, bias=False)
        else:
            self.conv1 = nn.Conv2d(in_channels, 64, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.Identity() if small_input else nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, 64, layers[0])
        self.layer2 = self._make_layer(block, 128, layers[1], stride=2)
        self.layer3 = self._make_layer(block, 256, layers[2], stride=2)
        self.layer4 = self._make_layer(block, 512, layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512 * block.expansion, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)
        if zero_init_residual:
            for m in self.modules():
                if isinstance(m, BasicBlock):
                    nn.init.constant_(m.bn2.weight, 0)

    def _make_layer(self, block, planes, blocks, stride=1):
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(conv1x1(self.inplanes, planes * block.expansion, stride),
                                       nn.BatchNorm2d(planes * block.expansion))
        layers = [block(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * block.expansion
        layers += [block(self.inplanes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        x = self.avgpool(x).flatten(1)
        return self.fc(x)


def resnet18(*, weights=None, progress=True, **kwargs):
    """ResNet-18 (BasicBlocks [2, 2, 2, 2]), torchvision's layout; kwargs: num_classes=1000,
    zero_init_residual=False, in_channels=3, small_input=False. weights must be None (load a state dict)."""
    check_no_weights("resnet18", weights)
    return ResNet(BasicBlock, [2, 2, 2, 2], **kwargs)


def resnet34(*, weights=None, progress=True, **kwargs):
    """ResNet-34 (BasicBlocks [3, 4, 6, 3]); as resnet18."""
    check_no_weights("resnet34", weights)
    return ResNet(BasicBlock, [3, 4, 6, 3], **kwargs)


def resnet18_32(num_classes=10, in_channels=3, **kwargs):
    """ResNet-18 for 32x32 images (3x3 stride-1 conv1, no max pool), 10 classes by default."""
    return ResNet(BasicBlock, [2, 2, 2, 2], num_classes, in_channels=in_channels, small_input=True, **kwargs)


def resnet34_32(num_classes=10, in_channels=3, **kwargs):
    """ResNet-34 for 32x32 images; as resnet18_32."""
    return ResNet(BasicBlock, [3, 4, 6, 3], num_classes, in_channels=in_channels, small_input=True, **kwargs)


class _ShortcutBlock(nn.Module):
    """ResNetSmall's block: as BasicBlock, with the shortcut (identity, or 1x1 convolution and batch
    norm) built from the shapes and named `shortcut`."""

    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                                          nn.BatchNorm2d(out_channels))
        else:
            self.shortcut = nn.Identity()

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + self.shortcut(x))


class ResNetSmall(nn.Module):
    """A narrow ResNet for 28x28 / 32x32 images: a 3x3 stem, one block per stage of 16, 32, 64
    channels by default (the second and third halve the size), global average pool, fc."""

    def __init__(self, num_classes=10, in_channels=1, widths=(16, 32, 64), blocks=(1, 1, 1)):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(in_channels, widths[0], 3, padding=1, bias=False),
                                  nn.BatchNorm2d(widths[0]), nn.ReLU())
        layers = []
        c = widths[0]
        for i, (w, n) in enumerate(zip(widths, blocks)):
            for j in range(n):
                layers.append(_ShortcutBlock(c, w, stride=2 if (i > 0 and j == 0) else 1))
                c = w
        self.layers = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(c, num_classes)

    def forward(self, x):
        x = self.pool(self.layers(self.stem(x)))
        return self.fc(x.flatten(1))


def resnet_small(num_classes=10, in_channels=1, widths=(16, 32, 64), blocks=(1, 1, 1)):
    return ResNetSmall(num_classes, in_channels, widths, blocks)
