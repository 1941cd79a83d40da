"""torch's dtype rules at the Tensor level (issue 16): storage dtypes, casts, torch.result_type promotion
for every pair of storage dtypes, Python numbers and 0-d tensors; reductions of integer tensors; layers
that refuse another dtype; numpy() on a tensor that requires grad; and 0-d tensors (reductions, softmax,
1-D matmul, clip_grad_norm_, optimizers on a 0-d parameter). Checked against torch where it is installed."""
import itertools

import numpy as np
import pytest

import firstepoch as fe
from firstepoch import nn

DTYPES = ["float32", "float64", "int64", "int32", "int16", "int8", "uint8", "bool"]
SCALARS = [True, 3, 2.5]


def _torch():
    return pytest.importorskip("torch")


def _tt(torch, arr):
    return torch.from_numpy(np.array(arr))


def _sample(dtype, shape=(3,)):
    if dtype == "bool":
        return np.array([True, False, True][:shape[0]] if shape else True)
    vals = np.arange(1, 1 + int(np.prod(shape))).reshape(shape)
    return vals.astype(dtype)


# ---- storage dtypes and casts -------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
def test_arrays_keep_their_storage_dtype(dtype):
    arr = _sample(dtype)
    assert fe.tensor(arr).dtype == np.dtype(dtype)
    assert fe.from_numpy(arr).dtype == np.dtype(dtype)
    assert fe.tensor([1, 2], dtype=np.dtype(dtype)).dtype == np.dtype(dtype)


def test_python_lists_and_float16():
    assert fe.tensor([1, 2]).dtype == np.int64 and fe.tensor([1.0]).dtype == np.float32
    assert fe.tensor([True]).dtype == np.bool_
    with pytest.raises(TypeError, match="float16"):  # deliberate: no half precision (torch has it)
        fe.tensor(np.ones(2, np.float16))
    with pytest.raises(TypeError, match="float16"):
        fe.tensor([1.0], dtype=np.float16)
    with pytest.raises(TypeError, match="float16"):
        fe.tensor([1.0]).to(np.float16)


@pytest.mark.torch_parity
@pytest.mark.parametrize("src,dst", list(itertools.product(DTYPES, DTYPES)))
def test_to_between_every_pair_matches_torch(src, dst):
    torch = _torch()
    arr = np.array([0, 1, 2, 100], dtype=src) if src != "bool" else np.array([True, False, True, False])
    ours = fe.tensor(arr).to(np.dtype(dst))
    theirs = _tt(torch, arr).to(getattr(torch, dst))
    assert ours.dtype == np.dtype(dst)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_cast_methods():
    x = fe.tensor([1.7, -2.0, 0.0])
    assert x.int().dtype == np.int32 and x.short().dtype == np.int16 and x.char().dtype == np.int8
    assert x.byte().dtype == np.uint8 and x.bool().dtype == np.bool_ and x.long().dtype == np.int64
    np.testing.assert_array_equal(x.bool().numpy(), [True, True, False])
    np.testing.assert_array_equal(x.int().numpy(), [1, -2, 0])
    w = fe.tensor([1.0], requires_grad=True)
    for cast in (w.int, w.bool, w.byte, w.short, w.char, w.long):
        assert not cast().requires_grad  # as torch: an integer cast leaves the graph
    y = w.double()  # float casts stay differentiable
    y.sum().backward()
    assert w.grad.dtype == np.float32 and w.grad.numpy()[0] == 1.0


# ---- promotion: torch.result_type --------------------------------------------------------------------

def _operand(torch, dtype, zero_dim):
    shape = () if zero_dim else (3,)
    arr = _sample(dtype, shape)
    return fe.tensor(arr), _tt(torch, arr)


