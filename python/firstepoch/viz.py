"""The autograd graph as a picture: draw_graph(tensor) walks the tape backwards from a tensor and returns
Graphviz DOT (ops as boxes, tensors as ellipses with their shapes; leaves that receive gradients are
green, those holding a .grad say so), and renders SVG/PNG when the `dot` program is installed.

As micrograd's draw_dot, scalars and small tensors (at most max_elements values) show their values
("data ...") and gradients ("grad ..."): what .grad holds (leaves after backward, and tensors that
called retain_grad), or with grads="all" the gradient of the root with respect to every tensor of the
graph, computed for the picture (autograd.grad; .grad is not touched). Larger tensors show their shape
only."""
import os
import shutil
import subprocess

import numpy as np

from .tensor import Tensor


def _shape(t):
    return str(tuple(t._data.shape))


def _quote(text):
    return '"' + str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def graph_nodes(root):
    """(tensors, ops): the tensors reachable backwards from `root` (id -> Tensor) and one
    (op name, output tensor, [input tensors]) per recorded op, iteratively (no recursion limit)."""
    tensors, ops = {}, []
    stack = [root]
    while stack:
        t = stack.pop()
        if id(t) in tensors:
            continue
        tensors[id(t)] = t
        ctx = t._ctx
        if ctx is not None:
            inputs = [p for p in ctx.parents if isinstance(p, Tensor)]
            ops.append((ctx.fn.__name__, t, inputs))
            stack.extend(inputs)
    return tensors, ops


def _values(a):
    """A scalar as 4 decimals ("2.0000"), a small array as a bracketed list of them."""
    a = np.asarray(a)
    if a.ndim == 0:
        return f"{float(a):.4f}" if a.dtype.kind in "fc" else str(a.item())
    return np.array2string(a, precision=4, separator=", ", floatmode="fixed", max_line_width=60)


def _all_grads(root, tensors):
    """{id: gradient array} of root with respect to every tensor of its graph that requires grad."""
    from .autograd.engine import grad
    if root._data.size != 1:
        raise ValueError(f"draw_graph: grads='all' needs a one-element root (a loss), got shape {_shape(root)}")
    wanted = [t for t in tensors.values() if t.requires_grad]
    if not wanted:
        return {}
    try:
        got = grad(root, wanted, retain_graph=True, allow_unused=True)
    except RuntimeError as e:
        raise RuntimeError(f"draw_graph: grads='all' runs backward through the graph again, which failed ({e}); "
                           "call draw_graph before backward, or backward(retain_graph=True)") from None
    return {id(t): g._data for t, g in zip(wanted, got) if g is not None}


def draw_graph(tensor, path=None, format=None, names=None, rankdir="LR", grads="held", max_elements=16):
    """Graphviz DOT source of the graph that produced `tensor` (a Tensor from a recorded computation).

    names: optional {name: Tensor} (e.g. dict(model.named_parameters())) to label tensors.
    grads: "held" (each tensor's .grad, if any) or "all" (d tensor / d node for every node, as micrograd
        shows after backward; a one-element root whose graph is still there); values and gradients are
        shown for tensors of at most max_elements values (0: shapes only).
    path: also render the picture there; format 'svg' or 'png' (default: path's extension) with the
        `dot` program (Graphviz); without it a RuntimeError says how to install it and the DOT text is
        written next to it as path + '.dot'.
    """
    if not isinstance(tensor, Tensor):
        raise TypeError(f"draw_graph: tensor must be a firstepoch Tensor, got {type(tensor).__name__}")
    if rankdir not in ("LR", "TB", "RL", "BT"):
        raise ValueError(f"draw_graph: rankdir must be LR, TB, RL or BT, got {rankdir!r}")
    if grads not in ("held", "all"):
        raise ValueError(f"draw_graph: grads must be 'held' or 'all', got {grads!r}")
    if isinstance(max_elements, bool) or not isinstance(max_elements, int) or max_elements < 0:
        raise ValueError(f"draw_graph: max_elements must be an int >= 0, got {max_elements!r}")
    label_of = {id(t): n for n, t in (names or {}).items()}
    tensors, ops = graph_nodes(tensor)
    computed = _all_grads(tensor, tensors) if grads == "all" else {}
    lines = ["digraph autograd {", f"  rankdir={rankdir};", '  node [fontname="Helvetica", fontsize=10];']
    for tid, t in tensors.items():
        name = label_of.get(tid)
        label = (f"{name}\n" if name else "") + f"{_shape(t)} {t._data.dtype}"
        g = computed.get(tid) if grads == "all" else (None if t._grad is None else t._grad._data)
        if t._data.size <= max_elements:  # small: the values themselves
            label += "\ndata " + _values(t._data)
            if g is not None:
                label += "\ngrad " + _values(g)
            elif t._ctx is None and t.requires_grad:
                label += "\ngrad: none yet"
        elif t._ctx is None and t.requires_grad:
            label += "\ngrad: " + ("held " + _shape(t) if g is not None else "none yet")
        if t._ctx is None and t.requires_grad:
            style = 'style=filled, fillcolor="#c8e6c9"'
        elif t._ctx is None:
            style = 'style=filled, fillcolor="#eeeeee"'  # a constant: no gradient flows to it
        else:
            style = 'style=filled, fillcolor="#bbdefb"' if t is tensor else "style=solid"
        lines.append(f"  t{tid} [shape=ellipse, {style}, label={_quote(label)}];")
    for i, (op, out, inputs) in enumerate(ops):
        lines.append(f"  op{i} [shape=box, style=\"rounded,filled\", fillcolor=\"#fff3c4\", label={_quote(op)}];")
        for t in inputs:
            lines.append(f"  t{id(t)} -> op{i};")
        lines.append(f"  op{i} -> t{id(out)};")
    lines.append("}")
    dot = "\n".join(lines) + "\n"
    if path is not None:
        render(dot, path, format)
    return dot


def render(dot, path, format=None):
    """Renders DOT text to `path` (svg or png) with Graphviz's `dot` program."""
    path = os.fspath(path)
    fmt = format or os.path.splitext(path)[1].lstrip(".").lower()
    if fmt not in ("svg", "png"):
        raise ValueError(f"draw_graph: format must be 'svg' or 'png' (or a path ending in one), got {fmt!r}")
    exe = shutil.which("dot")
    if exe is None:
        with open(path + ".dot", "w") as f:
            f.write(dot)
        raise RuntimeError(f"draw_graph: rendering {fmt} needs Graphviz's `dot` program (apt install graphviz, "
                           f"brew install graphviz, or conda install graphviz); the DOT text is in {path}.dot")
    result = subprocess.run([exe, f"-T{fmt}", "-o", path], input=dot.encode(), capture_output=True)
    if result.returncode != 0:
        raise RuntimeError(f"draw_graph: dot failed: {result.stderr.decode(errors='replace').strip()}")
    return path
