"""The `firstepoch` command: train, evaluate, predict, generate, visualize, lr-find, info, lab.
`main(argv) -> exit code`; bad arguments give argparse's usage error (exit code 2), never a traceback.

Exit codes: 0 done; 1 the run failed (the loss diverged, a file could not be written mid-run);
2 usage error (bad arguments, an unusable --out, --dataset, --resume or --checkpoint, non-finite
data, a model that cannot take the data, an unreadable image for predict, a bad FIRSTEPOCH_ISA);
130 interrupted (Ctrl-C); 141 stdout closed early (`firstepoch train | head`).
"""
import argparse
import os
import re
import shlex
import sys

import numpy as np

from . import __version__, cpu_info, get_num_threads, models, set_num_threads
from .io import CheckpointError, load_into
from .train import (OPTIMIZERS, SCHEDULERS, Trainer, checkpoint_config, default_config, load_splits,
                    read_checkpoint_fields)
from .train.config import MNIST_PREPROCESS, build_model, preprocess_of
from .train.text import TEXT_MODELS

EXIT_CODES = ("exit codes: 0 done; 1 the run failed (the loss diverged, a file could not be written); "
              "2 usage error; 130 interrupted (Ctrl-C); 141 stdout closed early")

DATASET_HELP = ("mnist-embedded (default, offline); ylecun/mnist, cifar10, fashion_mnist (Hugging Face; pip install "
                "'.[hf]'); or a path: a folder of class-named image folders, or parquet files with the hub's schema")


def _int_at_least(low, expected):
    """An argparse type: an integer >= low, else a usage error saying `expected`."""
    def parse(text):
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
        if v < low:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
        return v
    return parse


_positive_int = _int_at_least(1, "a positive integer")
_nonneg_int = _int_at_least(0, "an integer >= 0")


def _positive_float(text):
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not v > 0 or v == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return v


def version_line():
    """`firstepoch --version`: the version (pyproject.toml's, compiled into _C) and what this build runs."""
    import platform

    import numpy
    info = cpu_info()
    return (f"firstepoch {__version__} (isa {info.get('isa')}; available {', '.join(info.get('available', []))}; "
            f"{'OpenMP' if info.get('openmp') else 'no OpenMP'}; Python {platform.python_version()}; "
            f"numpy {numpy.__version__})")


class _VersionAction(argparse.Action):
    """argparse's "version" action, without its line wrapping and computed only when asked for."""

    def __init__(self, option_strings, dest, help=None):
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, help=help)

    def __call__(self, parser, namespace, values, option_string=None):
        print(version_line())
        parser.exit()


