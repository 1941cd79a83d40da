"""`firstepoch.inspect`: look inside a network while it trains.

    rec = firstepoch.inspect.Recorder(model)
    with rec:
        for x, y in loader:                  # an ordinary training loop, unchanged
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad(); loss.backward(); opt.step()
    print(rec.summary())
    rec.plot("gradient_flow.png")

What it records, once per training step (a step begins with each forward of the model while gradients
are on; forwards under no_grad, such as evaluation, are not recorded):
- for every named parameter, the norm of the gradient backward computes for it (``grad_norms``; two
  backward passes in one step give the root-sum-square of their norms) and, every ``hist_every``
  steps, a histogram of log10|gradient| over fixed bins (``grad_histograms``, ``hist_edges``): where
  gradients vanish the mass slides left, layer after layer;
- for every module without children, statistics of its output (``activations``): mean, std, the
  fraction of exact zeros, and the fraction of dead units (channels/features that are zero for every
  example of the batch: a ReLU that never fires passes no gradient);
- for recurrent layers, the gradient norm at every time step (``time_grad_norms``): for a cell
  (RNNCell/LSTMCell/GRUCell, or any module marked ``"cell"``) called once per step, |dLoss/dh_t| for
  each call t -- the full backpropagation-through-time gradient, since h_t feeds both the loss and
  h_{t+1}; for a sequence module (RNN/LSTM/GRU, or marked ``"sequence"``), |dLoss/d output[t]| for
  each t of its output sequence, which is what flows in from the layers above at each step (for a
  model that reads only the last step, only t = T-1 is non-zero: use cells to see BPTT inside).

It works with hooks (Module.register_forward_hook, Tensor.register_hook); leaving the block removes
them. Inside a Sequential a hooked Linear and ReLU run unfused, so training is a little slower.
"""
import math

import numpy as np

from .autograd.function import is_grad_enabled
from .nn.module import Module
from .tensor import Tensor

SEQUENCE_MODULES = ("RNN", "LSTM", "GRU")
CELL_MODULES = ("RNNCell", "LSTMCell", "GRUCell")
RELU_MODULES = ("ReLU", "LeakyReLU")


def _first_tensor(out):
    if isinstance(out, Tensor):
        return out
    if isinstance(out, (tuple, list)) and out and isinstance(out[0], Tensor):
        return out[0]
    return None


def activation_stats(a):
    """(mean, std, zero fraction, dead-unit fraction) of an output array; units are axis 1 (features
    of (N, F), channels of (N, C, ...)) or the last axis of a (T, N, H)-like array with more axes."""
    a = np.asarray(a)
    if a.size == 0:
        return (math.nan,) * 4
    a64 = a.astype(np.float64, copy=False)
    zero = a == 0
    if a.ndim >= 2:
        unit_axis = 1 if a.ndim in (2, 4, 5) else a.ndim - 1
        others = tuple(i for i in range(a.ndim) if i != unit_axis)
        dead = float(zero.all(axis=others).mean())
    else:
        dead = float(zero.all())
    return float(a64.mean()), float(a64.std()), float(zero.mean()), dead


