"""Scaled dot-product attention: the tiled C++ kernel (ops/attention.py, _C.attention_*) against the
NumPy reference that writes the full score matrix (reference/attention.py) at every ISA, float32 and
float64, edge shapes (T=1, primes, D off the vector width, several blocks), causal and masks (bool,
additive, broadcast, fully masked rows), grouped-query attention, non-contiguous inputs, dropout inside the
kernel (the reference's hashed mask, its statistics, its expectation), bitwise thread invariance, float64
gradcheck, F.scaled_dot_product_attention's parity with torch, and the errors."""
import numpy as np
import pytest

import firstepoch as fe
import firstepoch.nn.functional as F
from firstepoch import _C
from firstepoch.autograd import gradcheck
from firstepoch.ops import attention as A
from firstepoch.reference import attention as R

DTYPES = [np.float32, np.float64]

# (G, H, Hkv, L, S, E, Ev)
SHAPES = [(1, 1, 1, 1, 1, 1, 1), (2, 3, 3, 7, 13, 5, 3), (1, 2, 2, 1, 9, 8, 8), (1, 1, 1, 9, 1, 4, 4),
          (1, 2, 2, 130, 200, 64, 64), (2, 1, 1, 65, 64, 17, 33), (1, 4, 2, 31, 70, 16, 24), (1, 1, 1, 0, 5, 4, 4),
          (1, 1, 1, 5, 0, 4, 4), (0, 2, 2, 3, 3, 4, 4)]


def tol(dtype, n=64):
    return dict(rtol=1e-4, atol=2e-5 * np.sqrt(n)) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-12)


def make(rng, shape, dtype):
    G, H, Hkv, L, S, E, Ev = shape
    q = rng.standard_normal((G, H, L, E)).astype(dtype)
    k = rng.standard_normal((G, Hkv, S, E)).astype(dtype)
    v = rng.standard_normal((G, Hkv, S, Ev)).astype(dtype)
    return q, k, v


def check(q, k, v, mask, scale, causal, rng, drop=(0.0, 0)):
    dtype = q.dtype
    o, lse = A.attention_forward(q, k, v, mask, scale, causal, None, *drop)
    ro, rl = R.attention_forward(q, k, v, mask, scale, causal, *drop)
    n = max(k.shape[2], 1)
    np.testing.assert_allclose(o, ro, **tol(dtype, n))
    np.testing.assert_allclose(lse, rl, **tol(dtype, n))
    dout = rng.standard_normal(o.shape).astype(dtype)
    got = A.attention_backward(q, k, v, mask, o, lse, dout, scale, causal, *drop)
    want = R.attention_backward(q, k, v, mask, ro, rl, dout, scale, causal, *drop)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, **tol(dtype, n * max(q.shape[2], 1)))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("causal", [False, True])
def test_kernel_matches_reference(isa, rng, dtype, causal):
    for shape in SHAPES:
        q, k, v = make(rng, shape, dtype)
        check(q, k, v, None, 1 / np.sqrt(max(shape[5], 1)), causal, rng)