@pytest.mark.torch_parity
@pytest.mark.parametrize("da,db", list(itertools.product(DTYPES, DTYPES)))
@pytest.mark.parametrize("dims", ["tt", "t0", "0t", "00"])
def test_result_type_of_tensor_pairs_matches_torch(da, db, dims):
    torch = _torch()
    a, ta = _operand(torch, da, dims[0] == "0")
    b, tb = _operand(torch, db, dims[1] == "0")
    expected = torch.result_type(ta, tb)
    for op in ("__add__", "__mul__"):
        assert getattr(a, op)(b).dtype == np.dtype(str(getattr(ta, op)(tb).dtype).split(".")[1])
    assert (a + b).dtype == np.dtype(str(expected).split(".")[1])
    np.testing.assert_allclose((a * b).numpy().astype(np.float64), (ta * tb).numpy().astype(np.float64))
    truediv = (ta / tb).dtype
    assert (a / b).dtype == np.dtype(str(truediv).split(".")[1])
    if dims == "tt":
        assert fe.cat([a, b]).dtype == np.dtype(str(torch.cat([ta, tb]).dtype).split(".")[1])
        assert fe.stack([a, b]).dtype == np.dtype(str(torch.stack([ta, tb]).dtype).split(".")[1])
        cond = np.array([True, False, True])
        got = fe.where(fe.tensor(cond), a, b)
        want = torch.where(torch.from_numpy(cond), ta, tb)
        assert got.dtype == np.dtype(str(want.dtype).split(".")[1])
        np.testing.assert_array_equal(got.numpy(), want.numpy())


@pytest.mark.torch_parity
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("scalar", SCALARS)
@pytest.mark.parametrize("zero_dim", [False, True])
def test_result_type_with_python_numbers_matches_torch(dtype, scalar, zero_dim):
    torch = _torch()
    a, ta = _operand(torch, dtype, zero_dim)
    for ours, theirs in ((a + scalar, ta + scalar), (scalar * a, scalar * ta), (a / scalar, ta / scalar)):
        assert ours.dtype == np.dtype(str(theirs.dtype).split(".")[1]), (dtype, scalar)
        np.testing.assert_allclose(ours.numpy().astype(np.float64), theirs.numpy().astype(np.float64), rtol=1e-6)


def test_promotion_examples_from_the_issue():
    i32 = fe.tensor(np.array([1, 2], np.int32))
    f32, f64 = fe.tensor([1.0, 2.0]), fe.tensor(np.array([1.0, 2.0]))
    assert (i32 + 5).dtype == np.int32 and (i32 + 2.5).dtype == np.float32
    assert (f32 + fe.tensor(np.float64(1.0))).dtype == np.float32  # a 0-d tensor of the same category
    assert (f32 + f64).dtype == np.float64 and (fe.tensor([1, 2]) + f32).dtype == np.float32
    assert (fe.tensor(np.array([1], np.uint8)) + fe.tensor(np.array([1], np.int8))).dtype == np.int16
    assert (i32 / i32).dtype == np.float32 and (f64 * 2.5).dtype == np.float64  # numbers never promote floats


def test_promotion_is_differentiable_between_floats():
    a = fe.tensor([1.0, 2.0], requires_grad=True)
    b = fe.tensor(np.array([3.0, 4.0]), requires_grad=True)
    (a * b).sum().backward()
    assert a.grad.dtype == np.float32 and b.grad.dtype == np.float64
    np.testing.assert_allclose(a.grad.numpy(), [3.0, 4.0])
    np.testing.assert_allclose(b.grad.numpy(), [1.0, 2.0])


def test_matmul_does_not_promote():
    with pytest.raises(RuntimeError, match="expected m1 and m2 to have the same dtype"):
        fe.ones(2, 3) @ fe.ones(3, 2, dtype=np.float64)


# ---- reductions of integer tensors -------------------------------------------------------------------

@pytest.mark.torch_parity
@pytest.mark.parametrize("dtype", ["int64", "int32", "int16", "int8", "uint8", "bool"])
def test_integer_reductions_match_torch(dtype):
    torch = _torch()
    arr = _sample(dtype, (3,))
    x, tx = fe.tensor(arr), _tt(torch, arr)
    assert x.sum().dtype == np.int64 and str(tx.sum().dtype) == "torch.int64"
    assert x.sum().item() == tx.sum().item()
    with pytest.raises(RuntimeError) as ours:
        x.mean()
    with pytest.raises(RuntimeError) as theirs:
        tx.mean()
    assert str(theirs.value).split(" Got:")[0] in str(ours.value)
    assert str(ours.value).endswith(str(theirs.value).split(" Got: ")[1])
    for f in ("var", "std"):
        with pytest.raises(RuntimeError, match="std and var only support floating point"):
            getattr(x, f)()
        with pytest.raises(RuntimeError, match="std and var only support floating point"):
            getattr(tx, f)()


# ---- layers of float32 parameters refuse float64 input -------------------------------------------------

