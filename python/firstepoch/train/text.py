"""Training a language model on a text file (`firstepoch train --model gpt`) and sampling from its
checkpoint (`firstepoch generate`): a character (or byte-level BPE) tokenizer, random windows of the
training tokens, AdamW with linear warm-up then cosine decay, gradient clipping, the held-out loss at
each epoch's end, and a checkpoint that carries the tokenizer and the model's shape.

    model, tok, history = train_gpt(text_config(epochs=5), out_dir="runs/gpt-1")
    model, tok, config = load_gpt("runs/gpt-1/checkpoints/best.safetensors")
    print(generate_text(model, tok, "Shall I", 200, temperature=0.8, top_k=20))
"""
import json
import math
import os
import time

import numpy as np

from .. import io as fio
from .. import random as _random
from ..autograd import no_grad
from ..datasets.text import TOKENIZERS, load_text, split_tokens, tokenizer_from_json
from ..models.gpt import GPT
from ..nn import functional as F
from ..nn.utils import clip_grad_norm_
from ..optim import AdamW
from ..optim.lr_scheduler import LambdaLR
from ..tensor import Tensor
from .config import with_overrides

TEXT_CHECKPOINT_KIND = "firstepoch-text-checkpoint"
TEXT_MODELS = ("gpt",)


def text_config(**overrides):
    """The recipe `firstepoch train --model gpt` runs with no options: a 0.8M-parameter character GPT on
    the shipped sonnets."""
    cfg = with_overrides("text_config", {
        "model": "gpt", "dataset": "sonnets", "epochs": 60, "batch_size": 32, "lr": 2e-3, "seed": 0,
        "block_size": 64, "n_layer": 4, "n_head": 4, "n_embd": 128, "dropout": 0.1, "tokenizer": "char",
        "vocab_size": 512, "weight_decay": 0.1, "grad_clip": 1.0, "warmup_fraction": 0.05}, overrides)
    if cfg["tokenizer"] not in TOKENIZERS:
        raise ValueError(f"tokenizer must be one of {', '.join(TOKENIZERS)}, got {cfg['tokenizer']!r}")
    if cfg["n_embd"] % cfg["n_head"]:
        raise ValueError(f"--n-embd {cfg['n_embd']} must be a multiple of --n-head {cfg['n_head']}")
    return cfg


def warmup_cosine(total_steps, warmup_steps, floor=0.1):
    """The learning-rate factor at each step: linear from 1/warmup to 1 over warmup_steps, then a cosine
    down to `floor` at total_steps."""
    def factor(step):
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        progress = min(1.0, (step - warmup_steps) / max(1, total_steps - warmup_steps))
        return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress))
    return factor


def random_windows(tokens, batch_size, block_size, rng):
    """(inputs, targets), each (batch_size, block_size): windows at random offsets, targets one ahead."""
    starts = rng.integers(0, len(tokens) - block_size - 1 + 1, batch_size)
    idx = starts[:, None] + np.arange(block_size + 1)[None, :]
    chunk = tokens[idx]
    return chunk[:, :-1], chunk[:, 1:]


def stream_batches(tokens, batch_size, seq_len):
    """Truncated-BPTT batches: the tokens cut into batch_size contiguous streams, read seq_len at a time,
    so row b of each (inputs, targets) pair continues row b of the previous one and a recurrent state
    can be carried across batches (detach_state between them). One pass over the text."""
    n = (len(tokens) - 1) // batch_size
    x = tokens[:n * batch_size].reshape(batch_size, n)
    y = tokens[1:n * batch_size + 1].reshape(batch_size, n)
    for i in range(0, n - seq_len + 1, seq_len):
        yield x[:, i:i + seq_len], y[:, i:i + seq_len]


def detach_state(state):
    """The recurrent state cut from the graph (a Tensor, a tuple of them, or None): the next batch starts
    from its values, and backpropagation stops at the batch boundary."""
    if state is None:
        return None
    if isinstance(state, tuple):
        return tuple(s.detach() for s in state)
    return state.detach()