@pytest.mark.parametrize("dtype", DTYPES)
def test_masks(isa, rng, dtype):
    G, H, L, S = 2, 3, 70, 75
    q, k, v = make(rng, (G, H, H, L, S, 12, 9), dtype)
    for mshape in [(1, 1, L, S), (G, 1, 1, S), (1, H, L, S), (G, H, L, S), (G, H, 1, S)]:
        b = rng.random(mshape) > 0.4
        check(q, k, v, b, 0.4, False, rng)
        check(q, k, v, rng.standard_normal(mshape).astype(dtype) * 3, 0.4, False, rng)
    b = rng.random((1, 1, L, S)) > 0.5
    b[0, 0, 5] = False  # a row with no key: output 0, lse -inf, zero gradients (torch 2.13's CPU result)
    b[0, 0, 66] = False
    check(q, k, v, b, 0.4, False, rng)
    o, lse = A.attention_forward(q, k, v, b, 0.4, False)
    assert np.all(o[:, :, 5] == 0) and np.all(lse[:, :, 5] == -np.inf)
    dq, _, _ = A.attention_backward(q, k, v, b, o, lse, np.ones_like(o), 0.4, False)
    assert np.all(dq[:, :, 5] == 0)
    f = np.where(b, 0.0, -np.inf).astype(dtype)  # the same as an additive -inf mask
    o2, _ = A.attention_forward(q, k, v, f, 0.4, False)
    np.testing.assert_allclose(o2, o, **tol(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
def test_grouped_query_attention(isa, rng, dtype):
    for shape in [(2, 6, 2, 33, 65, 8, 8), (1, 4, 1, 64, 64, 16, 16)]:
        q, k, v = make(rng, shape, dtype)
        check(q, k, v, None, 0.3, True, rng)
        check(q, k, v, rng.random((1, shape[1], shape[3], shape[4])) > 0.3, 0.3, False, rng)


def test_outputs_overwritten(isa, rng):
    q, k, v = make(rng, (1, 2, 2, 70, 66, 8, 8), np.float64)
    o, lse = np.full((1, 2, 70, 8), np.nan), np.full((1, 2, 70), np.nan)
    _C.attention_forward(q, k, v, None, o, lse, scale=0.5)
    ro, rl = R.attention_forward(q, k, v, None, 0.5, False)
    np.testing.assert_allclose(o, ro, **tol(np.float64))
    dq, dk, dv = (np.full(a.shape, np.nan) for a in (q, k, v))
    _C.attention_backward(q, k, v, None, o, lse, np.ones_like(o), dq, dk, dv, scale=0.5)
    assert np.isfinite(dq).all() and np.isfinite(dk).all() and np.isfinite(dv).all()
    q0 = q[:, :, :0].copy()  # L = 0: dk, dv are zero
    dk[:] = np.nan
    dv[:] = np.nan
    _C.attention_backward(q0, k, v, None, np.empty((1, 2, 0, 8)), np.empty((1, 2, 0)), np.empty((1, 2, 0, 8)),
                          np.empty_like(q0), dk, dv, scale=0.5)
    assert np.all(dk == 0) and np.all(dv == 0)


@pytest.mark.parametrize("dtype", DTYPES)
def test_thread_count_is_bitwise_invariant(threads, rng, dtype):
    q, k, v = make(rng, (2, 3, 3, 130, 97, 24, 20), dtype)
    mask = rng.random((1, 3, 130, 97)) > 0.2
    dout = rng.standard_normal((2, 3, 130, 20)).astype(dtype)
    results = []
    for n in (1, 2, 3, 7):
        fe.set_num_threads(n)
        out = []
        for m, causal, drop in ((None, True, (0.0, 0)), (mask, False, (0.0, 0)), (mask, True, (0.3, 99))):
            o, lse = A.attention_forward(q, k, v, m, 0.2, causal, None, *drop)
            out += [o, lse, *A.attention_backward(q, k, v, m, o, lse, dout, 0.2, causal, *drop)]
        results.append(out)
    for other in results[1:]:
        for a, b in zip(results[0], other):
            assert np.array_equal(a, b)


def _heads_inside(a):
    """a (G, H, L, E) copied into a (G, L, H, E) buffer and seen as (G, H, L, E) again: a view with
    contiguous rows whose heads lie side by side (a GPT's q, k, v after the head split)."""
    return np.ascontiguousarray(a.transpose(0, 2, 1, 3)).transpose(0, 2, 1, 3)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(2, 3, 3, 70, 70, 16, 16), (1, 4, 2, 31, 66, 5, 17), (2, 2, 2, 9, 130, 32, 8),
                                   (1, 1, 1, 1, 1, 1, 1)])
