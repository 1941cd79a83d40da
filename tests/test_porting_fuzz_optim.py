"""Optimizer defects a differential fuzz against torch 2.13 found: 0-d (and 0-size) parameters, and the
dtype of the state after load_state_dict. Expected values are written out in NumPy; where torch is
installed, each test also checks them against it."""
import math
import pickle

import numpy as np
import pytest

import firstepoch as fe
from firstepoch import optim

GRADS = [0.5, -0.3, 0.2, 0.2, -0.7, 1.1, 0.05, -0.05]

# every optimizer with every option that changes its code path
CONFIGS = []
for _mx in (False, True):
    for _wd in (0.0, 0.1):
        _c = dict(maximize=_mx, weight_decay=_wd)
        CONFIGS += [
            ("SGD", dict(_c, lr=0.1)),
            ("SGD", dict(_c, lr=0.1, momentum=0.9)),
            ("SGD", dict(_c, lr=0.1, momentum=0.9, dampening=0.5)),
            ("SGD", dict(_c, lr=0.1, momentum=0.9, nesterov=True)),
            ("Adam", dict(_c, lr=0.01)),
            ("Adam", dict(_c, lr=0.01, amsgrad=True)),
            ("Adam", dict(_c, lr=0.01, decoupled_weight_decay=True)),
            ("AdamW", dict(_c, lr=0.01)),
            ("AdamW", dict(_c, lr=0.01, amsgrad=True)),
            ("RMSprop", dict(_c, lr=0.01)),
            ("RMSprop", dict(_c, lr=0.01, momentum=0.9, centered=True)),
            ("Adagrad", dict(_c, lr=0.1, lr_decay=0.01, initial_accumulator_value=0.1)),
            ("Adadelta", dict(_c)),
            ("Adamax", dict(_c, lr=0.02)),
            ("NAdam", dict(_c, lr=0.02)),
            ("NAdam", dict(_c, lr=0.02, decoupled_weight_decay=True)),
            ("RAdam", dict(_c, lr=0.02)),
            ("RAdam", dict(_c, lr=0.02, decoupled_weight_decay=True)),
        ]
    CONFIGS.append(("Rprop", dict(lr=0.01, maximize=_mx)))


def config_id(case):
    name, kw = case
    return name + "-" + ",".join(f"{k}={v}" for k, v in sorted(kw.items()))


def run_steps(lib, name, kw, w0, grads, sd_after=None):
    """w0 stepped with each gradient (each w0-shaped); with sd_after=k, the optimizer is replaced by a
    fresh one loaded from a pickled state_dict() after k steps (a resumed run)."""
    p = lib.tensor(w0.copy(), requires_grad=True)
    opt = getattr(lib.optim, name)([p], **kw)
    for i, g in enumerate(grads):
        if i == sd_after:
            sd = pickle.loads(pickle.dumps(opt.state_dict()))
            opt = getattr(lib.optim, name)([p], **kw)
            opt.load_state_dict(sd)
        p.grad = lib.tensor(g.copy())
        opt.step()
    return p.detach().numpy(), opt


# ---- 0-d and 0-size parameters -------------------------------------------------------------------------

