"""Seconds per training epoch of the 32x32 model zoo (AlexNet-32, VGG11-32, ResNet-18-32): firstepoch vs
the same architecture in PyTorch (torch.nn, torchvision's layout, the same initial weights), the same
batches, batch size and thread count; and, with --accuracy, test accuracy after a few epochs.

    python bench/models.py [--models alexnet32 vgg11_32 resnet18_32] [--threads 1 2] [--images 1024]
                           [--batch-size 64] [--accuracy] [--epochs 3] [--lr 0.01] [--json FILE]

Timing: one training step (forward, cross-entropy, backward, SGD with momentum) on a fixed batch of
32x32 RGB images, both libraries timed in alternation (interleaved medians); s/epoch = the step's median
x the steps in an epoch of --images images. GFLOP/s counts 3x the forward multiply-adds (forward, input
gradient, weight gradient), x2 flops each.

--accuracy: a synthetic, learnable 10-class 32x32 RGB task (no data set can be downloaded here): each
class is a smooth random colour pattern; an image is its class's pattern shifted by up to 4 pixels,
scaled by a random contrast, plus Gaussian noise. --images training images, --test-images; both
libraries start from the same weights and see the same batches; dropout masks differ.
"""
import math
import os
import sys
import time

from common import Table, arg_parser, banner, interleaved_medians, set_threads, try_import_torch, write_json
import numpy as np  # noqa: E402 (after common: it fixes the BLAS threads first)

import firstepoch as fe  # noqa: E402
import firstepoch.nn.functional  # noqa: E402,F401 (fe.nn.functional, which train_step calls)
from firstepoch import models as M  # noqa: E402

LR, MOMENTUM = 0.01, 0.9


