"""`firstepoch.interpret`: what a trained classifier gets wrong, and which labels look wrong.

    cm = interpret.confusion_matrix(y_true, y_pred, num_classes=10)
    interpret.plot_confusion_matrix(cm, "confusion.png")
    top = interpret.top_losses(model, x, y, k=16)          # the most confidently wrong predictions
    interpret.plot_top_losses(model, x, y, "top_losses.png", k=16)
    sus = interpret.suspected_mislabels(logits, y, k=50)   # train a model first, then clean the data

A model is asked for logits in evaluation mode, without gradients, in batches; anywhere a model is
accepted, an (N, C) array or Tensor of logits is accepted too. Per-example losses are cross-entropies
computed in float64 with a stable log-softmax.
"""
from collections import namedtuple

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