def test_strided_operands_give_the_contiguous_results_bitwise(isa, rng, dtype, shape):
    """q, k, v, o, dout, dq, dk, dv as strided views (rows contiguous, heads side by side; k broadcast over
    the batch by a 0 stride) read and written where they lie: bitwise the C-contiguous call's results."""
    G, H, Hkv, L, S, E, Ev = shape
    q, k, v = make(rng, shape, dtype)
    k = np.ascontiguousarray(np.broadcast_to(k[:1], k.shape))
    mask = rng.random((1, H, L, S)) > 0.2
    mask[..., 0] = True
    dout = rng.standard_normal((G, H, L, Ev)).astype(dtype)
    for m, causal in ((None, True), (mask, False)):
        want_o, want_l = np.empty((G, H, L, Ev), dtype), np.empty((G, H, L), dtype)
        _C.attention_forward(q, k, v, m, want_o, want_l, scale=0.3, is_causal=causal)
        want_g = [np.empty_like(a) for a in (q, k, v)]
        _C.attention_backward(q, k, v, m, want_o, want_l, dout, *want_g, scale=0.3, is_causal=causal)
        qs, vs, ds = _heads_inside(q), _heads_inside(v), _heads_inside(dout)
        ks = np.broadcast_to(k[:1], k.shape)  # stride 0 over the batch
        o, lse = _heads_inside(np.empty((G, H, L, Ev), dtype)), np.empty((G, H, L), dtype)
        assert H * L == 1 or not (o.flags.c_contiguous or qs.flags.c_contiguous)
        _C.attention_forward(qs, ks, vs, m, o, lse, scale=0.3, is_causal=causal)
        assert o.tobytes() == want_o.tobytes() and lse.tobytes() == want_l.tobytes()
        got = [_heads_inside(np.empty_like(a)) for a in (q, k, v)]
        _C.attention_backward(qs, ks, vs, m, o, lse, ds, *got, scale=0.3, is_causal=causal)
        for g, w in zip(got, want_g):
            assert np.ascontiguousarray(g).tobytes() == w.tobytes()


def test_head_split_views_and_the_output_layout(rng):
    """A GPT's head split reaches the kernel as views and its gradients come back through them. The output
    takes torch 2.13's layout: (N, T, H, E) for a query laid out so (joining the heads again is then a
    view), C-contiguous for any other."""
    N, T, H, E = 2, 9, 3, 4
    x = fe.tensor(rng.standard_normal((N, T, 3 * H * E)), requires_grad=True)
    q, k, v = (t.reshape(N, T, H, E).transpose(1, 2) for t in x.split(H * E, dim=2))
    y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    assert y.transpose(1, 2).is_contiguous() and y.stride() == (T * H * E, E, H * E, 1)
    assert np.shares_memory(y.transpose(1, 2).reshape(N, T, H * E).data, y.data)
    try:
        import torch
    except ImportError:
        torch = None
    if torch is not None:  # the same views in torch: its output's strides are these
        xt = torch.from_numpy(x.detach().numpy())
        qt, kt, vt = (t.reshape(N, T, H, E).transpose(1, 2) for t in xt.split(H * E, dim=2))
        assert torch.nn.functional.scaled_dot_product_attention(qt, kt, vt, is_causal=True).stride() == y.stride()
    for shape in [(3, 9, 8), (2, 3, 9, 8), (2, 1, 9, 8)]:  # contiguous queries: C-contiguous, as torch's
        a = fe.tensor(rng.standard_normal(shape))
        assert F.scaled_dot_product_attention(a, a, a).is_contiguous()
    B = 2  # queries laid out otherwise (torch 2.13's output strides for these, measured)
    for make_q, want in [(lambda: rng.standard_normal((B, H, T, 2 * E))[..., :E], (H * T * E, T * E, E, 1)),
                         (lambda: rng.standard_normal((H, B, T, E)).transpose(1, 0, 2, 3), (T * E, B * T * E, E, 1)),
                         (lambda: rng.standard_normal((T, B, H, E)).transpose(1, 2, 0, 3), (H * E, E, B * H * E, 1)),
                         (lambda: rng.standard_normal((B, H, E, T)).transpose(0, 1, 3, 2), (H * T * E, T * E, E, 1))]:
        qa = make_q()
        kv = fe.tensor(rng.standard_normal((B, H, T, E)))
        assert F.scaled_dot_product_attention(fe.from_numpy(qa), kv, kv).stride() == want
        if torch is not None:
            kt2 = torch.from_numpy(kv.numpy())
            assert torch.nn.functional.scaled_dot_product_attention(torch.from_numpy(qa), kt2, kt2).stride() == want
    c = fe.tensor(rng.standard_normal((N, H, T, E)))
    assert F.scaled_dot_product_attention(c, k, v).is_contiguous()  # split key and value, plain query
    if torch is not None:
        ct = torch.from_numpy(c.numpy())
        assert torch.nn.functional.scaled_dot_product_attention(ct, kt, vt).is_contiguous()
    joined = y.transpose(1, 2).reshape(N, T, H * E)
    qc, kc, vc = (np.ascontiguousarray(t.detach().numpy()) for t in (q, k, v))
    ro, rl = R.attention_forward(qc, kc, vc, None, 1 / np.sqrt(E), True)
    np.testing.assert_allclose(y.data, ro, rtol=1e-12, atol=1e-12)
    g = rng.standard_normal(joined.shape)
    joined.backward(fe.tensor(g))
    rq, rk, rv = R.attention_backward(qc, kc, vc, None, ro, rl, g.reshape(N, T, H, E).transpose(0, 2, 1, 3),
                                      1 / np.sqrt(E), True)
    want = np.concatenate([a.transpose(0, 2, 1, 3).reshape(N, T, H * E) for a in (rq, rk, rv)], axis=2)
    np.testing.assert_allclose(x.grad.data, want, rtol=1e-10, atol=1e-12)