def torch_model(torch, name):
    """The same architecture in torch.nn with torchvision's module names (tests/test_models_zoo.py builds
    the same; the parity tests there check that a state dict moves between them with equal outputs)."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
    from test_models_zoo import _torch_reference
    base = {"alexnet32": "alexnet", "vgg11_32": "vgg11", "vgg11_bn_32": "vgg11_bn", "resnet18_32": "resnet18"}[name]
    return _torch_reference(torch, base, num_classes=10, in_channels=3, small_input=True)


def forward_macs(model, side=32):
    """Multiply-adds of one image's forward pass through the model's Conv2d and Linear layers."""
    macs = 0

    def conv_hook(m, inputs, out):
        nonlocal macs
        k = m.weight.shape
        macs += int(np.prod(out.shape[1:])) * k[1] * k[2] * k[3]

    def linear_hook(m, inputs, out):
        nonlocal macs
        macs += m.in_features * m.out_features

    handles = []
    for m in model.modules():
        if isinstance(m, fe.nn.Conv2d):
            handles.append(m.register_forward_hook(conv_hook))
        elif isinstance(m, fe.nn.Linear):
            handles.append(m.register_forward_hook(linear_hook))
    model.eval()
    with fe.no_grad():
        model(fe.zeros(1, 3, side, side))
    model.train()
    for h in handles:
        h.remove()
    return macs


def synthetic_task(n_train, n_test, seed=0):
    """(x_train, y_train, x_test, y_test), float32 (N, 3, 32, 32) and int64 labels, classes balanced."""
    rng = np.random.default_rng(seed)
    coarse = rng.standard_normal((10, 3, 4, 4))
    patterns = np.kron(coarse, np.ones((8, 8)))  # 4x4 blocks to 32x32, then smoothed by a 5x5 box twice
    for _ in range(2):
        padded = np.pad(patterns, ((0, 0), (0, 0), (2, 2), (2, 2)), mode="wrap")
        patterns = sum(padded[:, :, i:i + 32, j:j + 32] for i in range(5) for j in range(5)) / 25

    def make(n):
        y = np.arange(n) % 10
        rng.shuffle(y)
        x = np.empty((n, 3, 32, 32), np.float32)
        for i, c in enumerate(y):
            dy, dx = rng.integers(-4, 5, 2)
            x[i] = np.roll(patterns[c], (dy, dx), axis=(1, 2)) * rng.uniform(0.5, 1.5)
        x += rng.normal(0, 1.0, x.shape).astype(np.float32)
        return x, y.astype(np.int64)
    return (*make(n_train), *make(n_test))


def pair(torch, name, lr=LR):
    """(firstepoch model, torch model, fe optimiser, torch optimiser) starting from the same weights."""
    torch.manual_seed(0)
    ref = torch_model(torch, name)
    model = getattr(M, name)()
    model.load_state_dict(ref.state_dict())
    return (model, ref, fe.optim.SGD(model.parameters(), lr=lr, momentum=MOMENTUM),
            torch.optim.SGD(ref.parameters(), lr=lr, momentum=MOMENTUM))


def train_step(lib, model, opt, x, y):
    """One training step, written once for both libraries (lib: firstepoch or torch, whose names it mirrors)."""
    loss = lib.nn.functional.cross_entropy(model(x), y)
    opt.zero_grad()
    loss.backward()
    opt.step()
    return loss


def time_steps(torch, name, batch, threads, rounds):
    set_threads(threads, torch)
    model, ref, opt, opt_t = pair(torch, name)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((batch, 3, 32, 32)).astype(np.float32)
    y = rng.integers(0, 10, batch)
    xf, xt, yt = fe.tensor(x), torch.from_numpy(x), torch.from_numpy(y)
    fns = {"fe": lambda: train_step(fe, model, opt, xf, y),
           "torch": lambda: train_step(torch, ref, opt_t, xt, yt)}
    return interleaved_medians(fns, warmup=1, rounds=rounds, min_seconds=0.0, settle=0.2 if threads > 1 else 0.0), \
        forward_macs(model)


def accuracy_run(torch, name, data, batch, epochs, threads, lr=LR):
    """Train both libraries from the same weights on the same batches; returns per library
    (test accuracy after each epoch, seconds of each epoch)."""
    set_threads(threads, torch)
    x_tr, y_tr, x_te, y_te = data
    model, ref, opt, opt_t = pair(torch, name, lr)
    order = np.random.default_rng(2)
    out = {"fe": ([], []), "torch": ([], [])}
    for _ in range(epochs):
        perm = order.permutation(len(x_tr))
        batches = [perm[i:i + batch] for i in range(0, len(perm), batch)]
        model.train(), ref.train()
        t0 = time.perf_counter()
        for idx in batches:
            train_step(fe, model, opt, fe.tensor(x_tr[idx]), y_tr[idx])
        out["fe"][1].append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        for idx in batches:
            train_step(torch, ref, opt_t, torch.from_numpy(x_tr[idx]), torch.from_numpy(y_tr[idx]))
        out["torch"][1].append(time.perf_counter() - t0)
        model.eval(), ref.eval()
        with fe.no_grad():
            pred = np.concatenate([np.asarray(model(fe.tensor(x_te[i:i + 250])).numpy()).argmax(1)
                                   for i in range(0, len(x_te), 250)])
        out["fe"][0].append(float((pred == y_te).mean()))
        with torch.no_grad():
            pred = np.concatenate([ref(torch.from_numpy(x_te[i:i + 250])).numpy().argmax(1)
                                   for i in range(0, len(x_te), 250)])
        out["torch"][0].append(float((pred == y_te).mean()))
    return out


def main():
    p = arg_parser(__doc__)
    p.add_argument("--models", nargs="+", default=["alexnet32", "vgg11_32", "resnet18_32"],
                   choices=["alexnet32", "vgg11_32", "vgg11_bn_32", "resnet18_32"])
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    p.add_argument("--images", type=int, default=1024, help="images per epoch (default 1024)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--accuracy", action="store_true", help="also train on the synthetic task and report accuracy")
    p.add_argument("--epochs", type=int, default=3, help="epochs of the --accuracy run")
    p.add_argument("--no-timing", action="store_true", help="only the --accuracy run")
    p.add_argument("--test-images", type=int, default=1000, help="test images of the --accuracy run")
    p.add_argument("--lr", type=float, default=LR, help=f"SGD learning rate of the --accuracy run (default {LR})")
    args = p.parse_args()
    torch = try_import_torch()
    if torch is None:
        raise SystemExit("bench/models.py compares with PyTorch: install torch==2.13.0")
    print(banner(f"32x32 model zoo, one training step (batch {args.batch_size}) and an epoch of {args.images} images"))
    steps = math.ceil(args.images / args.batch_size)
    rounds = 3 if args.quick else 5
    table = Table(["model", "threads", "fe s/epoch", "torch s/epoch", "fe vs torch", "fe GFLOP/s", "torch GFLOP/s"])
    for name in [] if args.no_timing else args.models:
        for threads in args.threads:
            t, macs = time_steps(torch, name, args.batch_size, threads, rounds)
            flop = 6 * macs * args.batch_size
            table.add(model=name, threads=threads, **{
                "fe s/epoch": t["fe"] * steps, "torch s/epoch": t["torch"] * steps, "fe vs torch": t["torch"] / t["fe"],
                "fe GFLOP/s": flop / t["fe"] * 1e-9, "torch GFLOP/s": flop / t["torch"] * 1e-9})
            print(f"#   {name}, {threads} thread(s): {macs / 1e6:.1f} M multiply-adds per image forward", flush=True)
    if not args.no_timing:
        print(table.render())
        print(f"# s/epoch: median step x {steps} steps; fe vs torch > 1: firstepoch faster")
    payload = {"images": args.images, "batch_size": args.batch_size, "timing": table.rows}
    if args.accuracy:
        data = synthetic_task(args.images, args.test_images)
        acc = Table(["model", "threads", "epoch", "fe test acc", "torch test acc", "fe s", "torch s"])
        threads = max(args.threads)
        for name in args.models:
            res = accuracy_run(torch, name, data, args.batch_size, args.epochs, threads, args.lr)
            for e in range(args.epochs):
                acc.add(model=name, threads=threads, epoch=e + 1, **{
                    "fe test acc": res["fe"][0][e], "torch test acc": res["torch"][0][e],
                    "fe s": res["fe"][1][e], "torch s": res["torch"][1][e]})
            print(f"#   {name} trained", flush=True)
        print(acc.render())
        print(f"# synthetic 10-class task: {args.images} training images, {args.test_images} test images, "
              f"SGD lr {args.lr} momentum {MOMENTUM}, batch {args.batch_size}, the same initial weights and batches "
              f"for both")
        payload["accuracy"] = acc.rows
    write_json(args.json, payload)


if __name__ == "__main__":
    main()
