"""Convolution, pooling and batch norm: firstepoch vs the NumPy reference vs PyTorch (when importable,
NCHW and channels_last, the better one kept), float32. Convolutions: forward, the data gradient alone,
the weight gradient alone (PyTorch's through aten.convolution_backward with one output asked for) and
forward+backward through autograd; pooling and batch norm: GB/s.

    python bench/conv.py [--threads 1] [--quick] [--json FILE]
"""
import tracemalloc

from common import Table, interleaved_medians, ratio_columns, ratio_row, settle_for, start, write_json
import numpy as np  # noqa: E402 (after common: it fixes the BLAS threads first)

import firstepoch as fe
from firstepoch import _C
import firstepoch.nn.functional as F
from firstepoch.reference import conv as R, pool as RP
from firstepoch.reference import norm as RN

# name, x shape, weight shape, stride, padding
CONVS = [("LeNet conv1 1->6 5x5 p2 28x28", (64, 1, 28, 28), (6, 1, 5, 5), 1, 2),
         ("LeNet conv2 6->16 5x5 14x14", (64, 6, 14, 14), (16, 6, 5, 5), 1, 0),
         ("3->32 3x3 p1 32x32", (64, 3, 32, 32), (32, 3, 3, 3), 1, 1),
         ("ResNet 64->64 3x3 p1 32x32", (32, 64, 32, 32), (64, 64, 3, 3), 1, 1),
         ("ResNet down 64->128 3x3 s2 p1 32x32", (32, 64, 32, 32), (128, 64, 3, 3), 2, 1),
         ("ResNet 1x1 64->128 s2 32x32", (32, 64, 32, 32), (128, 64, 1, 1), 2, 0)]
PASSES = ("fwd", "bwd-data", "bwd-weight", "fwd+bwd")


def np_backward_data(x, w, dy, stride, pad):
    """The reference's data gradient alone: per image, dcol = W.T @ dy, then col2im."""
    N, C, H, W_ = x.shape
    OC, _, kh, kw = w.shape
    wm = w.reshape(OC, -1)
    dx = np.empty_like(x)
    for n in range(N):
        dx[n] = R.col2im(wm.T @ dy[n].reshape(OC, -1), (C, H, W_), (kh, kw), stride, pad)
    return dx


def np_backward_weight(x, w, dy, stride, pad):
    """The reference's weight gradient alone: sum over images of dy @ im2col(x).T."""
    OC, _, kh, kw = w.shape
    dw = np.zeros((OC, w[0].size), dtype=x.dtype)
    for n in range(x.shape[0]):
        dw += dy[n].reshape(OC, -1) @ R.im2col(x[n], (kh, kw), stride, pad).T
    return dw.reshape(w.shape)