def build_parser():
    p = argparse.ArgumentParser(prog="firstepoch", description="Train and evaluate models with firstepoch.",
                                epilog=EXIT_CODES)
    p.add_argument("--version", action=_VersionAction, help="print the version and build (ISA, OpenMP, Python, "
                                                           "numpy), then exit")
    sub = p.add_subparsers(dest="command", metavar="{train,evaluate,predict,generate,visualize,lr-find,info,lab}")
    sub.required = True

    t = sub.add_parser("train", help="train a model (default: LeNet-5 on the embedded MNIST digits)",
                       description="Train a model; prints a progress bar, one line per epoch and the test "
                                   "accuracy. Options left out take the recipe's defaults (or, with --resume, "
                                   "the checkpoint's values).", epilog=EXIT_CODES)
    # None = not given: the defaults come from train.default_config, so --resume can tell what was asked
    t.add_argument("--model", choices=models.NAMES + TEXT_MODELS, default=None,
                   help="default: lenet; gpt trains a language model on a text file (the options below)")
    t.add_argument("--dataset", default=None, metavar="NAME|PATH", help=DATASET_HELP + "; for gpt: sonnets "
                                                                         "(default, shipped) or a UTF-8 text file")
    t.add_argument("--epochs", type=_positive_int, default=None, help="default: 10")
    t.add_argument("--batch-size", type=_positive_int, default=None, help="default: 64")
    t.add_argument("--lr", type=_positive_float, default=None, help="default: 0.05 for sgd, 1e-3 for adam/adamw")
    t.add_argument("--optimizer", choices=OPTIMIZERS, default=None, help="default: sgd (momentum 0.9, Nesterov)")
    t.add_argument("--scheduler", choices=SCHEDULERS, default=None, help="per-batch schedule; default: onecycle")
    t.add_argument("--augment", action="store_true", default=None, help="random shifts of up to 2 pixels")
    t.add_argument("--seed", type=_nonneg_int, default=None, help="default: 0")
    t.add_argument("--checkpoint-every", type=_nonneg_int, default=None, metavar="STEPS",
                   help="also save checkpoints/last.safetensors every STEPS batches (default 50; 0: epoch ends only)")
    t.add_argument("--threads", type=_positive_int, default=None,
                   help="kernel threads (default: all cores, or one while other busy processes make one faster)")
    t.add_argument("--out", default=None, metavar="DIR", help="write checkpoints, metrics.csv/json, curves.png "
                                                              "and confusion.png here (default: a new folder "
                                                              "runs/MODEL-N, N one more than the last)")
    t.add_argument("--resume", nargs="?", const="last", default=None, metavar="CHECKPOINT",
                   help="continue from a checkpoint (default: OUT/checkpoints/last.safetensors)")
    t.add_argument("--quiet", action="store_true", help="no progress bar (also off when not on a terminal)")
    t.add_argument("--no-capture", dest="capture", action="store_false",
                   help="run every step eagerly, not replayed from a capture (firstepoch.capture; same results)")
    t.add_argument("--distributed", action="store_true",
                   help="data-parallel over MPI ranks: mpirun -np N firstepoch train --distributed ...; "
                        "--batch-size is the global batch, split over the ranks; rank 0 prints and writes "
                        "(pip install 'firstepoch[mpi]')")

    _add_text_options(t)
    _add_generate(sub)

    e = sub.add_parser("evaluate", help="evaluate a training checkpoint on the test split")
    e.add_argument("--checkpoint", required=True, metavar="FILE")
    e.add_argument("--dataset", default=None, metavar="NAME|PATH", help="default: the checkpoint's")
    e.add_argument("--split", choices=("train", "val", "test"), default="test")
    e.add_argument("--threads", type=_positive_int, default=None)

    pr = sub.add_parser("predict", help="the top-k classes of image files, with a training checkpoint",
                        description="Prints the top-k classes and their probabilities for each image, made "
                                    "ready as the checkpoint's config records (channels, size, mean/std).",
                        epilog=EXIT_CODES)
    pr.add_argument("checkpoint", metavar="CHECKPOINT", help="a training checkpoint (RUN/checkpoints/best.safetensors)")
    pr.add_argument("images", nargs="+", metavar="IMAGE", help="image files (any format Pillow reads)")
    pr.add_argument("--topk", type=_positive_int, default=5, metavar="K",
                    help="classes shown per image (default 5, at most the model's number of classes)")
    pr.add_argument("--threads", type=_positive_int, default=None)
    _add_visualize_parser(sub)
    _add_lr_find_parser(sub)

    sub.add_parser("info", help="version, CPU instruction set, threads and kernels")

    lab = sub.add_parser("lab", help="the learning lab's experiments (firstepoch lab --list)", add_help=False)
    lab.add_argument("lab_args", nargs=argparse.REMAINDER)
    return p


TRAIN_KEYS = ("model", "dataset", "epochs", "batch_size", "lr", "optimizer", "scheduler", "augment", "seed",
              "checkpoint_every")


def _error(command, message):
    """A failure of the run itself (not of its arguments): one line on stderr, exit code 1."""
    print(f"firstepoch {command}: error: {message}", file=sys.stderr)
    return 1


def _new_run_dir(model, root="runs"):
    """runs/MODEL-N, created here, N one more than the highest already there: a run never lands in an
    earlier run's folder (two runs starting together each get their own)."""
    pattern = re.compile(re.escape(model) + r"-(\d+)")
    try:
        taken = [int(m.group(1)) for m in map(pattern.fullmatch, os.listdir(root)) if m]
    except FileNotFoundError:
        taken = []
    n = max(taken, default=0) + 1
    while True:
        path = os.path.join(root, f"{model}-{n}")
        try:
            os.makedirs(path)
            return path
        except FileExistsError:
            n += 1


def _prepare_out(out, model, parser):
    """The run's folder, created and proven writable (a probe file in it and in its checkpoints/ folder
    is written and removed) before any training, so a bad --out is a usage error, not a traceback
    after the first 50 steps."""
    if out is not None and os.path.exists(out) and not os.path.isdir(out):
        parser.error(f"--out {out}: is a file, not a folder")
    given = out
    try:
        if out is None:
            out = _new_run_dir(model)
        for folder in (out, os.path.join(out, "checkpoints")):
            os.makedirs(folder, exist_ok=True)
            probe = os.path.join(folder, f".firstepoch-write-test-{os.getpid()}")
            with open(probe, "wb") as f:
                f.write(b"ok")
            os.remove(probe)
    except OSError as e:
        why = f"{e.strerror or e}{f' ({e.filename})' if e.filename else ''}"
        if given is None:
            parser.error(f"cannot create a run folder under runs/ in {os.getcwd()}: {why}; choose one with --out DIR")
        parser.error(f"--out {given}: cannot write there: {why}")
    return out


