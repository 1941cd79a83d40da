"""Differences from PyTorch 2.13 found by comparing the autograd API, hooks and tensor printing with
torch's, each pinned with torch's literal result (no torch needed to run them)."""
import threading
import warnings

import numpy as np
import pytest

import firstepoch as fe
from firstepoch import nn


def t64(values, grad=True):
    return fe.tensor(values, dtype=fe.float64, requires_grad=grad)


# ---- grad modes ------------------------------------------------------------------------------------

def test_enable_grad_inside_inference_mode_records_nothing():
    x = t64([1.0])
    with fe.inference_mode():
        with fe.enable_grad():
            assert not (x * 2).requires_grad  # torch: inference mode outranks the grad mode
        with fe.set_grad_enabled(True):
            assert not (x * 2).requires_grad
    assert (x * 2).requires_grad and fe.is_grad_enabled()


def test_inference_mode_false_turns_recording_on_even_under_no_grad():
    x = t64([1.0])
    with fe.no_grad():
        with fe.inference_mode(False):
            assert fe.is_grad_enabled() and (x * 2).requires_grad
        assert not fe.is_grad_enabled()
    with fe.inference_mode():
        with fe.inference_mode(False):
            assert not fe.is_inference_mode_enabled() and (x * 2).requires_grad
        assert fe.is_inference_mode_enabled() and not fe.is_grad_enabled()


def test_inference_mode_restores_per_thread():
    seen = []
    with fe.inference_mode():
        th = threading.Thread(target=lambda: seen.append((fe.is_grad_enabled(), fe.is_inference_mode_enabled())))
        th.start()
        th.join()
    assert seen == [(True, False)]


@pytest.mark.parametrize("value", [1, 0, None, "yes", np.bool_(True)])
def test_set_grad_enabled_takes_a_bool_only(value):
    before = fe.is_grad_enabled()
    with pytest.raises(TypeError, match="argument 'enabled'"):
        fe.set_grad_enabled(value)
    assert fe.is_grad_enabled() == before


# ---- backward / grad argument errors -----------------------------------------------------------------

def test_backward_gradient_of_the_wrong_shape_is_a_runtime_error():
    x = t64([1.0, 2.0])
    with pytest.raises(RuntimeError, match=r"shape \(3,\)"):  # torch: RuntimeError "Mismatch in shape"
        (x * 2).backward(fe.ones(3, dtype=fe.float64))
    with pytest.raises(ValueError):  # what firstepoch raised before, still caught
        (x * 2).backward(fe.ones(3, dtype=fe.float64))


def test_grad_inputs_holding_a_non_tensor_is_a_runtime_error():
    x = t64([1.0, 2.0])
    with pytest.raises(RuntimeError, match=r"inputs\[0\] must be a Tensor"):
        fe.autograd.grad((x * 2).sum(), [1.0])
    with pytest.raises(RuntimeError, match=r"inputs\[1\] must be a Tensor"):
        (x * 2).sum().backward(inputs=[x, "x"])


# ---- .grad of a non-leaf -------------------------------------------------------------------------------

def test_grad_of_a_non_leaf_warns_as_torch():
    x = t64([1.0, 2.0])
    y = x * 2
    (y * y).sum().backward()
    with pytest.warns(UserWarning, match="not a leaf Tensor"):
        assert y.grad is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert x.grad.tolist() == [8.0, 16.0]  # a leaf: no warning
        z = x * 3
        z.retain_grad()
        assert z.grad is None  # retains its grad: no warning (not populated yet)
        h = x * 1
        h.sum().backward(inputs=[h])  # a non-leaf named in inputs= gets a .grad: no warning once set
        assert h.grad.tolist() == [1.0, 1.0]
        with fe.no_grad():
            assert (x * 2).grad is None  # made outside the graph: a leaf


# ---- hook handles --------------------------------------------------------------------------------------

def test_hook_handle_is_a_context_manager():
    x = t64([1.0, 2.0])
    with x.register_hook(lambda g: g * 5) as handle:
        (x * 1).sum().backward()
    assert x.grad.tolist() == [5.0, 5.0]
    x.grad = None
    (x * 1).sum().backward()
    assert x.grad.tolist() == [1.0, 1.0]
    handle.remove()  # a second remove does nothing

    lin = nn.Linear(2, 2)
    with lin.register_forward_hook(lambda m, a, o: o * 0):
        assert lin(fe.ones(1, 2)).tolist() == [[0.0, 0.0]]
    assert lin(fe.ones(1, 2)).abs().sum().item() > 0


# ---- full backward hooks: one grad_input entry per positional argument -----------------------------------

