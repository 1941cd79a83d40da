"""LeNet-5 trained with SGD + momentum in plain NumPy, every backward written out with the reference
convolution and pooling: the baseline bench/train.py lenet measures firstepoch against."""
import numpy as np

from . import conv as C, pool as P


class NumpyLeNet:
    def __init__(self, seed=0, dtype=np.float32):
        rng = np.random.default_rng(seed)

        def uniform(shape, fan_in):
            b = 1 / np.sqrt(fan_in)
            return rng.uniform(-b, b, shape).astype(dtype)

        self.params = [uniform((6, 1, 5, 5), 25), uniform(6, 25), uniform((16, 6, 5, 5), 150), uniform(16, 150),
                       uniform((120, 400), 400), uniform(120, 400), uniform((84, 120), 120), uniform(84, 120),
                       uniform((10, 84), 84), uniform(10, 84)]
        self.velocity = [np.zeros_like(p) for p in self.params]

    def loss_and_grads(self, x, y):
        c1w, c1b, c2w, c2b, f1w, f1b, f2w, f2b, f3w, f3b = self.params
        a1 = C.conv2d_forward(x, c1w, c1b, padding=2)
        r1 = np.maximum(a1, 0)
        p1, am1 = P.max_pool2d_forward(r1, 2)
        a2 = C.conv2d_forward(p1, c2w, c2b)
        r2 = np.maximum(a2, 0)
        p2, am2 = P.max_pool2d_forward(r2, 2)
        h0 = p2.reshape(len(x), -1)
        h1 = np.maximum(h0 @ f1w.T + f1b, 0)
        h2 = np.maximum(h1 @ f2w.T + f2b, 0)
        logits = h2 @ f3w.T + f3b
        shifted = logits - logits.max(axis=1, keepdims=True)
        logp = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        n = len(y)
        loss = -logp[np.arange(n), y].mean()
        d = np.exp(logp)
        d[np.arange(n), y] -= 1
        d /= n
        g_f3w, g_f3b = d.T @ h2, d.sum(0)
        d = (d @ f3w) * (h2 > 0)
        g_f2w, g_f2b = d.T @ h1, d.sum(0)
        d = (d @ f2w) * (h1 > 0)
        g_f1w, g_f1b = d.T @ h0, d.sum(0)
        d = (d @ f1w).reshape(p2.shape)
        d = P.max_pool2d_backward(d, am2, r2.shape, 2) * (a2 > 0)
        d, g_c2w, g_c2b = C.conv2d_backward(p1, c2w, d)
        d = P.max_pool2d_backward(d, am1, r1.shape, 2) * (a1 > 0)
        _, g_c1w, g_c1b = C.conv2d_backward(x, c1w, d, padding=2)
        return loss, [g_c1w, g_c1b, g_c2w, g_c2b, g_f1w, g_f1b, g_f2w, g_f2b, g_f3w, g_f3b]

    def step(self, grads, lr=0.05, momentum=0.9):
        for p, v, g in zip(self.params, self.velocity, grads):
            v *= momentum
            v += g
            p -= lr * v