def test_function_non_contiguous_and_leading_dims(rng):
    q = fe.tensor(rng.standard_normal((2, 9, 3, 8)), requires_grad=True)  # (B, L, H, E): transposed below
    k = fe.tensor(rng.standard_normal((2, 3, 8, 11)), requires_grad=True)  # (B, H, E, S)
    v = fe.tensor(rng.standard_normal((2, 3, 11, 5)), requires_grad=True)
    qt, kt = q.transpose(1, 2), k.transpose(-2, -1)
    out = F.scaled_dot_product_attention(qt, kt, v, is_causal=True)
    ro, _ = R.attention_forward(np.ascontiguousarray(qt.detach().numpy()), np.ascontiguousarray(kt.detach().numpy()), v.detach().numpy(), None,
                                1 / np.sqrt(8), True)
    np.testing.assert_allclose(out.data, ro, rtol=1e-12, atol=1e-12)
    out.sum().backward()
    assert q.grad.shape == q.shape and k.grad.shape == k.shape and v.grad.shape == v.shape
    # more leading dims, a 2-D call and key/value broadcast over the batch
    q5 = rng.standard_normal((2, 2, 3, 4, 6))
    k5 = rng.standard_normal((1, 2, 3, 5, 6))
    v5 = rng.standard_normal((1, 2, 3, 5, 7))
    out = F.scaled_dot_product_attention(fe.tensor(q5), fe.tensor(k5), fe.tensor(v5))
    want, _ = R.attention_forward(q5.reshape(2, 6, 4, 6), np.broadcast_to(k5, (2, 2, 3, 5, 6)).reshape(2, 6, 5, 6),
                                  np.broadcast_to(v5, (2, 2, 3, 5, 7)).reshape(2, 6, 5, 7), None, 1 / np.sqrt(6), False)
    np.testing.assert_allclose(out.data, want.reshape(2, 2, 3, 4, 7), rtol=1e-12, atol=1e-12)
    out2 = F.scaled_dot_product_attention(fe.tensor(q5[0, 0, 0]), fe.tensor(k5[0, 0, 0]), fe.tensor(v5[0, 0, 0]))
    np.testing.assert_allclose(out2.data, want[0, 0], rtol=1e-12, atol=1e-12)