@pytest.mark.torch_parity
@pytest.mark.parametrize("name,make,shape", [
    ("Linear", lambda m: m.Linear(2, 2), (1, 2)),
    ("Conv2d", lambda m: m.Conv2d(1, 1, 1), (1, 1, 2, 2)),
    ("Conv1d", lambda m: m.Conv1d(1, 1, 1), (1, 1, 2)),
    ("RNN", lambda m: m.RNN(2, 2), (1, 1, 2)),
    ("LSTM", lambda m: m.LSTM(2, 2), (1, 1, 2)),
    ("GRU", lambda m: m.GRU(2, 2), (1, 1, 2)),
    ("BatchNorm1d", lambda m: m.BatchNorm1d(2), (3, 2)),
    ("BatchNorm2d", lambda m: m.BatchNorm2d(2), (3, 2, 2, 2)),
])
def test_layers_refuse_float64_input_as_torch(name, make, shape):
    torch = _torch()
    with pytest.raises(Exception) as theirs:
        make(torch.nn)(torch.ones(*shape, dtype=torch.float64))
    with pytest.raises(Exception) as ours:
        make(nn)(fe.ones(*shape, dtype=np.float64))
    assert type(ours.value) is type(theirs.value)
    head = str(theirs.value).split("(")[0].split(" Convert")[0]
    assert head.replace("torch.", "") in str(ours.value)


# ---- numpy() -------------------------------------------------------------------------------------------

def test_numpy_refuses_a_tensor_that_requires_grad():
    w = fe.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"Can't call numpy\(\) on Tensor that requires grad"):
        w.numpy()
    np.testing.assert_array_equal(w.detach().numpy(), [1.0, 2.0])
    assert np.shares_memory(w.detach().numpy(), w.data.numpy())
    assert (w * 2).detach().numpy().dtype == np.float32


# ---- 0-d tensors ----------------------------------------------------------------------------------------

@pytest.mark.torch_parity
@pytest.mark.parametrize("op", ["sum", "mean", "softmax", "log_softmax"])
@pytest.mark.parametrize("dim", [0, -1])
def test_zero_dim_reductions_and_softmax(op, dim):
    torch = _torch()
    x = fe.tensor(np.float32(1.5), requires_grad=True)
    tx = torch.tensor(1.5, requires_grad=True)
    y, ty = getattr(x, op)(dim), getattr(tx, op)(dim)
    assert y.shape == () and tuple(ty.shape) == ()
    np.testing.assert_allclose(y.item(), ty.item(), rtol=1e-6)
    (y * 3).backward()
    (ty * 3).backward()
    assert x.grad.shape == ()
    np.testing.assert_allclose(x.grad.item(), tx.grad.item(), atol=1e-6)
    with pytest.raises(IndexError):
        getattr(x, op)(1)
    with pytest.raises(IndexError):
        getattr(tx, op)(1)


@pytest.mark.torch_parity
@pytest.mark.parametrize("sa,sb", [((4,), (4,)), ((4,), (4, 3)), ((3, 4), (4,)), ((2, 3, 4), (4,)),
                                   ((4,), (2, 4, 3))])
def test_one_dimensional_matmul_and_its_gradients(sa, sb, rng):
    torch = _torch()
    a0, b0 = rng.standard_normal(sa), rng.standard_normal(sb)
    a, b = fe.tensor(a0, requires_grad=True), fe.tensor(b0, requires_grad=True)
    ta, tb = torch.tensor(a0, requires_grad=True), torch.tensor(b0, requires_grad=True)
    y, ty = a @ b, ta @ tb
    assert y.shape == tuple(ty.shape)
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=1e-10)
    if y.ndim == 0:
        y.backward()
        ty.backward()
    else:
        (y * y).sum().backward()
        (ty * ty).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), ta.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(b.grad.numpy(), tb.grad.numpy(), rtol=1e-10)


