"""Issue 17, convolution: F.pad (every mode, negative amounts, torch's errors), padding='same'/'valid' and
padding_mode on Conv1d/Conv2d, unbatched inputs, ConvTranspose2d/1d and F.conv_transpose2d/1d. Against
PyTorch with its weights loaded (outputs and every gradient, float32 and float64, every ISA) where it is
installed, and against the NumPy references (firstepoch.reference.pad, .conv) everywhere."""
import itertools

import numpy as np
import pytest

import firstepoch as fe
import firstepoch.nn as nn
import firstepoch.nn.functional as F
from firstepoch.ops.pad import pad_adjoint, pad_apply, pad_plan
from firstepoch.reference import conv as RC, pad as RP

DTYPES = [np.float32, np.float64]
MODES = ["constant", "reflect", "replicate", "circular"]


def tol(dtype, k=1):
    s = max(1.0, float(np.sqrt(k)))
    return dict(rtol=2e-5 * s, atol=2e-5 * s) if dtype == np.float32 else dict(rtol=1e-11, atol=1e-11)


def arr(t):
    return t.detach().numpy()


def leaf(a):
    return fe.tensor(a, requires_grad=True)


# ---- F.pad -------------------------------------------------------------------------------------------

# (shape, pad, mode): positive, negative (cropping) and mixed amounts, 1-3 padded dimensions
PAD_CASES = [((2, 3, 5, 4), (1, 2, 0, 3), "constant"), ((2, 3, 5, 4), (-1, 2, 2, -2), "constant"),
             ((2, 3, 4, 5), (1, 2, 3, 0, 1, 1, 1, 1), "constant"), ((3,), (2, 1), "constant"),
             ((2, 5), (-2, -3), "constant"), ((2, 5), (-5, 0), "constant"), ((1, 0, 3), (1, 1, 2, 2), "constant"),
             ((2, 3, 5, 4), (2, 1, 3, 4), "reflect"), ((2, 3, 5, 4), (-1, 3, 2, -2), "reflect"),
             ((1, 5), (-4, 3), "reflect"), ((1, 5), (3, -1), "reflect"), ((3, 7), (6, 6), "reflect"),
             ((2, 2, 3, 4, 5), (1, 2, 2, 1, 1, 1), "reflect"), ((0, 2, 5), (1, 1), "reflect"),
             ((2, 3, 5, 4), (3, 2, 1, 5), "replicate"), ((1, 5), (-4, 3), "replicate"),
             ((2, 1, 1), (3, 3), "replicate"),
             ((2, 2, 3, 3, 4), (1, 1, 2, 0, 1, 2), "replicate"), ((2, 3, 4), (-2, -1), "replicate"),
             ((2, 3, 5, 4), (4, 1, 2, 5), "circular"), ((2, 3, 5, 4), (-1, 2, 2, -3), "circular"),
             ((1, 5), (-4, 1), "circular"), ((1, 5), (2, -3), "circular"), ((3, 4, 5), (-2, -3), "circular"),
             ((3, 0, 5), (1, 1), "circular"), ((2, 2, 2, 3, 4), (1, 2, 0, 3, 2, 2), "circular")]


@pytest.mark.parametrize("shape, pad, mode", PAD_CASES, ids=str)
def test_pad_matches_the_reference(rng, shape, pad, mode):
    x = rng.standard_normal(shape)
    plan = pad_plan(shape, pad, mode)
    y = pad_apply(x, plan, 0.5 if mode == "constant" else 0)
    np.testing.assert_array_equal(y, RP.pad_forward(x, pad, mode, 0.5 if mode == "constant" else 0))
    g = rng.standard_normal(y.shape)
    np.testing.assert_allclose(pad_adjoint(g, shape, plan), RP.pad_backward(g, shape, pad, mode), rtol=1e-13,
                               atol=1e-13)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape, pad, mode", PAD_CASES, ids=str)
