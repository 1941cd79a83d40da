"""Image augmentation on NumPy batches (N, C, H, W) or single images (C, H, W): composable and
seeded (each transform draws from the generator it is given, or from firstepoch.manual_seed's)."""
import numpy as np

from .. import random as _random


def _batch(x):
    x = np.asarray(x)
    if x.ndim == 3:
        return x[None], True
    if x.ndim != 4:
        raise ValueError(f"transforms expect (N, C, H, W) or (C, H, W) images, got shape {x.shape}")
    return x, False


class Compose:
    def __init__(self, transforms):
        self.transforms = list(transforms)

    def __call__(self, x):
        for t in self.transforms:
            x = t(x)
        return x


class Normalize:
    """(x - mean) / std per channel."""

    def __init__(self, mean, std):
        self.mean = np.asarray(mean, np.float32).reshape(-1, 1, 1)
        self.std = np.asarray(std, np.float32).reshape(-1, 1, 1)
        if np.any(self.std <= 0):
            raise ValueError(f"Normalize: std must be positive, got {std}")

    def __call__(self, x):
        return ((np.asarray(x, np.float32) - self.mean) / self.std).astype(np.float32)


class RandomCrop:
    """Pad by `padding` (zeros) and cut a random size x size window: a random shift of up to `padding`."""

    def __init__(self, size, padding=0, generator=None):
        self.size = (size, size) if isinstance(size, int) else tuple(size)
        self.padding = padding
        self.generator = generator

    def __call__(self, x):
        xb, single = _batch(x)
        n, c, h, w = xb.shape
        p = self.padding
        th, tw = self.size
        if th > h + 2 * p or tw > w + 2 * p:
            raise ValueError(f"RandomCrop: size {self.size} is larger than the padded image {(h + 2 * p, w + 2 * p)}")
        padded = np.pad(xb, ((0, 0), (0, 0), (p, p), (p, p)))
        g = self.generator or _random.generator()
        top = g.integers(0, h + 2 * p - th + 1, n)
        left = g.integers(0, w + 2 * p - tw + 1, n)
        rows = top[:, None] + np.arange(th)[None]                     # (n, th)
        cols = left[:, None] + np.arange(tw)[None]                    # (n, tw)
        out = padded[np.arange(n)[:, None, None, None], np.arange(c)[None, :, None, None],
                     rows[:, None, :, None], cols[:, None, None, :]]
        return out[0] if single else out


class RandomRotation:
    """Rotate each image by a random angle in [-degrees, degrees] about its centre (bilinear, zeros outside)."""

    def __init__(self, degrees, generator=None):
        self.degrees = degrees
        self.generator = generator

    def __call__(self, x):
        xb, single = _batch(x)
        n, c, h, w = xb.shape
        g = self.generator or _random.generator()
        theta = np.deg2rad(g.uniform(-self.degrees, self.degrees, n))
        cy, cx = (h - 1) / 2, (w - 1) / 2
        yy, xx = np.meshgrid(np.arange(h) - cy, np.arange(w) - cx, indexing="ij")
        cos, sin = np.cos(theta)[:, None, None], np.sin(theta)[:, None, None]
        # inverse map: where in the source each output pixel comes from
        sy = cos * yy[None] - sin * xx[None] + cy
        sx = sin * yy[None] + cos * xx[None] + cx
        y0, x0 = np.floor(sy).astype(np.int64), np.floor(sx).astype(np.int64)
        fy, fx = sy - y0, sx - x0
        out = np.zeros((n, c, h, w), dtype=np.float32)
        img = np.arange(n)[:, None, None]
        for dy, dx, wgt in ((0, 0, (1 - fy) * (1 - fx)), (0, 1, (1 - fy) * fx), (1, 0, fy * (1 - fx)), (1, 1, fy * fx)):
            yi, xi = y0 + dy, x0 + dx
            ok = (yi >= 0) & (yi < h) & (xi >= 0) & (xi < w)
            vals = xb[img, :, np.clip(yi, 0, h - 1), np.clip(xi, 0, w - 1)]  # (n, h, w, c)
            out += np.moveaxis(vals * (wgt * ok)[..., None], -1, 1)
        out = out.astype(xb.dtype if xb.dtype.kind == "f" else np.float32)
        return out[0] if single else out
