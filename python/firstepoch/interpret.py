"""`firstepoch.interpret`: what a trained classifier gets wrong, which labels look wrong, and what it
looks at.

    cm = interpret.confusion_matrix(y_true, y_pred, num_classes=10)
    interpret.plot_confusion_matrix(cm, "confusion.png")
    top = interpret.top_losses(model, x, y, k=16)          # the most confidently wrong predictions
    interpret.plot_top_losses(model, x, y, "top_losses.png", k=16)
    sus = interpret.suspected_mislabels(logits, y, k=50)   # train a model first, then clean the data

    interpret.plot_filters(model, "filters.png")           # the first layer's filters as a tile grid
    maps = interpret.feature_maps(model, x0)               # {conv layer: (C, h, w)} for one image x0
    interpret.plot_saliency(model, x0, "saliency.png", target=7)   # |d logit[7] / d input|
    interpret.plot_grad_cam(model, x0, "gradcam.png", target=7)    # Grad-CAM at the last Conv2d
    idx, scores = interpret.top_activating(model, x, "features.4", channel=3, k=16)

A model is asked for logits in evaluation mode, without gradients, in batches; anywhere a model is
accepted, an (N, C) array or Tensor of logits is accepted too. Per-example losses are cross-entropies
computed in float64 with a stable log-softmax.
"""
import io as _pyio
import os
from collections import namedtuple
from contextlib import contextmanager

import numpy as np

from .autograd.function import no_grad
from .nn.module import Module
from .tensor import Tensor

TopLosses = namedtuple("TopLosses", ["indices", "losses", "pred", "prob", "true_prob"])
TopLosses.__doc__ = """Examples by decreasing loss: their indices, losses, predicted classes, the probability of the
prediction and the probability given to the true label."""
Suspects = namedtuple("Suspects", ["indices", "scores", "given", "suggested"])
Suspects.__doc__ = """Examples ranked most suspicious first: indices, the ranking scores (lower = more suspicious),
the label given and the model's suggested label."""


def _labels(y, name="y"):
    y = np.asarray(y._data if isinstance(y, Tensor) else y)
    if y.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array of class indices, got shape {y.shape}")
    if y.size and y.dtype.kind not in "iub":
        raise TypeError(f"{name} must hold integer class indices, got dtype {y.dtype}")
    return y.astype(np.int64, copy=False)


def _check_k(k, n):
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k <= 0:
        raise ValueError(f"k must be a positive int, got {k!r}")
    return min(int(k), n)


