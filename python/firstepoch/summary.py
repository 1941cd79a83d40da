"""`firstepoch.summary(model, input_size)`: a table of the layers a forward pass runs, as torchinfo's
`summary` prints it (torchinfo 1.8's layout, rules and numbers):

    ==========================================================================================
    Layer (type:depth-idx)                   Output Shape              Param #       Mult-Adds
    ==========================================================================================
    LeNet5                                   [16, 10]                  --            --
    ├─Sequential: 1-1                        [16, 16, 5, 5]            --            --
    │    └─Conv2d: 2-1                       [16, 6, 28, 28]           156           1,956,864
    ...
    Total params: 61,706 ... Estimated Total Size (MB): 1.13

One row per module call, in the order the calls begin, indented by nesting depth; "depth-idx" is the
depth and the row's number among the rows of that depth. What is counted, as torchinfo counts it:
- Param #: a module's own parameters when its children are shown below it, its whole subtree's when
  it is shown as a leaf (no children, or cut by `depth`), in parentheses when none is trainable; "--"
  for none; "(recursive)" for a module with parameters called again (they are counted once).
- Mult-Adds (a multiply-add counts once): for each parameter named weight or bias, its element count
  times the batch size, and for a ConvNd also times the output's spatial size (N * H_out * W_out);
  for other parameters with weight/bias in their name (recurrent weight_ih_l0 ...) times N * the
  output's second dimension. So a Linear on (N, in) gives N * (in * out + out), a Conv2d
  N * H_out * W_out * (C_out * C_in / groups * kh * kw + C_out). Layers without parameters count 0.
- Input size: the bytes of the inputs. Forward/backward pass size: twice (activation and its
  gradient) the output bytes of every leaf module that has parameters. Params size: the parameters'
  bytes. Estimated total: their sum. MB = 10^6 bytes.

Deliberate differences from torchinfo: the default columns are output_size, num_params and mult_adds
(torchinfo's: output_size and num_params); a fourth column, "output_bytes" (Output Bytes: the bytes
of the layer's output, its activation memory), can be asked for; the mult-adds total says its unit
as "(M)" / "(G)" / "(T)" (torchinfo 1.8 on Python 3.11 prints "(Units.MEGABYTES)"); a container cut by
`depth` shows the mult-adds of its whole subtree (torchinfo: of its direct children without children).
"""
import math

import numpy as np

from .autograd.function import no_grad
from .nn.module import Module
from .tensor import Tensor

COLUMNS = {"input_size": "Input Shape", "output_size": "Output Shape", "num_params": "Param #",
           "mult_adds": "Mult-Adds", "output_bytes": "Output Bytes"}
DEFAULT_COLUMNS = ("output_size", "num_params", "mult_adds")
NAME_WIDTH = 40


class LayerInfo:
    """One row: a module call with its depth, index at that depth, input/output shapes, own and subtree
    parameter counts, mult-adds and output bytes."""

    def __init__(self, module, name, depth, depth_index, parent, recursive):
        self.module, self.var_name, self.depth, self.depth_index = module, name, depth, depth_index
        self.parent, self.is_recursive = parent, recursive
        self.class_name = type(module).__name__
        self.children = []
        self.input_size = self.output_size = None
        self.output_bytes = 0
        own = list(module._parameters.items()) if hasattr(module, "_parameters") else []
        own = [(n, p) for n, p in own if p is not None]
        self.own_params = sum(p.numel() for _, p in own)  # a recursive call's are not added to the totals
        self.trainable_params = sum(p.numel() for _, p in own if p.requires_grad)
        self.param_bytes = sum(p._data.nbytes for _, p in own)
        self._own = own
        self.macs = 0

    @property
    def is_leaf_layer(self):
        return not self.children

    def subtree(self):
        out = [self]
        for c in self.children:
            out.extend(c.subtree())
        return out

    def calculate_macs(self):
        if not self.output_size:  # a module called again computes again: its mult-adds count again
            return
        n = self.output_size[0]
        for name, p in self._own:
            count = p.numel()
            if name in ("weight", "bias"):
                if "Conv" in self.class_name:
                    self.macs += int(count * n * math.prod(self.output_size[2:]))
                else:
                    self.macs += int(n * count)
            elif "weight" in name or "bias" in name:
                self.macs += int(math.prod(self.output_size[:2]) * count)


