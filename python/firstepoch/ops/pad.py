"""Padding (torch.nn.functional.pad): constant, reflect, replicate and circular, negative amounts crop.

Along each padded dimension every output position reads one input position or the constant, so the
op is a gather per dimension (forward) and a scatter-add per dimension (backward, in a fixed order:
the result does not depend on anything but the inputs). `pad_plan` works out, once, which input
position each output position reads; PadFn and its gradient op PadGradFn share it.

NumPy only (no kernel). Reference: firstepoch.reference.pad (pad_forward, pad_backward), the same rules
written one output position at a time.
"""
import numpy as np

from ..autograd.function import Context, Function

MODES = ("constant", "reflect", "replicate", "circular")


def _sizes_text(shape):
    return "[" + ", ".join(str(s) for s in shape) + "]"


def pad_plan(shape, pad, mode="constant", value=None):
    """Checks F.pad's arguments against an input of `shape` as torch does (same error classes); returns
    [(axis, first, stop, out, src)] per padded axis: of the out output positions, first..stop-1 read input
    positions src (an int array), the others (constant mode only) hold the constant."""
    try:
        pad = tuple(pad)
    except TypeError:
        raise TypeError(f"pad(): argument 'pad' must be a tuple of ints, got {pad!r}") from None
    if not all(isinstance(p, (int, np.integer)) and not isinstance(p, bool) for p in pad):
        raise TypeError(f"pad(): argument 'pad' must be a tuple of ints, got {pad!r}")
    ndim = len(shape)
    if len(pad) % 2:
        raise RuntimeError("Padding length must be divisible by 2")
    if len(pad) // 2 > ndim:
        raise RuntimeError("Padding length should be less than or equal to two times the input dimension but got "
                           f"padding length {len(pad)} and input of dimension {ndim}")
    if mode not in MODES:
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    k = len(pad) // 2
    if mode != "constant":
        if value is not None and value != 0:
            raise RuntimeError(f'Padding mode "{mode}" doesn\'t take in value argument')
        if k not in (1, 2, 3) or ndim not in (k + 1, k + 2):
            raise NotImplementedError(
                f"Padding size {len(pad)} is not supported for {ndim}D input tensor.\n"
                "Supported combinations for non-constant padding:\n"
                "  - 2D or 3D input: padding size = 2 (pads last dimension)\n"
                "  - 3D or 4D input: padding size = 4 (pads last 2 dimensions)\n"
                "  - 4D or 5D input: padding size = 6 (pads last 3 dimensions)")
        if mode in ("reflect", "replicate") and 0 in shape[ndim - k - 1:]:  # all but a batch dimension
            raise RuntimeError(f"Expected {k + 1}D or {k + 2}D (batch mode) tensor with possibly 0 batch size and "
                               f"other non-zero dimensions for input, but got: {_sizes_text(shape)}")
    plan = []
    for j in range(k):
        axis, left, right = ndim - 1 - j, int(pad[2 * j]), int(pad[2 * j + 1])
        size = shape[axis]
        out = size + left + right
        o = np.arange(max(out, 0))
        if mode == "constant" or mode == "circular":
            kept = size + min(left, 0) + min(right, 0)
            if kept < 0:
                raise RuntimeError("narrow(): length must be non-negative." if mode == "constant" else
                                   "Negative padding value is resulting in an empty dimension")
            if mode == "constant":
                first, stop = max(left, 0), max(left, 0) + kept
                plan.append((axis, first, stop, max(out, 0), o[first:stop] - left))
                continue
            if max(left, 0) > kept or max(right, 0) > kept:
                raise RuntimeError(f"Padding value causes wrapping around more than once: padding ({left}, {right}) "
                                   f"at dimension {axis} of input {_sizes_text(shape)}")
            src = max(-left, 0) + (o - max(left, 0)) % max(kept, 1)
        else:
            if mode == "reflect" and (left >= size or right >= size):
                raise RuntimeError("Argument #4: Padding size should be less than the corresponding input dimension, "
                                   f"but got: padding ({left}, {right}) at dimension {axis} of input "
                                   f"{_sizes_text(shape)}")
            i = o - left
            if mode == "reflect":
                i = np.abs(i)                                   # reflect about the first element
                src = np.where(i >= size, 2 * (size - 1) - i, i)  # and about the last
            else:
                src = np.clip(i, 0, size - 1)
        plan.append((axis, 0, out, out, src))
    if mode in ("reflect", "replicate"):  # torch refuses only when no padded dimension keeps an element
        outs = {axis: out for axis, _, _, out, _ in plan}
        if max(outs.values()) < 1:
            raise RuntimeError(f"input (sizes {_sizes_text(shape[ndim - k:])}) is too small. Calculated output "
                               f"sizes: {_sizes_text(outs[a] for a in sorted(outs))} (padding {pad})")
        if min(outs.values()) < 0:  # torch: its allocation's words
            raise RuntimeError(f"Trying to create tensor with negative dimension {min(outs.values())}: "
                               f"{_sizes_text(outs.get(a, shape[a]) for a in range(ndim))}")
    return plan


def _along(ndim, axis, index):
    return (slice(None),) * axis + (index,) + (slice(None),) * (ndim - axis - 1)


def _run_start(src):
    """The first position if src is consecutive positions (a slice then reads them), else None."""
    if src.size == 0:
        return 0
    if src[-1] - src[0] == src.size - 1 and (src.size < 2 or bool((np.diff(src) == 1).all())):
        return int(src[0])
    return None