def confusion_matrix(y_true, y_pred, num_classes):
    """(num_classes, num_classes) int64 counts: row = true class, column = predicted class."""
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) or num_classes <= 0:
        raise ValueError(f"num_classes must be a positive int, got {num_classes!r}")
    t, p = _labels(y_true, "y_true"), _labels(y_pred, "y_pred")
    if t.shape != p.shape:
        raise ValueError(f"y_true and y_pred must have the same length, got {t.shape[0]} and {p.shape[0]}")
    for name, a in (("y_true", t), ("y_pred", p)):
        if a.size and (a.min() < 0 or a.max() >= num_classes):
            raise ValueError(f"{name} holds classes outside 0..{num_classes - 1} (min {a.min()}, max {a.max()})")
    return np.bincount(t * num_classes + p, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def plot_confusion_matrix(cm, path, class_names=None, normalize=True, title="confusion matrix"):
    """Writes the matrix as a PNG heat map (rows normalised to the fraction of each true class if
    normalize), with the counts written in the cells. Returns path."""
    cm = np.asarray(cm)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1]:
        raise ValueError(f"cm must be a square matrix, got shape {cm.shape}")
    c = cm.shape[0]
    names = [str(i) for i in range(c)] if class_names is None else [str(n) for n in class_names]
    if len(names) != c:
        raise ValueError(f"class_names has {len(names)} names for {c} classes")
    rows = cm.sum(axis=1, keepdims=True)
    shown = cm / np.maximum(rows, 1) if normalize else cm
    fig, ax = _figure((0.5 * c + 3, 0.5 * c + 2.5))
    im = ax.imshow(shown, cmap="Blues", vmin=0)
    fig.colorbar(im, ax=ax, shrink=0.8, label="fraction of the true class" if normalize else "count")
    ax.set_xticks(range(c), names, rotation=45 if max(map(len, names)) > 2 else 0)
    ax.set_yticks(range(c), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    if c <= 20:
        hi = shown.max() if shown.size else 0
        for i in range(c):
            for j in range(c):
                ax.text(j, i, str(int(cm[i, j])), ha="center", va="center", fontsize=7,
                        color="white" if shown[i, j] > 0.6 * hi else "black")
    fig.savefig(path, dpi=100)
    return path


def logits_of(model, x, batch_size=1000):
    """The model's logits for x (an array or Tensor of inputs), in evaluation mode and without gradients,
    in batches; the model's train/eval mode is restored afterwards. Returns a NumPy array."""
    if not isinstance(model, Module):
        raise TypeError(f"model must be a firstepoch.nn.Module, got {type(model).__name__}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size <= 0:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    x = x._data if isinstance(x, Tensor) else np.asarray(x)
    was = model.training
    model.eval()
    try:
        with no_grad():
            parts = [model(Tensor(x[i:i + batch_size]))._data for i in range(0, len(x), batch_size)]
    finally:
        model.train(was)
    return np.concatenate(parts) if parts else np.zeros((0, 0), np.float32)


def _logits(source, x, batch_size):
    if isinstance(source, Module):
        if x is None:
            raise ValueError("x is needed to run the model (or pass logits instead of a model)")
        out = logits_of(source, x, batch_size)
    else:
        out = np.asarray(source._data if isinstance(source, Tensor) else source)
    if out.ndim != 2 or out.dtype.kind != "f":
        raise ValueError(f"logits must be a floating (N, C) array, got shape {out.shape} and dtype {out.dtype}")
    return out.astype(np.float64)


def _log_probs(logits):
    z = logits - logits.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def _checked(source, x, y, batch_size):
    logits = _logits(source, x, batch_size)
    y = _labels(y)
    if len(y) != len(logits):
        raise ValueError(f"y has {len(y)} labels for {len(logits)} examples")
    if y.size and (y.min() < 0 or y.max() >= logits.shape[1]):
        raise ValueError(f"y holds classes outside 0..{logits.shape[1] - 1} (min {y.min()}, max {y.max()})")
    return _log_probs(logits), y


def per_example_loss(model_or_logits, x, y, batch_size=1000):
    """Cross-entropy of every example (float64 array of length N)."""
    logp, y = _checked(model_or_logits, x, y, batch_size)
    return -logp[np.arange(len(y)), y]


def top_losses(model_or_logits, x, y, k=9, batch_size=1000):
    """The k examples with the highest cross-entropy: the most confidently wrong predictions first
    (ties broken by index). Returns TopLosses(indices, losses, pred, prob, true_prob)."""
    logp, y = _checked(model_or_logits, x, y, batch_size)
    k = _check_k(k, len(y))
    losses = -logp[np.arange(len(y)), y]
    idx = np.argsort(-losses, kind="stable")[:k]
    probs = np.exp(logp[idx])
    pred = probs.argmax(axis=1)
    return TopLosses(idx, losses[idx], pred, probs[np.arange(len(idx)), pred], probs[np.arange(len(idx)), y[idx]])


def plot_top_losses(model_or_logits, x, y, path, k=9, class_names=None, image_shape=None, batch_size=1000):
    """An image grid of the top_losses examples titled "pred/true (p)", p the probability of the
    prediction, the loss beneath. x: the images, (N, H, W), (N, 1, H, W), (N, 3, H, W) or flat (N, H*W)
    with image_shape=(H, W) (a square is assumed when not given). Returns path."""
    if x is None:
        raise ValueError("plot_top_losses: x (the images) is required")
    images = np.asarray(x._data if isinstance(x, Tensor) else x)
    top = top_losses(model_or_logits, images, y, k, batch_size)
    names = None if class_names is None else [str(n) for n in class_names]
    n = len(top.indices)
    cols = int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / cols))
    fig, _ = _figure((2.0 * cols, 2.2 * rows), subplots=False)
    axes = fig.subplots(rows, cols, squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for i, (j, loss, pred, p) in enumerate(zip(top.indices, top.losses, top.pred, top.prob)):
        ax = axes.ravel()[i]
        img = _as_image(images[j], image_shape)
        ax.imshow(img, cmap="gray" if img.ndim == 2 else None)
        label = (lambda c: str(c) if names is None else names[c])
        ax.set_title(f"{label(int(pred))}/{label(int(np.asarray(y)[j]))} ({p:.2f})", fontsize=9,
                     color="tab:red" if pred != np.asarray(y)[j] else "black")
        ax.text(0.5, -0.08, f"#{int(j)}  loss {loss:.2f}", transform=ax.transAxes, ha="center", va="top", fontsize=7)
    fig.suptitle("top losses: predicted/true (probability of the prediction)")
    fig.savefig(path, dpi=100)
    return path


def _as_image(a, image_shape):
    a = np.asarray(a, dtype=np.float64)
    if image_shape is not None:
        return a.reshape(image_shape)
    if a.ndim == 1:
        side = int(round(np.sqrt(a.size)))
        if side * side != a.size:
            raise ValueError(f"a flat image of {a.size} values is not square: pass image_shape=(H, W)")
        return a.reshape(side, side)
    if a.ndim == 3 and a.shape[0] == 1:
        return a[0]
    if a.ndim == 3 and a.shape[0] == 3:
        lo, hi = a.min(), a.max()
        return np.transpose((a - lo) / (hi - lo if hi > lo else 1), (1, 2, 0))
    if a.ndim == 2:
        return a
    raise ValueError(f"cannot show an example of shape {a.shape} as an image (pass image_shape)")


def suspected_mislabels(logits, y, k=None, method="self_confidence"):
    """Examples ranked by how much the model doubts their given label, most suspicious first.

    method "self_confidence": the probability the model gives the given label (low = suspicious);
    "margin": that probability minus the largest probability of another class (negative = the model
    prefers another class). Use logits of a model trained on the data -- better, out-of-fold logits
    (train on one half, score the other) -- so that it has not memorised the wrong labels.
    Returns Suspects(indices, scores, given, suggested) for the k most suspicious (all if k is None)."""
    if method not in ("self_confidence", "margin"):
        raise ValueError(f"method must be 'self_confidence' or 'margin', got {method!r}")
    logp, y = _checked(logits, None, y, 1)
    k = len(y) if k is None else _check_k(k, len(y))
    p = np.exp(logp)
    rows = np.arange(len(y))
    given = p[rows, y]
    if method == "self_confidence":
        scores = given
    else:
        others = p.copy()
        others[rows, y] = -np.inf
        scores = given - others.max(axis=1)
    idx = np.argsort(scores, kind="stable")[:k]
    others = p.copy()
    others[rows, y] = -np.inf
    return Suspects(idx, scores[idx], y[idx], others.argmax(axis=1)[idx])


def _figure(size, subplots=True):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=size, layout="constrained")
    FigureCanvasAgg(fig)
    return fig, (fig.subplots() if subplots else None)