def test_gradcheck_float64(rng):
    cases = A.ScaledDotProductAttentionFn.gradcheck_cases(rng)
    for args, kwargs in cases:
        inputs = [fe.tensor(a, requires_grad=True) for a in args]
        gradcheck(lambda *xs: A.ScaledDotProductAttentionFn.apply(*xs, **kwargs), inputs)
    q, k, v = (fe.tensor(rng.standard_normal(s), requires_grad=True) for s in ((1, 2, 70, 3), (1, 2, 67, 3), (1, 2, 67, 2)))
    gradcheck(lambda a, b, c: F.scaled_dot_product_attention(a, b, c, is_causal=True), [q, k, v])


def test_dropout_path(rng):
    q, k, v = (fe.tensor(rng.standard_normal((2, 3, 5, 4)), requires_grad=True) for _ in range(3))
    fe.manual_seed(0)
    a = F.scaled_dot_product_attention(q, k, v, dropout_p=0.5)
    fe.manual_seed(0)
    b = F.scaled_dot_product_attention(q, k, v, dropout_p=0.5)
    assert np.array_equal(a.data, b.data)
    assert not np.array_equal(a.data, F.scaled_dot_product_attention(q, k, v, dropout_p=0.5).data)  # a new draw
    assert not np.allclose(a.data, F.scaled_dot_product_attention(q, k, v).data)
    a.sum().backward()
    assert q.grad.shape == q.shape
    full = F.scaled_dot_product_attention(q, k, v, dropout_p=1e-300)  # no element dropped
    np.testing.assert_allclose(full.data, F.scaled_dot_product_attention(q, k, v).data, rtol=1e-12, atol=1e-12)
    zero = F.scaled_dot_product_attention(q, k, v, dropout_p=1.0)  # every element dropped, as torch's math path
    q.grad = None
    zero.sum().backward()
    assert np.all(zero.detach().numpy() == 0) and np.all(q.grad.numpy() == 0)


@pytest.mark.parametrize("dtype", DTYPES)
def test_dropout_kernel_matches_reference(isa, rng, dtype):
    """The kernel's dropout (the forward drops as it weights the values, the backward hashes the same mask
    again block by block) against the reference's full mask: several blocks, causal, masks, GQA, E and Ev off
    the vector width, T = 1, p = 1 (all dropped)."""
    for shape, mask, causal, p in [((2, 3, 3, 130, 97, 24, 20), None, False, 0.3),
                                   ((1, 2, 2, 70, 70, 64, 64), None, True, 0.1),
                                   ((1, 4, 2, 31, 66, 5, 17), "bool", False, 0.5),
                                   ((2, 2, 2, 9, 130, 32, 8), "float", True, 0.7),
                                   ((1, 1, 1, 1, 1, 1, 1), None, False, 0.5),
                                   ((1, 2, 2, 20, 30, 8, 8), None, False, 1.0)]:
        q, k, v = make(rng, shape, dtype)
        G, H, _, L, S = shape[:5]
        m = None if mask is None else (rng.random((1, H, L, S)) > 0.3 if mask == "bool"
                                       else rng.standard_normal((G, 1, 1, S)).astype(dtype))
        check(q, k, v, m, 0.3, causal, rng, (p, 2 ** 64 - 1 - shape[3]))
    # the mask is that of (seed, head, query, key) alone: a strided (head-split) layout drops the same
    q, k, v = make(rng, (2, 3, 3, 70, 70, 16, 16), dtype)
    o, lse = A.attention_forward(q, k, v, None, 0.25, False, None, 0.4, 5)
    heads = [np.ascontiguousarray(a.transpose(0, 2, 1, 3)).transpose(0, 2, 1, 3) for a in (q, k, v)]
    o2, lse2 = A.attention_forward(*heads, None, 0.25, False, None, 0.4, 5)
    assert np.array_equal(o, o2) and np.array_equal(lse, lse2)
    o3, _ = A.attention_forward(q, k, v, None, 0.25, False, None, 0.4, 6)
    assert not np.allclose(o3, o)  # another seed, another mask


