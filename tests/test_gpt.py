"""The small GPT (models.gpt), its text training path (train.text, `firstepoch train --model gpt`) and
`firstepoch generate`: causality, weight tying, positional codes, PyTorch parity of the whole model,
sampling, the learning-rate schedule, checkpoints and the command line."""
import json
import math
import os

import numpy as np
import pytest

import firstepoch as fe
from firstepoch import cli
from firstepoch.datasets.text import SONNETS, CharTokenizer, load_text, split_tokens, tokenizer_from_json
from firstepoch.models.gpt import GPT, SinusoidalPositionalEmbedding, sample_next
from firstepoch.train.text import (generate_text, load_gpt, random_windows, text_config, train_gpt,
                                   warmup_cosine)


def _tiny(**kw):
    fe.manual_seed(0)
    return GPT(11, block_size=8, n_layer=2, n_head=2, n_embd=16, **kw)


def test_gpt_shapes_and_causality():
    m = _tiny().eval()
    idx = np.random.default_rng(0).integers(0, 11, (3, 8))
    a = m(fe.tensor(idx)).detach().numpy()
    assert a.shape == (3, 8, 11)
    idx2 = idx.copy()
    idx2[:, 5:] = (idx2[:, 5:] + 1) % 11  # change the future of positions 0..4
    b = m(fe.tensor(idx2)).detach().numpy()
    np.testing.assert_allclose(a[:, :5], b[:, :5], atol=1e-6)
    assert not np.allclose(a[:, 5:], b[:, 5:])
    with pytest.raises(ValueError, match="block_size"):
        m(fe.tensor(np.zeros((1, 9), dtype=np.int64)))


def test_gpt_weight_tying():
    m = _tiny()
    assert m.lm_head.weight is m.wte.weight
    sd = m.state_dict()
    assert "lm_head.weight" in sd and "wte.weight" in sd
    assert sum(1 for _ in m.parameters()) == len({id(p) for p in m.parameters()})
    untied = _tiny(tie_weights=False)
    assert untied.num_parameters() == m.num_parameters() + 11 * 16
    # the tied weight gets the gradient of both uses
    loss = m(fe.tensor(np.arange(8)[None] % 11)).sum()
    loss.backward()
    assert m.wte.weight.grad is not None and np.abs(m.wte.weight.grad.numpy()).sum() > 0


def test_sinusoidal_positions():
    pe = SinusoidalPositionalEmbedding(10, 6)
    p = pe(np.arange(10)).numpy()
    assert p.shape == (10, 6)
    np.testing.assert_allclose(p[3, 2], math.sin(3 / 10000 ** (2 / 6)), rtol=1e-6)
    np.testing.assert_allclose(p[3, 3], math.cos(3 / 10000 ** (2 / 6)), rtol=1e-6)
    m = _tiny(pos_embedding="sinusoidal")
    assert not any(k.startswith("wpe") for k in m.state_dict())
    assert m(fe.tensor(np.zeros((1, 4), dtype=np.int64))).shape == (1, 4, 11)
    with pytest.raises(ValueError, match="pos_embedding"):
        _tiny(pos_embedding="rotary")


def test_gpt_matches_torch_forward_and_gradients():
    """The same weights in a plain-PyTorch GPT-2 forward: logits and every gradient agree (float64)."""
    torch = pytest.importorskip("torch")
    tF = torch.nn.functional
    m = _tiny().double()
    sd = {k: torch.tensor(v, requires_grad=True) for k, v in m.state_dict().items()}
    sd["lm_head.weight"] = sd["wte.weight"]
    idx = np.random.default_rng(1).integers(0, 11, (2, 8))
    ti = torch.tensor(idx)

    def torch_forward():
        x = sd["wte.weight"][ti] + sd["wpe.weight"][:8]
        for i in range(2):
            p = f"h.{i}."
            h = tF.layer_norm(x, (16,), sd[p + "ln_1.weight"], sd[p + "ln_1.bias"])
            q, k, v = tF.linear(h, sd[p + "attn.c_attn.weight"], sd[p + "attn.c_attn.bias"]).split(16, dim=2)
            q, k, v = (t.view(2, 8, 2, 8).transpose(1, 2) for t in (q, k, v))
            y = tF.scaled_dot_product_attention(q, k, v, is_causal=True).transpose(1, 2).reshape(2, 8, 16)
            x = x + tF.linear(y, sd[p + "attn.c_proj.weight"], sd[p + "attn.c_proj.bias"])
            h = tF.layer_norm(x, (16,), sd[p + "ln_2.weight"], sd[p + "ln_2.bias"])
            h = tF.gelu(tF.linear(h, sd[p + "mlp.c_fc.weight"], sd[p + "mlp.c_fc.bias"]), approximate="tanh")
            x = x + tF.linear(h, sd[p + "mlp.c_proj.weight"], sd[p + "mlp.c_proj.bias"])
        x = tF.layer_norm(x, (16,), sd["ln_f.weight"], sd["ln_f.bias"])
        return tF.linear(x, sd["lm_head.weight"])

    ref = torch_forward()
    m.eval()
    out = m(fe.tensor(idx))
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), atol=1e-10)
    y = np.random.default_rng(2).integers(0, 11, 16)
    tF.cross_entropy(ref.reshape(16, 11), torch.tensor(y)).backward()
    fe.nn.functional.cross_entropy(out.reshape(16, 11), fe.tensor(y)).backward()
    for name, p in m.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), sd[name].grad.numpy(), atol=1e-10, err_msg=name)


