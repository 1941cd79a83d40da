"""Training checkpoints: one safetensors file holding the model, the optimizer state, the schedule's
position, the run's progress, the global RNG state and the config, written atomically (io.save_safetensors)
and read back only after every metadata field has passed its schema, so a refused file changes nothing.

    write_checkpoint(path, model, optimizer, scheduler, config, progress)
    progress = restore_checkpoint(path, model, optimizer, scheduler)   # checks all, then restores
    tensors, meta, fields = read_checkpoint_fields(path)               # checked, nothing restored
"""
import json
import math
import os

import numpy as np

from .. import _C
from .. import io as fio
from .. import random as _random
from ..models import NAMES as MODEL_NAMES
from .config import OPTIMIZERS, SCHEDULERS, default_config

CHECKPOINT_KIND = "firstepoch-checkpoint"
CHECKPOINT_FIELDS = ("config", "progress", "rng", "optimizer", "scheduler")
CHECKPOINT_FILES = ("last.safetensors", "best.safetensors")  # in OUT/checkpoints/


# ---- writing ----------------------------------------------------------------------------------------

def write_checkpoint(path, model, optimizer, scheduler, config, progress):
    """Model, optimizer, scheduler position, `progress` (a JSON-able dict), RNG state and config in one
    safetensors file, written atomically."""
    tensors = {f"model.{k}": v for k, v in model.state_dict().items()}
    opt = optimizer.state_dict()
    scalars = {}
    for idx, st in opt["state"].items():
        for k, v in st.items():
            if isinstance(v, np.ndarray):
                tensors[f"optimizer.{idx}.{k}"] = v
            else:
                scalars.setdefault(str(idx), {})[k] = v
    meta = {"format": fio.FORMAT, "kind": CHECKPOINT_KIND, "class": type(model).__name__,
            "config": json.dumps(config), "progress": json.dumps(progress),
            "rng": json.dumps(_random.get_state()),
            "optimizer": json.dumps({"type": type(optimizer).__name__, "param_groups": opt["param_groups"],
                                     "scalars": scalars}),
            "scheduler": json.dumps(None if scheduler is None else scheduler.last_epoch),
            "version": getattr(_C, "__version__", "0")}
    fio.save_safetensors(tensors, path, meta)


# ---- restoring --------------------------------------------------------------------------------------

def restore_checkpoint(path, model, optimizer, scheduler):
    """Restores the model, optimizer, scheduler position and global RNG state a checkpoint holds, and
    returns its progress dict. The file must come from the same model and optimizer (CheckpointError
    names what differs); everything is checked before anything is restored."""
    tensors, meta, parsed = read_checkpoint_fields(path)
    where = f"checkpoint {os.fspath(path)!r}"
    model_sd = {k[6:]: v for k, v in tensors.items() if k.startswith("model.")}
    fio.check_class(model, meta, path)  # the plainest mismatch is named first
    opt_state = _optimizer_state(optimizer, tensors, parsed["optimizer"], where)
    fio.load_into(model, model_sd, meta, path)  # checks, then copies: nothing half-loaded
    optimizer.load_state_dict(opt_state)  # checked by _optimizer_state: cannot fail now
    sched = parsed["scheduler"]
    if scheduler is not None and sched is not None:
        scheduler.last_epoch = int(sched)
    _random.set_state(parsed["rng"])
    return parsed["progress"]


def _optimizer_state(optimizer, tensors, opt_meta, where):
    """The optimizer state dict of a checkpoint, after the optimizer's own check_state_dict found
    that it fits this run's optimizer (nothing is loaded yet)."""
    if opt_meta["type"] != type(optimizer).__name__:
        raise fio.CheckpointError(f"{where} holds {opt_meta['type']} state, the run uses "
                                  f"{type(optimizer).__name__}")
    state = {}
    for k, v in tensors.items():
        if k.startswith("optimizer."):
            _, idx, name = k.split(".", 2)
            state.setdefault(int(idx), {})[name] = v
    for idx, st in opt_meta["scalars"].items():
        state.setdefault(int(idx), {}).update(st)
    sd = {"state": state, "param_groups": opt_meta["param_groups"]}
    try:
        optimizer.check_state_dict(sd)
    except ValueError as e:
        raise fio.CheckpointError(f"{where}: optimizer state does not fit: {e}") from None
    return sd