def _stat(path):
    try:
        st = os.stat(path)
        return st.st_ino, st.st_mtime_ns, st.st_size
    except OSError:
        return None


def _interrupted(out, resume, last_before, trainer):
    """The Ctrl-C message: the exact command that resumes, only if a checkpoint to resume from exists."""
    if trainer.epoch >= trainer.epochs:
        where = " after the last epoch, writing the test results and reports"
    else:
        where = f" at epoch {trainer.epoch + 1}, batch {trainer.step_in_epoch + 1}"
    last = os.path.join(out, "checkpoints", "last.safetensors")
    now = _stat(last)
    if now is not None and (now != last_before or (resume is not None and os.path.abspath(resume) ==
                                                    os.path.abspath(last))):
        return f"interrupted{where}; resume with: firstepoch train --out {shlex.quote(out)} --resume"
    if resume is not None:  # nothing new saved: the checkpoint this run started from is still there
        return (f"interrupted{where}; no new checkpoint was written; resume with: firstepoch train --out "
                f"{shlex.quote(out)} --resume {shlex.quote(resume)}")
    return f"interrupted{where}; no checkpoint was written yet, so there is nothing to resume"


def _train(args, parser):
    if args.model in TEXT_MODELS:
        return _train_text(args, parser)
    given = {k: getattr(args, k) for k in TRAIN_KEYS if getattr(args, k) is not None}
    resume = None
    if args.resume is not None:
        if args.resume == "last":
            if args.out is None:
                parser.error("--resume without a file needs --out DIR (it reads DIR/checkpoints/last.safetensors)")
            resume = os.path.join(args.out, "checkpoints", "last.safetensors")
        else:
            resume = args.resume
        try:
            config = checkpoint_config(resume)
        except (OSError, CheckpointError) as e:
            parser.error(f"--resume: {e}")
        clash = [f"--{k.replace('_', '-')} {given[k]} (checkpoint: {config.get(k)})" for k in given
                 if k != "checkpoint_every" and config.get(k) != given[k]]
        if clash:
            parser.error("--resume continues the checkpoint's run; these options differ from it: " + "; ".join(clash))
        config.update({k: v for k, v in given.items() if k == "checkpoint_every"})
    else:
        try:
            config = default_config(**given)
        except (ValueError, KeyError) as e:
            parser.error(str(e))
    dist = None
    if args.distributed:
        from . import distributed as dist
        try:
            dist.init(threads=args.threads)  # threads default: this machine's cores / its ranks
        except ImportError as e:
            parser.error(f"--distributed: {e}")
        if config["batch_size"] % dist.world_size():
            parser.error(f"--distributed: --batch-size {config['batch_size']} (the global batch) must split evenly "
                         f"over the {dist.world_size()} ranks")
    elif args.threads:
        set_num_threads(args.threads)
    try:
        data = load_splits(config["dataset"])
    except KeyboardInterrupt:
        print("interrupted while loading the data; no checkpoint was written", file=sys.stderr)
        return 130
    except Exception as e:  # a path goes through Hugging Face `datasets`/pyarrow: any of their errors
        parser.error(f"--dataset {config['dataset']}: {e}")
    try:  # a model that cannot take these images is the recipe's fault, named before any folder is made
        build_model({"model": config["model"], "preprocess": getattr(data, "preprocess", None)})
    except ValueError as e:
        parser.error(f"--model {config['model']} on --dataset {config['dataset']}: {e}")
    main_process = dist is None or dist.is_main()
    out = _prepare_out(args.out, config["model"], parser) if main_process else args.out
    hooks = {}
    if dist is not None:
        hooks = {"sampler": dist.DistributedSampler(len(data["train"][1]), seed=config["seed"]),
                 "after_backward": lambda t: dist.allreduce_gradients(t.model),
                 "reduce_metrics": dist.all_reduce, "is_main": dist.is_main()}
    try:
        trainer = Trainer.from_config(config, data=data, out_dir=out, quiet=args.quiet, capture=args.capture,
                                      **hooks)
    except ValueError as e:  # non-finite pixels: named before training, not as a diverging loss
        parser.error(f"--dataset {config['dataset']}: {e}")
    if resume is not None:
        try:
            trainer.load_checkpoint(resume)
        except (OSError, CheckpointError) as e:
            parser.error(f"--resume: {e}")
    if dist is not None:
        # Each rank takes global batch / ranks samples of every global batch; the schedule's length,
        # computed from the global batch, stays right (the sampler pads every shard to the same size).
        trainer.batch_size = config["batch_size"] // dist.world_size()
        dist.broadcast_parameters(trainer.model)
        if resume is not None and not dist.is_main():
            trainer._sums = [0.0, 0, 0]  # a mid-epoch checkpoint holds rank 0's running sums only
    n = {k: len(v[1]) for k, v in data.items()}
    trainer.log(f"{config['model']} on {config['dataset']}: {n['train']} train / {n['val']} val / {n['test']} test, "
                f"{config['epochs']} epochs, batch {config['batch_size']}, {config['optimizer']} lr {config['lr']:g}, "
                f"{config['scheduler']}{', augment' if config['augment'] else ''}, seed {config['seed']}; "
                f"{cpu_info()['isa']}, {get_num_threads()} thread(s)"
                + (f" per rank, {dist.world_size()} MPI rank(s) x batch {trainer.batch_size}" if dist else ""))
    pre = getattr(data, "preprocess", None)
    if pre is not None and config["dataset"] not in ("mnist-embedded", "ylecun/mnist", "hf"):
        trainer.log(f"images {pre['in_channels']} x {pre['image_size'][0]} x {pre['image_size'][1]}, "
                    f"{len(pre['classes'])} classes: {', '.join(pre['classes'][:10])}"
                    + (", ..." if len(pre["classes"]) > 10 else ""))
    trainer.log(f"writing checkpoints and reports to {out}")
    if resume is not None:
        trainer.log(f"resuming {resume}: epoch {trainer.epoch + 1}, batch {trainer.step_in_epoch + 1}")
    last_before = _stat(os.path.join(out, "checkpoints", "last.safetensors")) if out else None
    try:
        trainer.fit()
    except KeyboardInterrupt:
        if main_process:
            print(_interrupted(out, resume, last_before, trainer), file=sys.stderr)
        return 130
    except FloatingPointError as e:  # the loss diverged
        return _error("train", str(e))
    except MemoryError as e:
        return _error("train", f"out of memory ({e or 'MemoryError'}); lower --batch-size "
                               f"(now {config['batch_size']})")
    except BrokenPipeError:
        raise
    except OSError as e:  # disk full, folder removed or made read-only mid-run
        return _error("train", f"cannot write the run's files in {out}: {e.strerror or e}"
                               f"{f' ({e.filename})' if e.filename else ''}")
    return 0


