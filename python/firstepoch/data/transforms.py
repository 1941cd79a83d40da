"""Image transforms, composable (Compose) and seeded (each random one draws from the generator it is
given, or from firstepoch.manual_seed's).

On NumPy batches (N, C, H, W) or single images (C, H, W): RandomCrop, RandomRotation, Normalize.
On single images as torchvision's (Pillow images or uint8 (H, W[, C]) arrays, then ToTensor's float
(C, H, W)): Resize, CenterCrop, RandomResizedCrop, RandomHorizontalFlip, ColorJitter, ToTensor.
"""
import math
import sys

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
    """(x - mean) / std per channel of float (C, H, W) or (N, C, H, W) arrays; inplace=True writes into a
    float32 x, as torchvision."""

    def __init__(self, mean, std, inplace=False):
        self.inplace = inplace
        self.mean = np.asarray(mean, np.float32).reshape(-1, 1, 1)
        self.std = np.asarray(std, np.float32).reshape(-1, 1, 1)
        if np.any(self.std <= 0):
            raise ValueError(f"Normalize: std must be positive, got {std}")

    def __call__(self, x):
        if self.inplace and isinstance(x, np.ndarray) and x.dtype == np.float32:
            x -= self.mean
            x /= self.std
            return x
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


# ---- image transforms: one image at a time, as torchvision's --------------------------------------------
# An image is a Pillow image or a NumPy array. uint8 arrays are Pillow's layout, (H, W) or (H, W, C);
# float arrays are ToTensor's, (C, H, W) (or (N, C, H, W)). Geometric transforms return what they are
# given (a Pillow image for a Pillow image, an array for an array); the resampling ones (Resize,
# RandomResizedCrop) and ColorJitter go through Pillow, so they take Pillow images and uint8 arrays
# only: put them before ToTensor, as with torchvision's Pillow path.

class InterpolationMode:
    """torchvision.transforms.InterpolationMode's names for Pillow's filters."""
    NEAREST = "nearest"
    BILINEAR = "bilinear"
    BICUBIC = "bicubic"
    BOX = "box"
    HAMMING = "hamming"
    LANCZOS = "lanczos"


def _pil():
    from PIL import Image
    return Image


def _pil_filter(interpolation):
    Image = _pil()
    filters = {"nearest": Image.NEAREST, "bilinear": Image.BILINEAR, "bicubic": Image.BICUBIC,
               "box": Image.BOX, "hamming": Image.HAMMING, "lanczos": Image.LANCZOS}
    if interpolation not in filters:
        known = ", ".join(f"InterpolationMode.{k.upper()}" for k in filters)
        raise ValueError(f"interpolation must be one of {known}, got {interpolation!r}")
    return filters[interpolation]


def _is_pil(img):
    Image = sys.modules.get("PIL.Image")  # not imported yet: img cannot be a Pillow image
    return Image is not None and isinstance(img, Image.Image)


def _kind(img, who):
    """'pil', 'hwc' (a uint8 array in Pillow's layout) or 'chw' (a float array, ToTensor's layout)."""
    if _is_pil(img):
        return "pil"
    if isinstance(img, np.ndarray):
        if img.dtype == np.uint8 and img.ndim in (2, 3):
            return "hwc"
        if img.dtype.kind == "f" and img.ndim >= 3:
            return "chw"
        raise TypeError(f"{who}: expected a Pillow image, a uint8 (H, W) or (H, W, C) array, or a float (C, H, W) "
                        f"array, got a {img.dtype} array of shape {img.shape}")
    raise TypeError(f"{who}: expected a Pillow image or a NumPy array, got {type(img).__name__}")


def _to_pil(img, who):
    """A Pillow image of img (a Pillow image or a uint8 HWC array), and how to give the result back."""
    kind = _kind(img, who)
    if kind == "chw":
        raise TypeError(f"{who}: takes a Pillow image or a uint8 (H, W[, C]) array (put it before ToTensor), got a "
                        f"{img.dtype} array of shape {img.shape}")
    if kind == "pil":
        return img, lambda out: out
    Image = _pil()
    if img.ndim == 3 and img.shape[2] == 1:
        return Image.fromarray(img[:, :, 0]), lambda out: np.asarray(out)[:, :, None]
    return Image.fromarray(img), np.asarray


