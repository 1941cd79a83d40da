"""nn.EmbeddingBag and F.embedding_bag: hard-coded values, the NumPy reference twin and the errors first
(no torch needed), then against torch 2.x: values and float64/float32 gradients of the weight and of
per_sample_weights for every mode, offsets form, include_last_offset, empty bags, padding_idx and
max_norm; the module's repr, from_pretrained and errors."""
import numpy as np
import pytest

import firstepoch as fe
import firstepoch.nn as nn
import firstepoch.nn.functional as F
from firstepoch.reference import embedding as RE

W = np.arange(12.0).reshape(4, 3)  # row r is [3r, 3r + 1, 3r + 2]


def bag(indices, weight=W, offsets=None, **kw):
    return F.embedding_bag(fe.tensor(np.asarray(indices)), fe.tensor(weight),
                           None if offsets is None else fe.tensor(np.asarray(offsets)), **kw).numpy()


# ---- hard-coded values -----------------------------------------------------------------------------

def test_modes_by_hand_with_an_empty_bag():
    idx, offs = [0, 2, 1, 3], [0, 2, 2]  # bags [0, 2], [], [1, 3]
    np.testing.assert_array_equal(bag(idx, offsets=offs, mode="sum"), [[6, 8, 10], [0, 0, 0], [12, 14, 16]])
    np.testing.assert_array_equal(bag(idx, offsets=offs), [[3, 4, 5], [0, 0, 0], [6, 7, 8]])  # mean: default
    np.testing.assert_array_equal(bag(idx, offsets=offs, mode="max"), [[6, 7, 8], [0, 0, 0], [9, 10, 11]])
    np.testing.assert_array_equal(bag([[0, 2], [1, 3]], mode="sum"), [[6, 8, 10], [12, 14, 16]])
    # include_last_offset: offsets hold B + 1 bounds; the last bag runs to the end of input whatever
    # offsets[-1] says (as torch's general kernel)
    for last in (4, 3):
        np.testing.assert_array_equal(bag(idx, offsets=[0, 2, last], mode="sum", include_last_offset=True),
                                      [[6, 8, 10], [12, 14, 16]])


def test_padding_entries_leave_the_bag_and_the_mean_count():
    idx, offs = [0, 2, 2, 2, 1], [0, 2, 4]  # bags [0, 2], [2, 2], [1]
    np.testing.assert_array_equal(bag(idx, offsets=offs, padding_idx=2), [[0, 1, 2], [0, 0, 0], [3, 4, 5]])
    np.testing.assert_array_equal(bag(idx, offsets=offs, padding_idx=-2, mode="max"), [[0, 1, 2], [0, 0, 0],
                                                                                      [3, 4, 5]])


def test_gradients_by_hand():
    w = fe.tensor(W.copy(), requires_grad=True)
    psw = fe.tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    out = F.embedding_bag(fe.tensor(np.array([0, 0, 3])), w, fe.tensor(np.array([0, 1])), mode="sum",
                          per_sample_weights=psw)
    out.backward(fe.tensor(np.array([[1.0, 0, 0], [0, 1.0, 0]])))
    np.testing.assert_array_equal(w.grad.numpy(), [[1, 2, 0], [0, 0, 0], [0, 0, 0], [0, 3, 0]])
    np.testing.assert_array_equal(psw.grad.numpy(), [0, 1, 10])  # <bag's gradient, the row it scaled>
    w = fe.tensor(np.array([[1.0, 2.0], [1.0, 0.0], [0.0, 2.0]]), requires_grad=True)
    F.embedding_bag(fe.tensor(np.array([[1, 0, 2]])), w, mode="max").sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [[0, 1], [1, 0], [0, 0]])  # ties: the first entry


def test_zero_bags_and_empty_inputs():
    assert bag([0, 1], offsets=np.zeros(0, np.int64)).shape == (0, 3)
    assert bag(np.zeros((0, 4), np.int64)).shape == (0, 3)
    np.testing.assert_array_equal(bag(np.zeros(0, np.int64), offsets=[0, 0], mode="max"), np.zeros((2, 3)))
    # (B, 0): B empty bags (torch raises 'step must be nonzero'; a deliberate difference)
    np.testing.assert_array_equal(bag(np.zeros((2, 0), np.int64), mode="sum"), np.zeros((2, 3)))
    w = fe.tensor(W.copy(), requires_grad=True)
    F.embedding_bag(fe.tensor(np.zeros(0, np.int64)), w, fe.tensor(np.array([0])), mode="max").sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), np.zeros((4, 3)))


