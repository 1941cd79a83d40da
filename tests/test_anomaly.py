"""detect_anomaly: the first NaN/Inf of a forward output or a backward gradient raises, naming the op,
the phase and the user's line that created the op; off, nothing is checked or recorded."""
import warnings

import numpy as np
import pytest

import firstepoch as fe
from firstepoch import autograd
from firstepoch.autograd import detect_anomaly


@pytest.fixture(autouse=True)
def quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def test_forward_nan_names_op_phase_and_line():
    x = fe.tensor(np.array([1.0, -1.0]), requires_grad=True)
    with detect_anomaly():
        with pytest.raises(RuntimeError) as e:
            x.log()  # LOG-LINE
    msg = str(e.value)
    assert "LogFn forward" in msg and "1 NaN" in msg and "from finite inputs" in msg
    assert f"{__file__}:" in msg and "test_forward_nan_names_op_phase_and_line" in msg


def test_forward_inf_in_a_kernel_op():
    x = fe.tensor(np.array([[1e30, 2.0]], dtype=np.float32), requires_grad=True)
    w = fe.tensor(np.array([[1e30], [1.0]], dtype=np.float32), requires_grad=True)
    with detect_anomaly(), pytest.raises(RuntimeError, match=r"MatmulFn forward returned 1 Inf"):
        x @ w


def test_non_finite_input_is_reported_as_such():
    x = fe.tensor(np.array([np.nan, 1.0]))
    with detect_anomaly(), pytest.raises(RuntimeError, match=r"ExpFn forward .*input 0 was already non-finite"):
        x.exp()


def test_backward_inf_names_op_and_creation_line():
    x = fe.tensor(np.array([0.0, 4.0]), requires_grad=True)
    with detect_anomaly():
        y = x.sqrt()  # finite forward: sqrt(0) = 0
        loss = y.sum()
        with pytest.raises(RuntimeError) as e:
            loss.backward()
    msg = str(e.value)
    assert "SqrtFn backward" in msg and "1 Inf" in msg and "gradient of input 0" in msg
    line = next(i for i, s in enumerate(open(__file__), 1) if "y = x.sqrt()  # finite forward" in s)
    assert f"{__file__}:{line}" in msg


def test_backward_nan_from_a_graph_built_inside_a_function():
    def model(x):
        return (x * 0.0) ** 0.5  # the backward is 0.5 * 0 ** -0.5 = inf

    x = fe.tensor(np.array([1.0, 2.0]), requires_grad=True)
    with detect_anomaly():
        out = model(x).sum()
        with pytest.raises(RuntimeError, match=r"PowFn backward returned .*Inf.*in model"):
            out.backward()


def test_off_by_default_and_restored():
    assert not autograd.is_anomaly_enabled()
    x = fe.tensor(np.array([-1.0]), requires_grad=True)
    y = x.log()  # no error when off
    assert np.isnan(y._data).all() and not hasattr(y._ctx, "anomaly_stack")
    with detect_anomaly():
        assert autograd.is_anomaly_enabled()
    assert not autograd.is_anomaly_enabled()
    prev = autograd.set_detect_anomaly(True)
    try:
        assert prev is False and autograd.is_anomaly_enabled()
    finally:
        autograd.set_detect_anomaly(False)


def test_clean_training_step_passes_under_anomaly_mode():
    fe.manual_seed(0)
    model = fe.nn.Sequential(fe.nn.Linear(4, 8), fe.nn.ReLU(), fe.nn.Linear(8, 3))
    x = fe.randn(5, 4)
    t = np.array([0, 1, 2, 1, 0])
    with detect_anomaly():
        loss = fe.nn.functional.cross_entropy(model(x), t)
        loss.backward()
    assert np.isfinite(loss.item())


def test_decorator_form():
    @detect_anomaly()
    def f():
        return autograd.is_anomaly_enabled()

    assert f() is True and not autograd.is_anomaly_enabled()