def test_dropout_mask_statistics():
    """The hashed mask keeps 1 - p of the probabilities, with neighbours (along queries, keys, heads and
    across seeds) kept independently: P(both kept) = (1 - p)^2."""
    for p in (0.1, 0.5, 0.9):
        keep = R.dropout_keep(12345, 2, 4, 256, 256, p)
        assert abs(keep.mean() - (1 - p)) < 0.004, keep.mean()
        for a, b in ((keep[..., 1:, :], keep[..., :-1, :]), (keep[..., 1:], keep[..., :-1]),
                     (keep[:, 1:], keep[:, :-1]), (keep, R.dropout_keep(12346, 2, 4, 256, 256, p))):
            assert abs((a & b).mean() - (1 - p) ** 2) < 0.005
    assert R.dropout_keep(0, 1, 1, 3, 4, 1e-300).all() and R.dropout_keep(0, 1, 1, 3, 4, 1.0).mean() < 1e-6


def test_dropout_is_unbiased_and_torch_semantics(rng):
    """Inverted dropout keeps the expectation: the mean of the output over many seeds approaches the
    undropped output (torch's math path: dropout(softmax(scores)) @ v, kept values scaled by 1 / (1 - p))."""
    q, k, v = (rng.standard_normal((1, 2, 6, 4)) for _ in range(3))
    want, _ = R.attention_forward(q, k, v, None, 0.5, False)
    outs = [A.attention_forward(q, k, v, None, 0.5, False, None, 0.2, seed)[0] for seed in range(4000)]
    np.testing.assert_allclose(np.mean(outs, axis=0), want, atol=0.03)
    # one seed against the composite formula on the reference's mask
    p = R._probabilities(R._scores(q, k, None, 0.5, False), R.attention_forward(q, k, v, None, 0.5, False)[1])
    keep = R.dropout_keep(7, 1, 2, 6, 6, 0.2)
    np.testing.assert_allclose(A.attention_forward(q, k, v, None, 0.5, False, None, 0.2, 7)[0],
                               (p * keep / 0.8) @ v, rtol=1e-12, atol=1e-12)


def test_dropout_double_backward(rng):
    """create_graph through the kernel's dropout: the Tensor-op form multiplies by the same hashed mask."""
    from firstepoch.autograd import gradgradcheck
    q, k, v = (fe.tensor(rng.standard_normal(s), requires_grad=True) for s in ((1, 2, 4, 3), (1, 2, 5, 3), (1, 2, 5, 2)))
    assert gradgradcheck(lambda a, b, c: A.ScaledDotProductAttentionFn.apply(a, b, c, dropout_p=0.3, dropout_seed=11),
                         [q, k, v])


