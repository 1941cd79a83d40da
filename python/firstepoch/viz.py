"""The autograd graph as a picture: draw_graph(tensor) walks the tape backwards from a tensor and returns
Graphviz DOT (ops as boxes, tensors as ellipses with their shapes; leaves that receive gradients are
green, those holding a .grad say so), and renders SVG/PNG when the `dot` program is installed."""
import os
import shutil
import subprocess

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


def draw_graph(tensor, path=None, format=None, names=None, rankdir="LR"):
    """Graphviz DOT source of the graph that produced `tensor` (a Tensor from a recorded computation).

    names: optional {name: Tensor} (e.g. dict(model.named_parameters())) to label tensors.
    path: also render the picture there; format 'svg' or 'png' (default: path's extension) with the
        `dot` program (Graphviz); without it a RuntimeError says how to install it and the DOT text is
        written next to it as path + '.dot'.
    """
    if not isinstance(tensor, Tensor):
        raise TypeError(f"draw_graph: tensor must be a firstepoch Tensor, got {type(tensor).__name__}")
    if rankdir not in ("LR", "TB", "RL", "BT"):
        raise ValueError(f"draw_graph: rankdir must be LR, TB, RL or BT, got {rankdir!r}")
    label_of = {id(t): n for n, t in (names or {}).items()}
    tensors, ops = graph_nodes(tensor)
    lines = ["digraph autograd {", f"  rankdir={rankdir};", '  node [fontname="Helvetica", fontsize=10];']
    for tid, t in tensors.items():
        name = label_of.get(tid)
        label = (f"{name}\n" if name else "") + f"{_shape(t)} {t._data.dtype}"
        if t._ctx is None and t.requires_grad:
            label += "\ngrad: " + ("held " + _shape(t) if t.grad is not None else "none yet")
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