# ---- seeing inside a network: filters, feature maps, saliency, Grad-CAM, top-activating images ---------
#
# The pictures are written pixel for pixel (each value an integer block of `scale` x `scale` pixels,
# panels side by side with a white gap of GAP pixels, no axes), so what a PNG shows can be read back and
# checked; colour maps: gray for images and filters, "inferno" (brightness grows with the value) for
# heat maps. Every function takes the model in evaluation mode and restores its train/eval mode.

GAP = 2  # pixels between tiles and panels


def named_layers(model, kinds=("Conv2d",)):
    """[(name, module)] of the model's layers whose class name is in kinds, in registration order."""
    if not isinstance(model, Module):
        raise TypeError(f"model must be a firstepoch.nn.Module, got {type(model).__name__}")
    return [(n, m) for n, m in model.named_modules() if n and type(m).__name__ in kinds]


def _layer(model, layer, what="layer"):
    """(name, module) of `layer` (a name from model.named_modules(), or the module itself)."""
    if isinstance(layer, Module):
        for n, m in model.named_modules():
            if m is layer:
                return n, m
        raise ValueError(f"{what}: the module given is not part of the model")
    mods = dict(model.named_modules())
    if not isinstance(layer, str) or layer not in mods or layer == "":
        convs = [n for n, _ in named_layers(model)]
        raise ValueError(f"{what}: unknown layer {layer!r}; the model's conv layers are "
                         f"{', '.join(convs) if convs else '(none)'} (any name of model.named_modules() works)")
    return layer, mods[layer]


