"""A two-layer MLP trained with SGD + momentum in plain NumPy, forward and backward by hand, as a
learner writes it: the baseline bench/train.py measures firstepoch against."""
import numpy as np


class NumpyMLP:
    """784-128-10 (sizes configurable) ReLU MLP with softmax cross-entropy, PyTorch's initialisation."""

    def __init__(self, sizes=(784, 128, 10), seed=0, dtype=np.float32):
        rng = np.random.default_rng(seed)
        self.params = []
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
            bound = 1 / np.sqrt(fan_in)
            w = rng.uniform(-bound, bound, (fan_out, fan_in)).astype(dtype)
            b = rng.uniform(-bound, bound, fan_out).astype(dtype)
            self.params += [w, b]
        self.velocity = [np.zeros_like(p) for p in self.params]

    def loss_and_grads(self, x, y):
        w1, b1, w2, b2 = self.params
        h_pre = x @ w1.T + b1
        h = np.maximum(h_pre, 0)
        logits = h @ w2.T + b2
        shifted = logits - logits.max(axis=1, keepdims=True)
        logp = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        n = len(y)
        loss = -logp[np.arange(n), y].mean()
        dlogits = np.exp(logp)
        dlogits[np.arange(n), y] -= 1
        dlogits /= n
        dw2 = dlogits.T @ h
        db2 = dlogits.sum(axis=0)
        dh = dlogits @ w2
        dh[h_pre <= 0] = 0
        dw1 = dh.T @ x
        db1 = dh.sum(axis=0)
        return loss, [dw1, db1, dw2, db2]

    def step(self, grads, lr=0.05, momentum=0.9):
        for p, v, g in zip(self.params, self.velocity, grads):
            v *= momentum
            v += g
            p -= lr * v

    def predict(self, x):
        w1, b1, w2, b2 = self.params
        return (np.maximum(x @ w1.T + b1, 0) @ w2.T + b2).argmax(axis=1)
