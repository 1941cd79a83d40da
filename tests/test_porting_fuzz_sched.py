"""Differences a differential fuzz of lr_scheduler, nn.init and nn.utils against PyTorch 2.13 found
(literal expectations: these run without torch)."""
import math
import warnings

import numpy as np
import pytest

import firstepoch as fe
from firstepoch.nn import init
from firstepoch.optim import lr_scheduler as sched


def _sgd(lrs=(0.1, 0.3)):
    ps = [fe.nn.Parameter(fe.zeros(2)) for _ in lrs]
    return fe.optim.SGD([{"params": [p], "lr": lr} for p, lr in zip(ps, lrs)], lr=lrs[0], momentum=0.9)


@pytest.mark.parametrize("kw, word", [
    (dict(total_steps=10.0), "total_steps"), (dict(epochs=-2, steps_per_epoch=-3), "epochs"),
    (dict(epochs=2.0, steps_per_epoch=3), "epochs"), (dict(epochs=2, steps_per_epoch=0), "steps_per_epoch"),
    (dict(total_steps=10, pct_start=1), "pct_start"), (dict(total_steps=10, pct_start=0), "pct_start"),
    (dict(epochs=3), "total_steps"),
])
def test_onecycle_rejects_what_torch_rejects(kw, word):
    with pytest.raises(ValueError, match=word):
        sched.OneCycleLR(_sgd(), max_lr=1.0, **kw)


def test_onecycle_resume_keeps_the_groups_saved_lrs():
    # torch sets initial_lr / max_lr / min_lr only for a fresh run (last_epoch == -1)
    opt = _sgd()
    for g in opt.param_groups:
        g.update(initial_lr=g["lr"] * 2, max_lr=0.8, min_lr=1e-4, max_momentum=0.95, base_momentum=0.85)
    s = sched.OneCycleLR(opt, max_lr=1.0, total_steps=40, last_epoch=10)
    assert s.get_last_lr() == pytest.approx([0.8, 0.8])
    assert opt.param_groups[0]["initial_lr"] == pytest.approx(0.2)


def test_kaiming_mode_is_case_insensitive_and_bad_mode_names_it():
    w = fe.zeros((4, 6))
    init.kaiming_uniform_(w, mode="FAN_OUT", nonlinearity="relu")
    assert np.abs(w.numpy()).max() <= math.sqrt(3) * math.sqrt(2) / 2 + 1e-6
    with pytest.raises(ValueError, match="Mode"):
        init.kaiming_normal_(w, mode="fan_avg")


def test_fan_helpers():
    assert init._calculate_fan_in_and_fan_out(fe.zeros((6, 3, 2, 2))) == (12, 24)
    assert init._calculate_correct_fan(fe.zeros((6, 3)), "fan_out") == 6
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init._calculate_fan_in_and_fan_out(fe.zeros(3))


@pytest.mark.parametrize("fn", [init.uniform_, init.normal_, init.xavier_uniform_, init.kaiming_normal_,
                                init.orthogonal_, init.trunc_normal_])
def test_random_init_of_an_integer_tensor_is_not_implemented(fn):
    with pytest.raises(NotImplementedError):
        fn(fe.zeros((3, 4), dtype=fe.int64))


def test_trunc_normal_far_tail_ends_and_warns():
    w = fe.zeros(2000)
    with pytest.warns(UserWarning, match="more than 2 std"):
        assert init.trunc_normal_(w, mean=10.0, std=1.0, a=-2.0, b=2.0) is w
    x = w.numpy()
    assert x.min() >= -2.0 and x.max() <= 2.0 and x.mean() > 1.7  # mass piles at the upper bound


def test_trunc_normal_plain_case_has_no_warning():
    w = fe.zeros(1000)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        init.trunc_normal_(w, std=0.02)
    assert np.abs(w.numpy()).max() <= 2.0


def test_dirac_matches_torch_layout():
    w = fe.ones((4, 2, 3))
    assert init.dirac_(w, groups=2) is w
    expected = np.zeros((4, 2, 3))
    for g in range(2):
        for d in range(2):
            expected[g * 2 + d, d, 1] = 1
    np.testing.assert_array_equal(w.numpy(), expected)
    with pytest.raises(ValueError, match="3, 4, or 5"):
        init.dirac_(fe.zeros((3, 3)))
    with pytest.raises(ValueError, match="groups"):
        init.dirac_(fe.zeros((3, 3, 3)), groups=2)


def test_dirac_against_torch():
    torch = pytest.importorskip("torch")
    for shape, groups in [((6, 4, 3, 3), 1), ((6, 2, 3, 5), 3), ((2, 5, 2, 2, 2), 1)]:
        t = torch.empty(shape)
        torch.nn.init.dirac_(t, groups)
        np.testing.assert_array_equal(init.dirac_(fe.zeros(shape), groups).numpy(), t.numpy())