def _image_batch(x):
    """One input image as a float (1, ...) array: (C, H, W) or (1, C, H, W) (a Tensor or an array)."""
    a = np.asarray(x._data if isinstance(x, Tensor) else x)
    if a.dtype.kind != "f":
        raise TypeError(f"x must be a floating image, got dtype {a.dtype}")
    if a.ndim == 4 and a.shape[0] == 1:
        return a
    if a.ndim == 3:
        return a[None]
    raise ValueError(f"x must be one image, (C, H, W) or (1, C, H, W), got shape {a.shape}")


class _Capture:
    """Forward hooks that keep the outputs of the named modules while the block is open."""

    def __init__(self, model, names, retain_grad=False):
        self.model, self.names, self.retain = model, list(names), retain_grad
        self.outputs, self.handles = {}, []

    def __enter__(self):
        mods = dict(self.model.named_modules())
        for n in self.names:
            def hook(module, inputs, out, n=n):
                t = out[0] if isinstance(out, tuple) else out
                if self.retain and t.requires_grad:
                    t.retain_grad()
                self.outputs[n] = t
            self.handles.append(mods[n].register_forward_hook(hook))
        return self

    def __exit__(self, *exc):
        for h in self.handles:
            h.remove()


@contextmanager
def _eval_mode(model):
    was = model.training
    model.eval()
    try:
        yield
    finally:
        model.train(was)


def _check_class(target, num_classes, what="target"):
    if isinstance(target, bool) or not isinstance(target, (int, np.integer)):
        raise TypeError(f"{what} must be an int class index, got {type(target).__name__}")
    if not 0 <= target < num_classes:
        raise ValueError(f"{what} {target} is out of range: the model has {num_classes} classes (0..{num_classes - 1})")
    return int(target)


def _score_backward(model, x, target, capture=()):
    """Runs the model on one image with gradients, backpropagates its logit for `target` (the predicted
    class when None) and returns (input tensor, logits array, target, captured outputs)."""
    from .autograd.function import enable_grad
    inp = Tensor(_image_batch(x).copy(), requires_grad=True)
    with _eval_mode(model), enable_grad(), _Capture(model, capture, retain_grad=True) as cap:
        logits = model(inp)
        if logits.ndim != 2 or logits.shape[0] != 1:
            raise ValueError(f"the model must return (1, classes) logits for one image, got shape {tuple(logits.shape)}")
        target = int(logits._data[0].argmax()) if target is None else _check_class(target, logits.shape[1])
        logits[0, target].backward()
    return inp, logits._data[0].copy(), target, cap.outputs


def saliency(model, x, target=None):
    """The saliency map of Simonyan et al. (2014): |d logit[target] / d input|, the largest over the input
    channels, an (H, W) array for one image x ((C, H, W) or (1, C, H, W)); target: a class index, the
    predicted class when None. The gradient of the pre-softmax score, so other classes do not enter."""
    inp, _, _, _ = _score_backward(model, x, target)
    return np.abs(inp.grad._data[0]).max(axis=0)