def conv_cases(torch, x, w, stride, pad):
    """{pass: {competitor: callable}} for one convolution: the forward, each backward product alone (the
    other one not computed) and forward+backward through autograd."""
    X, Wt = fe.from_numpy(x), fe.from_numpy(w)
    Xg = fe.tensor(x, requires_grad=True)
    Wg = fe.tensor(w, requires_grad=True)
    y = R.conv2d_forward(x, w, stride=stride, padding=pad)
    dy = np.ones_like(y)
    dx, dw = np.empty_like(x), np.empty_like(w)
    geo = ((stride, stride), (pad, pad), (1, 1), 1)

    def fe_fb():
        Xg.grad = Wg.grad = None
        F.conv2d(Xg, Wg, stride=stride, padding=pad).sum().backward()

    def np_fb():
        yy = R.conv2d_forward(x, w, stride=stride, padding=pad)
        R.conv2d_backward(x, w, np.ones_like(yy), stride=stride, padding=pad)

    cases = {"fwd": {"fe": lambda: F.conv2d(X, Wt, stride=stride, padding=pad),
                     "np": lambda: R.conv2d_forward(x, w, stride=stride, padding=pad)},
             "bwd-data": {"fe": lambda: _C.conv2d_backward(x, w, dy, dx, None, *geo),
                          "np": lambda: np_backward_data(x, w, dy, stride, pad)},
             "bwd-weight": {"fe": lambda: _C.conv2d_backward(x, w, dy, None, dw, *geo),
                            "np": lambda: np_backward_weight(x, w, dy, stride, pad)},
             "fwd+bwd": {"fe": fe_fb, "np": np_fb}}
    if torch:
        conv, bwd = torch.nn.functional.conv2d, torch.ops.aten.convolution_backward
        for fmt in ("nchw", "cl"):
            mf = torch.channels_last if fmt == "cl" else torch.contiguous_format
            xt = torch.from_numpy(x).contiguous(memory_format=mf)
            wt = torch.from_numpy(w).contiguous(memory_format=mf)
            dyt = torch.from_numpy(dy).contiguous(memory_format=mf)
            xtg = xt.clone().requires_grad_(True)
            wtg = wt.clone().requires_grad_(True)

            def t_fb(xtg=xtg, wtg=wtg):
                xtg.grad = wtg.grad = None
                conv(xtg, wtg, stride=stride, padding=pad).sum().backward()

            def t_pass(mask, xt=xt, wt=wt, dyt=dyt):
                return lambda: bwd(dyt, xt, wt, None, [stride] * 2, [pad] * 2, [1, 1], False, [0, 0], 1, mask)
            cases["fwd"]["torch_" + fmt] = lambda xt=xt, wt=wt: conv(xt, wt, stride=stride, padding=pad)
            cases["bwd-data"]["torch_" + fmt] = t_pass([True, False, False])
            cases["bwd-weight"]["torch_" + fmt] = t_pass([False, True, False])
            cases["fwd+bwd"]["torch_" + fmt] = t_fb
    return cases


