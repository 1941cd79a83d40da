"""viz.draw_graph: the DOT of an autograd graph has one box per recorded op, one ellipse per tensor with
its shape, marks leaves that hold gradients, and renders (or says how to get Graphviz)."""
import shutil

import numpy as np
import pytest

import firstepoch as fe
import firstepoch.nn as nn
import firstepoch.nn.functional as F
from firstepoch import viz


def _loss():
    fe.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    x = fe.tensor(np.ones((5, 3), np.float32))
    loss = F.cross_entropy(model(x), fe.tensor(np.array([0, 1, 0, 1, 1])))
    return model, loss


def test_dot_lists_every_op_and_tensor():
    model, loss = _loss()
    tensors, ops = viz.graph_nodes(loss)
    dot = viz.draw_graph(loss, names=dict(model.named_parameters()))
    assert dot.startswith("digraph autograd {") and dot.rstrip().endswith("}")
    assert dot.count("shape=box") == len(ops) >= 3  # Linear+ReLU may be one fused op
    assert dot.count("shape=ellipse") == len(tensors)
    for op, _, _ in ops:
        assert f'label="{op}"' in dot
    for name in ("0.weight", "0.bias", "2.weight", "2.bias"):
        assert f'"{name}\\n' in dot
    assert "(4, 3) float32" in dot and "(5, 2) float32" in dot
    assert dot.count("grad: none yet") == 4 and "grad: held" not in dot
    loss.backward()
    dot = viz.draw_graph(loss, max_elements=0)  # shapes only
    assert dot.count("grad: held") == 4


def _micrograd_example():
    """micrograd's README expression, small enough to check every value by hand."""
    a = fe.tensor(2.0, requires_grad=True)
    b = fe.tensor(-3.0, requires_grad=True)
    c = fe.tensor(10.0, requires_grad=True)
    e = a * b          # -6
    d = e + c          # 4
    f = fe.tensor(-2.0, requires_grad=True)
    L = d * f          # -8
    return a, b, c, d, e, f, L


def _label(dot, t):
    line = next(x for x in dot.splitlines() if x.lstrip().startswith(f"t{id(t)} ["))
    return line.split("label=", 1)[1]


def test_scalars_show_value_and_grad_as_micrograd():
    a, b, c, d, e, f, L = _micrograd_example()
    dot = viz.draw_graph(L)
    assert "data -8.0000" in _label(dot, L) and "data 4.0000" in _label(dot, d)
    assert "grad: none yet" in _label(dot, a)
    L.backward(retain_graph=True)
    dot = viz.draw_graph(L)  # held: leaves only, intermediate tensors keep no .grad
    for t, value, g in ((a, 2, 6), (b, -3, -4), (c, 10, -2), (f, -2, 4)):
        assert f"data {value:.4f}\\ngrad {g:.4f}" in _label(dot, t)
    assert "grad" not in _label(dot, d)
    dot = viz.draw_graph(L, grads="all")  # every node, as micrograd draws it after backward
    for t, g in ((L, 1), (d, -2), (e, -2), (a, 6), (b, -4), (c, -2), (f, 4)):
        assert f"grad {g:.4f}" in _label(dot, t)
    assert a.grad.item() == 6  # grads="all" does not accumulate into .grad


def test_small_tensors_show_values_large_ones_shape_only():
    w = fe.tensor(np.array([1.0, -2.0, 0.5], np.float32), requires_grad=True)
    big = fe.tensor(np.ones((10, 10), np.float32), requires_grad=True)
    y = (w * 3).sum() + big.sum()
    y.backward()
    dot = viz.draw_graph(y)
    assert "data [ 1.0000, -2.0000,  0.5000]" in _label(dot, w)  # NumPy's layout
    assert "grad [3.0000, 3.0000, 3.0000]" in _label(dot, w)
    assert "data" not in _label(dot, big) and "(10, 10) float32" in _label(dot, big)
    assert "grad: held (10, 10)" in _label(dot, big)
    with pytest.raises(RuntimeError, match="call draw_graph before backward"):
        viz.draw_graph(y, grads="all")  # the graph was freed by backward
    with pytest.raises(ValueError, match="one-element root"):
        viz.draw_graph(w * 2, grads="all")
    with pytest.raises(ValueError, match="grads must be 'held' or 'all'"):
        viz.draw_graph(y, grads="some")


def test_bad_arguments():
    with pytest.raises(TypeError, match="tensor must be a firstepoch Tensor"):
        viz.draw_graph(np.ones(3))
    _, loss = _loss()
    with pytest.raises(ValueError, match="rankdir"):
        viz.draw_graph(loss, rankdir="XY")
    with pytest.raises(ValueError, match="format must be 'svg' or 'png'"):
        viz.draw_graph(loss, path="graph.pdf")


def test_render_without_graphviz_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    _, loss = _loss()
    path = tmp_path / "g.svg"
    with pytest.raises(RuntimeError, match="needs Graphviz's `dot` program"):
        viz.draw_graph(loss, path=path)
    assert (tmp_path / "g.svg.dot").read_text().startswith("digraph autograd")


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot program is not installed")
@pytest.mark.parametrize("fmt, magic", [("svg", b"<?xml"), ("png", b"\x89PNG")])
def test_render_with_graphviz(tmp_path, fmt, magic):
    _, loss = _loss()
    path = tmp_path / f"g.{fmt}"
    viz.draw_graph(loss, path=path)
    assert path.read_bytes()[:len(magic)] == magic