def pad_apply(x, plan, value=0):
    """The forward: x gathered along each planned axis, the constant written where nothing is read."""
    y = x
    for axis, first, stop, out, src in plan:
        start = _run_start(src)
        if start is not None:
            y = y[_along(y.ndim, axis, slice(start, start + src.size))]
        else:
            y = np.take(y, src, axis=axis)
        if first or out - stop:
            widths = [(0, 0)] * y.ndim
            widths[axis] = (first, out - stop)
            y = np.pad(y, widths, constant_values=value)
    return y.copy() if np.may_share_memory(y, x) else y


def pad_adjoint(grad, x_shape, plan):
    """The backward: each output gradient added into the input position it read, axis by axis in
    reverse; along one axis the contributions to an input position are added in output order."""
    g = grad
    for axis, first, stop, out, src in reversed(plan):
        g = g[_along(g.ndim, axis, slice(first, stop))]
        size = x_shape[axis]
        start = _run_start(src)
        if start is not None:
            widths = [(0, 0)] * g.ndim
            widths[axis] = (start, size - start - src.size)
            g = np.pad(g, widths)
            continue
        order = np.argsort(src, kind="stable")
        s = src[order]
        starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
        shape = list(g.shape)
        shape[axis] = size
        dx = np.zeros(shape, dtype=grad.dtype)
        if s.size:
            dx[_along(g.ndim, axis, s[starts])] = np.add.reduceat(np.take(g, order, axis=axis), starts, axis=axis)
        g = dx
    return g.copy() if np.may_share_memory(g, grad) else g


class PadFn(Function):
    """F.pad(x, pad, mode, value) on arrays: pad is (left, right) per dimension from the last backwards;
    negative amounts crop. Backward adds each output gradient into the input position it read
    (PadGradFn, whose own gradient is padding again)."""

    @staticmethod
    def forward(ctx, x, pad, mode="constant", value=None):
        plan = pad_plan(x.shape, pad, mode, value)
        ctx.args = (x.shape, tuple(pad), mode)
        ctx.plan = plan
        return pad_apply(x, plan, 0 if value is None else value)

    @staticmethod
    def backward(ctx, grad):
        return pad_adjoint(grad, ctx.args[0], ctx.plan), None, None, None

    @staticmethod
    def backward_graph(ctx, grad):
        shape, pad, mode = ctx.args
        return PadGradFn.apply(grad, shape, pad, mode), None, None, None

    @staticmethod
    def gradcheck_cases(rng):
        x = rng.standard_normal((2, 3, 5, 4))
        return [((x, (1, 2, 0, 3)), {}),
                ((x, (-1, 2, 2, -2), "constant", 0.5), {}),
                ((x, (2, 1, 3, 4)), {"mode": "reflect"}),
                ((x, (-1, 3, 2, -2)), {"mode": "reflect"}),
                ((x, (3, 2, 1, 5)), {"mode": "replicate"}),
                ((x, (4, 1, 2, 5)), {"mode": "circular"}),
                ((x, (-1, 2, 2, -3)), {"mode": "circular"}),
                ((rng.standard_normal((3, 6)), (2, 3)), {"mode": "reflect"}),
                ((rng.standard_normal((2, 2, 3, 3, 4)), (1, 1, 2, 0, 1, 2)), {"mode": "replicate"})]


class PadGradFn(Function):
    """The gradient of F.pad as an op: grad (the padded shape) summed back into x_shape. Called as
    PadGradFn.apply(grad, x_shape, pad, mode). Linear; its gradient is F.pad of the incoming gradient,
    so every order of derivative of a padding exists."""

    @staticmethod
    def forward(ctx, grad, x_shape, pad, mode="constant"):
        ctx.args = (tuple(pad), mode)
        ctx.plan = pad_plan(tuple(x_shape), pad, mode)
        return pad_adjoint(grad, tuple(x_shape), ctx.plan)

    @staticmethod
    def backward(ctx, grad):
        return pad_apply(grad, ctx.plan, 0), None, None, None

    @staticmethod
    def backward_graph(ctx, grad):
        pad, mode = ctx.args
        return PadFn.apply(grad, pad, mode), None, None, None

    @staticmethod
    def gradcheck_cases(rng):
        cases = []
        for (x, pad, *rest), kw in PadFn.gradcheck_cases(rng):
            mode = kw.get("mode", rest[0] if rest else "constant")
            y = PadFn.forward(Context(), x, pad, mode, rest[1] if len(rest) > 1 else None)
            cases.append(((rng.standard_normal(y.shape), x.shape, pad, mode), {}))
        return cases


def pad(input, pad, mode="constant", value=None):
    """As torch.nn.functional.pad: `pad` is (left, right) per dimension, last dimension first, e.g.
    (1, 1, 2, 0) pads the last dimension by 1 on each side and the one before by 2 at its start.
    Negative amounts crop. mode: "constant" (value, default 0, cast to the input's dtype), "reflect"
    (mirrors about the edge element, amounts below the dimension's size), "replicate" (repeats the edge),
    "circular" (wraps around; crops first, amounts at most the cropped size). The non-constant modes pad
    the last 1, 2 or 3 dimensions of an input with one or two more (batch, channel) dimensions, as torch.
    Differs from torch: circular padding wider than what its negative amounts leave raises (torch reads
    memory outside the input there)."""
    return PadFn.apply(input, pad, mode, value)