def _size_pair(size, who):
    if isinstance(size, (int, np.integer)) and not isinstance(size, bool):
        size = (int(size), int(size))
    elif isinstance(size, (tuple, list)) and len(size) == 1:
        size = (int(size[0]), int(size[0]))
    elif isinstance(size, (tuple, list)) and len(size) == 2:
        size = (int(size[0]), int(size[1]))
    else:
        raise ValueError(f"{who}: size must be an int or a sequence of one or two ints (height, width), got {size!r}")
    if min(size) <= 0:
        raise ValueError(f"{who}: size must be positive, got {size}")
    return size


def image_size(img):
    """(height, width) of a Pillow image or an array in either layout."""
    kind = _kind(img, "image_size")
    if kind == "pil":
        return img.height, img.width
    return img.shape[:2] if kind == "hwc" else img.shape[-2:]


def _crop_array(x, kind, top, left, height, width):
    """x[top:top+height, left:left+width] on its spatial axes, zero padding where the window leaves it."""
    h, w = (x.shape[0], x.shape[1]) if kind == "hwc" else x.shape[-2:]
    pad_t, pad_l = max(0, -top), max(0, -left)
    pad_b, pad_r = max(0, top + height - h), max(0, left + width - w)
    if pad_t or pad_l or pad_b or pad_r:
        spatial = [(pad_t, pad_b), (pad_l, pad_r)]
        pads = spatial + [(0, 0)] * (x.ndim - 2) if kind == "hwc" else [(0, 0)] * (x.ndim - 2) + spatial
        x = np.pad(x, pads)
        top, left = top + pad_t, left + pad_l
    if kind == "hwc":
        return np.ascontiguousarray(x[top:top + height, left:left + width])
    return np.ascontiguousarray(x[..., top:top + height, left:left + width])


class Resize:
    """torchvision's Resize: size (h, w) resizes to exactly that; an int matches the smaller edge to it and
    keeps the aspect ratio (the longer edge int(size * long / short)), then capped by max_size. Pillow's
    filters (BILINEAR by default; Pillow always antialiases, as torchvision's Pillow path)."""

    def __init__(self, size, interpolation=InterpolationMode.BILINEAR, max_size=None, antialias=True):
        if isinstance(size, (tuple, list)) and len(size) == 2:
            self.size = _size_pair(size, "Resize")
        else:
            self.size = _size_pair(size, "Resize")[0]
        if max_size is not None and not isinstance(self.size, int):
            raise ValueError("Resize: max_size is only supported when size is an int (the smaller edge)")
        if max_size is not None and max_size <= self.size:
            raise ValueError(f"Resize: max_size = {max_size} must be strictly greater than the requested size "
                             f"for the smaller edge, {self.size}")
        _pil_filter(interpolation)
        self.interpolation, self.max_size, self.antialias = interpolation, max_size, antialias

    def output_size(self, height, width):
        if not isinstance(self.size, int):
            return self.size
        short, long = (width, height) if width <= height else (height, width)
        new_short, new_long = self.size, int(self.size * long / short)
        if self.max_size is not None and new_long > self.max_size:
            new_short, new_long = int(self.max_size * new_short / new_long), self.max_size
        return (new_long, new_short) if width <= height else (new_short, new_long)

    def __call__(self, img):
        pil, back = _to_pil(img, "Resize")
        h, w = self.output_size(pil.height, pil.width)
        return back(pil.resize((w, h), _pil_filter(self.interpolation)))