# ---- language models: `train --model gpt` and `generate` ----------------------------------------------

TEXT_OPTIONS = ("block_size", "n_layer", "n_head", "n_embd", "dropout", "tokenizer", "vocab_size")


def _add_text_options(t):
    g = t.add_argument_group("--model gpt", "a GPT on a text file: one epoch = as many tokens as the text's "
                                            "training part (defaults: --epochs 60, --batch-size 32, --lr 2e-3); "
                                            "AdamW with warm-up and cosine decay, gradient clipping, the "
                                            "held-out loss each epoch; then `firstepoch generate "
                                            "OUT/checkpoints/best.safetensors`")
    g.add_argument("--block-size", type=_positive_int, default=None, help="context length in tokens (default 64)")
    g.add_argument("--n-layer", type=_positive_int, default=None, help="Transformer blocks (default 4)")
    g.add_argument("--n-head", type=_positive_int, default=None, help="attention heads (default 4)")
    g.add_argument("--n-embd", type=_positive_int, default=None, help="width (default 128)")
    g.add_argument("--dropout", type=float, default=None, help="default 0.1")
    g.add_argument("--tokenizer", choices=("char", "bpe"), default=None,
                   help="char (default) or byte-level BPE (pip install tokenizers)")
    g.add_argument("--vocab-size", type=_positive_int, default=None, help="BPE vocabulary (default 512)")