def test_pad_matches_torch(rng, shape, pad, mode, dtype):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal(shape).astype(dtype)
    value = -1.5 if mode == "constant" else None
    xt = torch.tensor(x, requires_grad=True)
    yt = torch.nn.functional.pad(xt, pad, mode=mode, value=value)
    g = rng.standard_normal(tuple(yt.shape)).astype(dtype)
    yt.backward(torch.tensor(g))
    X = leaf(x)
    y = F.pad(X, pad, mode=mode, value=value)
    y.backward(fe.tensor(g))
    assert y.dtype == X.dtype and y.shape == tuple(yt.shape)
    np.testing.assert_array_equal(arr(y), arr(yt))
    np.testing.assert_allclose(arr(X.grad), arr(xt.grad), **tol(dtype))


def test_pad_non_contiguous_input_lists_and_integer_values(rng):
    torch = pytest.importorskip("torch")
    base = rng.standard_normal((2, 3, 6, 8))
    X = leaf(base)
    view = X.permute(0, 1, 3, 2)[:, :, ::2]  # non-contiguous
    xt = torch.tensor(base, requires_grad=True)
    vt = xt.permute(0, 1, 3, 2)[:, :, ::2]
    for mode in MODES:
        y = F.pad(view, [2, 1, 1, 2], mode=mode)  # a list, as torch takes
        np.testing.assert_array_equal(arr(y), arr(torch.nn.functional.pad(vt, [2, 1, 1, 2], mode=mode)))
    F.pad(view, (2, 1, 1, 2), mode="reflect").sum().backward()
    torch.nn.functional.pad(vt, (2, 1, 1, 2), mode="reflect").sum().backward()
    np.testing.assert_allclose(arr(X.grad), arr(xt.grad), rtol=1e-12)
    ints = np.arange(10).reshape(2, 5)
    for value in (2.5, -2.5, None):
        want = torch.nn.functional.pad(torch.tensor(ints), (1, 2), value=value)
        got = F.pad(fe.tensor(ints), (1, 2), value=value)
        assert got.dtype == np.int64
        np.testing.assert_array_equal(arr(got), want.numpy())
    # the result never shares memory with the input (a crop alone or no padding at all included)
    x = fe.tensor(np.ones((2, 4)))
    for p in ((0, 0), (-1, 0)):
        y = F.pad(x, p)
        y[0, 0] = 5.0
        assert x.numpy()[0, 0] == 1.0


# (shape, pad, mode, value): torch raises; firstepoch must raise the same class
PAD_ERRORS = [((2, 3), (1,), "constant", None), ((2, 3), (1, 1, 1, 1, 1, 1), "constant", None),
              ((2, 5), (-6, 2), "constant", None), ((2, 3), (1, 1), "wrap", None),
              ((2, 3, 4), (1, 1), "reflect", 1.0), ((2, 3, 4, 5), (1, 1), "reflect", None),
              ((5,), (1, 1), "replicate", None), ((3, 4), (1, 1, 1, 1), "circular", None),
              ((2, 3, 4, 5, 6, 2), (1, 1, 1, 1, 1, 1), "reflect", None), ((3, 4, 5), (5, 0), "reflect", None),
              ((3, 4, 5), (1, 5), "reflect", None), ((3, 4, 5), (-2, -3), "reflect", None),
              ((3, 4, 5), (-3, -3), "replicate", None), ((3, 0, 5), (1, 1), "replicate", None),
              ((0, 5), (1, 1), "reflect", None), ((3, 4, 5), (6, 0), "circular", None),
              ((3, 4, 5), (-3, -3), "circular", None)]


@pytest.mark.parametrize("shape, pad, mode, value", PAD_ERRORS, ids=str)
def test_pad_errors_as_torch(shape, pad, mode, value):
    torch = pytest.importorskip("torch")
    with pytest.raises(Exception) as want:
        torch.nn.functional.pad(torch.zeros(shape), pad, mode=mode, value=value)
    with pytest.raises(want.type):
        F.pad(fe.zeros(*shape), pad, mode=mode, value=value)