def test_errors(rng):
    q, k, v = (fe.tensor(rng.standard_normal((1, 2, 5, 4)).astype(np.float32)) for _ in range(3))
    with pytest.raises(RuntimeError, match="same dtype"):
        F.scaled_dot_product_attention(q, k, fe.tensor(v.numpy().astype(np.float64)))
    with pytest.raises(RuntimeError, match="at least 2 dimensional"):
        F.scaled_dot_product_attention(fe.tensor(np.ones(4, np.float32)), k, v)
    with pytest.raises(RuntimeError, match="attn_mask should not be set when is_causal"):  # with dropout, as torch
        F.scaled_dot_product_attention(q, k, v, attn_mask=np.ones((5, 5), bool), is_causal=True, dropout_p=0.1)
    with pytest.raises(RuntimeError, match="attn_mask dtype"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=np.zeros((5, 5), np.int64))
    with pytest.raises(RuntimeError, match="embedding size"):
        F.scaled_dot_product_attention(q, fe.tensor(np.ones((1, 2, 5, 3), np.float32)), v)
    with pytest.raises(RuntimeError, match="multiple of the key/value heads"):
        F.scaled_dot_product_attention(fe.tensor(np.ones((1, 3, 5, 4), np.float32)), k, v, enable_gqa=True)
    with pytest.raises(RuntimeError, match="do not broadcast"):
        F.scaled_dot_product_attention(fe.tensor(np.ones((1, 3, 5, 4), np.float32)), k, v)
    with pytest.raises(RuntimeError, match="does not broadcast"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=np.ones((3, 5), bool))
    with pytest.raises(TypeError, match="argument 'query' must be Tensor"):
        F.scaled_dot_product_attention(q.numpy(), k, v)
    a = rng.standard_normal((1, 2, 5, 4)).astype(np.float32)
    o, lse = np.empty((1, 2, 5, 4), np.float32), np.empty((1, 2, 5), np.float32)
    with pytest.raises(TypeError, match="k must have dtype float32"):
        _C.attention_forward(a, a.astype(np.float64), a, None, o, lse, scale=1.0)
    with pytest.raises(ValueError, match=r"q must be 4-D, got shape \(2, 5, 4\)"):
        _C.attention_forward(a[0], a, a, None, o, lse, scale=1.0)
    with pytest.raises(ValueError, match="expected q"):
        _C.attention_forward(a, a[..., :3].copy(), a, None, o, lse, scale=1.0)
    with pytest.raises(ValueError, match="must be a multiple"):
        _C.attention_forward(np.ones((1, 3, 5, 4), np.float32), a, a, None, np.empty((1, 3, 5, 4), np.float32),
                             np.empty((1, 3, 5), np.float32), scale=1.0)
    with pytest.raises(ValueError, match=r"o must have shape \(1, 2, 5, 4\)"):
        _C.attention_forward(a, a, a, None, np.empty((1, 2, 5, 3), np.float32), lse, scale=1.0)
    with pytest.raises(ValueError, match="mask must have shape"):
        _C.attention_forward(a, a, a, np.ones((1, 1, 5, 4), bool), o, lse, scale=1.0)
    with pytest.raises(TypeError, match="mask must have dtype bool or float32"):
        _C.attention_forward(a, a, a, np.ones((1, 1, 5, 5)), o, lse, scale=1.0)
    with pytest.raises(ValueError, match="q with shape .* must have contiguous rows"):  # columns strided
        _C.attention_forward(a.transpose(0, 1, 3, 2), a, a, None, o, lse, scale=1.0)
    with pytest.raises(ValueError, match="k with shape .* must have contiguous rows"):  # a negative stride
        _C.attention_forward(a, a[:, ::-1], a, None, o, lse, scale=1.0)
    with pytest.raises(ValueError, match="o with shape .* overlaps itself"):
        _C.attention_forward(a, a, a, None, np.lib.stride_tricks.as_strided(o, strides=(0, 0, 16, 4)), lse,
                             scale=1.0)
    with pytest.raises(ValueError, match="lse with shape .* must be C-contiguous"):
        _C.attention_forward(a, a, a, None, o, np.empty((1, 5, 2), np.float32).transpose(0, 2, 1), scale=1.0)
    with pytest.raises(ValueError, match="o shares memory with q"):
        _C.attention_forward(a, a, a, None, a, lse, scale=1.0)
    with pytest.raises(ValueError, match="scale must be finite"):
        _C.attention_forward(a, a, a, None, o, lse, scale=float("nan"))
    for p in (-0.1, 1.5, float("nan")):
        with pytest.raises(ValueError, match=r"dropout_p must be in \[0, 1\]"):
            _C.attention_forward(a, a, a, None, o, lse, scale=1.0, dropout_p=p)
    with pytest.raises(RuntimeError, match="dropout probability has to be between 0 and 1"):
        F.scaled_dot_product_attention(q, k, v, dropout_p=1.2)
    with pytest.raises(ValueError, match=r"dout must have shape"):
        _C.attention_backward(a, a, a, None, o, lse, o[..., :2].copy(), np.empty_like(a), np.empty_like(a),
                              np.empty_like(a), scale=1.0)


def test_workspace_is_below_the_score_matrix():
    q = np.zeros((4, 12, 1024, 64), np.float32)
    for backward in (False, True):
        ws = _C.attention_workspace_size(q, q, q, backward=backward)
        assert 0 < ws < 4 * 12 * 1024 * 1024 * 4 / 16  # far below one (B, H, L, S) float32 matrix