def test_zero_dim_parameter_first_steps_by_hand():
    """torch steps a 0-d parameter as any other; firstepoch's maximize negated the gradient with `-grad`,
    which gives a NumPy scalar for a 0-d array, and the fused kernels (and Rprop's masked writes)
    refused it with a TypeError."""
    def one_step(cls, dtype, **kw):
        p = fe.tensor(np.array(1.0, dtype), requires_grad=True)
        opt = cls([p], **kw)
        p.grad = fe.tensor(np.array(0.5, dtype))
        opt.step()
        assert p.shape == () and p.dtype == dtype
        return float(p.item())

    for dtype in (np.float32, np.float64):
        f = dtype
        # Adam, first step: m_hat = g, v_hat = g^2, so w += lr * g / (|g| + eps)
        want = f(1.0) + f(1e-3) * f(0.5) / (f(0.5) + f(1e-8))
        assert one_step(optim.Adam, dtype, maximize=True) == pytest.approx(want, rel=1e-7)
        assert one_step(optim.AdamW, dtype, maximize=True, weight_decay=0.0) == pytest.approx(want, rel=1e-7)
        assert one_step(optim.SGD, dtype, lr=0.1, maximize=True) == f(1.05)
        # SGD with momentum: the buffer is the gradient at the first step
        assert one_step(optim.SGD, dtype, lr=0.1, momentum=0.9, maximize=True) == f(1.05)
        # Rprop, first step: w -= sign(g) * lr
        assert one_step(optim.Rprop, dtype) == f(0.99)
        assert one_step(optim.Rprop, dtype, maximize=True) == f(1.01)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", CONFIGS, ids=config_id)
def test_zero_dim_parameter_steps_as_a_one_element_one(case, dtype):
    """A 0-d parameter takes the same steps as a (1,) one (which the porting tests check against
    torch), bit for bit, and stays 0-d."""
    name, kw = case
    w0 = np.array(1.0, dtype)
    grads = [np.array(g + 0.1 * i, dtype) for i, g in enumerate(GRADS)]
    got, opt = run_steps(fe, name, kw, w0, grads)
    want, _ = run_steps(fe, name, kw, w0.reshape(1), [g.reshape(1) for g in grads])
    assert got.shape == () and got.dtype == dtype
    np.testing.assert_array_equal(got.reshape(1), want)
    for st in opt.state.values():
        assert all(v.shape == () for v in st.values() if isinstance(v, np.ndarray))
    torch = pytest.importorskip("torch")
    theirs, _ = run_steps(torch, name, kw, w0, grads)
    np.testing.assert_allclose(got, theirs, rtol=4 * np.finfo(dtype).eps, atol=0)


@pytest.mark.parametrize("shape", [(0,), (2, 0)])
@pytest.mark.parametrize("case", CONFIGS, ids=config_id)
def test_zero_size_parameter_steps(case, shape):
    """As torch: a parameter with no elements steps (three times) without error and stays empty."""
    name, kw = case
    w0 = np.zeros(shape, np.float32)
    got, _ = run_steps(fe, name, kw, w0, [w0] * 3)
    assert got.shape == shape and got.dtype == np.float32


# ---- load_state_dict casts the state to the parameter's dtype -------------------------------------------

def nadam_reference(w, grads, lr, mu_product_dtypes, b1=0.9, b2=0.999, eps=1e-8, psi=4e-3):
    """NAdam in float64 written out, mu_product kept in mu_product_dtypes[t - 1] at step t (torch keeps
    it float32, its default dtype, until load_state_dict casts it to the parameter's)."""
    m = v = 0.0
    mu_product = np.float32(1.0)
    for t, (g, mp_dtype) in enumerate(zip(grads, mu_product_dtypes), start=1):
        mu = b1 * (1.0 - 0.5 * 0.96 ** (t * psi))
        mu_next = b1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * psi))
        mu_product = mp_dtype(mp_dtype(mu_product) * mp_dtype(mu))
        mp = float(mu_product)
        m += (1 - b1) * (g - m)
        v = v * b2 + (1 - b2) * g * g
        denom = math.sqrt(v / (1 - b2 ** t)) + eps
        w += (-lr * (1.0 - mu) / (1.0 - mp)) * g / denom
        w += (-lr * mu_next / (1.0 - mp * mu_next)) * m / denom
    return w