def memory_cases(torch, rng):
    """[(name, {pass: {competitor: callable}}, {pass: bytes the pass must move})] for the memory-bound ops:
    max pool and avg pool 2x2 over (64,32,28,28), batch norm (training) over (32,64,32,32); forward,
    backward alone (the kernel's, given dy and what the forward saved) and forward+backward."""
    x = rng.standard_normal((64, 32, 28, 28)).astype(np.float32)
    xb = rng.standard_normal((32, 64, 32, 32)).astype(np.float32)
    E, EB = x.nbytes, xb.nbytes
    win = ((2, 2), (2, 2), (0, 0))
    X, XB = fe.from_numpy(x), fe.from_numpy(xb)
    Xg, XBg = fe.tensor(x, requires_grad=True), fe.tensor(xb, requires_grad=True)
    dy = rng.standard_normal((64, 32, 14, 14)).astype(np.float32)
    dyb = rng.standard_normal(xb.shape).astype(np.float32)
    dx, dxb = np.empty_like(x), np.empty_like(xb)
    xb3, dyb3, dxb3 = (a.reshape(32, 64, -1) for a in (xb, dyb, dxb))
    _, mean, invstd, _ = RN.batch_norm_forward(xb)
    mean, invstd = mean.astype(np.float32), invstd.astype(np.float32)

    def fe_fb(fn, Xg, dy):
        def run():
            Xg.grad = None
            fn(Xg).backward(dy)
        return run

    def np_fb_avg():
        RP.avg_pool2d_forward(x, 2)
        RP.avg_pool2d_backward(dy, x.shape, 2)

    def np_fb_bn():
        _, m, s, _ = RN.batch_norm_forward(xb)
        RN.batch_norm_backward(dyb, xb, None, m, s)

    cases = [
        ("avg pool 2x2 (64,32,28,28)",
         {"fwd": {"fe": lambda: F.avg_pool2d(X, 2), "np": lambda: RP.avg_pool2d_forward(x, 2)},
          "bwd": {"fe": lambda: _C.avg_pool2d_backward(dy, dx, *win),
                  "np": lambda: RP.avg_pool2d_backward(dy, x.shape, 2)},
          "fwd+bwd": {"fe": fe_fb(lambda t: F.avg_pool2d(t, 2), Xg, dy),
                      "np": np_fb_avg}},
         {"fwd": E * 1.25, "bwd": E * 1.25, "fwd+bwd": E * 2.5}),
        ("batch norm (32,64,32,32)",
         {"fwd": {"fe": lambda: F.batch_norm(XB, training=True), "np": lambda: RN.batch_norm_forward(xb)},
          "bwd": {"fe": lambda: _C.batch_norm_backward(dyb3, xb3, None, mean, invstd, dxb3, None, None, True),
                  "np": lambda: RN.batch_norm_backward(dyb, xb, None, mean, invstd)},
          "fwd+bwd": {"fe": fe_fb(lambda t: F.batch_norm(t, training=True), XBg, dyb), "np": np_fb_bn}},
         {"fwd": EB * 2, "bwd": EB * 3, "fwd+bwd": EB * 5}),
    ]
    if torch:
        tf = torch.nn.functional
        xt, xbt, dyt, dybt = (torch.from_numpy(a) for a in (x, xb, dy, dyb))
        st = torch.from_numpy(mean), torch.from_numpy(invstd)

        def t_fb(fn, a, g):
            ag = a.clone().requires_grad_(True)

            def run():
                ag.grad = None
                fn(ag).backward(g)
            return run
        aten = torch.ops.aten
        for (name, c, _), fwd, bwd, fb in zip(cases, (
                lambda: tf.avg_pool2d(xt, 2), lambda: tf.batch_norm(xbt, None, None, training=True)), (
                lambda: aten.avg_pool2d_backward(dyt, xt, [2, 2], [2, 2], [0, 0], False, True, None),
                lambda: aten.native_batch_norm_backward(dybt, xbt, None, None, None, *st, True, 1e-5,
                                                        [True, False, False])), (
                t_fb(lambda t: tf.avg_pool2d(t, 2), xt, dyt),
                t_fb(lambda t: tf.batch_norm(t, None, None, training=True), xbt, dybt))):
            c["fwd"]["torch"], c["bwd"]["torch"], c["fwd+bwd"]["torch"] = fwd, bwd, fb
    cases.insert(0, max_pool_case(torch, x, dy))
    cases += pool_option_cases(torch, x, rng)
    # LeNet's second max pool: planes of 100 values, pooled rows of 5 (cache-resident: the per-row work,
    # not memory, sets the time)
    xl = rng.standard_normal((64, 16, 10, 10)).astype(np.float32)
    cases.append(max_pool_case(torch, xl, rng.standard_normal((64, 16, 5, 5)).astype(np.float32)))
    return cases


def max_pool_case(torch, x, dy):
    """Max pooling 2x2 over x (dy: a gradient of its output): the row of memory_cases."""
    X, Xg = fe.from_numpy(x), fe.tensor(x, requires_grad=True)
    _, argmax = RP.max_pool2d_forward(x, 2)
    dx = np.empty_like(x)

    def fe_fb():
        Xg.grad = None
        F.max_pool2d(Xg, 2).backward(dy)

    def np_fb():
        _, am = RP.max_pool2d_forward(x, 2)
        RP.max_pool2d_backward(dy, am, x.shape, 2)

    case = {"fwd": {"fe": lambda: F.max_pool2d(X, 2), "np": lambda: RP.max_pool2d_forward(x, 2)},
            "bwd": {"fe": lambda: _C.max_pool2d_backward(dy, argmax, dx, (2, 2), (2, 2), (0, 0), (1, 1)),
                    "np": lambda: RP.max_pool2d_backward(dy, argmax, x.shape, 2)},
            "fwd+bwd": {"fe": fe_fb, "np": np_fb}}
    if torch:
        tf = torch.nn.functional
        xt, dyt = torch.from_numpy(x), torch.from_numpy(dy)
        _, it = tf.max_pool2d(xt, 2, return_indices=True)
        xtg = xt.clone().requires_grad_(True)

        def t_fb():
            xtg.grad = None
            tf.max_pool2d(xtg, 2).backward(dyt)
        case["fwd"]["torch"] = lambda: tf.max_pool2d(xt, 2)
        case["bwd"]["torch"] = lambda: torch.ops.aten.max_pool2d_with_indices_backward(
            dyt, xt, [2, 2], [2, 2], [0, 0], [1, 1], False, it)
        case["fwd+bwd"]["torch"] = t_fb
    E = x.nbytes
    name = f"max pool 2x2 ({','.join(map(str, x.shape))})"
    return name, case, {"fwd": E * 1.75, "bwd": E * 1.75, "fwd+bwd": E * 3.5}