def test_pad_errors_without_torch():
    x = fe.zeros(3, 4, 5)
    with pytest.raises(RuntimeError, match="divisible by 2"):
        F.pad(x, (1, 1, 1))
    with pytest.raises(NotImplementedError, match="Unrecognised padding mode wrap"):
        F.pad(x, (1, 1), mode="wrap")
    with pytest.raises(RuntimeError, match="Padding size should be less than"):
        F.pad(x, (5, 0), mode="reflect")
    with pytest.raises(RuntimeError, match="doesn't take in value"):
        F.pad(x, (1, 1), mode="replicate", value=3.0)
    F.pad(x, (1, 1), mode="replicate", value=0)  # torch lets a zero value through
    with pytest.raises(TypeError, match="tuple of ints"):
        F.pad(x, (1.5, 1))
    # a deliberate difference: torch reads outside the input when circular padding is wider than what
    # its negative amounts leave; firstepoch raises
    with pytest.raises(RuntimeError, match="wrapping around more than once"):
        F.pad(fe.zeros(1, 5), (5, -1), mode="circular")
    with pytest.raises(RuntimeError, match="wrapping around more than once"):
        F.pad(fe.zeros(1, 5), (-5, 1), mode="circular")


# ---- padding='same' / 'valid' and padding_mode -------------------------------------------------------

def _torch_grads(torch, fn, arrays, g=None, rng=None):
    ts = [None if a is None else torch.tensor(a, requires_grad=True) for a in arrays]
    y = fn(*ts)
    g = rng.standard_normal(tuple(y.shape)).astype(arrays[0].dtype) if g is None else g
    y.backward(torch.tensor(g))
    return arr(y), [None if t is None else arr(t.grad) for t in ts], g


def _fe_grads(fn, arrays, g):
    ts = [None if a is None else leaf(a) for a in arrays]
    y = fn(*ts)
    y.backward(fe.tensor(g))
    return arr(y), [None if t is None else arr(t.grad) for t in ts]


def _assert_close(got, want, dtype, k):
    y, grads = got
    wy, wgrads = want
    np.testing.assert_allclose(y, wy, **tol(dtype, k))
    for a, b in zip(grads, wgrads):
        if b is not None:
            np.testing.assert_allclose(a, b, **tol(dtype, 40 * k))


# kernel, dilation, padding: even kernels and dilations ('same' pads one more at the end)
SAME_CASES = [((3, 3), (1, 1), "same"), ((4, 4), (1, 1), "same"), ((2, 5), (3, 1), "same"), ((4, 2), (2, 3), "same"),
              ((1, 1), (1, 1), "same"), ((3, 2), (1, 1), "valid"), ((5, 4), (2, 1), "valid")]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kernel, dilation, padding", SAME_CASES, ids=str)
def test_conv2d_padding_strings_as_torch(isa, rng, dtype, kernel, dilation, padding):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((2, 4, 9, 11)).astype(dtype)
    w = rng.standard_normal((6, 2) + kernel).astype(dtype)
    b = rng.standard_normal(6).astype(dtype)
    args = dict(padding=padding, dilation=dilation, groups=2)
    *want, g = _torch_grads(torch, lambda x, w, b: torch.nn.functional.conv2d(x, w, b, **args), [x, w, b], rng=rng)
    got = _fe_grads(lambda x, w, b: F.conv2d(x, w, b, **args), [x, w, b], g)
    assert got[0].shape == want[0].shape
    _assert_close(got, want, dtype, w[0].size)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("k, dilation, padding", [(3, 1, "same"), (4, 1, "same"), (4, 3, "same"), (2, 2, "same"),
                                                  (5, 2, "valid"), (3, 1, 2)], ids=str)
def test_conv1d_padding_strings_as_torch(rng, dtype, k, dilation, padding):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((3, 4, 13)).astype(dtype)
    w = rng.standard_normal((5, 4, k)).astype(dtype)
    b = rng.standard_normal(5).astype(dtype)
    args = dict(padding=padding, dilation=dilation)
    *want, g = _torch_grads(torch, lambda x, w, b: torch.nn.functional.conv1d(x, w, b, **args), [x, w, b], rng=rng)
    got = _fe_grads(lambda x, w, b: F.conv1d(x, w, b, **args), [x, w, b], g)
    _assert_close(got, want, dtype, w[0].size)


