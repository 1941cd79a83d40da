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
    dot = viz.draw_graph(loss)
    assert dot.count("grad: held") == 4


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