class Recorder:
    """Records gradient norms and histograms, activation statistics and per-time-step gradient norms
    of `model` while active (``with rec:``; or rec.attach() / rec.detach()).

    hist_every: steps between gradient histograms (1: every step); hist_edges: the fixed bin edges of
    log10|gradient| (exact zeros are counted apart, in ``grad_zero_fraction``); every: record one step
    in `every` (the others run without hooks doing work); recurrent: {module name: "sequence" or "cell"}
    for modules that are not nn.RNN/LSTM/GRU or their cells; time_dim: for "sequence" modules, the time
    axis of the output (default: 1 if the module has batch_first=True, else 0)."""

    def __init__(self, model, hist_every=10, hist_edges=None, every=1, recurrent=None):
        if not isinstance(model, Module):
            raise TypeError(f"Recorder: model must be a firstepoch.nn.Module, got {type(model).__name__}")
        for name, v in (("hist_every", hist_every), ("every", every)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v <= 0:
                raise ValueError(f"Recorder: {name} must be a positive int, got {v!r}")
        edges = np.linspace(-10.0, 2.0, 49) if hist_edges is None else np.asarray(hist_edges, dtype=np.float64)
        if edges.ndim != 1 or len(edges) < 2 or not np.all(np.diff(edges) > 0):
            raise ValueError("Recorder: hist_edges must be an increasing 1-D sequence of at least 2 edges")
        modules = dict(model.named_modules())
        recurrent = {} if recurrent is None else dict(recurrent)
        for name, kind in recurrent.items():
            if name not in modules:
                raise ValueError(f"Recorder: recurrent names a module {name!r} the model does not have "
                                 f"(its modules: {[n for n in modules if n]})")
            if kind not in ("sequence", "cell"):
                raise ValueError(f"Recorder: recurrent[{name!r}] must be 'sequence' or 'cell', got {kind!r}")
        for name, m in modules.items():
            if name not in recurrent:
                cls = type(m).__name__
                if cls in SEQUENCE_MODULES:
                    recurrent[name] = "sequence"
                elif cls in CELL_MODULES:
                    recurrent[name] = "cell"
        self.model = model
        self.hist_every = int(hist_every)
        self.every = int(every)
        self.hist_edges = edges
        self.recurrent = recurrent
        self.steps = 0                 # training forwards seen
        self.recorded_steps = []       # the step numbers recorded (every `every`-th)
        self._grad_norms = {name: {} for name, _ in model.named_parameters()}
        self._grad_zero = {name: {} for name in self._grad_norms}
        self.grad_histograms = {name: [] for name in self._grad_norms}  # name -> [(step, counts)]
        self._acts = {}                # module name -> {step: (mean, std, zero, dead)}
        self.time_grad_norms = {name: [] for name in recurrent}         # name -> [(step, array over t)]
        self._cell_calls = {}          # cell name -> [norm per call] of the current step
        self._handles = []
        self._recording = False

    # ---- attaching ---------------------------------------------------------------------------------
    def attach(self):
        if self._handles:
            raise RuntimeError("Recorder: already attached")
        self._handles.append(self.model.register_forward_pre_hook(self._on_model_pre_forward))
        for name, m in self.model.named_modules():
            leaf = not any(True for _ in m.children())
            if name and (leaf or name in self.recurrent):
                self._handles.append(m.register_forward_hook(self._module_hook(name)))
        for name, p in self.model.named_parameters():
            if p.requires_grad:
                self._handles.append(p.register_hook(self._param_hook(name)))
        return self

    def detach(self):
        self._flush_cells()
        for h in self._handles:
            h.remove()
        self._handles = []
        return self

    def __enter__(self):
        return self.attach()

    def __exit__(self, *exc):
        self.detach()
        return False

    # ---- hooks -------------------------------------------------------------------------------------
    def _on_model_pre_forward(self, module, inputs):
        if is_grad_enabled() and module.training:  # a training forward: a new step begins
            self._start_step()
        return None

    def _module_hook(self, name):
        kind = self.recurrent.get(name)

        def hook(module, inputs, out):
            if not is_grad_enabled() or not module.training:
                return None
            if self._current_step() is None or module is self.model:
                return None
            t = _first_tensor(out)
            if t is None:
                return None
            step = self.steps
            self._acts.setdefault(name, {})[step] = activation_stats(t._data)
            if kind is not None and t.requires_grad:
                if kind == "cell":
                    calls = self._cell_calls.setdefault(name, [])
                    i = len(calls)
                    calls.append(math.nan)

                    def record_cell(g, calls=calls, i=i):
                        calls[i] = float(np.linalg.norm(g._data))
                    t.register_hook(record_cell)
                else:
                    axis = self._time_axis(name, module, t._data)
                    others = tuple(a for a in range(t._data.ndim) if a != axis)

                    def record_seq(g, step=step):
                        norms = np.sqrt(np.sum(np.square(g._data, dtype=np.float64), axis=others))
                        self.time_grad_norms[name].append((step, norms))
                    t.register_hook(record_seq)
            return None
        return hook

    def _time_axis(self, name, module, data):
        if data.ndim < 2:
            raise ValueError(f"Recorder: the sequence module {name!r} returned a {data.ndim}-D output; "
                             "expected (T, N, H) or (N, T, H)")
        return 1 if getattr(module, "batch_first", False) else 0

    def _param_hook(self, name):
        def hook(g):
            step = self._current_step()
            if step is None:
                return None
            g64 = g._data.astype(np.float64, copy=False)
            norm = float(np.sqrt(np.sum(g64 * g64)))
            norms = self._grad_norms[name]
            norms[step] = norm if step not in norms else float(math.hypot(norms[step], norm))
            a = np.abs(g64).ravel()
            nz = a[a > 0]
            self._grad_zero[name][step] = 1.0 - nz.size / max(a.size, 1)
            if step % self.hist_every == 0 or step == 1:
                logs = np.clip(np.log10(nz), self.hist_edges[0], self.hist_edges[-1])
                counts, _ = np.histogram(logs, bins=self.hist_edges)
                self.grad_histograms[name].append((step, counts))
            return None
        return hook

    def _current_step(self):
        """The step being recorded, or None if this step is skipped (every > 1) or none began."""
        if not self._recording:
            return None
        return self.steps

    def _start_step(self):
        self._flush_cells()
        self.steps += 1
        self._recording = (self.steps - 1) % self.every == 0
        if self._recording:
            self.recorded_steps.append(self.steps)

    def _flush_cells(self):
        for name, calls in self._cell_calls.items():
            if calls:
                self.time_grad_norms[name].append((self.steps, np.array(calls)))
        self._cell_calls = {}

    # ---- results -----------------------------------------------------------------------------------
    @property
    def grad_norms(self):
        """{parameter name: array of gradient norms, one per recorded step (NaN where none was computed)}."""
        return self._per_step(self._grad_norms)

    @property
    def grad_zero_fraction(self):
        """{parameter name: fraction of exactly-zero gradient entries, one per recorded step}."""
        return self._per_step(self._grad_zero)

    def _per_step(self, store):
        return {name: np.array([d.get(s, math.nan) for s in self.recorded_steps]) for name, d in store.items()}

    @property
    def activations(self):
        """{module name: {"mean", "std", "zero_fraction", "dead_fraction": array per recorded step}}."""
        out = {}
        for name, d in self._acts.items():
            rows = np.array([d.get(s, (math.nan,) * 4) for s in self.recorded_steps], dtype=np.float64)
            rows = rows.reshape(-1, 4)
            out[name] = {"mean": rows[:, 0], "std": rows[:, 1], "zero_fraction": rows[:, 2],
                         "dead_fraction": rows[:, 3]}
        return out

    def summary(self, last=10):
        """A text table: per parameter the mean gradient norm over the last `last` recorded steps and its
        ratio to the parameter's norm; per module the last steps' activation statistics."""
        if not self.recorded_steps:
            return "Recorder: nothing recorded yet (run training steps inside `with recorder:`)"
        params = dict(self.model.named_parameters())
        lines = [f"# inspect: {len(self.recorded_steps)} recorded steps of {self.steps}; means over the last "
                 f"{min(last, len(self.recorded_steps))}"]
        rows = []
        for name, norms in self.grad_norms.items():
            tail = norms[-last:]
            g = float(np.nanmean(tail)) if np.any(~np.isnan(tail)) else math.nan
            w = float(np.linalg.norm(params[name]._data)) if name in params else math.nan
            z = self.grad_zero_fraction[name][-last:]
            rows.append([name, "x".join(map(str, params[name].shape)), _fmt(g), _fmt(g / w if w else math.nan),
                         _fmt(float(np.nanmean(z)) if np.any(~np.isnan(z)) else math.nan)])
        lines += _table(["parameter", "shape", "grad norm", "grad/weight", "zero grads"], rows)
        rows = []
        modules = dict(self.model.named_modules())
        for name, st in self.activations.items():
            kind = type(modules[name]).__name__
            rows.append([name, kind] + [_fmt(float(np.nanmean(st[k][-last:])) if np.any(~np.isnan(st[k][-last:]))
                                             else math.nan) for k in ("mean", "std", "zero_fraction", "dead_fraction")])
        if rows:
            lines.append("")
            lines += _table(["module", "type", "mean", "std", "zeros", "dead units"], rows)
        for name, seqs in self.time_grad_norms.items():
            if seqs:
                step, norms = seqs[-1]
                lines.append("")
                ratio = norms[0] / norms[-1] if norms[-1] else math.nan
                lines.append(f"{name}: |dLoss/dh_t| at step {step}, t = 0..{len(norms) - 1}: first {_fmt(norms[0])}, "
                             f"last {_fmt(norms[-1])}, ratio first/last {_fmt(ratio)}")
        return "\n".join(lines)

    def plot(self, path):
        """Writes the gradient-flow figure (PNG): gradient norm per parameter over steps, the last steps'
        mean norm per layer (input to output), the activations' zero fraction, and per-time-step
        gradient norms of recurrent layers if any. Returns path."""
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        if not self.recorded_steps:
            raise RuntimeError("Recorder.plot: nothing recorded yet (run training steps inside `with recorder:`)")
        has_time = any(self.time_grad_norms.values())
        ncols = 4 if has_time else 3
        fig = Figure(figsize=(4.2 * ncols, 4), layout="constrained")
        FigureCanvasAgg(fig)
        axes = fig.subplots(1, ncols)
        steps = np.array(self.recorded_steps)
        norms = self.grad_norms
        for name, v in norms.items():
            if np.any(v > 0):
                axes[0].plot(steps, v, label=name, lw=1)
        axes[0].set_yscale("log")
        axes[0].set_xlabel("step")
        axes[0].set_title("gradient norm per parameter")
        if len(norms) <= 12:
            axes[0].legend(fontsize=6)
        names = list(norms)
        means = [float(np.nanmean(v[-10:])) if np.any(~np.isnan(v[-10:])) else 0.0 for v in norms.values()]
        axes[1].bar(range(len(names)), [max(m, 1e-30) for m in means], color="tab:blue")
        axes[1].set_yscale("log")
        axes[1].set_xticks(range(len(names)), names, rotation=70, fontsize=6)
        axes[1].set_title("gradient flow (last 10 steps)")
        acts = self.activations
        for name, st in acts.items():
            axes[2].plot(steps, st["zero_fraction"], label=name, lw=1)
        axes[2].set_ylim(-0.02, 1.02)
        axes[2].set_xlabel("step")
        axes[2].set_title("fraction of zero activations")
        if 0 < len(acts) <= 12:
            axes[2].legend(fontsize=6)
        if has_time:
            for name, seqs in self.time_grad_norms.items():
                if seqs:
                    step, v = seqs[-1]
                    axes[3].plot(np.arange(len(v)), np.maximum(v, 1e-30), label=f"{name} (step {step})")
            axes[3].set_yscale("log")
            axes[3].set_xlabel("time step t")
            axes[3].set_title("|dLoss/dh_t|")
            axes[3].legend(fontsize=6)
        fig.savefig(path, dpi=100)
        return path


def _fmt(v):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    v = float(v)
    return f"{v:.3e}" if v != 0 and (abs(v) < 1e-3 or abs(v) >= 1e4) else f"{v:.4f}"


def _table(heads, rows):
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(heads)]

    def line(cells):
        return "  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths))).rstrip()
    return [line(heads), line(["-" * w for w in widths])] + [line(r) for r in rows]