def _load(m, tm, dtype):
    m.load_state_dict({k: v.detach().numpy().astype(dtype) for k, v in tm.state_dict().items()})
    return tm.to(getattr(__import__("torch"), "float64" if dtype == np.float64 else "float32"))


def _module_parity(torch, m, tm, x, rng, dtype):
    """Output, input gradient and every parameter gradient of m against torch's tm (weights loaded)."""
    tm = _load(m, tm, dtype)
    xt = torch.tensor(x, requires_grad=True)
    yt = tm(xt)
    g = rng.standard_normal(tuple(yt.shape)).astype(dtype)
    yt.backward(torch.tensor(g))
    X = leaf(x)
    y = m(X)
    y.backward(fe.tensor(g))
    k = int(np.prod(m.weight.shape[1:]))
    np.testing.assert_allclose(arr(y), arr(yt), **tol(dtype, k))
    np.testing.assert_allclose(arr(X.grad), arr(xt.grad), **tol(dtype, 40 * k))
    params = dict(tm.named_parameters())
    for name, p in m.named_parameters():
        np.testing.assert_allclose(arr(p.grad), arr(params[name].grad), **tol(dtype, 40 * k), err_msg=name)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("padding_mode", ["zeros", "reflect", "replicate", "circular"])
@pytest.mark.parametrize("padding", [1, (2, 0), "same", "valid"], ids=str)
def test_conv2d_padding_modes_as_torch(rng, dtype, padding_mode, padding):
    torch = pytest.importorskip("torch")
    kw = dict(padding=padding, padding_mode=padding_mode, dilation=(1, 2))
    m = nn.Conv2d(4, 6, (4, 3), groups=2, dtype=dtype, **kw)
    tm = torch.nn.Conv2d(4, 6, (4, 3), groups=2, **kw)
    x = rng.standard_normal((2, 4, 7, 9)).astype(dtype)
    _module_parity(torch, m, tm, x, rng, dtype)
    _module_parity(torch, m, tm, x[1], rng, dtype)  # unbatched (C, H, W)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("padding_mode", ["zeros", "reflect", "replicate", "circular"])
@pytest.mark.parametrize("padding", [2, "same", "valid"], ids=str)
def test_conv1d_padding_modes_as_torch(rng, dtype, padding_mode, padding):
    torch = pytest.importorskip("torch")
    kw = dict(padding=padding, padding_mode=padding_mode)
    m = nn.Conv1d(3, 5, 4, dtype=dtype, **kw)
    tm = torch.nn.Conv1d(3, 5, 4, **kw)
    x = rng.standard_normal((2, 3, 10)).astype(dtype)
    _module_parity(torch, m, tm, x, rng, dtype)
    _module_parity(torch, m, tm, x[0], rng, dtype)  # unbatched (C, L)