class CenterCrop:
    """torchvision's CenterCrop: the central size (h, w) window (an int: square), top and left at
    round((H - h) / 2) and round((W - w) / 2); an image smaller than the window is zero-padded first."""

    def __init__(self, size):
        self.size = _size_pair(size, "CenterCrop")

    def __call__(self, img):
        kind = _kind(img, "CenterCrop")
        H, W = image_size(img)
        th, tw = self.size
        # torchvision pads (tw - W) // 2 on the left and (th - H) // 2 on top up to the window, then takes
        # the window at round((padded - window) / 2); here in the image's own coordinates
        pad_t, pad_l = max(th - H, 0) // 2, max(tw - W, 0) // 2
        top = int(round((max(H, th) - th) / 2.0)) - pad_t
        left = int(round((max(W, tw) - tw) / 2.0)) - pad_l
        if kind == "pil" and 0 <= top and 0 <= left and top + th <= H and left + tw <= W:
            return img.crop((left, top, left + tw, top + th))  # Pillow's own crop keeps any mode and palette
        out = _crop_array(np.asarray(img), "hwc" if kind == "pil" else kind, top, left, th, tw)
        return _pil().fromarray(out, img.mode) if kind == "pil" else out


class RandomHorizontalFlip:
    """Mirrors left-right with probability p (one uniform draw per call from `generator`, or from
    firstepoch.manual_seed's)."""

    def __init__(self, p=0.5, generator=None):
        self.p, self.generator = p, generator

    def __call__(self, img):
        kind = _kind(img, "RandomHorizontalFlip")
        g = self.generator or _random.generator()
        if not g.random() < self.p:
            return img
        if kind == "pil":
            return img.transpose(_pil().FLIP_LEFT_RIGHT)
        return np.ascontiguousarray(img[:, ::-1] if kind == "hwc" else img[..., ::-1])


class RandomResizedCrop:
    """torchvision's RandomResizedCrop: a window of area scale (uniform) x the image's and aspect ratio
    log-uniform in `ratio` (10 tries, then the central crop with the ratio clamped), resized to size
    with Pillow. Draws come from `generator`, or firstepoch.manual_seed's."""

    def __init__(self, size, scale=(0.08, 1.0), ratio=(3.0 / 4.0, 4.0 / 3.0),
                 interpolation=InterpolationMode.BILINEAR, antialias=True, generator=None):
        self.size = _size_pair(size, "RandomResizedCrop")
        if scale[0] > scale[1] or ratio[0] > ratio[1]:
            raise ValueError(f"RandomResizedCrop: scale and ratio must be (min, max), got {scale} and {ratio}")
        _pil_filter(interpolation)
        self.scale, self.ratio = tuple(scale), tuple(ratio)
        self.interpolation, self.antialias, self.generator = interpolation, antialias, generator

    def get_params(self, height, width, generator=None):
        """(top, left, height, width) of the window, torchvision's algorithm on NumPy draws."""
        g = generator or self.generator or _random.generator()
        area = height * width
        log_ratio = np.log(self.ratio)
        for _ in range(10):
            target_area = area * g.uniform(self.scale[0], self.scale[1])
            aspect = math.exp(g.uniform(log_ratio[0], log_ratio[1]))
            w = int(round(math.sqrt(target_area * aspect)))
            h = int(round(math.sqrt(target_area / aspect)))
            if 0 < w <= width and 0 < h <= height:
                return int(g.integers(0, height - h + 1)), int(g.integers(0, width - w + 1)), h, w
        in_ratio = width / height
        if in_ratio < min(self.ratio):
            w, h = width, int(round(width / min(self.ratio)))
        elif in_ratio > max(self.ratio):
            h, w = height, int(round(height * max(self.ratio)))
        else:
            h, w = height, width
        return (height - h) // 2, (width - w) // 2, h, w

    def __call__(self, img):
        pil, back = _to_pil(img, "RandomResizedCrop")
        top, left, h, w = self.get_params(pil.height, pil.width)
        out = pil.crop((left, top, left + w, top + h)).resize(self.size[::-1], _pil_filter(self.interpolation))
        return back(out)