def held_out_loss(model, tokens, block_size, max_windows=64, batch=16):
    """Mean next-token loss (nats per token) over up to max_windows non-overlapping windows, dropout off."""
    starts = np.arange(0, len(tokens) - block_size - 1 + 1, block_size)[:max_windows]
    was = model.training
    model.eval()
    total, count = 0.0, 0
    with no_grad():
        for i in range(0, len(starts), batch):
            idx = starts[i:i + batch, None] + np.arange(block_size + 1)[None, :]
            chunk = tokens[idx]
            logits = model(Tensor(chunk[:, :-1]))
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), Tensor(chunk[:, 1:].reshape(-1)))
            total += loss.item() * chunk[:, 1:].size
            count += chunk[:, 1:].size
    model.train(was)
    return total / count


def build_model(cfg, vocab_size):
    return GPT(vocab_size, block_size=cfg["block_size"], n_layer=cfg["n_layer"], n_head=cfg["n_head"],
               n_embd=cfg["n_embd"], dropout=cfg["dropout"])


def build_optimizer(model, cfg):
    """AdamW (betas 0.9, 0.95) with weight decay on the matrices only (not biases, norms' gains)."""
    params = list(model.parameters())
    decay = [p for p in params if p.ndim >= 2]
    rest = [p for p in params if p.ndim < 2]
    return AdamW([{"params": decay, "weight_decay": cfg["weight_decay"]}, {"params": rest, "weight_decay": 0.0}],
                 lr=cfg["lr"], betas=(0.9, 0.95))


def save_gpt(path, model, tokenizer, cfg, progress):
    meta = {"format": fio.FORMAT, "kind": TEXT_CHECKPOINT_KIND, "class": type(model).__name__,
            "config": json.dumps(cfg), "tokenizer": tokenizer.to_json(), "progress": json.dumps(progress)}
    fio.save_safetensors({f"model.{k}": v for k, v in model.state_dict().items()}, path, meta)


def load_gpt(path):
    """(model in eval mode, tokenizer, config) from a `firstepoch train --model gpt` checkpoint;
    CheckpointError for a file that is not one."""
    tensors, meta = fio.load_safetensors(path)
    if meta.get("kind") != TEXT_CHECKPOINT_KIND:
        raise fio.CheckpointError(f"checkpoint {os.fspath(path)!r} is not a text-model checkpoint (kind "
                                  f"{meta.get('kind')!r}; `firstepoch train --model gpt` writes them)")
    try:
        cfg = json.loads(meta["config"])
        tok = tokenizer_from_json(meta["tokenizer"])
        model = build_model(cfg, tok.vocab_size)
    except (KeyError, ValueError, TypeError) as e:
        raise fio.CheckpointError(f"checkpoint {os.fspath(path)!r}: unreadable config or tokenizer ({e})") from None
    fio.load_into(model, {k[6:]: v for k, v in tensors.items() if k.startswith("model.")}, meta, path)
    return model.eval(), tok, cfg


def generate_text(model, tokenizer, prompt, max_new_tokens=300, temperature=0.8, top_k=None, seed=0):
    """prompt followed by max_new_tokens sampled tokens, decoded."""
    ids = tokenizer.encode(prompt) if prompt else np.zeros(1, dtype=np.int64)
    out = model.generate(ids[None, :], max_new_tokens, temperature=temperature, top_k=top_k,
                         generator=np.random.default_rng(seed))
    return (prompt if prompt else "") + tokenizer.decode(out[0, len(ids) if prompt else 1:])