def test_index_dtypes_int32_int64_and_mixed():
    for idt, odt in [(np.int32, np.int32), (np.int64, np.int32), (np.int32, np.int64), (np.uint8, np.int64)]:
        got = bag(np.array([0, 2, 1], idt), offsets=np.array([0, 2], odt), mode="sum")
        np.testing.assert_array_equal(got, [[6, 8, 10], [3, 4, 5]])
    assert bag(np.array([[1]], np.int32)).dtype == np.float64


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
@pytest.mark.parametrize("include_last_offset", [False, True])
def test_matches_the_reference_twin(rng, mode, include_last_offset):
    w = rng.standard_normal((7, 4))
    idx = rng.integers(0, 7, 12)
    offs = np.array([0, 3, 3, 8, 12] if include_last_offset else [0, 3, 3, 8, 11])
    psw = rng.standard_normal(12) if mode == "sum" else None
    W_ = fe.tensor(w, requires_grad=True)
    P = None if psw is None else fe.tensor(psw, requires_grad=True)
    out = F.embedding_bag(fe.tensor(idx), W_, fe.tensor(offs), mode=mode, per_sample_weights=P,
                          include_last_offset=include_last_offset, padding_idx=int(idx[4]),
                          scale_grad_by_freq=mode != "max")
    g = rng.standard_normal(out.shape)
    out.backward(fe.tensor(g))
    kw = dict(mode=mode, per_sample_weights=psw, include_last_offset=include_last_offset, padding_idx=int(idx[4]))
    want = RE.embedding_bag_forward(w, idx, offs, **kw)
    np.testing.assert_allclose(out.detach().numpy(), want, rtol=1e-12, atol=1e-12)
    dw, dpsw = RE.embedding_bag_backward(g, w, idx, offs, scale_grad_by_freq=mode != "max", **kw)
    np.testing.assert_allclose(W_.grad.numpy(), dw, rtol=1e-12, atol=1e-12)
    if psw is not None:
        np.testing.assert_allclose(P.grad.numpy(), dpsw, rtol=1e-12, atol=1e-12)


def test_max_norm_renormalises_the_rows_named_in_place():
    w = fe.tensor(np.full((4, 2), 3.0))
    F.embedding_bag(fe.tensor(np.array([[0, 2]])), w, max_norm=1.0, padding_idx=2)
    np.testing.assert_allclose(w.numpy()[[0, 2]], np.full((2, 2), 1 / np.sqrt(2)), rtol=1e-6)
    np.testing.assert_array_equal(w.numpy()[[1, 3]], np.full((2, 2), 3.0))


def test_module_defaults_padding_row_and_from_pretrained():
    m = nn.EmbeddingBag(5, 3, padding_idx=-1)
    assert m.mode == "mean" and m.padding_idx == 4 and m.weight.dtype == np.float32
    np.testing.assert_array_equal(m.weight.detach().numpy()[4], 0)
    assert repr(m) == "EmbeddingBag(5, 3, mode='mean', padding_idx=4)"
    p = nn.EmbeddingBag.from_pretrained(fe.tensor(W), mode="sum")
    assert not p.weight.requires_grad and p.weight.dtype == np.float64
    np.testing.assert_array_equal(p(fe.tensor(np.array([[1, 3]]))).numpy(), [[12, 14, 16]])
    assert nn.EmbeddingBag.from_pretrained(fe.tensor(W), freeze=False).weight.requires_grad
    assert list(m.state_dict()) == ["weight"]