def test_sampling():
    rng = np.random.default_rng(0)
    logits = np.array([[0.0, 5.0, 1.0, 4.0]])
    assert sample_next(logits, 0, None, rng)[0] == 1
    draws = {int(sample_next(logits, 1.0, 2, rng)[0]) for _ in range(200)}
    assert draws == {1, 3}  # top-k keeps only the two largest
    m = _tiny()
    out = m.generate(np.array([[1, 2]]), 12, temperature=0)
    assert out.shape == (1, 14) and (out[:, :2] == [[1, 2]]).all()
    np.testing.assert_array_equal(out, m.generate(np.array([[1, 2]]), 12, temperature=0))
    assert m.training  # generate restores the mode


def test_warmup_cosine_schedule():
    f = warmup_cosine(100, 10)
    assert f(0) == pytest.approx(0.1) and f(9) == pytest.approx(1.0)
    assert f(10) == pytest.approx(1.0) and f(100) == pytest.approx(0.1)
    assert all(f(s) >= f(s + 1) for s in range(10, 100))


def test_char_tokenizer_and_split():
    text = load_text("sonnets")
    assert text == load_text(SONNETS)
    tok = CharTokenizer.train(text)
    ids = tok.encode("Shall I compare thee")
    assert tok.decode(ids) == "Shall I compare thee"
    assert tokenizer_from_json(tok.to_json()).chars == tok.chars
    train, held = split_tokens(np.arange(100))
    assert len(train) == 90 and held[0] == 90
    x, y = random_windows(np.arange(50), 4, 8, np.random.default_rng(0))
    np.testing.assert_array_equal(y, x + 1)
    with pytest.raises(ValueError, match="vocabulary"):
        tok.encode("\u20ac")


def test_bpe_tokenizer_roundtrip():
    pytest.importorskip("tokenizers")
    from firstepoch.datasets.text import BPETokenizer
    text = load_text("sonnets")
    tok = BPETokenizer.train(text, 300)
    ids = tok.encode("Shall I compare thee to a summer's day?")
    assert len(ids) < 39 and tok.decode(ids) == "Shall I compare thee to a summer's day?"
    again = tokenizer_from_json(tok.to_json())
    np.testing.assert_array_equal(again.encode("thee"), tok.encode("thee"))


def _tiny_config(**kw):
    return text_config(epochs=2, batch_size=4, block_size=16, n_layer=1, n_head=2, n_embd=16, **kw)


def test_train_gpt_checkpoint_roundtrip(tmp_path):
    lines = []
    model, tok, history = train_gpt(_tiny_config(), out_dir=str(tmp_path), log=lines.append, sample_len=20)
    assert len(history) == 2 and all(math.isfinite(r["held_out_loss"]) for r in history)
    assert history[-1]["train_loss"] < math.log(tok.vocab_size)
    assert any("held-out loss" in line for line in lines)
    for name in ("last.safetensors", "best.safetensors"):
        assert (tmp_path / "checkpoints" / name).exists()
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert len(metrics["history"]) == 2
    loaded, tok2, cfg = load_gpt(tmp_path / "checkpoints" / "best.safetensors")
    idx = fe.tensor(tok.encode("Shall I compare")[None])
    np.testing.assert_array_equal(loaded(idx).detach().numpy(), model(idx).detach().numpy())
    assert cfg["n_embd"] == 16 and tok2.chars == tok.chars
    s = generate_text(loaded, tok2, "Shall", 10, temperature=0.8, top_k=5, seed=3)
    assert s.startswith("Shall") and len(s) == 15
    assert s == generate_text(loaded, tok2, "Shall", 10, temperature=0.8, top_k=5, seed=3)


def test_load_gpt_refuses_other_checkpoints(tmp_path):
    path = tmp_path / "w.safetensors"
    fe.save(fe.nn.Linear(2, 2), str(path))
    with pytest.raises(fe.io.CheckpointError, match="text-model"):
        load_gpt(path)


def test_cli_train_and_generate(tmp_path, capsys):
    out = tmp_path / "run"
    rc = cli.main(["train", "--model", "gpt", "--epochs", "1", "--batch-size", "4", "--block-size", "16",
                   "--n-layer", "1", "--n-head", "2", "--n-embd", "16", "--out", str(out), "--threads", "1"])
    assert rc == 0
    text = capsys.readouterr().out
    assert "epoch 1/1" in text and "held-out loss" in text
    ckpt = str(out / "checkpoints" / "best.safetensors")
    rc = cli.main(["generate", ckpt, "--prompt", "Shall I", "--max-new-tokens", "25", "--temperature", "0.5",
                   "--top-k", "10"])
    assert rc == 0
    sample = capsys.readouterr().out
    assert sample.startswith("Shall I") and len(sample.rstrip("\n")) >= len("Shall I")


@pytest.mark.parametrize("argv, message", [
    (["train", "--model", "gpt", "--augment"], "does not take --augment"),
    (["train", "--model", "gpt", "--optimizer", "sgd"], "adamw"),
    (["train", "--model", "gpt", "--n-embd", "10", "--n-head", "4"], "multiple"),
    (["train", "--model", "gpt", "--dataset", "/no/such/file.txt"], "--dataset"),
    (["generate", "/no/such.safetensors"], "CHECKPOINT"),
    (["generate", "x.safetensors", "--temperature", "-1"], "temperature"),
])
def test_cli_text_usage_errors(argv, message, capsys, tmp_path):
    os.chdir(tmp_path)
    with pytest.raises(SystemExit) as e:
        cli.main(argv)
    assert e.value.code == 2
    assert message in capsys.readouterr().err


def test_cli_text_too_short(tmp_path, capsys):
    short = tmp_path / "short.txt"
    short.write_text("tiny text")
    with pytest.raises(SystemExit) as e:
        cli.main(["train", "--model", "gpt", "--dataset", str(short), "--out", str(tmp_path / "o")])
    assert e.value.code == 2 and "too short" in capsys.readouterr().err