def train_gpt(cfg, out_dir=None, log=print, sample_prompt="\n", sample_len=200):
    """Trains cfg's GPT; each epoch sees as many tokens as the training part of the text (at least one
    step). Logs one line per epoch (train and held-out loss, tokens/s) and a sample at the end; writes
    out_dir/checkpoints/{last,best}.safetensors and out_dir/metrics.json when out_dir is given. Returns
    (model with the best held-out weights, tokenizer, history)."""
    text = load_text(cfg["dataset"])
    tok = TOKENIZERS[cfg["tokenizer"]].train(text, cfg["vocab_size"])
    ids = tok.encode(text)
    train, held = split_tokens(ids)
    T = cfg["block_size"]
    if len(held) < T + 1 or len(train) < T + 1:
        raise ValueError(f"the text ({len(ids)} tokens) is too short for --block-size {T}: the held-out tenth "
                         f"needs at least {T + 1} tokens")
    _random.manual_seed(cfg["seed"])
    rng = np.random.default_rng(cfg["seed"])
    model = build_model(cfg, tok.vocab_size)
    opt = build_optimizer(model, cfg)
    steps_per_epoch = max(1, len(train) // (cfg["batch_size"] * T))
    total = steps_per_epoch * cfg["epochs"]
    sched = LambdaLR(opt, warmup_cosine(total, max(1, int(cfg["warmup_fraction"] * total))))
    log(f"gpt on {cfg['dataset']}: {len(text)} characters, {len(ids)} {tok.kind} tokens (vocabulary "
        f"{tok.vocab_size}), {len(train)} train / {len(held)} held out; {cfg['n_layer']} layers x {cfg['n_head']} "
        f"heads x {cfg['n_embd']}, context {T}, {model.num_parameters() / 1e6:.2f}M parameters; {cfg['epochs']} "
        f"epochs x {steps_per_epoch} steps of {cfg['batch_size']} x {T} tokens, AdamW lr {cfg['lr']:g} "
        f"(warm-up, cosine), clip {cfg['grad_clip']:g}; uniform guessing costs ln({tok.vocab_size}) = "
        f"{math.log(tok.vocab_size):.3f} nats/token")
    ckpt_dir = os.path.join(out_dir, "checkpoints") if out_dir else None
    if ckpt_dir:
        os.makedirs(ckpt_dir, exist_ok=True)
    history, best, start = [], (math.inf, None), time.perf_counter()
    model.train()
    for epoch in range(cfg["epochs"]):
        t0, losses = time.perf_counter(), []
        for _ in range(steps_per_epoch):
            x, y = random_windows(train, cfg["batch_size"], T, rng)
            logits = model(Tensor(x))
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), Tensor(y.reshape(-1)))
            opt.zero_grad()
            loss.backward()
            clip_grad_norm_(model.parameters(), cfg["grad_clip"])
            opt.step()
            sched.step()
            losses.append(loss.item())
            if not math.isfinite(losses[-1]):
                raise FloatingPointError(f"the loss diverged ({losses[-1]}) at epoch {epoch + 1}; lower --lr "
                                         f"(now {cfg['lr']:g})")
        seconds = time.perf_counter() - t0
        held_loss = held_out_loss(model, held, T)
        row = {"epoch": epoch + 1, "train_loss": float(np.mean(losses)), "held_out_loss": held_loss,
               "lr": opt.param_groups[0]["lr"], "tokens_per_s": steps_per_epoch * cfg["batch_size"] * T / seconds,
               "time_s": time.perf_counter() - start}
        history.append(row)
        log(f"epoch {row['epoch']}/{cfg['epochs']}  train loss {row['train_loss']:.4f}  held-out loss "
            f"{held_loss:.4f}  lr {row['lr']:.2e}  {row['tokens_per_s']:.0f} tokens/s  {row['time_s']:.0f} s")
        if held_loss < best[0]:
            best = (held_loss, {k: v.copy() for k, v in model.state_dict().items()})
        if ckpt_dir:
            progress = {"epoch": epoch + 1, "held_out_loss": held_loss}
            save_gpt(os.path.join(ckpt_dir, "last.safetensors"), model, tok, cfg, progress)
            if best[0] == held_loss:
                save_gpt(os.path.join(ckpt_dir, "best.safetensors"), model, tok, cfg, progress)
            fio.atomic_write_text(os.path.join(out_dir, "metrics.json"),
                                  json.dumps({"config": cfg, "history": history}, indent=2) + "\n")
    model.load_state_dict(best[1])
    model.eval()
    log(f"lowest held-out loss {best[0]:.4f} nats/token; a sample from those weights (temperature 0.8, top-k 20):")
    prompt = sample_prompt if all(c in text for c in sample_prompt) else text[0]
    log(generate_text(model, tok, prompt, sample_len, temperature=0.8, top_k=20, seed=cfg["seed"]))
    return model, tok, history
