"""firstepoch.amp: a mixed-precision training loop ported from torch (autocast + GradScaler) runs and
trains exactly as the plain float32 loop (there are no low-precision kernels), with a warning when it
asks for float16/bfloat16, and GradScaler behaves as torch's disabled scaler."""
import warnings

import numpy as np
import pytest

import firstepoch as fe
import firstepoch.nn as nn
import firstepoch.nn.functional as F


def _train(amp):
    fe.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    opt = fe.optim.SGD(model.parameters(), lr=0.1)
    scaler = fe.amp.GradScaler("cpu") if amp else None
    x, y = fe.randn(16, 4), fe.tensor(np.arange(16) % 3)
    for _ in range(5):
        opt.zero_grad()
        if amp:
            with fe.autocast(device_type="cpu", dtype=fe.float32):
                loss = F.cross_entropy(model(x), y)
            scaler.scale(loss).backward()
            scaler.unscale_(opt)
            scaler.step(opt)
            scaler.update()
        else:
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
    return [p.detach().numpy().copy() for p in model.parameters()]


def test_a_mixed_precision_loop_trains_as_the_plain_one():
    for a, b in zip(_train(True), _train(False)):
        np.testing.assert_array_equal(a, b)
    s = fe.amp.GradScaler("cpu")
    assert not s.is_enabled() and s.get_scale() == 1.0 and s.state_dict() == {}
    loss = fe.tensor(2.0)
    assert s.scale(loss) is loss


def test_low_precision_requests_warn_and_cuda_names_exist():
    fe.amp._warned.clear()
    with pytest.warns(UserWarning, match="no bfloat16 kernels"):
        with fe.autocast("cpu", dtype="bfloat16"):
            pass
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with fe.autocast("cpu"):  # no dtype: nothing to warn about
            pass

        @fe.autocast("cpu", enabled=False)
        def f(v):
            return v * 2
        assert f(3) == 6
    with pytest.warns(UserWarning, match="CUDA is not available"):
        scaler = fe.cuda.amp.GradScaler()
    assert not scaler.is_enabled()
    with fe.cuda.amp.autocast():
        pass
    assert fe.amp.is_autocast_available("cpu") is False


def test_matches_torch_disabled_scaler_where_installed():
    torch = pytest.importorskip("torch")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = torch.amp.GradScaler("cuda")  # no CUDA here: torch disables it, as firstepoch's always is
    f = fe.amp.GradScaler("cpu")
    assert t.is_enabled() == f.is_enabled() is False
    assert t.get_scale() == f.get_scale() == 1.0
    assert t.state_dict() == f.state_dict() == {}


def test_global_switches_of_ported_scripts():
    fe.manual_seed(0)
    model = nn.Linear(3, 2)
    assert fe.compile(model) is model and fe.compile(mode="max-autotune")(model) is model
    x = fe.randn(4, 3)
    np.testing.assert_array_equal(fe.compile(model)(x).detach().numpy(), model(x).detach().numpy())
    with pytest.raises(RuntimeError, match="callable"):
        fe.compile(3)
    fe.set_float32_matmul_precision("high")
    assert fe.get_float32_matmul_precision() == "high"
    fe.set_float32_matmul_precision("highest")
    with pytest.raises(RuntimeError, match="Invalid precision"):
        fe.set_float32_matmul_precision("low")
    fe.use_deterministic_algorithms(True, warn_only=True)
    assert fe.are_deterministic_algorithms_enabled() and fe.is_deterministic_algorithms_warn_only_enabled()
    fe.use_deterministic_algorithms(False)
    assert not fe.are_deterministic_algorithms_enabled()