@pytest.mark.parametrize("dtype", DTYPES)
def test_parity_with_torch(rng, dtype):
    torch = pytest.importorskip("torch")
    TF = torch.nn.functional
    cases = [((2, 3, 7, 8), (2, 3, 13, 8), (2, 3, 13, 5), {}),
             ((2, 3, 70, 16), (2, 3, 70, 16), (2, 3, 70, 16), {"is_causal": True}),
             ((2, 3, 9, 8), (2, 3, 5, 8), (2, 3, 5, 8), {"is_causal": True}),  # L > S
             ((2, 3, 5, 8), (2, 3, 9, 8), (2, 3, 9, 8), {"is_causal": True, "scale": 0.3}),  # L < S
             ((2, 4, 6, 8), (2, 2, 7, 8), (2, 2, 7, 8), {"enable_gqa": True}),
             ((5, 4), (7, 4), (7, 3), {})]
    m = rng.random((3, 1, 7)) > 0.5
    m[1, 0] = False
    masks = [m, (rng.standard_normal((2, 1, 6, 7)) * 2).astype(dtype)]
    t = 1e-5 if dtype == np.float32 else 1e-12
    for qs, ks, vs, kw in cases + [((2, 3, 6, 8), (2, 3, 7, 8), (2, 3, 7, 4), {"attn_mask": mm}) for mm in masks]:
        q, k, v = (rng.standard_normal(s).astype(dtype) for s in (qs, ks, vs))
        fq, fk, fv = (fe.tensor(x, requires_grad=True) for x in (q, k, v))
        tq, tk, tv = (torch.tensor(x, requires_grad=True) for x in (q, k, v))
        tkw = dict(kw)
        if "attn_mask" in kw:
            tkw["attn_mask"] = torch.tensor(kw["attn_mask"])
        o = F.scaled_dot_product_attention(fq, fk, fv, **kw)
        to = TF.scaled_dot_product_attention(tq, tk, tv, **tkw)
        np.testing.assert_allclose(o.data, to.detach().numpy(), rtol=t, atol=t)
        g = rng.standard_normal(o.shape).astype(dtype)
        o.backward(fe.tensor(g))
        to.backward(torch.tensor(g))
        for a, b in ((fq, tq), (fk, tk), (fv, tv)):
            np.testing.assert_allclose(a.grad.data, b.grad.numpy(), rtol=10 * t, atol=10 * t)


def test_empty_and_nan_queries(rng):
    """An empty batch gives an empty output and gradient, also for a head split's views; a NaN in
    a query's scores gives that query's row NaN (torch's math backend; its flash kernel gives 0: README)."""
    x = fe.tensor(rng.standard_normal((0, 5, 24)), requires_grad=True)
    q, k, v = (t.reshape(0, 5, 2, 4).transpose(1, 2) for t in x.split(8, dim=2))
    y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    assert y.shape == (0, 2, 5, 4) and y.is_contiguous()
    y.sum().backward()
    assert x.grad.shape == (0, 5, 24)
    a = rng.standard_normal((1, 2, 5, 4))
    a[0, 0, 1, 3] = np.nan
    out = F.scaled_dot_product_attention(fe.tensor(a), fe.tensor(a[:, :, :, ::-1].copy()), fe.tensor(a))
    rows = np.isnan(out.numpy()).any(-1)
    assert rows[0, 0, 1] and np.isnan(out.numpy()[0, 0, [0, 2, 3, 4]]).all()  # key 1's NaN reaches every row
    assert not rows[0, 1].any()


def test_dropout_p_type_errors_name_the_argument(rng):
    """A dropout_p that is no number gives torch's TypeError naming the argument (it gave a bare '<=' error);
    bools, ints, NumPy scalars and 0-d tensors are numbers, as torch takes them."""
    q = fe.tensor(rng.standard_normal((1, 1, 3, 4)).astype(np.float32))
    for bad in ("0.1", None, [0.1]):
        with pytest.raises(TypeError, match="argument 'dropout_p' must be float, not"):
            F.scaled_dot_product_attention(q, q, q, dropout_p=bad)
    for ok in (True, 1, np.float32(0.1), fe.tensor(0.1)):
        assert F.scaled_dot_product_attention(q, q, q, dropout_p=ok).shape == (1, 1, 3, 4)