def _jitter_range(value, name, center=1.0, bound=(0, float("inf")), clip_first_on_zero=True):
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if value < 0:
            raise ValueError(f"ColorJitter: if {name} is a single number, it must be non negative, got {value}")
        value = [center - float(value), center + float(value)]
        if clip_first_on_zero:
            value[0] = max(value[0], 0.0)
    elif isinstance(value, (tuple, list)) and len(value) == 2:
        value = [float(value[0]), float(value[1])]
    else:
        raise TypeError(f"ColorJitter: {name} should be a single number or a list/tuple with length 2, got {value!r}")
    if not bound[0] <= value[0] <= value[1] <= bound[1]:
        raise ValueError(f"ColorJitter: {name} values should be between {bound}, got {value}")
    return None if value[0] == value[1] == center else tuple(value)


def adjust_hue(img, hue_factor):
    """torchvision's Pillow adjust_hue: the H channel of HSV shifted by hue_factor (in [-0.5, 0.5]) turns,
    mod 1; grayscale images come back unchanged."""
    if not -0.5 <= hue_factor <= 0.5:
        raise ValueError(f"hue_factor ({hue_factor}) is not in [-0.5, 0.5].")
    if img.mode in ("L", "1", "I", "F"):
        return img
    Image = _pil()
    mode = img.mode
    h, s, v = img.convert("HSV").split()
    shifted = (np.asarray(h, dtype=np.uint8) + np.uint8(int(hue_factor * 255) % 256)).astype(np.uint8)
    return Image.merge("HSV", (Image.fromarray(shifted, "L"), s, v)).convert(mode)


class ColorJitter:
    """torchvision's ColorJitter on Pillow: brightness, contrast and saturation factors uniform in
    [max(0, 1 - v), 1 + v] (or a given (min, max)), hue uniform in [-hue, hue], applied in a random
    order with Pillow's ImageEnhance (and adjust_hue). Draws from `generator`, or firstepoch.manual_seed's."""

    def __init__(self, brightness=0, contrast=0, saturation=0, hue=0, generator=None):
        self.brightness = _jitter_range(brightness, "brightness")
        self.contrast = _jitter_range(contrast, "contrast")
        self.saturation = _jitter_range(saturation, "saturation")
        self.hue = _jitter_range(hue, "hue", center=0, bound=(-0.5, 0.5), clip_first_on_zero=False)
        self.generator = generator

    def get_params(self, generator=None):
        """(order of the four adjustments, brightness, contrast, saturation, hue factors; None = skipped)."""
        g = generator or self.generator or _random.generator()
        order = g.permutation(4)
        factors = [None if r is None else float(g.uniform(r[0], r[1]))
                   for r in (self.brightness, self.contrast, self.saturation, self.hue)]
        return (order, *factors)

    def __call__(self, img):
        from PIL import ImageEnhance
        pil, back = _to_pil(img, "ColorJitter")
        order, *factors = self.get_params()
        enhancers = (ImageEnhance.Brightness, ImageEnhance.Contrast, ImageEnhance.Color)
        for i in order:
            f = factors[i]
            if f is None:
                continue
            pil = adjust_hue(pil, f) if i == 3 else enhancers[i](pil).enhance(f)
        return back(pil)


class ToTensor:
    """A Pillow image or a uint8 (H, W[, C]) array -> a float32 (C, H, W) array in [0, 1] (x / 255).
    Deliberate difference from torchvision: the result is a NumPy array (the loaders batch arrays into
    Tensors), not a Tensor. Other dtypes are moved to (C, H, W) and cast, without scaling, as torchvision."""

    def __call__(self, img):
        x = np.asarray(img)
        if x.ndim == 2:
            x = x[:, :, None]
        if x.ndim != 3:
            raise ValueError(f"ToTensor: expected an (H, W) or (H, W, C) image, got shape {x.shape}")
        chw = np.ascontiguousarray(x.transpose(2, 0, 1))
        if x.dtype == np.uint8:
            return chw.astype(np.float32) / np.float32(255)
        return chw.astype(np.float32)