# ---- reading: every metadata field is checked against a schema before it is used -------------------

_is_int, _short = fio._is_int, fio._short  # an int that is not a bool; a repr cut for messages


def _is_count(v):
    return _is_int(v) and v >= 0


def _is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _is_finite(v):
    return _is_number(v) and math.isfinite(v)


def _config_problem(cfg):
    """What is wrong with a checkpoint's config, or None."""
    if not isinstance(cfg, dict):
        return f"its config is a JSON {type(cfg).__name__}, not an object"
    schema = {
        "model": (lambda v: isinstance(v, str) and v in MODEL_NAMES, f"one of {', '.join(MODEL_NAMES)}"),
        "dataset": (lambda v: isinstance(v, str) and v != "", "a dataset name or path"),
        "epochs": (lambda v: _is_int(v) and v >= 1, "an integer >= 1"),
        "batch_size": (lambda v: _is_int(v) and v >= 1, "an integer >= 1"),
        "lr": (lambda v: _is_finite(v) and v > 0, "a positive number"),
        "optimizer": (lambda v: isinstance(v, str) and v in OPTIMIZERS, f"one of {', '.join(OPTIMIZERS)}"),
        "scheduler": (lambda v: isinstance(v, str) and v in SCHEDULERS, f"one of {', '.join(SCHEDULERS)}"),
        "augment": (lambda v: isinstance(v, bool), "true or false"),
        "seed": (_is_count, "an integer >= 0"),
        "checkpoint_every": (lambda v: v is None or _is_count(v), "an integer >= 0"),
    }
    unknown = sorted(set(cfg) - set(schema) - set(default_config()))  # keys a newer recipe adds pass as they are
    if unknown:
        return f"its config has unknown keys {unknown}"
    return _fields_problem("config", cfg, schema) or _preprocess_problem(cfg.get("preprocess"))


def _preprocess_problem(pre):
    """What is wrong with a config's preprocessing record (None, or see train/config.py), or None."""
    if pre is None:
        return None
    if not isinstance(pre, dict):
        return f"its config's preprocess is a JSON {type(pre).__name__}, not an object"
    c = pre.get("in_channels")
    per_channel = lambda v: isinstance(v, list) and len(v) == c and all(_is_finite(x) for x in v)  # noqa: E731
    schema = {
        "in_channels": (lambda v: _is_int(v) and v >= 1, "an integer >= 1"),
        "image_size": (lambda v: isinstance(v, list) and len(v) == 2 and all(_is_int(x) and x >= 1 for x in v),
                       "[height, width]"),
        "mean": (per_channel, "a number per channel"),
        "std": (lambda v: per_channel(v) and all(x > 0 for x in v), "a positive number per channel"),
        "classes": (lambda v: isinstance(v, list) and len(v) >= 1 and all(isinstance(x, str) for x in v),
                    "a list of class names"),
    }
    return _fields_problem("config's preprocess", pre, schema)


def _fields_problem(what, record, schema):
    """The first field of `record` that is missing or fails its check in schema {key: (check, expected)},
    as a message; None when all pass."""
    for key, (ok, expected) in schema.items():
        if key not in record:
            return f"its {what} lacks {key!r}"
        if not ok(record[key]):
            return f"its {what} has {key} = {_short(record[key])}" + (f", expected {expected}" if expected else "")
    return None