def _first_tensor(x):
    if isinstance(x, Tensor):
        return x
    if isinstance(x, (tuple, list)):
        for v in x:
            t = _first_tensor(v)
            if t is not None:
                return t
    return None


def _tensors(x):
    if isinstance(x, Tensor):
        return [x]
    if isinstance(x, (tuple, list)):
        return [t for v in x for t in _tensors(v)]
    if isinstance(x, dict):
        return [t for v in x.values() for t in _tensors(v)]
    return []


class ModelStatistics:
    """What summary() returns: the rows (summary_list) and the totals; str() is the table."""

    def __init__(self, summary_list, inputs, col_names, col_width, depth):
        self.summary_list, self.col_names, self.col_width, self.depth = summary_list, col_names, col_width, depth
        self.total_input = sum(t._data.nbytes for t in inputs)
        self.input_size = [list(t.shape) for t in inputs]
        once = [r for r in summary_list if not r.is_recursive]
        self.total_params = sum(r.own_params for r in once)
        self.trainable_params = sum(r.trainable_params for r in once)
        self.total_param_bytes = sum(r.param_bytes for r in once)
        self.total_mult_adds = sum(r.macs for r in summary_list)
        self.total_output_bytes = sum(2 * r.output_bytes for r in summary_list
                                      if r.is_leaf_layer and r.own_params > 0)

    def _cells(self, r):
        shown_as_leaf = r.is_leaf_layer or r.depth >= self.depth
        sub = r.subtree()
        cells = []
        for c in self.col_names:
            if c == "input_size":
                cells.append(str(r.input_size) if r.input_size is not None else "--")
            elif c == "output_size":
                cells.append(str(r.output_size) if r.output_size is not None else "--")
            elif c == "num_params":
                counted = [x for x in sub if not x.is_recursive] if shown_as_leaf else [r]
                v = sum(x.own_params for x in counted)
                if not (r.own_params if r.is_recursive else v):
                    cells.append("--")
                elif r.is_recursive:
                    cells.append("(recursive)")
                elif shown_as_leaf and not sum(x.trainable_params for x in counted):
                    cells.append(f"({v:,})")  # frozen, as torchinfo marks it
                else:
                    cells.append(f"{v:,}")
            elif c == "mult_adds":
                v = sum(x.macs for x in sub) if shown_as_leaf else r.macs
                cells.append(f"{v:,}" if v else "--")
            else:
                cells.append(f"{r.output_bytes:,}" if r.output_bytes else "--")
        return cells

    def _name(self, r):
        if r.depth == 0:
            return r.class_name
        prefix = "├─" if r.depth == 1 else "│    " * (r.depth - 1) + "└─"
        return f"{prefix}{r.class_name}: {r.depth}-{r.depth_index}"

    def __str__(self):
        # the name column is 40 wide, or the longest name plus 5 per depth level (+1), rounded up to 5
        longest = max((len(self._name(r).lstrip("├─│└ ")) + 5 * r.depth + 1 for r in self.summary_list), default=0)
        name_width = NAME_WIDTH if longest < NAME_WIDTH else -(-longest // 5) * 5
        rule = "=" * (name_width + self.col_width * len(self.col_names))

        def line(first, cells):
            return (f"{first:<{name_width}} " + "".join(f"{c:<{self.col_width}} " for c in cells)).rstrip()

        out = [rule, line("Layer (type:depth-idx)", [COLUMNS[c] for c in self.col_names]), rule]
        out += [line(self._name(r), self._cells(r)) for r in self.summary_list if r.depth <= self.depth]
        macs = self.total_mult_adds
        unit, scaled = ("T", macs / 1e12) if macs >= 1e12 else ("G", macs / 1e9) if macs >= 1e9 else ("M", macs / 1e6)
        mb = lambda b: b / 1e6  # noqa: E731
        out += [rule, f"Total params: {self.total_params:,}", f"Trainable params: {self.trainable_params:,}",
                f"Non-trainable params: {self.total_params - self.trainable_params:,}",
                f"Total mult-adds ({unit}): {scaled:0.2f}", rule,
                f"Input size (MB): {mb(self.total_input):0.2f}",
                f"Forward/backward pass size (MB): {mb(self.total_output_bytes):0.2f}",
                f"Params size (MB): {mb(self.total_param_bytes):0.2f}",
                f"Estimated Total Size (MB): "
                f"{mb(self.total_input + self.total_output_bytes + self.total_param_bytes):0.2f}", rule]
        return "\n".join(out)

    __repr__ = __str__


def _inputs(input_size, input_data, batch_dim, dtypes):
    if (input_size is None) == (input_data is None):
        raise ValueError("summary: give exactly one of input_size and input_data")
    if input_data is not None:
        if isinstance(input_data, np.ndarray):
            input_data = Tensor(input_data)
        ts = _tensors(input_data)
        if not ts:
            raise TypeError(f"summary: input_data must be a Tensor or a sequence of Tensors, got "
                            f"{type(input_data).__name__}")
        args = list(input_data) if isinstance(input_data, (list, tuple)) else [input_data]
        return args, ts
    sizes = [input_size] if all(isinstance(v, (int, np.integer)) for v in input_size) else list(input_size)
    for s in sizes:
        if not isinstance(s, (tuple, list)) or not all(
                isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= 0 for v in s):
            raise ValueError(f"summary: input_size must be a tuple of sizes (or a list of them), got {input_size!r}")
    if dtypes is None:
        dtypes = [np.float32] * len(sizes)
    if len(dtypes) != len(sizes):
        raise ValueError(f"summary: dtypes has {len(dtypes)} entries for {len(sizes)} inputs")
    args = []
    for s, dt in zip(sizes, dtypes):
        s = tuple(int(v) for v in s)
        if batch_dim is not None:
            s = s[:batch_dim] + (1,) + s[batch_dim:]
        dt = np.dtype(dt)
        rng = np.random.default_rng(0)  # torchinfo feeds torch.rand; values do not change the counts
        args.append(Tensor(rng.random(s).astype(dt) if dt.kind == "f" else np.zeros(s, dt)))
    return args, args


def summary(model, input_size=None, input_data=None, batch_dim=None, col_names=None, col_width=25, depth=3,
            dtypes=None, mode="eval", verbose=1, **kwargs):
    """Runs model on inputs of input_size (a shape with the batch dimension, or a list of shapes; with
    batch_dim, shapes without it and a batch of 1 inserted there) or on input_data, and returns
    ModelStatistics: the rows and totals (the module docstring gives the rules); verbose=1 also prints
    the table. col_names: any of input_size, output_size, num_params, mult_adds, output_bytes; depth:
    the deepest row shown (totals count every layer); mode: 'eval' (default, as torchinfo) or 'train',
    the model's own mode restored afterwards; kwargs go to forward. The forward runs without gradients."""
    if not isinstance(model, Module):
        raise TypeError(f"summary: model must be a firstepoch.nn.Module, got {type(model).__name__}")
    col_names = tuple(DEFAULT_COLUMNS if col_names is None else col_names)
    bad = [c for c in col_names if c not in COLUMNS]
    if bad:
        raise ValueError(f"summary: unknown col_names {bad}; choose from {', '.join(COLUMNS)}")
    if mode not in ("eval", "train"):
        raise ValueError(f"summary: mode must be 'eval' or 'train', got {mode!r}")
    if isinstance(depth, bool) or not isinstance(depth, (int, np.integer)) or depth < 0:
        raise ValueError(f"summary: depth must be an int >= 0, got {depth!r}")
    args, inputs = _inputs(input_size, input_data, batch_dim, dtypes)
    rows, stack, seen, counters, handles = [], [], set(), {}, []
    names = {id(m): n for n, m in model.named_modules()}

    def pre(module, inp):
        d = len(stack)
        counters[d] = counters.get(d, 0) + 1
        parent = stack[-1] if stack else None
        r = LayerInfo(module, names.get(id(module), ""), d, counters[d], parent, id(module) in seen)
        seen.add(id(module))
        t = _first_tensor(inp)
        r.input_size = list(t.shape) if t is not None else None
        if parent is not None:
            parent.children.append(r)
        rows.append(r)
        stack.append(r)

    def post(module, inp, out):
        r = stack.pop()
        t = _first_tensor(out)
        if t is not None:
            r.output_size = list(t.shape)
        r.output_bytes = sum(x._data.nbytes for x in _tensors(out))

    for m in model.modules():
        handles.append(m.register_forward_pre_hook(pre))
        handles.append(m.register_forward_hook(post))
    was = model.training
    model.train(mode == "train")
    try:
        with no_grad():
            model(*args, **kwargs)
    finally:
        for h in handles:
            h.remove()
        model.train(was)
    for r in rows:
        r.calculate_macs()
    stats = ModelStatistics(rows, inputs, col_names, col_width, depth)
    if verbose:
        print(stats)
    return stats