class _Mul(nn.Module):
    def forward(self, a, b, c=None):
        return a * b if c is None else a * b + c


def _grad_inputs(module, *args):
    got = []
    module.register_full_backward_hook(
        lambda m, gi, go: got.append([None if g is None else (g.tolist(), str(g.dtype)) for g in gi]))
    module(*args).sum().backward()
    return got


def test_full_backward_hook_gives_zeros_for_a_tensor_input_without_grad():
    a = t64([1.0, 2.0])
    b = t64([3.0, 4.0], grad=False)
    assert _grad_inputs(_Mul(), a, b) == [[([3.0, 4.0], "float64"), ([0.0, 0.0], "float64")]]
    assert _grad_inputs(_Mul(), b, a) == [[([0.0, 0.0], "float64"), ([3.0, 4.0], "float64")]]
    assert _grad_inputs(_Mul(), a, fe.tensor([1, 2])) == [[([1.0, 2.0], "float64"), ([0, 0], "int64")]]


def test_full_backward_hook_gives_none_for_a_non_tensor_argument():
    a = t64([1.0, 2.0])
    b = t64([3.0, 4.0], grad=False)
    assert _grad_inputs(_Mul(), a, b, 2.0) == [[([3.0, 4.0], "float64"), ([0.0, 0.0], "float64"), None]]


def test_full_backward_hook_replacing_grad_input_with_non_tensor_arguments():
    m = _Mul()
    m.register_full_backward_hook(lambda mod, gi, go: (gi[0] * 10, gi[1], None))
    a = t64([1.0, 2.0])
    m(a, t64([3.0, 4.0], grad=False), 2.0).sum().backward()
    assert a.grad.tolist() == [30.0, 40.0]

    bad = _Mul()
    bad.register_full_backward_hook(lambda mod, gi, go: (gi[0],))
    with pytest.raises(RuntimeError, match="invalid number of grad_input, got 1, but expected 2"):
        bad(t64([1.0]), t64([2.0], grad=False)).sum().backward()


def test_full_backward_hook_without_input_grads_warns_as_torch():
    lin = nn.Linear(2, 2)
    got = []
    lin.register_full_backward_hook(lambda m, gi, go: got.append(gi))
    with pytest.warns(UserWarning, match="no inputs require gradients"):
        lin(fe.ones(1, 2)).sum().backward()
    assert got == [(None,)]


# ---- printing ------------------------------------------------------------------------------------------

def test_empty_tensor_repr_names_every_dtype_but_float32():
    assert repr(fe.zeros(2, 0, dtype=fe.int64)) == "tensor([], size=(2, 0), dtype=int64)"
    assert repr(fe.zeros(0, dtype=fe.int64)) == "tensor([], dtype=int64)"
    assert repr(fe.tensor([], dtype=fe.bool)) == "tensor([], dtype=bool)"
    assert repr(fe.zeros(0, dtype=fe.float64)) == "tensor([], dtype=float64)"
    assert repr(fe.zeros(0, 3)) == "tensor([], size=(0, 3))"
    assert repr(fe.tensor([1, 2])) == "tensor([1, 2])"  # a non-empty int64 tensor still omits it


def test_printing_matches_torch_on_edge_values():
    assert repr(fe.tensor([-0.0, 1.5])) == "tensor([-0.0000, 1.5000])"
    assert repr(fe.tensor([float("nan"), float("inf"), 2.0])) == "tensor([nan, inf, 2.])"
    assert repr(fe.tensor([1e-5, 1.0])) == "tensor([1.0000e-05, 1.0000e+00])"
    assert repr(fe.tensor(3.0, requires_grad=True)) == "tensor(3., requires_grad=True)"
    assert repr(fe.tensor([1.0], dtype=fe.float64, requires_grad=True)) == \
        "tensor([1.], dtype=float64, requires_grad=True)"


def test_autograd_surface_against_torch():
    torch = pytest.importorskip("torch")
    for m in (torch, fe):
        x = m.tensor([1.0, 2.0], requires_grad=True)
        with m.inference_mode():
            with m.enable_grad():
                assert not (x * 2).requires_grad
        with m.no_grad():
            with m.inference_mode(False):
                assert (x * 2).requires_grad
        with pytest.raises(RuntimeError):
            (x * 2).backward(m.ones(3))
        y = x * 2
        (y * y).sum().backward()
        with pytest.warns(UserWarning, match="not a leaf Tensor"):
            assert y.grad is None
    for m in (torch, fe):
        assert repr(m.zeros(2, 0, dtype=m.int64)).replace("torch.", "") == "tensor([], size=(2, 0), dtype=int64)"
