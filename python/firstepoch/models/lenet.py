"""LeNet-5 (LeCun et al., 1998) in its common modern form: ReLU and max pooling, 28x28 inputs padded
by the first convolution to the paper's 32x32 field. Other sizes and channel counts size the first
convolution and the first Linear to fit (at least 12 x 12: the second convolution needs a 5 x 5 field)."""
from .. import nn


class LeNet5(nn.Module):
    def __init__(self, num_classes=10, in_channels=1, image_size=28):
        super().__init__()
        h, w = (image_size, image_size) if isinstance(image_size, int) else tuple(image_size)
        fh, fw = (h // 2 - 4) // 2, (w // 2 - 4) // 2   # after conv(pad 2), pool, conv 5, pool
        if fh < 1 or fw < 1:
            raise ValueError(f"LeNet5: image_size must be at least 12 x 12 (two 2x2 poolings around a 5x5 "
                             f"convolution), got {h} x {w}")
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),   # 6 x 14 x 14 for 28 x 28
            nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),                       # 16 x 5 x 5
        )
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(16 * fh * fw, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, num_classes),
        )

    def forward(self, x):
        return self.classifier(self.features(x))