def _train_text(args, parser):
    """`firstepoch train --model gpt`: train.text.train_gpt with the options given."""
    from .datasets.text import load_text
    from .train.text import text_config, train_gpt
    refused = [f"--{k.replace('_', '-')}" for k in ("augment", "resume", "checkpoint_every")
               if getattr(args, k) is not None] + (["--distributed"] if args.distributed else [])
    if args.optimizer not in (None, "adamw"):
        refused.append(f"--optimizer {args.optimizer} (gpt trains with adamw)")
    if args.scheduler not in (None, "cosine"):
        refused.append(f"--scheduler {args.scheduler} (gpt warms up, then decays on a cosine)")
    if refused:
        parser.error(f"--model gpt does not take {', '.join(refused)}")
    given = {k: getattr(args, k) for k in ("dataset", "epochs", "batch_size", "lr", "seed") + TEXT_OPTIONS
             if getattr(args, k) is not None}
    if args.dropout is not None and not 0 <= args.dropout < 1:
        parser.error(f"--dropout must be in [0, 1), got {args.dropout}")
    try:
        config = text_config(**given)
    except ValueError as e:
        parser.error(str(e))
    try:
        load_text(config["dataset"])  # an unreadable --dataset is a usage error, found before the run folder
    except (OSError, UnicodeDecodeError, ValueError) as e:
        parser.error(f"--dataset {config['dataset']}: {e}")
    if args.threads:
        set_num_threads(args.threads)
    out = _prepare_out(args.out, "gpt", parser)
    print(f"{cpu_info()['isa']}, {get_num_threads()} thread(s); writing checkpoints and metrics.json to {out}")
    try:
        train_gpt(config, out_dir=out, log=lambda line: print(line, flush=True))
    except KeyboardInterrupt:
        print(f"interrupted; the checkpoints of the finished epochs are in {os.path.join(out, 'checkpoints')}",
              file=sys.stderr)
        return 130
    except (ValueError, ImportError) as e:  # a text too short for --block-size; bpe without `tokenizers`
        parser.error(f"--dataset {config['dataset']}: {e}")
    except FloatingPointError as e:  # the loss diverged
        return _error("train", str(e))
    except BrokenPipeError:
        raise
    except OSError as e:
        return _error("train", f"cannot write the run's files in {out}: {e.strerror or e}")
    return 0


def _add_generate(sub):
    g = sub.add_parser("generate", help="sample text from a `train --model gpt` checkpoint",
                       description="Sample text from a language-model checkpoint.", epilog=EXIT_CODES)
    g.add_argument("checkpoint", metavar="CHECKPOINT", help="e.g. runs/gpt-1/checkpoints/best.safetensors")
    g.add_argument("--prompt", default="", help="the text to continue (default: none)")
    g.add_argument("--max-new-tokens", type=_nonneg_int, default=300)
    g.add_argument("--temperature", type=float, default=0.8, help="0: always the most likely token")
    g.add_argument("--top-k", type=_nonneg_int, default=None, help="sample among the k most likely (0/none: all)")
    g.add_argument("--seed", type=_nonneg_int, default=0)
    g.add_argument("--threads", type=_positive_int, default=None)


def _generate(args, parser):
    from .train.text import generate_text, load_gpt
    if not args.temperature >= 0 or args.temperature == float("inf"):
        parser.error(f"--temperature must be a finite number >= 0, got {args.temperature}")
    if args.threads:
        set_num_threads(args.threads)
    try:
        model, tok, _ = load_gpt(args.checkpoint)
    except (OSError, CheckpointError, ImportError) as e:
        parser.error(f"CHECKPOINT: {e}")
    try:
        text = generate_text(model, tok, args.prompt, args.max_new_tokens, args.temperature, args.top_k, args.seed)
    except ValueError as e:  # a prompt with characters the tokenizer does not know
        parser.error(f"--prompt: {e}")
    print(text)
    return 0


def _evaluate(args, parser):
    if args.threads:
        set_num_threads(args.threads)
    model, config = _load_checkpoint_model(args.checkpoint, parser, "--checkpoint")
    dataset = args.dataset or config["dataset"]
    try:
        data = load_splits(dataset, preprocess=config.get("preprocess"))
    except Exception as e:  # a path goes through Hugging Face `datasets`/pyarrow: any of their errors
        parser.error(f"--dataset {dataset}: {e}")
    try:
        trainer = Trainer(model, None, None, data, config)
        x, y = data[args.split]
        loss, acc, _ = trainer.evaluate(x, y)
    except (ValueError, RuntimeError) as e:  # non-finite pixels; images the model cannot take (a layer's
        parser.error(f"--dataset {dataset}: {e}")  # shape mismatch is a RuntimeError, as in torch)
    print(f"{config['model']} from {args.checkpoint} on {dataset} {args.split} ({len(y)} images): "
          f"loss {loss:.4f}  accuracy {acc:.2%}")
    return 0


