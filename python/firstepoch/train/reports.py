"""What a run shows and leaves besides its checkpoints: the progress bar, the one-line summaries of each
epoch and of the test, metrics.csv and metrics.json (rewritten at every epoch end), and the plots of a
finished run, curves.png and confusion.png."""
import csv
import io as _pyio
import json
import os
import sys

import numpy as np

from .. import io as fio
from ..interpret import confusion_matrix

METRICS = ("epoch", "train_loss", "train_acc", "val_loss", "val_acc", "lr", "time_s")  # metrics.csv's columns
REPORT_FILES = ("metrics.csv", "metrics.json", "curves.png", "confusion.png")  # in the run's folder


# ---- on the terminal ---------------------------------------------------------------------------------

def progress_bar(total, initial, epoch, epochs):
    """A tqdm bar on stderr over one epoch's batches (tqdm is imported only when a bar is shown)."""
    from tqdm import tqdm
    return tqdm(total=total, initial=initial, unit="batch", leave=False, desc=f"epoch {epoch + 1}/{epochs}",
                dynamic_ncols=True, file=sys.stderr)


def epoch_line(row, epochs, seconds):
    """The Keras-style summary line of one epoch's metrics row."""
    return (f"epoch {row['epoch']}/{epochs}  train loss {row['train_loss']:.4f} acc "
            f"{row['train_acc']:.2%}  val loss {row['val_loss']:.4f} acc {row['val_acc']:.2%}  lr {row['lr']:.2e}  "
            f"{seconds:.1f} s")


def test_summary(y, preds, loss, acc, num_classes=10):
    """(the test record of metrics.json, its confusion matrix, its summary line)."""
    confusion = confusion_matrix(y, preds, num_classes=num_classes)
    result = {"test_loss": loss, "test_acc": acc, "n": int(len(y)), "confusion": confusion.tolist()}
    line = f"test loss {loss:.4f}  test accuracy {acc:.2%} ({int(round(acc * len(preds)))}/{len(preds)})"
    return result, confusion, line


# ---- files -------------------------------------------------------------------------------------------

def write_metrics(out_dir, config, history, test):
    """out_dir/metrics.csv (a row per epoch) and out_dir/metrics.json (config, history, test), atomically."""
    buf = _pyio.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(METRICS), lineterminator="\n")
    w.writeheader()
    for row in history:
        w.writerow(row)
    fio.atomic_write_text(os.path.join(out_dir, "metrics.csv"), buf.getvalue())
    doc = {"config": config, "history": history, "test": test}
    fio.atomic_write_text(os.path.join(out_dir, "metrics.json"), json.dumps(doc, indent=2) + "\n")


def _save_figure(fig, path):
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # no pyplot: no global backend state
    FigureCanvasAgg(fig)
    buf = _pyio.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    fio.atomic_write(path, [buf.getvalue()])


def write_curves(history, path):
    """Loss and accuracy per epoch, train against validation, in one PNG."""
    from matplotlib.figure import Figure
    fig = Figure(figsize=(10, 4), layout="tight")
    epochs = [r["epoch"] for r in history]
    ax1, ax2 = fig.subplots(1, 2)
    ax1.plot(epochs, [r["train_loss"] for r in history], "o-", label="train")
    ax1.plot(epochs, [r["val_loss"] for r in history], "s-", label="validation")
    ax1.set(xlabel="epoch", ylabel="cross-entropy loss", title="loss", yscale="log")
    ax2.plot(epochs, [100 * r["train_acc"] for r in history], "o-", label="train")
    ax2.plot(epochs, [100 * r["val_acc"] for r in history], "s-", label="validation")
    ax2.set(xlabel="epoch", ylabel="accuracy (%)", title="accuracy")
    for ax in (ax1, ax2):
        ax.grid(alpha=0.3)
        ax.legend()
    _save_figure(fig, path)


def write_confusion(matrix, path, accuracy=None):
    """The test confusion matrix (row = true class, column = predicted) as a PNG, counts in the cells."""
    from matplotlib.figure import Figure
    matrix = np.asarray(matrix)
    fig = Figure(figsize=(6, 5.4), layout="tight")
    ax = fig.subplots()
    im = ax.imshow(matrix, cmap="Blues")
    n = matrix.shape[0]
    for i in range(n):
        for j in range(n):
            if matrix[i, j]:
                ax.text(j, i, str(matrix[i, j]), ha="center", va="center", fontsize=8,
                        color="white" if matrix[i, j] > matrix.max() / 2 else "black")
    ax.set(xticks=range(n), yticks=range(n), xlabel="predicted", ylabel="true",
           title="test confusion matrix" + (f" (accuracy {accuracy:.2%})" if accuracy is not None else ""))
    fig.colorbar(im, ax=ax, fraction=0.046)
    _save_figure(fig, path)
