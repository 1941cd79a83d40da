"""firstepoch.profile(): exact op counts for known sequences, FLOP counts, the kernel and ISA columns,
sorting, JSON round trip, and the rules (no nesting, off after the block). No timing assertions."""
import json

import numpy as np
import pytest

import firstepoch as fe
import firstepoch.nn as nn
import firstepoch.nn.functional as F
from firstepoch import profiler
from firstepoch.autograd import function as _function


def _mlp_step(model, x, y):
    loss = F.cross_entropy(model(x), y)
    model.zero_grad()
    loss.backward()


def test_counts_of_a_linear_relu_cross_entropy_step():
    fe.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 3))
    x, y = fe.randn(4, 6), fe.tensor(np.array([0, 1, 2, 1]))
    with fe.profile() as prof:
        _mlp_step(model, x, y)
        _mlp_step(model, x, y)
    # Sequential fuses Linear+ReLU into one LinearFn; cross_entropy is one fused op
    assert prof.counts() == {("LinearFn", "forward"): 4, ("LinearFn", "backward"): 4,
                             ("CrossEntropyFn", "forward"): 2, ("CrossEntropyFn", "backward"): 2}


def test_counts_of_an_explicit_op_sequence():
    a = fe.randn(3, 4, requires_grad=True)
    b = fe.randn(4, 2, requires_grad=True)
    with fe.profile() as prof:
        h = (a @ b).relu()
        loss = (h * 2.0 + 1.0).sum()
        with fe.no_grad():
            a @ b                       # forward only: nothing recorded for backward
        loss.backward()
    assert prof.counts() == {("MatmulFn", "forward"): 2, ("MatmulFn", "backward"): 1,
                             ("ReLUFn", "forward"): 1, ("ReLUFn", "backward"): 1,
                             ("MulFn", "forward"): 1, ("MulFn", "backward"): 1,
                             ("AddFn", "forward"): 1, ("AddFn", "backward"): 1,
                             ("SumFn", "forward"): 1, ("SumFn", "backward"): 1}


def test_flops_of_matmul_linear_and_conv():
    M, K, N = 8, 16, 4
    a = fe.randn(M, K, requires_grad=True)
    b = fe.randn(K, N)                       # only a needs a gradient: backward is one product
    w = fe.randn(5, 3, 3, 3, requires_grad=True)
    x = fe.randn(2, 3, 8, 8, requires_grad=True)
    with fe.profile() as prof:
        (a @ b).sum().backward()
        F.conv2d(x, w, padding=1).sum().backward()
    rows = {(r["op"], r["phase"]): r for r in prof.rows()}
    assert rows[("MatmulFn", "forward")]["gflop"] == pytest.approx(2 * M * N * K / 1e9)
    assert rows[("MatmulFn", "backward")]["gflop"] == pytest.approx(2 * M * N * K / 1e9)
    assert rows[("MatmulFn", "forward")]["gflop_s"] > 0
    conv = 2 * (2 * 5 * 8 * 8) * (3 * 3 * 3)
    assert rows[("Conv2dFn", "forward")]["gflop"] == pytest.approx(conv / 1e9)
    assert rows[("Conv2dFn", "backward")]["gflop"] == pytest.approx(2 * conv / 1e9)   # dx and dw
    assert rows[("SumFn", "forward")]["gflop"] is None and rows[("SumFn", "forward")]["gflop_s"] is None


def test_kernel_and_isa_columns():
    info = fe.cpu_info()
    a = fe.randn(3, 3)
    with fe.profile() as prof:
        (a @ a).relu().softmax(-1)
    rows = {r["op"]: r for r in prof.rows()}
    assert rows["MatmulFn"]["isa"] == info["isa"]
    assert rows["MatmulFn"]["kernel"] == f"gemm {info['kernels']['sgemm']}"
    assert rows["SoftmaxFn"]["kernel"] == "softmax" and rows["SoftmaxFn"]["isa"] == info["isa"]
    assert rows["ReLUFn"]["kernel"] == "numpy" and rows["ReLUFn"]["isa"] == "-"
    assert all(0 <= r["percent"] <= 100 for r in prof.rows())


def test_table_sorts_by_any_column():
    a = fe.randn(3, 3, requires_grad=True)
    with fe.profile() as prof:
        for _ in range(3):
            (a @ a).relu().sum().backward()
        (a * 2.0).sum().backward()
    by_calls = [r["calls"] for r in prof.rows(sort_by="calls")]
    assert by_calls == sorted(by_calls, reverse=True)
    names = [r["op"] for r in prof.rows(sort_by="op")]
    assert names == sorted(names)
    for col in profiler.COLUMNS + ("total", "mean", "gflops"):
        text = prof.table(sort_by=col)
        assert "MatmulFn" in text and "GFLOP/s" in text
    assert len(prof.table(limit=2).splitlines()) == 3 + 2
    with pytest.raises(ValueError, match="sort_by"):
        prof.table(sort_by="speed")
    with pytest.raises(TypeError, match="sort_by"):
        prof.rows(sort_by=3)
    with pytest.raises(ValueError, match="limit"):
        prof.table(limit=0)


def test_json_round_trip(tmp_path):
    a = fe.randn(4, 4, requires_grad=True)
    with fe.profile() as prof:
        (a @ a).sum().backward()
    path = prof.to_json(tmp_path / "p.json")
    loaded = profiler.load_json(path)
    assert loaded == json.loads(json.dumps(prof.to_dict()))
    assert profiler.format_table(loaded, sort_by="calls") == prof.table(sort_by="calls")
    (tmp_path / "bad.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match="not a firstepoch profile"):
        profiler.load_json(tmp_path / "bad.json")


def test_no_nesting_off_after_the_block_and_reentry_adds():
    a = fe.randn(2, 2)
    prof = fe.profile()
    with prof:
        with pytest.raises(RuntimeError, match="already active"):
            with fe.profile():
                pass
        assert prof.active
        a + a
    assert _function.modes().profiler is None and not prof.active
    a + a                                            # not recorded
    with pytest.raises(ZeroDivisionError):
        with prof:
            a + a
            1 / 0
    assert _function.modes().profiler is None        # an exception still ends it
    assert prof.counts() == {("AddFn", "forward"): 2}


def test_backward_of_a_forward_made_before_the_profile_has_no_flops():
    a = fe.randn(3, 3, requires_grad=True)
    out = (a @ a).sum()
    with fe.profile() as prof:
        out.backward()
    rows = {(r["op"], r["phase"]): r for r in prof.rows()}
    assert rows[("MatmulFn", "backward")]["calls"] == 1 and rows[("MatmulFn", "backward")]["gflop"] is None