def test_padding_string_and_mode_errors():
    x = fe.zeros(1, 2, 6, 6)
    w = fe.zeros(3, 2, 3, 3)
    with pytest.raises(RuntimeError, match="padding='same' is not supported for strided convolutions"):
        F.conv2d(x, w, padding="same", stride=2)
    with pytest.raises(RuntimeError, match="padding='same' is not supported for strided convolutions"):
        F.conv1d(fe.zeros(1, 2, 6), fe.zeros(3, 2, 3), padding="same", stride=2)
    with pytest.raises(RuntimeError, match="Invalid padding string: 'full'"):
        F.conv2d(x, w, padding="full")
    with pytest.raises(ValueError, match="padding='same' is not supported for strided convolutions"):
        nn.Conv2d(2, 3, 3, padding="same", stride=(1, 2))
    with pytest.raises(ValueError, match="padding='same' is not supported for strided convolutions"):
        nn.Conv1d(2, 3, 3, padding="same", stride=2)
    with pytest.raises(ValueError, match="Invalid padding string 'full'"):
        nn.Conv2d(2, 3, 3, padding="full")
    with pytest.raises(ValueError, match="padding_mode must be one of"):
        nn.Conv2d(2, 3, 3, padding_mode="wrap")
    with pytest.raises(ValueError, match="padding_mode must be one of"):
        nn.Conv1d(2, 3, 3, padding_mode="wrap")
    with pytest.raises(RuntimeError, match="Padding size should be less than"):  # reflect wider than the input
        nn.Conv2d(2, 3, 3, padding=6, padding_mode="reflect")(x)
    with pytest.raises(RuntimeError, match=r"Expected 3D \(unbatched\) or 4D \(batched\) input to conv2d"):
        F.conv2d(fe.zeros(6, 6), w)
    with pytest.raises(RuntimeError, match=r"Expected 2D \(unbatched\) or 3D \(batched\) input to conv1d"):
        F.conv1d(fe.zeros(6), fe.zeros(3, 2, 3))
    assert "padding_mode=reflect" in repr(nn.Conv2d(2, 3, 3, padding="same", padding_mode="reflect"))


def test_unbatched_convolutions_equal_the_batch_of_one(rng):
    x = fe.tensor(rng.standard_normal((3, 8, 7)).astype(np.float32))
    m = nn.Conv2d(3, 4, 3, padding=1)
    y = m(x)
    assert y.shape == (4, 8, 7)
    np.testing.assert_array_equal(arr(y), arr(m(x.unsqueeze(0)))[0])
    fused = nn.Sequential(m, nn.ReLU())  # the kernel's ReLU epilogue takes unbatched input too
    np.testing.assert_array_equal(arr(fused(x)), np.maximum(arr(y), 0))
    m1 = nn.Conv1d(3, 2, 3)
    x1 = fe.tensor(rng.standard_normal((3, 9)).astype(np.float32))
    assert m1(x1).shape == (2, 7)
    np.testing.assert_array_equal(arr(m1(x1)), arr(m1(x1.unsqueeze(0)))[0])
    mt = nn.ConvTranspose2d(3, 5, 3, stride=2)
    assert mt(x).shape == (5, 17, 15)
    np.testing.assert_array_equal(arr(mt(x)), arr(mt(x.unsqueeze(0)))[0])
    mt1 = nn.ConvTranspose1d(3, 2, 4, stride=3)
    assert mt1(x1).shape == (2, 28)


# ---- ConvTranspose2d ---------------------------------------------------------------------------------

# (N, Cin, H, W), Cout, groups, kernel, stride, padding, output_padding, dilation
TRANSPOSE_CASES = [((2, 4, 5, 6), 6, 1, 3, 1, 1, 0, 1), ((2, 4, 5, 6), 6, 2, 4, 2, 1, 1, 1),
                   ((1, 4, 3, 3), 2, 2, 2, 1, 1, 2, 3), ((2, 6, 4, 5), 3, 3, (3, 2), (3, 2), (1, 0), (2, 1), (1, 2)),
                   ((0, 4, 3, 3), 2, 1, 3, 2, 0, 1, 1), ((3, 1, 7, 1), 1, 1, 1, 1, 0, 0, 1),
                   ((1, 5, 2, 3), 7, 1, 5, 3, 2, 2, 1), ((2, 3, 1, 1), 4, 1, 3, 2, 0, 0, 1),
                   ((2, 16, 6, 5), 16, 1, 3, 1, 1, 0, 1), ((1, 4, 4, 4), 8, 4, 3, 2, 2, 1, 2)]