def test_errors():
    i1, offs = fe.tensor(np.array([0, 1, 2])), fe.tensor(np.array([0, 1]))
    w = fe.tensor(W)
    cases = [
        (ValueError, "offsets has to be a 1D Tensor but got None", lambda: F.embedding_bag(i1, w)),
        (ValueError, "if input is 2D, then offsets has to be None",
         lambda: F.embedding_bag(fe.tensor(np.array([[0, 1]])), w, offs)),
        (ValueError, "input has to be 1D or 2D", lambda: F.embedding_bag(fe.tensor(np.zeros((1, 1, 1), np.int64)), w)),
        (ValueError, "offsets has to be a 1D Tensor", lambda: F.embedding_bag(i1, w, fe.tensor(np.array([[0]])))),
        (ValueError, "weight has to be a 2D Tensor", lambda: F.embedding_bag(i1, fe.tensor(W[0]), offs)),
        (ValueError, "mode has to be one of sum, mean or max", lambda: F.embedding_bag(i1, w, offs, mode="avg")),
        (ValueError, "max mode does not support scaling",
         lambda: F.embedding_bag(i1, w, offs, mode="max", scale_grad_by_freq=True)),
        (ValueError, "max mode does not support sparse", lambda: F.embedding_bag(i1, w, offs, mode="max", sparse=True)),
        (NotImplementedError, "per_sample_weights is only supported for mode='sum'",
         lambda: F.embedding_bag(i1, w, offs, per_sample_weights=fe.tensor(np.ones(3)))),
        (ValueError, "must have the same shape as the input",
         lambda: F.embedding_bag(i1, w, offs, mode="sum", per_sample_weights=fe.tensor(np.ones(2)))),
        (RuntimeError, "to have the same type as tensor for argument #1 'per_sample_weights'",
         lambda: F.embedding_bag(i1, w, offs, mode="sum", per_sample_weights=fe.tensor(np.ones(3, np.float32)))),
        (RuntimeError, "Long, Int; but got int16",
         lambda: F.embedding_bag(fe.tensor(np.array([0], np.int16)), w, fe.tensor(np.array([0], np.int16)))),
        (RuntimeError, "Long, Int; but got float",
         lambda: F.embedding_bag(i1, w, fe.tensor(np.array([0.0, 1.0])))),
        (RuntimeError, "Long, Int; but got float32", lambda: F.embedding_bag(fe.tensor(np.zeros((1, 1), np.float32)),
                                                                             w)),
        (RuntimeError, "'weight' to have one of the following scalar types",
         lambda: F.embedding_bag(i1, fe.tensor(np.zeros((4, 3), np.int64)), offs)),
        (RuntimeError, "offsets\\[0\\] has to be 0", lambda: F.embedding_bag(i1, w, fe.tensor(np.array([1, 2])))),
        (RuntimeError, "can not be greater than input's length 3",
         lambda: F.embedding_bag(i1, w, fe.tensor(np.array([0, 4])))),
        (RuntimeError, "non-decreasing", lambda: F.embedding_bag(i1, w, fe.tensor(np.array([0, 2, 1])))),
        (IndexError, "out of range", lambda: F.embedding_bag(i1, w, fe.tensor(np.array([0, -1])))),
        (RuntimeError, "number of offset should be at least 1",
         lambda: F.embedding_bag(i1, w, fe.tensor(np.zeros(0, np.int64)), include_last_offset=True)),
        (RuntimeError, "padding_idx must be within the number of embeddings, -4 through 3, but got 4",
         lambda: F.embedding_bag(i1, w, offs, padding_idx=4)),
        (AssertionError, "padding_idx must be within num_embeddings", lambda: nn.EmbeddingBag(4, 3, padding_idx=-5)),
        (AssertionError, "Shape of weight does not match", lambda: nn.EmbeddingBag(4, 3, _weight=fe.zeros(3, 3))),
        (AssertionError, "expected to be 2-dimensional", lambda: nn.EmbeddingBag.from_pretrained(fe.zeros(3))),
    ]
    for cls, match, call in cases:
        with pytest.raises(cls, match=match):
            call()
    # an index out of range: torch's RuntimeError and firstepoch's Embedding's IndexError at once
    for cls in (RuntimeError, IndexError):
        with pytest.raises(cls, match=r"Index 1 of input takes value 4 which is not in the valid range \[0, 4\)"):
            F.embedding_bag(fe.tensor(np.array([0, 4])), w, offs)
    with pytest.raises(IndexError, match="takes value -1"):
        F.embedding_bag(fe.tensor(np.array([[-1]])), w, max_norm=1.0)
    nn.EmbeddingBag(4, 3, mode="avg")  # refused at the call, as torch, not at construction


# ---- against torch ---------------------------------------------------------------------------------

