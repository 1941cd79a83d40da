"""An LSTM that reads an image row by row: 28 steps of 28 pixels, then a Linear on the last hidden state."""
from .. import nn


class LSTMClassifier(nn.Module):
    """(N, 1, H, W) or (N, H, W) images -> (N, num_classes) logits; the H rows are the time steps."""

    def __init__(self, input_size=28, hidden_size=128, num_classes=10):
        super().__init__()
        self.lstm = nn.LSTM(input_size, hidden_size, batch_first=True)
        self.fc = nn.Linear(hidden_size, num_classes)

    def forward(self, x):
        if x.ndim == 4:
            x = x.reshape(x.shape[0], x.shape[2], x.shape[3])
        out, _ = self.lstm(x)          # (N, T, hidden)
        return self.fc(out[:, -1])     # the last step's hidden state