def test_nadam_mu_product_takes_the_parameter_dtype_on_load():
    """torch's load_state_dict casts every floating-point state tensor but 'step' to the parameter's
    dtype: NAdam's float32 mu_product becomes float64 for a float64 parameter, and the resumed run
    multiplies it in float64. firstepoch kept it float32, so resumed float64 runs differed by ~1e-10."""
    grads = [np.array(g, np.float64) for g in GRADS]
    k = 3
    got, opt = run_steps(fe, "NAdam", dict(lr=0.02), np.array(1.0), grads, sd_after=k)
    assert np.asarray(opt.state[next(iter(opt.state))]["mu_product"]).dtype == np.float64
    want = nadam_reference(1.0, GRADS, 0.02, [np.float32] * k + [np.float64] * (len(GRADS) - k))
    np.testing.assert_allclose(got, want, rtol=1e-15, atol=0)
    # the test can tell: kept float32, the run is this far from it
    stale = nadam_reference(1.0, GRADS, 0.02, [np.float32] * len(GRADS))
    assert abs(stale - want) > 1e-12
    torch = pytest.importorskip("torch")
    theirs, topt = run_steps(torch, "NAdam", dict(lr=0.02), np.array(1.0), grads, sd_after=k)
    assert next(iter(topt.state.values()))["mu_product"].dtype == torch.float64
    np.testing.assert_array_equal(got, theirs)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_nadam_resumed_from_a_file_takes_the_parameter_dtype(tmp_path, dtype):
    """fe.save writes NAdam's NumPy-scalar mu_product as a plain number; torch.load gives a tensor that
    load_state_dict casts to the parameter's dtype, so the resumed run goes on in that dtype: float32
    for a float32 parameter (an unbroken run's), float64 for a float64 one (a pickled round trip's)."""
    grads = [np.full(2, g, dtype) for g in GRADS]
    w0 = np.array([1.0, -2.0], dtype)
    p = fe.tensor(w0.copy(), requires_grad=True)
    opt = optim.NAdam([p], lr=0.02)
    for i, g in enumerate(grads):
        if i == 3:
            fe.save(opt.state_dict(), tmp_path / "opt.fe")
            opt = optim.NAdam([p], lr=0.02)
            opt.load_state_dict(fe.load(tmp_path / "opt.fe"))
        p.grad = fe.tensor(g.copy())
        opt.step()
    if dtype == np.float32:
        want, _ = run_steps(fe, "NAdam", dict(lr=0.02), w0, grads)
    else:
        want = [nadam_reference(float(w), [g[0] for g in grads], 0.02, [np.float32] * 3 + [np.float64] * 5)
                for w in w0]
    np.testing.assert_allclose(p.detach().numpy(), want, rtol=1e-15 if dtype == np.float64 else 0, atol=0)
    torch = pytest.importorskip("torch")
    theirs, _ = run_steps(torch, "NAdam", dict(lr=0.02), w0, grads, sd_after=3)
    np.testing.assert_array_equal(p.detach().numpy(), theirs)


RESUME_CONFIGS = [c for c in CONFIGS if not c[1].get("maximize")]


@pytest.mark.parametrize("case", RESUME_CONFIGS, ids=config_id)
def test_float64_run_resumed_mid_way_matches_torch(case):
    """Every optimizer, float64, state_dict round trip after 3 of 8 steps: the same as an unbroken run
    (NumPy's arrays round-trip exactly) except where torch's cast changes the state (NAdam's
    mu_product), and the same as torch's resumed run."""
    name, kw = case
    w0 = np.array([1.0, -0.5, 2.0])
    grads = [np.array([g, -0.5 * g, g + 0.1 * i]) for i, g in enumerate(GRADS)]
    got, _ = run_steps(fe, name, kw, w0, grads, sd_after=3)
    if name != "NAdam":
        unbroken, _ = run_steps(fe, name, kw, w0, grads)
        np.testing.assert_array_equal(got, unbroken)
    torch = pytest.importorskip("torch")
    theirs, _ = run_steps(torch, name, kw, w0, grads, sd_after=3)
    np.testing.assert_allclose(got, theirs, rtol=1e-15, atol=1e-15)
