"""An LSTM that reads an image row by row: H steps of C*W pixels (28 of 28 for MNIST), then a Linear on
the last hidden state."""
from .. import nn


class LSTMClassifier(nn.Module):
    """(N, C, H, W) or (N, H, W) images -> (N, num_classes) logits; the H rows are the time steps, each
    the row's C*W values (channels side by side). input_size must be C*W."""

    def __init__(self, input_size=28, hidden_size=128, num_classes=10, in_channels=1):
        super().__init__()
        self.in_channels = in_channels
        self.lstm = nn.LSTM(input_size, hidden_size, batch_first=True)
        self.fc = nn.Linear(hidden_size, num_classes)

    def forward(self, x):
        if x.ndim == 4:
            n, c, h, w = x.shape
            x = x.reshape(n, h, w) if c == 1 else x.permute(0, 2, 1, 3).reshape(n, h, c * w)
        out, _ = self.lstm(x)          # (N, T, hidden)
        return self.fc(out[:, -1])     # the last step's hidden state