def _torch_pair(torch, w, psw, dtype):
    tw = torch.tensor(w, dtype=getattr(torch, np.dtype(dtype).name), requires_grad=True)
    fw = fe.tensor(w.astype(dtype), requires_grad=True)
    if psw is None:
        return tw, fw, None, None
    tp = torch.tensor(psw, dtype=tw.dtype, requires_grad=True)
    return tw, fw, tp, fe.tensor(psw.astype(dtype), requires_grad=True)


FORMS = {  # name: (indices, offsets, include_last_offset)
    "2d": (np.array([[1, 4, 4], [0, 2, 6], [3, 3, 3]]), None, False),
    "offsets": (np.array([1, 4, 4, 0, 2, 6, 3, 5]), np.array([0, 2, 2, 5]), False),
    "last_offset": (np.array([1, 4, 4, 0, 2, 6, 3, 5]), np.array([0, 2, 2, 5, 8]), True),
    "last_offset_short": (np.array([1, 4, 4, 0, 2, 6, 3, 5]), np.array([0, 3, 3, 6]), True),  # last bag: to the end
    "empty_tail": (np.array([1, 4, 4, 0]), np.array([0, 4, 4]), False),
    "int32": (np.array([1, 4, 4, 0, 2], np.int32), np.array([0, 1, 3], np.int32), False),
    "mixed": (np.array([1, 4, 4, 0, 2], np.int32), np.array([0, 1, 3]), False),
}


@pytest.mark.parametrize("form", list(FORMS))
@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
@pytest.mark.parametrize("padding_idx", [None, 4, -3])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_values_and_gradients_match_torch(rng, form, mode, padding_idx, dtype):
    torch = pytest.importorskip("torch")
    idx, offs, last = FORMS[form]
    w = rng.standard_normal((7, 5))
    # torch's float32 sum/mean fast path ends a short last bag at offsets[-1]; its general kernel, which
    # firstepoch follows (README porting table), at the end of input: compare with that kernel (float64) there
    fast_path = form == "last_offset_short" and dtype == np.float32 and padding_idx is None and mode != "max"
    for psw in ([None, rng.standard_normal(idx.shape)] if mode == "sum" else [None]):
        tw, fw, tp, fp = _torch_pair(torch, w, psw, dtype)
        if fast_path:
            tw, _, tp, _ = _torch_pair(torch, w, psw, np.float64)
        kw = dict(mode=mode, include_last_offset=last, padding_idx=padding_idx)
        want = torch.nn.functional.embedding_bag(torch.tensor(idx), tw, None if offs is None else torch.tensor(offs),
                                                 per_sample_weights=tp, **kw)
        got = F.embedding_bag(fe.tensor(idx), fw, None if offs is None else fe.tensor(offs), per_sample_weights=fp,
                              **kw)
        tol = dict(rtol=1e-12, atol=1e-12) if dtype == np.float64 else dict(rtol=1e-5, atol=1e-6)
        assert got.dtype == np.dtype(dtype) and got.shape == tuple(want.shape)  # (want: float64 on the fast path)
        np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), **tol)
        g = rng.standard_normal(got.shape)
        want.backward(torch.tensor(g, dtype=tw.dtype))
        got.backward(fe.tensor(g.astype(dtype)))
        np.testing.assert_allclose(fw.grad.numpy(), tw.grad.numpy(), **tol)
        if psw is not None:
            np.testing.assert_allclose(fp.grad.numpy(), tp.grad.numpy(), **tol)


@pytest.mark.parametrize("mode", ["sum", "mean"])
def test_scale_grad_by_freq_matches_torch_where_torch_is_right(rng, mode):
    """Each index occurs equally often, so torch 2.13's CPU kernel (which divides a row's gradient by
    another index's count) gives the true answer; the repeated-index case is checked against the
    reference twin above."""
    torch = pytest.importorskip("torch")
    idx, offs = np.array([2, 5, 5, 2, 0, 0]), np.array([0, 1, 4])
    w = rng.standard_normal((6, 3))
    tw, fw, _, _ = _torch_pair(torch, w, None, np.float64)
    torch.nn.functional.embedding_bag(torch.tensor(idx), tw, torch.tensor(offs), mode=mode,
                                      scale_grad_by_freq=True).sum().backward()
    F.embedding_bag(fe.tensor(idx), fw, fe.tensor(offs), mode=mode, scale_grad_by_freq=True).sum().backward()
    np.testing.assert_allclose(fw.grad.numpy(), tw.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize("norm_type", [2.0, 1.0])
def test_max_norm_matches_torch(rng, norm_type):
    torch = pytest.importorskip("torch")
    w = 3 * rng.standard_normal((6, 4))
    tw, fw = torch.tensor(w, requires_grad=True), fe.tensor(w.copy(), requires_grad=True)
    idx = np.array([[0, 3], [3, 5]])
    want = torch.nn.functional.embedding_bag(torch.tensor(idx), tw, max_norm=1.5, norm_type=norm_type, mode="sum")
    got = F.embedding_bag(fe.tensor(idx), fw, max_norm=1.5, norm_type=norm_type, mode="sum")
    np.testing.assert_allclose(fw.detach().numpy(), tw.detach().numpy(), rtol=1e-12)  # renormalised in place, the same
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=1e-12)
    want.sum().backward()
    got.sum().backward()
    np.testing.assert_allclose(fw.grad.numpy(), tw.grad.numpy(), rtol=1e-12)