def _predict_inputs(paths, pre, parser):
    """float32 (N, C, H, W) of the image files, made as the checkpoint's preprocessing says; a note on
    stderr for each image whose channels are converted."""
    from .datasets.images import GRAY_MODES, open_image
    from .train.data import images_to_model

    channels = pre["in_channels"]
    if channels not in (1, 3):
        parser.error(f"the checkpoint's model takes {channels}-channel images; predict reads grayscale or RGB files")
    images = []
    for path in paths:
        try:
            img = open_image(path)
        except ValueError as e:  # Pillow cannot read it: the message names the file
            parser.error(str(e))
        except OSError as e:
            parser.error(f"{path}: {e.strerror or e}")
        gray = img.mode in GRAY_MODES
        if channels == 3 and gray:
            print(f"note: {path} is grayscale and the model takes RGB: its channel is repeated three times "
                  "(Pillow's convert('RGB'), as torchvision's ImageFolder loader does)", file=sys.stderr)
        elif channels == 1 and not gray:
            print(f"note: {path} is in colour and the model takes grayscale: converted with Pillow's "
                  "convert('L') (luma)", file=sys.stderr)
        images.append(img)
    return images_to_model(images, pre)  # exactly what load_splits makes of the training images


def _predict(args, parser):
    if args.threads:
        set_num_threads(args.threads)
    model, config = _load_checkpoint_model(args.checkpoint, parser, args.checkpoint)
    pre = preprocess_of(config)
    x = _predict_inputs(args.images, pre, parser)
    from .autograd import no_grad
    from .tensor import tensor
    model.eval()
    with no_grad():  # in batches of 256: any number of files in bounded memory
        logits = np.concatenate([np.asarray(model(tensor(x[i:i + 256]))._data, dtype=np.float64)
                                 for i in range(0, len(x), 256)])
    z = logits - logits.max(axis=1, keepdims=True)
    probs = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    k = min(args.topk, probs.shape[1])
    classes = pre["classes"]
    for path, p in zip(args.images, probs):
        print(path)
        for j in np.argsort(-p, kind="stable")[:k]:
            print(f"  {p[j]:7.2%}  {classes[j]}")
    return 0


# ---- visualize and lr-find (issue 18) ----------------------------------------------------------------

def _add_visualize_parser(sub):
    v = sub.add_parser("visualize", help="see inside a checkpoint's model on one image (filters, feature maps, "
                                         "saliency, Grad-CAM)",
                       description="Writes filters.png (the first layer's filters), features_LAYER.png (the "
                                   "feature maps of every conv layer), saliency.png and gradcam.png for one "
                                   "image, and with --channel top_activating.png (the test images that most "
                                   "activate that channel of --layer).", epilog=EXIT_CODES)
    v.add_argument("checkpoint", metavar="CHECKPOINT", help="a training checkpoint (.safetensors)")
    v.add_argument("image", metavar="IMAGE", help="an image file (PNG, JPEG, ...): made 28x28 gray and "
                                                  "normalised as the training digits; a dark digit on a light "
                                                  "ground is inverted")
    v.add_argument("--out", default="visualize", metavar="DIR", help="where the PNGs go (default: visualize)")
    v.add_argument("--class", dest="target", type=_nonneg_int, default=None, metavar="K",
                   help="the class saliency and Grad-CAM explain (default: the predicted one)")
    v.add_argument("--layer", default=None, metavar="NAME",
                   help="the layer for Grad-CAM and --channel (default: the last conv layer)")
    v.add_argument("--channel", type=_nonneg_int, default=None, metavar="C",
                   help="also write top_activating.png: the 16 test images that most activate channel C")
    v.add_argument("--threads", type=_positive_int, default=None)


def _load_checkpoint_model(path, parser, what="CHECKPOINT"):
    """(model with the checkpoint's weights, its config); a usage error when the file is not one. The
    model is sized by the config's preprocess record (channels, image size, classes)."""
    try:
        tensors, meta, fields = read_checkpoint_fields(path)
        config = fields["config"]
        model = build_model(config)
        load_into(model, {k[6:]: v for k, v in tensors.items() if k.startswith("model.")}, meta, path)
    except (OSError, CheckpointError, ValueError) as e:
        parser.error(f"{what}: {e}")
    return model, config


