"""What the lab experiments share: a plain-text results table, a seeded MNIST subset, a small
classifier training loop, accuracy, and a figure written with matplotlib's Agg canvas.

Each experiment stays one file that reads top to bottom; only these few chores live here.
"""
import os

import numpy as np

import firstepoch as fe
import firstepoch.nn.functional as F
from firstepoch.datasets import mnist, split_indices
from firstepoch.datasets.mnist import N_TRAIN


def seed_everything(seed):
    """Seeds firstepoch (initialisation, dropout, shuffling) and returns a NumPy Generator for the
    experiment's own draws, both from `seed`."""
    fe.manual_seed(seed)
    return np.random.default_rng(seed)


# ---- results table -------------------------------------------------------------------------------------

def _cell(value, digits):
    if value is None:
        return "-"
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        v = float(value)
        if v != 0 and np.isfinite(v) and (abs(v) < 1e-3 or abs(v) >= 1e5):
            return f"{v:.{digits - 1}e}"
        return f"{v:.{digits}g}"
    return str(value)


def percent(value, decimals=1):
    """0.9512 -> '95.1%' (format_table right-aligns it like a number)."""
    return f"{100 * float(value):.{decimals}f}%"


def _looks_numeric(text):
    return text == "-" or (text[:1].isdigit() or (text[:1] in "+-." and text[1:2].isdigit()))


def format_table(headers, rows, title=None, digits=4):
    """A plain-text table: numbers (and cells that read as numbers, such as '95.1%') right-aligned,
    floats to `digits` significant figures (tiny or huge ones in e-notation), other cells
    left-aligned, a rule under the header. Returns the string."""
    for i, row in enumerate(rows):
        if len(row) != len(headers):
            raise ValueError(f"format_table: row {i} has {len(row)} cells, the header has {len(headers)}")
    cells = [[_cell(v, digits) for v in row] for row in rows]
    numeric = [bool(cells) and all(_looks_numeric(row[j]) for row in cells) for j in range(len(headers))]
    widths = [max([len(str(h))] + [len(row[j]) for row in cells]) for j, h in enumerate(headers)]

    def line(values):
        return "  ".join(v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric)).rstrip()

    out = [] if title is None else [title]
    out.append(line([str(h) for h in headers]))
    out.append("  ".join("-" * w for w in widths))
    out.extend(line(row) for row in cells)
    return "\n".join(out)


# ---- data ------------------------------------------------------------------------------------------------

def mnist_subset(n_train, n_val, seed=0, flatten=True):
    """(x_train, y_train, x_val, y_val): float32 images in [0, 1] and int64 labels, a seeded random
    subset of the embedded MNIST training split (8,000 digits) and of the 2,000 digits held out of it
    (mnist's "val" and "test" together: the lab never reports a test accuracy, and validates on both).
    flatten=True gives (N, 784); False gives (N, 1, 28, 28) for convolutions and image transforms."""
    rng = np.random.default_rng(seed)
    x_all, y_all = mnist("all")
    train, held = split_indices(len(y_all), N_TRAIN)  # mnist's "train"; its "val" and "test" digits together
    parts = []
    for split, rows, n in (("train", train, n_train), ("val", held, n_val)):
        images, labels = x_all[rows], y_all[rows]
        if not 0 < n <= len(labels):
            raise ValueError(f"mnist_subset: n_{split} must be in 1..{len(labels)}, got {n}")
        idx = np.sort(rng.choice(len(labels), n, replace=False))
        x = images[idx].astype(np.float32) / np.float32(255)
        parts += [x.reshape(n, -1) if flatten else x[:, None], labels[idx]]
    return tuple(parts)


# ---- training --------------------------------------------------------------------------------------------