def pool_option_cases(torch, x, rng):
    """The pooling options of issue 17 on the same input: ResNet's 3x3/2 padding 1 max pool with
    ceil_mode (windows clipped at the overhang), and that average pool with count_include_pad=False
    (a divisor per output)."""
    E = x.nbytes
    X, Xg = fe.from_numpy(x), fe.tensor(x, requires_grad=True)
    opts = dict(ceil_mode=True)
    aopts = dict(ceil_mode=True, count_include_pad=False)
    y, argmax = RP.max_pool2d_forward(x, 3, 2, 1, 1, True)
    dy = rng.standard_normal(y.shape).astype(np.float32)
    dx = np.empty_like(x)
    win = ((3, 3), (2, 2), (1, 1))

    def fb(fn, a, g):
        def run():
            a.grad = None
            fn(a).backward(g)
        return run

    def np_fb_max():
        _, am = RP.max_pool2d_forward(x, 3, 2, 1, 1, True)
        RP.max_pool2d_backward(dy, am, x.shape, 3, 2, 1, 1, True)

    def np_fb_avg():
        RP.avg_pool2d_forward(x, 3, 2, 1, True, False)
        RP.avg_pool2d_backward(dy, x.shape, 3, 2, 1, True, False)

    ys = y.nbytes
    cases = [
        ("max pool 3x3/2 p1 ceil (64,32,28,28)",
         {"fwd": {"fe": lambda: F.max_pool2d(X, 3, 2, 1, **opts), "np": lambda: RP.max_pool2d_forward(x, 3, 2, 1, 1, True)},
          "bwd": {"fe": lambda: _C.max_pool2d_backward(dy, argmax, dx, *win, (1, 1), True),
                  "np": lambda: RP.max_pool2d_backward(dy, argmax, x.shape, 3, 2, 1, 1, True)},
          "fwd+bwd": {"fe": fb(lambda t: F.max_pool2d(t, 3, 2, 1, **opts), Xg, dy), "np": np_fb_max}},
         {"fwd": E + 3 * ys, "bwd": E + 3 * ys, "fwd+bwd": 2 * E + 6 * ys}),
        ("avg pool 3x3/2 p1 ceil, no pad count",
         {"fwd": {"fe": lambda: F.avg_pool2d(X, 3, 2, 1, **aopts), "np": lambda: RP.avg_pool2d_forward(x, 3, 2, 1, True, False)},
          "bwd": {"fe": lambda: _C.avg_pool2d_backward(dy, dx, *win, True, False),
                  "np": lambda: RP.avg_pool2d_backward(dy, x.shape, 3, 2, 1, True, False)},
          "fwd+bwd": {"fe": fb(lambda t: F.avg_pool2d(t, 3, 2, 1, **aopts), Xg, dy), "np": np_fb_avg}},
         {"fwd": E + ys, "bwd": E + ys, "fwd+bwd": 2 * E + 2 * ys}),
    ]
    if torch:
        tf, aten = torch.nn.functional, torch.ops.aten
        xt, dyt = torch.from_numpy(x), torch.from_numpy(dy)
        _, it = tf.max_pool2d(xt, 3, 2, 1, ceil_mode=True, return_indices=True)
        xtg = xt.clone().requires_grad_(True)

        def t_fb(fn):
            def run():
                xtg.grad = None
                fn(xtg).backward(dyt)
            return run
        (_, mx, _), (_, av, _) = cases
        mx["fwd"]["torch"] = lambda: tf.max_pool2d(xt, 3, 2, 1, ceil_mode=True)
        mx["bwd"]["torch"] = lambda: aten.max_pool2d_with_indices_backward(dyt, xt, [3, 3], [2, 2], [1, 1], [1, 1],
                                                                            True, it)
        mx["fwd+bwd"]["torch"] = t_fb(lambda t: tf.max_pool2d(t, 3, 2, 1, ceil_mode=True))
        av["fwd"]["torch"] = lambda: tf.avg_pool2d(xt, 3, 2, 1, True, False)
        av["bwd"]["torch"] = lambda: aten.avg_pool2d_backward(dyt, xt, [3, 3], [2, 2], [1, 1], True, False, None)
        av["fwd+bwd"]["torch"] = t_fb(lambda t: tf.avg_pool2d(t, 3, 2, 1, True, False))
    return cases