def _transpose_inputs(rng, case, dtype):
    (N, C, H, W), Cout, groups, k, s, p, op, d = case
    k = (k, k) if isinstance(k, int) else k
    x = rng.standard_normal((N, C, H, W)).astype(dtype)
    w = rng.standard_normal((C, Cout // groups) + k).astype(dtype)
    b = rng.standard_normal(Cout).astype(dtype)
    return x, w, b, dict(stride=s, padding=p, output_padding=op, groups=groups, dilation=d)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", TRANSPOSE_CASES, ids=str)
def test_conv_transpose2d_matches_the_reference(isa, rng, dtype, case):
    x, w, b, args = _transpose_inputs(rng, case, dtype)
    want = RC.conv_transpose2d_forward(x, w, b, **args)
    X, Wt, B = leaf(x), leaf(w), leaf(b)
    y = F.conv_transpose2d(X, Wt, B, **args)
    k = w.shape[0] // args["groups"] * w.shape[2] * w.shape[3]
    np.testing.assert_allclose(arr(y), want, **tol(dtype, k))
    g = rng.standard_normal(want.shape).astype(dtype)
    y.backward(fe.tensor(g))
    dx, dw, db = RC.conv_transpose2d_backward(x, w, g, **args)
    big = max(1, g.shape[0] * g.shape[2] * g.shape[3])
    np.testing.assert_allclose(arr(X.grad), dx, **tol(dtype, k * 4))
    np.testing.assert_allclose(arr(Wt.grad), dw, **tol(dtype, big))
    np.testing.assert_allclose(arr(B.grad), db, **tol(dtype, big))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", TRANSPOSE_CASES, ids=str)
def test_conv_transpose2d_as_torch(isa, rng, dtype, case):
    torch = pytest.importorskip("torch")
    x, w, b, args = _transpose_inputs(rng, case, dtype)
    *want, g = _torch_grads(torch, lambda x, w, b: torch.nn.functional.conv_transpose2d(x, w, b, **args), [x, w, b],
                            rng=rng)
    got = _fe_grads(lambda x, w, b: F.conv_transpose2d(x, w, b, **args), [x, w, b], g)
    assert got[0].shape == want[0].shape and got[0].dtype == dtype
    _assert_close(got, want, dtype, w.shape[1] * w.shape[2] * w.shape[3])


def test_conv_transpose2d_non_contiguous_inputs(rng):
    torch = pytest.importorskip("torch")
    xb = rng.standard_normal((2, 4, 12, 5))
    wb = rng.standard_normal((4, 3, 3, 3))
    X, Wt = leaf(xb), leaf(wb)
    xv, wv = X.permute(0, 1, 3, 2)[:, :, :, ::2], Wt.permute(0, 1, 3, 2)  # (2, 4, 5, 6), (4, 3, 3, 3)
    y = F.conv_transpose2d(xv, wv, None, stride=2, padding=1, output_padding=1)
    xt, wt = torch.tensor(xb, requires_grad=True), torch.tensor(wb, requires_grad=True)
    yt = torch.nn.functional.conv_transpose2d(xt.permute(0, 1, 3, 2)[:, :, :, ::2], wt.permute(0, 1, 3, 2), None,
                                              stride=2, padding=1, output_padding=1)
    g = rng.standard_normal(tuple(yt.shape))
    y.backward(fe.tensor(g))
    yt.backward(torch.tensor(g))
    np.testing.assert_allclose(arr(y), arr(yt), rtol=1e-11, atol=1e-11)
    np.testing.assert_allclose(arr(X.grad), arr(xt.grad), rtol=1e-11, atol=1e-11)
    np.testing.assert_allclose(arr(Wt.grad), arr(wt.grad), rtol=1e-11, atol=1e-11)


def test_conv_transpose2d_thread_count_invariant(rng, threads):
    x, w, b, args = _transpose_inputs(rng, ((4, 16, 9, 8), 12, 2, 4, 2, 1, 1, 1), np.float32)
    out = []
    for n in (1, 2, 3):
        fe.set_num_threads(n)
        X, Wt, B = leaf(x), leaf(w), leaf(b)
        y = F.conv_transpose2d(X, Wt, B, **args)
        (y * y).sum().backward()
        out.append([arr(t) for t in (y, X.grad, Wt.grad, B.grad)])
    for other in out[1:]:
        for a, c in zip(out[0], other):
            np.testing.assert_array_equal(a, c)


def test_conv_transpose2d_second_derivative():
    """create_graph through the transposed convolution (its backward is made of differentiable ops)."""
    from firstepoch.autograd import gradgradcheck
    rng = np.random.default_rng(3)
    x, w, b, args = _transpose_inputs(rng, ((1, 4, 3, 3), 2, 2, 2, 1, 1, 2, 3), np.float64)
    assert gradgradcheck(lambda x, w, b: F.conv_transpose2d(x, w, b, **args), [leaf(x), leaf(w), leaf(b)])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kw", [dict(kernel_size=4, stride=2, padding=1), dict(kernel_size=3),
                                dict(kernel_size=(3, 2), stride=(2, 3), padding=(1, 0), output_padding=(1, 2),
                                     groups=2, dilation=(2, 1), bias=False)], ids=str)