@pytest.mark.torch_parity
def test_clip_grad_norm_returns_a_zero_dim_tensor():
    torch = _torch()
    p = nn.Parameter(np.zeros(2, np.float32))
    p.grad = fe.tensor(np.array([3.0, 4.0], np.float32))
    tp = torch.nn.Parameter(torch.zeros(2))
    tp.grad = torch.tensor([3.0, 4.0])
    n, tn = nn.utils.clip_grad_norm_([p], 1.0), torch.nn.utils.clip_grad_norm_([tp], 1.0)
    assert isinstance(n, fe.Tensor) and n.shape == () and n.dtype == np.float32 and str(tn.dtype) == "torch.float32"
    assert n.item() == pytest.approx(tn.item())
    empty = nn.utils.clip_grad_norm_([nn.Parameter(np.zeros(2, np.float32))], 1.0)
    tempty = torch.nn.utils.clip_grad_norm_([torch.nn.Parameter(torch.zeros(2))], 1.0)
    assert empty.shape == () and empty.dtype == np.float32 and str(tempty.dtype) == "torch.float32"
    assert empty.item() == tempty.item() == 0.0
    q = nn.Parameter(np.zeros(2, np.float64))
    q.grad = fe.tensor(np.array([1.0, 0.0]))
    assert nn.utils.clip_grad_norm_([q], 1.0).dtype == np.float64


@pytest.mark.torch_parity
@pytest.mark.parametrize("name,kwargs", [("SGD", {"lr": 0.1, "momentum": 0.9}), ("Adam", {"lr": 0.1}),
                                         ("AdamW", {"lr": 0.1, "weight_decay": 0.1}), ("RMSprop", {"lr": 0.01}),
                                         ("Adagrad", {"lr": 0.1})])
def test_optimizers_step_a_zero_dim_parameter(name, kwargs):
    torch = _torch()
    p = nn.Parameter(np.array(2.0, np.float32))
    tp = torch.nn.Parameter(torch.tensor(2.0))
    opt, topt = getattr(fe.optim, name)([p], **kwargs), getattr(torch.optim, name)([tp], **kwargs)
    for _ in range(10):
        opt.zero_grad()
        topt.zero_grad()
        (p * p * 0.5 + p).backward()
        (tp * tp * 0.5 + tp).backward()
        assert p.grad.shape == () and isinstance(p.grad, fe.Tensor)
        opt.step()
        topt.step()
    assert p.shape == () and p.dtype == np.float32
    np.testing.assert_allclose(p.item(), tp.item(), rtol=1e-5, atol=1e-6)


@pytest.mark.torch_parity
@pytest.mark.parametrize("dtype", ["int64", "int32", "uint8"])
def test_integer_powers_match_torch(dtype):
    torch = _torch()
    arr = _sample(dtype)
    x, tx = fe.tensor(arr), _tt(torch, arr)
    for p in (2, 0.5, fe.tensor(2.5)):
        tp = torch.tensor(2.5) if isinstance(p, fe.Tensor) else p
        ours, theirs = x ** p, tx ** tp
        assert ours.dtype == np.dtype(str(theirs.dtype).split(".")[1])
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)
    with pytest.raises(RuntimeError, match="Integers to negative integer powers are not allowed"):
        x ** -1
    with pytest.raises(RuntimeError, match="Integers to negative integer powers are not allowed"):
        tx ** -1


@pytest.mark.torch_parity
def test_out_of_range_numbers_wrap_as_torch():
    torch = _torch()
    u = np.array([5, 7], np.uint8)
    ours, theirs = fe.tensor(u) + 300, _tt(torch, u) + 300
    assert ours.dtype == np.uint8 and str(theirs.dtype) == "torch.uint8"
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


@pytest.mark.torch_parity
def test_bool_subtraction_and_negation_raise_torchs_runtime_error():
    torch = _torch()
    a, b = fe.tensor([True, False]), fe.tensor([False, False])
    ta, tb = torch.tensor([True, False]), torch.tensor([False, False])
    for ours, theirs in ((lambda: a - b, lambda: ta - tb), (lambda: -a, lambda: -ta)):
        with pytest.raises(RuntimeError) as want:
            theirs()
        with pytest.raises(RuntimeError) as got:
            ours()
        assert str(got.value) == str(want.value)
    i, ti = fe.tensor([1, 0]), torch.tensor([1, 0])
    for ours, theirs in ((lambda: a - i, lambda: ta - ti), (lambda: i - a, lambda: ti - ta), (lambda: 1 - a, lambda: 1 - ta),
                         (lambda: a - 1.5, lambda: ta - 1.5)):
        with pytest.raises(RuntimeError) as want:
            theirs()
        with pytest.raises(RuntimeError) as got:
            ours()
        assert str(got.value) == str(want.value)
    assert (a + i).tolist() == (ta + ti).tolist()  # addition with bool promotes, as torch
