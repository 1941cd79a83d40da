"""Reverse-mode autodiff: walk the graph from the output in reverse topological order.

The walk is iterative (an explicit stack), so a chain of 100,000 ops needs no Python recursion.
"""
import sys

import numpy as np


def topological_order(root):
    """Nodes reachable from root that need a gradient, each after all of its inputs (iterative DFS)."""
    order = []
    seen = {id(root)}
    stack = [(root, iter(root._parents or ()))]
    while stack:
        node, it = stack[-1]
        for p in it:
            if getattr(p, "requires_grad", False) is True and id(p) not in seen:
                seen.add(id(p))
                stack.append((p, iter(p._parents or ())))
                break
        else:
            stack.pop()
            order.append(node)
    return order


def backward(root, grad=None, retain_graph=False):
    if not root.requires_grad:
        raise RuntimeError("backward: this tensor does not require grad and has no graph to differentiate "
                           "(create the inputs with requires_grad=True, outside no_grad())")
    if grad is None:
        if root.data.size != 1:
            raise RuntimeError(f"backward: grad can be implied only for a single-element output, got shape "
                               f"{root.data.shape}; pass grad= of that shape")
        grad = np.ones_like(root.data)
    else:
        grad = np.asarray(getattr(grad, "data", grad), dtype=root.data.dtype)
        if grad.shape != root.data.shape:
            raise ValueError(f"backward: grad has shape {grad.shape}, the output has shape {root.data.shape}")

    grads = {id(root): grad}
    for node in reversed(topological_order(root)):
        g = grads.pop(id(node), None)
        if g is None:
            continue
        ctx = node._ctx
        if ctx is None:  # a leaf: accumulate into .grad (until the user zeroes it)
            if node.grad is None:
                # Keep g itself only if nothing else can see it: it owns its memory (not a view of an
                # upstream gradient) and no other reference exists (a backward may hand one array to
                # two inputs, as Add does). Otherwise copy, so no two .grad arrays share memory.
                owned = g.base is None and sys.getrefcount(g) <= 2
                node.grad = g if owned else g.copy()
            else:
                node.grad = node.grad + g
            continue
        if getattr(ctx, "freed", False):
            raise RuntimeError(
                f"backward: trying to backward through the graph a second time (at {node._fn.__name__}); "
                "its saved arrays were freed after the first backward. Pass retain_graph=True to the "
                "first backward if you need to call it twice.")
        in_grads = node._fn.backward(ctx, g)
        if not isinstance(in_grads, tuple):
            in_grads = (in_grads,)
        for parent, pg in zip(node._parents, in_grads):
            if pg is None or getattr(parent, "requires_grad", False) is not True:
                continue
            if pg.shape != parent.data.shape:
                raise RuntimeError(f"{node._fn.__name__}.backward returned a gradient of shape {pg.shape} for "
                                   f"an input of shape {parent.data.shape}")
            key = id(parent)
            if key in grads:
                grads[key] = grads[key] + pg
            else:
                grads[key] = pg
        if not retain_graph:
            ctx.saved_tensors = None
            ctx.freed = True