def test_conv_transpose2d_module_as_torch(rng, dtype, kw):
    torch = pytest.importorskip("torch")
    m, tm = nn.ConvTranspose2d(4, 6, dtype=dtype, **kw), torch.nn.ConvTranspose2d(4, 6, **kw)
    assert m.weight.shape == tuple(tm.weight.shape) and repr(m) == repr(tm)
    x = rng.standard_normal((2, 4, 5, 7)).astype(dtype)
    _module_parity(torch, m, tm, x, rng, dtype)
    _module_parity(torch, m, tm, x[0], rng, dtype)


def test_conv_transpose_modules_output_size_and_1d(rng):
    torch = pytest.importorskip("torch")
    m, tm = nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1), torch.nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1)
    _load(m, tm, np.float32)
    x = rng.standard_normal((1, 3, 5, 6)).astype(np.float32)
    for size in ([10, 11], [1, 2, 9, 12], (9, 11)):
        got = m(fe.tensor(x), output_size=size)
        np.testing.assert_allclose(arr(got), arr(tm(torch.tensor(x), output_size=size)), rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="valid sizes range from 9 to 10"):
        m(fe.tensor(x), output_size=[11, 11])
    for dtype in DTYPES:
        for kw in (dict(kernel_size=3, stride=2, output_padding=1),
                   dict(kernel_size=4, padding=2, dilation=2, groups=3)):
            m1, t1 = nn.ConvTranspose1d(3, 6, dtype=dtype, **kw), torch.nn.ConvTranspose1d(3, 6, **kw)
            assert m1.weight.shape == tuple(t1.weight.shape) and repr(m1) == repr(t1)
            x1 = rng.standard_normal((2, 3, 7)).astype(dtype)
            _module_parity(torch, m1, t1, x1, rng, dtype)
            _module_parity(torch, m1, t1, x1[1], rng, dtype)


def test_conv_transpose_initialisation_as_torch():
    """PyTorch's bounds: weight U(-b, b) with b = 1/sqrt(fan_in) (kaiming_uniform, a=sqrt(5)) and bias the
    same, fan_in = out_channels/groups * kh * kw (the weight's dimension 1 on)."""
    fe.manual_seed(0)
    m = nn.ConvTranspose2d(8, 64, 3, groups=2)
    bound = 1 / np.sqrt(32 * 9)
    w, b = arr(m.weight), arr(m.bias)
    assert w.shape == (8, 32, 3, 3) and b.shape == (64,)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
    assert np.abs(b).max() <= bound and np.abs(b).max() > 0.8 * bound