def _visualize(args, parser):
    from . import interpret
    if args.threads:
        set_num_threads(args.threads)
    model, config = _load_checkpoint_model(args.checkpoint, parser)
    pre = preprocess_of(config)
    try:
        if pre == MNIST_PREPROCESS:  # a digit: read as interpret.read_image says (dark-on-light inverted)
            x = interpret.read_image(args.image)
        else:  # any other data: exactly as predict and training prepare it
            x = _predict_inputs([args.image], pre, parser)[0]
    except ImportError as e:
        parser.error(f"IMAGE: reading images needs Pillow (pip install pillow): {e}")
    except OSError as e:
        parser.error(f"IMAGE {args.image}: {e.strerror or e}")
    except ValueError as e:
        parser.error(f"IMAGE: {e}")
    logits = interpret.logits_of(model, x[None])[0]
    classes = len(logits)
    if args.target is not None and args.target >= classes:
        parser.error(f"--class {args.target}: out of range, the model has {classes} classes (0..{classes - 1})")
    convs = [n for n, _ in interpret.named_layers(model)]
    layer = args.layer if args.layer is not None else (convs[-1] if convs else None)
    if layer is not None:
        try:
            interpret._layer(model, layer, "--layer")
        except ValueError as e:
            parser.error(str(e))
    pred = int(logits.argmax())
    target = pred if args.target is None else args.target
    p = np.exp(logits - logits.max())
    p /= p.sum()
    names = pre["classes"]
    print(f"{config['model']} from {args.checkpoint}: predicts {pred} ({names[pred]}, p {p[pred]:.3f}) for "
          f"{args.image}; explaining class {target} ({names[target]})")
    out = args.out
    written, skipped = [], []
    try:
        os.makedirs(out, exist_ok=True)
        try:
            interpret.plot_filters(model, os.path.join(out, "filters.png"), input_shape=x.shape)
            written.append("filters.png")
        except ValueError:  # a recurrent model's first layer reads rows, not the image
            skipped.append("filters.png (the first layer is neither a conv layer nor a Linear on the image)")
        for name, maps in interpret.feature_maps(model, x).items():
            fname = f"features_{name}.png"
            interpret.plot_feature_maps(maps, os.path.join(out, fname))
            written.append(fname)
        interpret.plot_saliency(model, x, os.path.join(out, "saliency.png"), target)
        written.append("saliency.png")
        if layer is None:
            skipped.append("gradcam.png (the model has no conv layer; pass --layer NAME)")
        else:
            try:
                interpret.plot_grad_cam(model, x, os.path.join(out, "gradcam.png"), target, layer)
                written.append("gradcam.png")
            except ValueError as e:
                parser.error(f"--layer {layer}: {e}")
        if args.channel is not None:
            if layer is None:
                parser.error("--channel needs --layer NAME (the model has no conv layer)")
            try:
                data = load_splits(config["dataset"], preprocess=config.get("preprocess"))
            except Exception as e:  # a path goes through Hugging Face `datasets`/pyarrow: any of their errors
                parser.error(f"--channel: cannot load the checkpoint's dataset {config['dataset']}: {e}")
            try:
                _, idx, scores = interpret.plot_top_activating(model, data["test"][0], layer, args.channel,
                                                               os.path.join(out, "top_activating.png"), k=16)
            except ValueError as e:
                parser.error(f"--channel {args.channel}: {e}")
            written.append("top_activating.png")
            print(f"channel {args.channel} of {layer}: test images {' '.join(map(str, idx[:8]))} ... "
                  f"(mean activation {scores[0]:.3g} to {scores[-1]:.3g})")
    except OSError as e:
        return _error("visualize", f"cannot write the pictures in {out}: {e.strerror or e}"
                                   f"{f' ({e.filename})' if e.filename else ''}")
    print(f"wrote {' '.join(written)} in {out}")
    for what in skipped:
        print(f"skipped {what}")
    return 0


def _add_lr_find_parser(sub):
    f = sub.add_parser("lr-find", help="sweep the learning rate (fast.ai's LR finder) and suggest one",
                       description="Trains from fresh weights while the learning rate grows exponentially from "
                                   "--start-lr to --end-lr, one step per batch, stops when the smoothed loss "
                                   "passes 4x its minimum, writes the loss curve to OUT/lr_find.png and prints "
                                   "the suggested rate (fast.ai's 'valley' by default). The dataset options are "
                                   "train's.", epilog=EXIT_CODES)
    f.add_argument("--model", choices=models.NAMES, default=None, help="default: lenet")
    f.add_argument("--dataset", default=None, metavar="NAME|PATH", help=DATASET_HELP)
    f.add_argument("--batch-size", type=_positive_int, default=None, help="default: 64")
    f.add_argument("--optimizer", choices=OPTIMIZERS, default=None, help="default: sgd (momentum 0.9, Nesterov)")
    f.add_argument("--augment", action="store_true", default=None, help="random shifts of up to 2 pixels")
    f.add_argument("--seed", type=_nonneg_int, default=None, help="default: 0")
    f.add_argument("--start-lr", type=_positive_float, default=1e-7, help="default: 1e-7")
    f.add_argument("--end-lr", type=_positive_float, default=10.0, help="default: 10")
    f.add_argument("--num-it", type=_int_at_least(2, "an integer >= 2"), default=100,
                   help="at most this many steps (default: 100)")
    f.add_argument("--suggest", choices=("valley", "steep", "minimum"), default="valley",
                   help="the suggestion rule (default: valley)")
    f.add_argument("--no-stop-div", dest="stop_div", action="store_false",
                   help="run all --num-it steps even when the loss diverges")
    f.add_argument("--out", default=".", metavar="DIR", help="where lr_find.png goes (default: .)")
    f.add_argument("--threads", type=_positive_int, default=None)