def _progress_problem(p):
    if not isinstance(p, dict):
        return f"its progress is a JSON {type(p).__name__}, not an object"
    checks = {"epoch": _is_count, "step_in_epoch": _is_count, "global_step": _is_count,
              "sums": lambda v: isinstance(v, list) and len(v) == 3 and all(_is_finite(x) for x in v),
              "epoch_time": lambda v: _is_finite(v) and v >= 0,
              "history": lambda v: isinstance(v, list) and all(
                  isinstance(r, dict) and all(_is_number(x) for x in r.values()) for r in v),
              "best_val_acc": _is_finite}
    return _fields_problem("progress", p, {k: (ok, None) for k, ok in checks.items()})


def _rng_problem(state):
    scratch = np.random.default_rng(0).bit_generator  # the global generator's kind, left untouched
    try:  # the generator's own setter is the schema
        scratch.state = state
    except (TypeError, ValueError, KeyError, OverflowError) as e:
        return f"its random generator state does not fit a {type(scratch).__name__} ({e})"
    return None


def _optimizer_problem(o, tensors):
    if not isinstance(o, dict):
        return f"its optimizer record is a JSON {type(o).__name__}, not an object"
    if not isinstance(o.get("type"), str):
        return "its optimizer record lacks a type"
    groups = o.get("param_groups")
    if not isinstance(groups, list) or not all(
            isinstance(g, dict) and isinstance(g.get("params"), list) and all(_is_count(i) for i in g["params"])
            for g in groups):
        return "its optimizer record's param_groups are not a list of groups with parameter indices"
    scalars = o.get("scalars")
    if not isinstance(scalars, dict) or not all(
            isinstance(k, str) and k.isdigit() and k.isascii() and isinstance(v, dict)
            and all(v2 is None or isinstance(v2, bool) or _is_finite(v2) for v2 in v.values())
            for k, v in scalars.items()):
        return "its optimizer record's scalars are not {parameter index: {name: number}}"
    for name in tensors:
        if name.startswith("model."):
            continue
        parts = name.split(".", 2)
        if (parts[0] != "optimizer" or len(parts) != 3 or not (parts[1].isdigit() and parts[1].isascii())
                or not parts[2]):
            return f"tensor {name!r} is neither model.NAME nor optimizer.INDEX.NAME"
    return None


def read_checkpoint_fields(path):
    """(tensors, metadata strings, {field: parsed JSON}) of a training checkpoint, every field of
    CHECKPOINT_FIELDS checked against its schema."""
    tensors, meta = fio.load_safetensors(path)
    where = f"checkpoint {os.fspath(path)!r}"
    if meta.get("kind") != CHECKPOINT_KIND:
        raise fio.CheckpointError(f"{where} is not a firstepoch training checkpoint "
                                  f"(its metadata has kind={meta.get('kind')!r}; firstepoch.save files hold "
                                  "weights only: load them with firstepoch.load)")
    parsed = {}
    for key in CHECKPOINT_FIELDS:
        if key not in meta:
            raise fio.CheckpointError(f"{where} is corrupted: its metadata lacks {key!r}")
        try:
            parsed[key] = fio.parse_json(meta[key], f"its metadata {key!r}")
        except ValueError as e:
            raise fio.CheckpointError(f"{where} is corrupted: {e}") from None
    problem = (_config_problem(parsed["config"]) or _progress_problem(parsed["progress"])
               or _rng_problem(parsed["rng"]) or _optimizer_problem(parsed["optimizer"], tensors))
    if problem is None and not (parsed["scheduler"] is None or _is_int(parsed["scheduler"])):
        problem = f"its scheduler position is {_short(parsed['scheduler'])}, not an integer"
    if problem is not None:
        raise fio.CheckpointError(f"{where} is corrupted: {problem}")
    return tensors, meta, parsed


def read_checkpoint(path):
    """(tensors, metadata) of a training checkpoint; CheckpointError when the file is not one or any of
    its metadata fields (config, progress, rng, optimizer, scheduler) is missing or malformed."""
    tensors, meta, _ = read_checkpoint_fields(path)
    return tensors, meta


def checkpoint_config(path):
    """The config of a training checkpoint, checked (CheckpointError when it is not a valid recipe)."""
    return read_checkpoint_fields(path)[2]["config"]