def test_conv_transpose_errors():
    x = fe.zeros(1, 4, 5, 5)
    w = fe.zeros(4, 2, 3, 3)
    with pytest.raises(RuntimeError, match="output padding must be smaller than either stride or dilation"):
        F.conv_transpose2d(x, w, stride=2, output_padding=2)
    with pytest.raises(RuntimeError, match="output padding must be smaller than either stride or dilation"):
        F.conv_transpose2d(x, w, output_padding=1)
    with pytest.raises(RuntimeError, match=r"expected input\[1, 3, 5, 5\] to have 4 channels, but got 3"):
        F.conv_transpose2d(fe.zeros(1, 3, 5, 5), w)
    with pytest.raises(RuntimeError, match="Output size is too small"):
        F.conv_transpose2d(fe.zeros(1, 4, 1, 1), fe.zeros(4, 2, 1, 1), padding=1)
    with pytest.raises(RuntimeError, match=r"Expected 3D \(unbatched\) or 4D \(batched\) input to conv_transpose2d"):
        F.conv_transpose2d(fe.zeros(5, 5), w)
    with pytest.raises(RuntimeError, match="Input type"):
        F.conv_transpose2d(x, fe.tensor(np.zeros((4, 2, 3, 3))))
    with pytest.raises(RuntimeError, match=r"bias must have shape \(2,\)"):
        F.conv_transpose2d(x, w, fe.zeros(4))
    with pytest.raises(RuntimeError, match="stride"):  # as torch ("non-positive stride is not supported")
        F.conv_transpose2d(x, w, stride=0)
    with pytest.raises(ValueError, match='Only "zeros" padding mode is supported for ConvTranspose2d'):
        nn.ConvTranspose2d(4, 2, 3, padding_mode="reflect")
    with pytest.raises(ValueError, match="groups=3 must divide"):
        nn.ConvTranspose2d(4, 2, 3, groups=3)


def test_same_padding_split(rng):
    """'same' at an even reach pads one more at the end (right / bottom), as torch: the output equals a
    'valid' convolution of the input padded by (reach // 2, reach - reach // 2)."""
    for kh, kw, dh, dw in itertools.product((1, 2, 3, 4), (2, 5), (1, 2), (1, 3)):
        x = fe.tensor(rng.standard_normal((1, 2, 9, 10)))
        w = fe.tensor(rng.standard_normal((3, 2, kh, kw)))
        rh, rw = dh * (kh - 1), dw * (kw - 1)
        padded = F.pad(x, (rw // 2, rw - rw // 2, rh // 2, rh - rh // 2))
        want = F.conv2d(padded, w, dilation=(dh, dw))
        got = F.conv2d(x, w, padding="same", dilation=(dh, dw))
        assert got.shape == (1, 3, 9, 10)
        np.testing.assert_allclose(arr(got), arr(want), rtol=1e-12, atol=1e-12)


CONV_LAYER_ARGS = [
    ("Conv2d", (3, 4, 3), {}), ("Conv2d", (3, 6, (3, 5)), dict(stride=2, padding=1, dilation=2, groups=3, bias=False)),
    ("Conv2d", (3, 4, 4), dict(padding="same", padding_mode="reflect")), ("Conv2d", (3, 4, 3), dict(padding="valid")),
    ("Conv1d", (3, 4, 3), {}), ("Conv1d", (4, 4, 5), dict(stride=2, padding=2, dilation=1, groups=2)),
    ("Conv1d", (3, 4, 3), dict(padding="same", padding_mode="circular")),
    ("ConvTranspose2d", (3, 4, 3), dict(stride=2, padding=1, output_padding=1)),
    ("ConvTranspose1d", (3, 4, 3), dict(stride=2, groups=1, bias=False, dilation=2)),
]


@pytest.mark.torch_parity
@pytest.mark.parametrize("name,args,kwargs", CONV_LAYER_ARGS)
def test_conv_layers_attributes_and_repr_match_torch(name, args, kwargs):
    """kernel_size, stride, padding, dilation are tuples as torch stores them (code reads conv.stride[0]),
    and the repr lists what differs from the defaults, as torch's."""
    torch = pytest.importorskip("torch")
    ours, theirs = getattr(nn, name)(*args, **kwargs), getattr(torch.nn, name)(*args, **kwargs)
    for attr in ("kernel_size", "stride", "padding", "dilation", "groups", "padding_mode", "in_channels",
                 "out_channels"):
        assert getattr(ours, attr) == getattr(theirs, attr), attr
    assert repr(ours) == repr(theirs)