def _lr_find(args, parser):
    if not args.end_lr > args.start_lr:
        parser.error(f"--end-lr {args.end_lr:g} must be larger than --start-lr {args.start_lr:g}")
    if args.threads:
        set_num_threads(args.threads)
    given = {k: getattr(args, k) for k in ("model", "dataset", "batch_size", "optimizer", "augment", "seed")
             if getattr(args, k) is not None}
    config = default_config(**given)
    try:
        data = load_splits(config["dataset"])
    except Exception as e:  # a path goes through Hugging Face `datasets`/pyarrow: any of their errors
        parser.error(f"--dataset {config['dataset']}: {e}")
    try:
        trainer = Trainer.from_config(config, data=data, quiet=True)
    except ValueError as e:  # non-finite pixels
        parser.error(f"--dataset {config['dataset']}: {e}")
    path = os.path.join(args.out, "lr_find.png")
    try:
        os.makedirs(args.out, exist_ok=True)
        r = trainer.lr_find(args.start_lr, args.end_lr, args.num_it, args.stop_div, args.suggest, path=path)
    except FloatingPointError as e:
        return _error("lr-find", str(e))
    except OSError as e:
        return _error("lr-find", f"cannot write {path}: {e.strerror or e}")
    stop = (f"stopped at lr {r.lrs[-1]:.2e}: the smoothed loss passed 4x its minimum" if r.diverged
            else f"ran to lr {r.lrs[-1]:.2e}")
    print(f"{config['model']} on {config['dataset']}, {config['optimizer']}, batch {config['batch_size']}: "
          f"{len(r.lrs)} steps from {r.lrs[0]:.2e}, {stop}")
    print(f"suggested learning rate ({r.method}): {r.suggestion:.2e}")
    print(f"loss curve in {path}")
    return 0


def _info():
    info = cpu_info()
    print(f"firstepoch {__version__}")
    print(f"isa: {info.get('isa')} (available: {', '.join(info.get('available', []))}; "
          "force one with FIRSTEPOCH_ISA)")
    print(f"threads: {info.get('threads')}")
    print(f"malloc: {info.get('malloc')} (FIRSTEPOCH_MALLOC=keep keeps freed buffers for reuse, =system leaves "
          "malloc as it was)")
    print(f"numpy alignment: {info.get('numpy_alignment')} (64: NumPy's array data on 64-byte boundaries, "
          "part of FIRSTEPOCH_MALLOC=keep)")
    kernels = info.get("kernels", {})
    if isinstance(kernels, dict):
        print("kernels:")
        for k, v in kernels.items():
            print(f"  {k}: {v}")
    else:
        print(f"kernels: {kernels}")
    return 0


def _lab(args, parser):
    try:
        from . import lab
    except ImportError as e:
        print(f"firstepoch lab: the lab package is not available ({e})", file=sys.stderr)
        return 2
    return lab.main(args.lab_args)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        parser = build_parser()
        if argv and argv[0] == "lab":  # everything after `lab` belongs to the lab, --help included
            args = argparse.Namespace(command="lab", lab_args=argv[1:])
        else:
            args = parser.parse_args(argv)
        sub = parser._subparsers._group_actions[0].choices[args.command]
        if args.command == "train":
            return _train(args, sub)
        if args.command == "evaluate":
            return _evaluate(args, sub)
        if args.command == "predict":
            return _predict(args, sub)
        if args.command == "generate":
            return _generate(args, sub)
        if args.command == "visualize":
            return _visualize(args, sub)
        if args.command == "lr-find":
            return _lr_find(args, sub)
        if args.command == "info":
            return _info()
        return _lab(args, sub)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # Whoever read stdout has gone (`firstepoch train | head -1`): stop, quietly, as a tool killed by
        # SIGPIPE would; stdout goes to /dev/null so that flushing it at exit cannot fail again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141


if __name__ == "__main__":
    sys.exit(main())