def grad_cam(model, x, target=None, layer=None, upsample=True):
    """Grad-CAM (Selvaraju et al., 2017) for one image x and class `target` (the predicted class when
    None) at `layer` (a module name; default the last Conv2d): the layer's output channels A_k weighted
    by the spatial mean of d logit[target] / d A_k, summed, ReLU'd and scaled so its maximum is 1 (all
    zeros when nothing is positive). Returns the (h, w) map at the layer's resolution, or with upsample
    the map bilinearly resized to the input's (H, W) (align_corners=False, as F.interpolate)."""
    if layer is None:
        convs = named_layers(model)
        if not convs:
            raise ValueError("grad_cam: the model has no Conv2d layer; pass layer=NAME")
        layer = convs[-1][0]
    name, _ = _layer(model, layer, "grad_cam: layer")
    inp, _, _, outs = _score_backward(model, x, target, capture=[name])
    a = outs.get(name)
    if a is None:
        raise ValueError(f"grad_cam: layer {name!r} did not run in the model's forward")
    if a.ndim != 4 or a.grad is None:
        raise ValueError(f"grad_cam: layer {name!r} must output (1, C, h, w) feature maps that the class score "
                         f"depends on, got shape {tuple(a.shape)}")
    acts, grads = a._data[0].astype(np.float64), a.grad._data[0].astype(np.float64)
    cam = np.maximum((grads.mean(axis=(1, 2))[:, None, None] * acts).sum(axis=0), 0)
    if cam.max() > 0:
        cam = cam / cam.max()
    if upsample:
        cam = _resize_bilinear(cam, inp.shape[2:])
    return cam


def _resize_bilinear(a, size):
    """(h, w) -> size (H, W), bilinear with align_corners=False (F.interpolate's half-pixel centres)."""
    h, w = a.shape
    H, W = size

    def coords(n_in, n_out):
        c = np.clip((np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5, 0, n_in - 1)
        lo = np.floor(c).astype(int)
        hi = np.minimum(lo + 1, n_in - 1)
        return lo, hi, c - lo

    y0, y1, fy = coords(h, H)
    x0, x1, fx = coords(w, W)
    top = a[y0][:, x0] * (1 - fx) + a[y0][:, x1] * fx
    bot = a[y1][:, x0] * (1 - fx) + a[y1][:, x1] * fx
    return top * (1 - fy)[:, None] + bot * fy[:, None]


def feature_maps(model, x, layers=None):
    """{layer name: (C, h, w) array}: the output of every Conv2d (or of each name in `layers`) for one
    image x, in the order the layers are registered."""
    names = [n for n, _ in named_layers(model)] if layers is None else [_layer(model, n)[0] for n in layers]
    with _eval_mode(model), no_grad(), _Capture(model, names) as cap:
        model(Tensor(_image_batch(x)))
    missing = [n for n in names if n not in cap.outputs]
    if missing:
        raise ValueError(f"feature_maps: layers {missing} did not run in the model's forward")
    return {n: cap.outputs[n]._data[0].copy() for n in names}


def channel_scores(model, x, layer, channel, reduce="mean", batch_size=256):
    """How strongly each example of x ((N, C, H, W)) drives `channel` of `layer`'s output: its mean (or
    max, reduce="max") over the spatial positions (a Linear layer's output: the feature itself).
    Returns a float64 array of length N."""
    if reduce not in ("mean", "max"):
        raise ValueError(f"reduce must be 'mean' or 'max', got {reduce!r}")
    name, _ = _layer(model, layer, "layer")
    x = np.asarray(x._data if isinstance(x, Tensor) else x)
    scores = []
    with _eval_mode(model), no_grad(), _Capture(model, [name]) as cap:
        for i in range(0, len(x), batch_size):
            model(Tensor(x[i:i + batch_size]))
            out = cap.outputs[name]._data
            if out.ndim < 2 or not 0 <= channel < out.shape[1]:
                raise ValueError(f"channel {channel} is out of range: layer {name!r} outputs shape "
                                 f"{tuple(out.shape)} ({out.shape[1] if out.ndim >= 2 else 0} channels)")
            c = out[:, channel].reshape(len(out), -1).astype(np.float64)
            scores.append(c.mean(axis=1) if reduce == "mean" else c.max(axis=1))
    return np.concatenate(scores) if scores else np.zeros(0)


def top_activating(model, x, layer, channel, k=9, reduce="mean", batch_size=256):
    """(indices, scores) of the k examples of x that most activate `channel` of `layer` (channel_scores),
    highest first, ties broken by index."""
    s = channel_scores(model, x, layer, channel, reduce, batch_size)
    k = _check_k(k, len(s))
    idx = np.argsort(-s, kind="stable")[:k]
    return idx, s[idx]


# ---- the pictures ---------------------------------------------------------------------------------------

def _colour(a, cmap="gray", lo=None, hi=None):
    """A 2-D array -> (H, W, 3) uint8 through a matplotlib colour map over [lo, hi] (default: its range);
    an (H, W, 3) array is scaled to [lo, hi] as RGB."""
    from matplotlib import colormaps
    a = np.asarray(a, np.float64)
    lo = a.min() if lo is None else lo
    hi = a.max() if hi is None else hi
    u = np.clip((a - lo) / (hi - lo), 0, 1) if hi > lo else np.zeros_like(a)
    if a.ndim == 3:
        return (u * 255 + 0.5).astype(np.uint8)
    return (colormaps[cmap](u)[..., :3] * 255 + 0.5).astype(np.uint8)


def _grid(tiles, cols=None, gap=GAP):
    """RGB tiles of one size in a grid (cols columns, about square by default), white gaps around them."""
    n = len(tiles)
    h, w = tiles[0].shape[:2]
    cols = cols or int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / cols))
    out = np.full((rows * (h + gap) + gap, cols * (w + gap) + gap, 3), 255, np.uint8)
    for i, t in enumerate(tiles):
        r, c = divmod(i, cols)
        out[gap + r * (h + gap):gap + r * (h + gap) + h, gap + c * (w + gap):gap + c * (w + gap) + w] = t
    return out