def test_module_matches_torch(rng):
    torch = pytest.importorskip("torch")
    for args, kw in [((6, 3), {}), ((6, 3), dict(mode="max")),
                     ((6, 3), dict(max_norm=1.0, norm_type=1.0, scale_grad_by_freq=True, mode="sum", sparse=True,
                                   include_last_offset=True, padding_idx=-2))]:
        theirs, ours = torch.nn.EmbeddingBag(*args, **kw), nn.EmbeddingBag(*args, **kw)
        assert repr(ours) == repr(theirs)
        assert ours.padding_idx == theirs.padding_idx and ours.mode == theirs.mode
        assert list(ours.state_dict()) == list(theirs.state_dict())
    w = rng.standard_normal((6, 3))
    theirs = torch.nn.EmbeddingBag.from_pretrained(torch.tensor(w), freeze=False, mode="max", padding_idx=1)
    ours = nn.EmbeddingBag.from_pretrained(fe.tensor(w), freeze=False, mode="max", padding_idx=1)
    assert ours.weight.requires_grad == theirs.weight.requires_grad
    idx, offs = np.array([1, 0, 5, 1, 2]), np.array([0, 2])
    np.testing.assert_allclose(ours(fe.tensor(idx), fe.tensor(offs)).detach().numpy(),
                               theirs(torch.tensor(idx), torch.tensor(offs)).detach().numpy(), rtol=1e-12)


def test_error_classes_match_torch():
    torch = pytest.importorskip("torch")
    w = np.random.default_rng(0).standard_normal((4, 3))
    calls = [  # (input, offsets, kwargs)
        (np.array([0, 1]), None, {}), (np.array([[0, 1]]), np.array([0]), {}),
        (np.zeros((1, 1, 1), np.int64), None, {}),
        (np.array([0, 1]), np.array([[0]]), {}), (np.array([0, 1]), np.array([0]), dict(mode="avg")),
        (np.array([0, 1]), np.array([0]), dict(mode="max", scale_grad_by_freq=True)),
        (np.array([0, 1]), np.array([0]), dict(mode="max", sparse=True)),
        (np.array([0, 1]), np.array([0]), dict(per_sample_weights=np.ones(2))),
        (np.array([0, 1]), np.array([0]), dict(mode="sum", per_sample_weights=np.ones(3))),
        (np.array([0, 1]), np.array([0]), dict(mode="sum", per_sample_weights=np.ones(2, np.float32))),
        (np.array([0, 1], np.int16), np.array([0], np.int16), {}), (np.array([0, 1]), np.array([0.0]), {}),
        (np.array([0, 1]), np.array([1]), {}), (np.array([0, 1]), np.array([0, 3]), {}),
        (np.array([0, 1]), np.array([0, -1]), {}),
        (np.array([0, 1]), np.array([], np.int64), dict(include_last_offset=True)),
        (np.array([0, 1]), np.array([0]), dict(padding_idx=4)), (np.array([0, 4]), np.array([0]), {}),
    ]
    for idx, offs, kw in calls:
        tkw = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
        fkw = {k: fe.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
        with pytest.raises(Exception) as theirs:
            torch.nn.functional.embedding_bag(torch.tensor(idx), torch.tensor(w),
                                              None if offs is None else torch.tensor(offs), **tkw)
        with pytest.raises(theirs.type):
            F.embedding_bag(fe.tensor(idx), fe.tensor(w), None if offs is None else fe.tensor(offs), **fkw)
