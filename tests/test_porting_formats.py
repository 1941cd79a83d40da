"""torch's memory formats and layout: firstepoch.contiguous_format / channels_last / channels_last_3d /
preserve_format and firstepoch.strided, with torch's strides, contiguity answers, error classes and
None handling, checked by hand and (where torch is installed) against torch."""
import pickle

import numpy as np
import pytest

import firstepoch as fe

FORMATS = ["contiguous_format", "channels_last", "channels_last_3d", "preserve_format"]


def test_values_are_torch_like_singletons():
    assert repr(fe.channels_last) == "firstepoch.channels_last" and repr(fe.strided) == "firstepoch.strided"
    assert isinstance(fe.channels_last, fe.memory_format) and isinstance(fe.strided, fe.layout)
    assert not isinstance(fe.strided, fe.memory_format)
    for name in FORMATS:
        assert pickle.loads(pickle.dumps(getattr(fe, name))) is getattr(fe, name)
    with pytest.raises(TypeError, match="cannot create"):
        fe.memory_format()
    with pytest.raises(TypeError, match="cannot create"):
        fe.layout()
    assert fe.randn(2, 3).layout is fe.strided


def test_channels_last_strides_values_and_gradient():
    x = fe.tensor(np.arange(120.0).reshape(2, 3, 4, 5), requires_grad=True)
    y = x.contiguous(memory_format=fe.channels_last)
    assert y.stride() == (60, 1, 15, 3) and y.tolist() == x.tolist()
    assert not y.is_contiguous() and y.is_contiguous(memory_format=fe.channels_last)
    assert y.contiguous(memory_format=fe.channels_last) is y  # already laid out so: itself
    assert y.contiguous().stride() == (60, 20, 5, 1)
    (y * fe.arange(120.0).reshape(2, 3, 4, 5)).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.arange(120.0).reshape(2, 3, 4, 5))
    assert x.clone(memory_format=fe.channels_last).stride() == (60, 1, 15, 3)
    assert x.to(fe.float64, memory_format=fe.channels_last).stride() == (60, 1, 15, 3)
    z = fe.randn(2, 3, 4, 5, 6).contiguous(memory_format=fe.channels_last_3d)
    assert z.stride() == (360, 1, 90, 18, 3) and z.is_contiguous(memory_format=fe.channels_last_3d)
    # the kernels read any strides: a channels-last input gives the same convolution
    w = fe.randn(4, 3, 3, 3, dtype=fe.float64)
    np.testing.assert_allclose(fe.nn.functional.conv2d(y.detach(), w).numpy(),
                               fe.nn.functional.conv2d(x.detach(), w).numpy(), rtol=1e-6, atol=1e-9)


def test_constructors_take_memory_format():
    x = fe.randn(2, 3, 4, 5)
    for make in (fe.zeros_like, fe.ones_like, fe.empty_like, fe.rand_like, fe.randn_like):
        assert make(x, memory_format=fe.channels_last).stride() == (60, 1, 15, 3)
        assert make(x, memory_format=None).stride() == (60, 20, 5, 1)
    assert fe.full_like(x, 2.0, memory_format=fe.channels_last).tolist() == np.full((2, 3, 4, 5), 2.0).tolist()
    assert fe.randint_like(x, 5, memory_format=fe.channels_last).stride() == (60, 1, 15, 3)
    assert fe.empty(2, 3, 4, 5, memory_format=fe.channels_last).stride() == (60, 1, 15, 3)


def test_errors_as_torch():
    x = fe.randn(2, 3, 4, 5)
    with pytest.raises(RuntimeError, match="required rank 4 tensor to use channels_last format"):
        fe.randn(3, 4).contiguous(memory_format=fe.channels_last)
    with pytest.raises(RuntimeError, match="required rank 5 tensor to use channels_last_3d format"):
        x.clone(memory_format=fe.channels_last_3d)
    with pytest.raises(RuntimeError, match="rank 4"):
        fe.zeros_like(fe.randn(3), memory_format=fe.channels_last)
    with pytest.raises(RuntimeError, match="preserve memory format is unsupported by the contiguous operator"):
        x.permute(0, 2, 3, 1).contiguous(memory_format=fe.preserve_format)
    assert x.contiguous(memory_format=fe.preserve_format) is x
    with pytest.raises(RuntimeError, match="unsupported memory format Preserve"):
        fe.empty(2, memory_format=fe.preserve_format)
    for bad in (None, "channels_last", fe.strided, 1):
        with pytest.raises(TypeError, match="memory_format"):
            x.contiguous(memory_format=bad)
        with pytest.raises(TypeError, match="memory_format"):
            x.is_contiguous(memory_format=bad)
    with pytest.raises(TypeError, match="firstepoch.layout"):
        x.contiguous(memory_format=fe.strided)
    with pytest.raises(TypeError, match="memory_format"):
        fe.nn.Linear(2, 3).to(memory_format="channels_last")
    assert fe.nn.Linear(2, 3).to(memory_format=fe.channels_last).weight.is_contiguous()


def test_against_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    shapes = [(2, 3, 4, 5), (1, 3, 1, 1), (2, 1, 4, 5), (2, 3, 4, 5, 6), (3, 4), (0, 3, 2, 2)]
    for shape in shapes:
        a = rng.standard_normal(shape)
        views = {"plain": (lambda t: t), "permuted": (lambda t: t.permute(*reversed(range(t.ndim))))}
        if len(shape) in (4, 5):
            order = (0, 2, 3, 1) if len(shape) == 4 else (0, 2, 3, 4, 1)
            views["channels last"] = lambda t, o=order: t.permute(*o).contiguous().permute(*np.argsort(o).tolist())
        for vname, view in views.items():
            ours, theirs = view(fe.tensor(a)), view(torch.tensor(a))
            for name in FORMATS:
                f, tf = getattr(fe, name), getattr(torch, name)
                what = (shape, vname, name)
                assert ours.is_contiguous(memory_format=f) == theirs.is_contiguous(memory_format=tf), what
                for op in ("contiguous", "clone"):
                    try:
                        want = getattr(theirs, op)(memory_format=tf)
                    except RuntimeError:
                        with pytest.raises(RuntimeError):
                            getattr(ours, op)(memory_format=f)
                        continue
                    got = getattr(ours, op)(memory_format=f)
                    np.testing.assert_array_equal(got.numpy(), want.numpy())
                    # preserve_format's clone is C order (porting table); an empty tensor's strides are
                    # torch's accident of construction (torch.tensor of an empty array: all 0)
                    if (op == "contiguous" or name != "preserve_format") and a.size:
                        assert got.stride() == want.stride(), (what, op)