def _scaled(rgb, scale):
    return np.repeat(np.repeat(rgb, scale, axis=0), scale, axis=1)


def _write_png(rgb, path):
    from PIL import Image  # Pillow comes with matplotlib
    from . import io as fio
    buf = _pyio.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb)).save(buf, format="PNG", optimize=True)
    fio.atomic_write(os.fspath(path), [buf.getvalue()])
    return path


def _auto_scale(h, w, target=160):
    return max(1, int(round(target / max(h, w))))


def _show_input(x):
    """One image as RGB: gray for one channel, the channels scaled together for three, else channel 0."""
    a = _image_batch(x)[0].astype(np.float64)
    if a.shape[0] == 3:
        return _colour(np.transpose(a, (1, 2, 0)))
    return _colour(a[0])


def first_layer_weights(model, input_shape=None):
    """(name, filters) of the model's first layer as images: a Conv2d's weight (out, in, kh, kw), or the
    rows of a first Linear reshaped to input_shape (C, H, W) when in_features is its size (an MLP on
    images). ValueError when there is neither."""
    for n, m in model.named_modules():
        kind = type(m).__name__
        if kind == "Conv2d":
            return n, m.weight._data
        if kind == "Linear":
            if input_shape is None or int(np.prod(input_shape)) != m.in_features:
                break
            return n, m.weight._data.reshape((m.out_features,) + tuple(input_shape))
    raise ValueError("the model's first layer is neither a Conv2d nor a Linear on the flattened image "
                     "(an MLP needs input_shape)")


def filter_tiles(weight):
    """The tiles plot_filters draws for a weight (out, in, kh, kw): one RGB tile per filter when in is 3,
    else one gray tile per (filter, input channel), all on one colour scale, symmetric about 0 for gray
    (mid-gray = 0). Returns (tiles, columns)."""
    w = np.asarray(weight._data if isinstance(weight, Tensor) else weight, np.float64)
    if w.ndim != 4:
        raise ValueError(f"filters must be (out, in, kh, kw), got shape {w.shape}")
    if w.shape[1] == 3:
        lo, hi = w.min(), w.max()
        return [_colour(np.transpose(f, (1, 2, 0)), lo=lo, hi=hi) for f in w], None
    m = np.abs(w).max() or 1.0
    tiles = [_colour(f, "gray", -m, m) for f in w.reshape(-1, *w.shape[2:])]
    return tiles, (None if w.shape[1] == 1 else w.shape[1])