def accuracy(model, x, y, batch=1000):
    """Fraction of rows of x whose arg-max output is the label, in evaluation mode (the model's
    train/eval mode is restored afterwards)."""
    was_training = model.training
    model.eval()
    correct = 0
    with fe.no_grad():
        for i in range(0, len(x), batch):
            correct += int((model(fe.tensor(x[i:i + batch]))._data.argmax(axis=1) == y[i:i + batch]).sum())
    model.train(was_training)
    return correct / len(x)


def evaluate(model, x, y, batch=1000):
    """(mean cross-entropy, accuracy) over (x, y) in evaluation mode (the mode is restored afterwards)."""
    was_training = model.training
    model.eval()
    total, correct = 0.0, 0
    with fe.no_grad():
        for i in range(0, len(x), batch):
            logits = model(fe.tensor(x[i:i + batch]))
            yb = y[i:i + batch]
            total += F.cross_entropy(logits, fe.tensor(yb)).item() * len(yb)
            correct += int((logits._data.argmax(axis=1) == yb).sum())
    model.train(was_training)
    return total / len(x), correct / len(x)


def evaluate_loss(model, x, y, batch=1000):
    """Mean cross-entropy over (x, y) in evaluation mode."""
    return evaluate(model, x, y, batch)[0]


def train_classifier(model, optimizer, x, y, epochs, batch_size, rng, x_val=None, y_val=None, transform=None,
                     after_backward=None):
    """Minibatch training with cross-entropy: each epoch shuffles with `rng` (a NumPy Generator),
    `transform` (if given) maps each input batch (a NumPy array) before the forward pass, and
    `after_backward(step)` (if given) runs after each backward, before the optimizer step, when the
    gradients are in place.

    Returns a dict of lists: 'step_loss' (every step), 'train_loss' (mean per epoch over the batches as
    they were trained: augmented, with dropout on), and after each epoch, in evaluation mode on the
    untransformed data: 'train_eval_loss', 'train_acc' and, with validation data, 'val_loss', 'val_acc'."""
    history = {"step_loss": [], "train_loss": [], "train_eval_loss": [], "train_acc": [], "val_loss": [],
               "val_acc": []}
    n = len(x)
    step = 0
    for _ in range(epochs):
        model.train()
        order = rng.permutation(n)
        total = 0.0
        for i in range(0, n, batch_size):
            idx = order[i:i + batch_size]
            xb = x[idx] if transform is None else transform(x[idx])
            loss = F.cross_entropy(model(fe.tensor(xb)), fe.tensor(y[idx]))
            optimizer.zero_grad()
            loss.backward()
            if after_backward is not None:
                after_backward(step)
            optimizer.step()
            value = loss.item()
            history["step_loss"].append(value)
            total += value * len(idx)
            step += 1
        history["train_loss"].append(total / n)
        train_loss, train_acc = evaluate(model, x, y)
        history["train_eval_loss"].append(train_loss)
        history["train_acc"].append(train_acc)
        if x_val is not None:
            val_loss, val_acc = evaluate(model, x_val, y_val)
            history["val_loss"].append(val_loss)
            history["val_acc"].append(val_acc)
    return history


# ---- figures ---------------------------------------------------------------------------------------------

def blank_figure(size=(10, 4)):
    """An empty figure on matplotlib's Agg canvas (no display, no global pyplot state), for layouts
    new_figure's grid does not fit (subfigures, gridspecs)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=size, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def new_figure(nrows=1, ncols=1, size=(10, 4)):
    """(figure, axes): a grid of nrows x ncols axes (always a 2-D array) on the Agg canvas."""
    fig = blank_figure(size)
    return fig, fig.subplots(nrows, ncols, squeeze=False)


def save_figure(fig, out_dir, name):
    """Writes fig to out_dir/name.png (creating out_dir) and returns the path."""
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, f"{name}.png")
    fig.savefig(path, dpi=100)
    return path


def result(table, png, metrics, **extra):
    """The dict every experiment's run() returns; prints the table first."""
    print(table, flush=True)
    print(f"figure: {png}", flush=True)
    return {"table": table, "png": png, "metrics": metrics, **extra}