def memory_rows(torch, rng, rounds, bandwidth, threads=1):
    """The table of the memory-bound ops: ms, ratios, the bytes each pass must move, GB/s, % bandwidth.
    On several threads each competitor's batch starts after a pause (interleaved_medians' settle): these
    calls last a millisecond, shorter than the time the previous library's pool keeps spinning."""
    table = Table(ratio_columns("op", "ms", torch, flops=False, bandwidth=True))
    for name, passes, nbytes in memory_cases(torch, rng):
        for pname, fns in passes.items():
            t = interleaved_medians(fns, rounds=rounds, min_seconds=0.02, settle=settle_for(threads))
            table.add(**ratio_row(("op", name), pname, t, torch_time=t.get("torch"), nbytes=nbytes[pname],
                                  bandwidth=bandwidth))
    return table


def main():
    args, torch, peak = start(__doc__, "convolution / pooling / batch norm, float32, {threads} thread(s)",
                              threads_option=True, bandwidth=True)
    table = Table(ratio_columns("op", "ms", torch))
    rng = np.random.default_rng(0)
    rounds = 3 if args.quick else 5
    for name, xs, ws, stride, pad in CONVS:
        x = rng.standard_normal(xs).astype(np.float32)
        w = rng.standard_normal(ws).astype(np.float32)
        N, C, H, W = xs
        OH = (H + 2 * pad - ws[2]) // stride + 1
        flop = 2.0 * N * ws[0] * C * ws[2] * ws[3] * OH * OH
        cases = conv_cases(torch, x, w, stride, pad)
        # the data gradient of a first layer (1 or 3 input channels) is never needed, but it is timed:
        # fwd+bwd below is autograd's, which computes what the graph asks for (both gradients here)
        for pname in PASSES:
            fl = 3 * flop if pname == "fwd+bwd" else flop
            # on several threads a pause before each batch: the previous library's spinning pool would
            # otherwise hold the cores (see memory_rows)
            t = interleaved_medians(cases[pname], rounds=rounds, min_seconds=0.02,
                                    settle=settle_for(args.threads))
            tt = min(t["torch_nchw"], t["torch_cl"]) if torch else None
            table.add(**ratio_row(("op", name), pname, t, flop=fl, peak=peak, torch_time=tt))
    print(table.render())
    mem_table = memory_rows(torch, rng, rounds, args.bandwidth, args.threads)
    print(mem_table.render())
    print("# MB: the bytes a pass must move at the least (float32 data, int64 argmax): max pool fwd reads x and "
          "writes y (x/4) and argmax (x/2), its bwd reads dy and argmax and writes dx; avg pool moves x and y; "
          "batch norm fwd reads x and writes y, bwd reads dy and x and writes dx; fwd+bwd is the sum. "
          "% bw: of the measured memory bandwidth above.")
    x = rng.standard_normal((32, 64, 32, 32)).astype(np.float32)
    w = rng.standard_normal((64, 64, 3, 3)).astype(np.float32)
    tracemalloc.start()
    F.conv2d(fe.tensor(x), fe.tensor(w), padding=1)
    _, peak_bytes = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"# peak memory of the ResNet-shape forward (NumPy allocations): {peak_bytes / 2**20:.1f} MiB "
          f"(input {x.nbytes / 2**20:.1f} MiB, output {x.nbytes / 2**20:.1f} MiB)")
    write_json(args.json, {"rows": table.rows + mem_table.rows})


if __name__ == "__main__":
    main()