def plot_filters(model_or_weight, path, input_shape=None, scale=None):
    """The first layer's filters as a grid of tiles (filter_tiles: one per filter and input channel, a
    row per filter when there are several input channels), each weight a scale x scale block. Accepts a
    model (its first layer, first_layer_weights) or a weight array. Returns path."""
    if isinstance(model_or_weight, Module):
        _, w = first_layer_weights(model_or_weight, input_shape)
    else:
        w = model_or_weight
    tiles, cols = filter_tiles(w)
    h, wd = tiles[0].shape[:2]
    scale = scale or _auto_scale(h, wd, 60)
    return _write_png(_grid([_scaled(t, scale) for t in tiles], cols), path)


def plot_feature_maps(maps, path, scale=None):
    """One layer's (C, h, w) feature maps as a grid of C tiles on one gray scale (its min to its max).
    Returns path."""
    maps = np.asarray(maps, np.float64)
    if maps.ndim != 3:
        raise ValueError(f"maps must be (C, h, w), got shape {maps.shape}")
    lo, hi = maps.min(), maps.max()
    scale = scale or _auto_scale(*maps.shape[1:], 56)
    return _write_png(_grid([_scaled(_colour(m, "gray", lo, hi), scale) for m in maps]), path)


def plot_saliency(model, x, path, target=None, scale=None):
    """Two panels: the input image, and its saliency map (saliency) in "inferno", bright = large. Returns
    (path, the map)."""
    s = saliency(model, x, target)
    scale = scale or _auto_scale(*s.shape)
    panels = [_scaled(_show_input(x), scale), _scaled(_colour(s, "inferno", 0), scale)]
    return _write_png(_grid(panels, cols=2), path), s


def plot_grad_cam(model, x, path, target=None, layer=None, scale=None):
    """Three panels: the input image, its Grad-CAM map (grad_cam, upsampled) in "inferno", and the map
    over the image (half each). Returns (path, the upsampled map)."""
    cam = grad_cam(model, x, target, layer)
    scale = scale or _auto_scale(*cam.shape)
    img = _show_input(x)
    heat = _colour(cam, "inferno", 0, 1)
    overlay = (0.5 * img + 0.5 * heat + 0.5).astype(np.uint8)
    return _write_png(_grid([_scaled(p, scale) for p in (img, heat, overlay)], cols=3), path), cam


def plot_top_activating(model, x, layer, channel, path, k=9, reduce="mean", scale=None):
    """The k examples of x that most activate `channel` of `layer` (top_activating), highest first, in a
    grid read row by row, each image on its own gray scale. Returns (path, indices, scores)."""
    idx, scores = top_activating(model, x, layer, channel, k, reduce)
    images = np.asarray(x._data if isinstance(x, Tensor) else x)
    tiles = [_show_input(images[i]) for i in idx]
    scale = scale or _auto_scale(*tiles[0].shape[:2], 56)
    return _write_png(_grid([_scaled(t, scale) for t in tiles]), path), idx, scores


def read_image(path, size=(28, 28)):
    """An image file (anything Pillow reads) as the training data look: one gray channel resized to size
    (bilinear), scaled to [0, 1] and normalised with MNIST's mean and std, a float32 (1, H, W) array.
    MNIST digits are light on a dark ground: an image whose border is mostly light (a dark digit on
    white paper) is inverted first. OSError (ValueError for a non-image) names the file."""
    from PIL import Image, UnidentifiedImageError
    from .datasets.mnist import MEAN, STD
    try:
        with Image.open(path) as im:
            im.load()
            gray = im.convert("L").resize((size[1], size[0]), Image.BILINEAR)
    except UnidentifiedImageError:
        raise ValueError(f"{os.fspath(path)!r} is not an image file Pillow can read") from None
    a = np.asarray(gray, dtype=np.float32) / np.float32(255)
    border = np.concatenate([a[0], a[-1], a[:, 0], a[:, -1]])
    if border.mean() > 0.5:
        a = 1 - a
    return ((a - np.float32(MEAN)) / np.float32(STD))[None].astype(np.float32)
