"""The examples run and do what they say: XOR is learned; the MNIST MLP reaches 95% validation
accuracy on the embedded split in 3 epochs; the recurrent examples, in tiny configurations, show their
claims (vanishing/exploding gradients, above-chance sequential MNIST, a falling character-level loss)."""
import os
import runpy
import sys

import pytest

EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "examples")


def load(name):
    return runpy.run_path(os.path.join(EXAMPLES, name), run_name="example")


def test_xor_is_learned(capsys):
    assert load("xor.py")["main"]() == 0
    assert "learned XOR" in capsys.readouterr().out


def test_mnist_mlp_reaches_95_percent(capsys):
    rc = load("mnist_mlp.py")["main"]([])
    out = capsys.readouterr().out
    assert "final validation accuracy" in out
    assert rc == 0, out
    # --capture: the same losses and accuracies, to the last printed digit (the times aside)
    rc = load("mnist_mlp.py")["main"](["--capture"])
    captured = capsys.readouterr().out
    assert rc == 0, captured

    def numbers(text):
        return [line.split(" (")[0] for line in text.splitlines()[1:]]
    assert numbers(captured) == numbers(out)


def test_vanishing_gradients_tiny(tmp_path, capsys):
    png = tmp_path / "plots" / "v.png"
    rc = load("vanishing_gradients.py")["main"](["--tiny", "--out", str(png)])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "vanishes with small weights: True; explodes with large ones: True; LSTM (forget bias log T) keeps it: True" in out
    with open(png, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"


def test_seq_mnist_lstm_tiny_beats_chance(capsys):
    rc = load("seq_mnist_lstm.py")["main"](["--epochs", "2", "--train-size", "1000", "--val-size", "500",
                                            "--hidden", "32", "--lr", "0.01", "--target", "0.25"])
    out = capsys.readouterr().out
    assert "final validation accuracy" in out
    assert rc == 0, out  # 25% on 10 classes: well above chance after 2 small epochs


def test_char_rnn_tiny_loss_decreases(capsys):
    rc = load("char_rnn.py")["main"](["--steps", "60", "--eval-every", "20", "--hidden", "32", "--seq-len", "32",
                                      "--batch-size", "16", "--lr", "0.01", "--sample-len", "40",
                                      "--temperatures", "0.5", "1.0"])
    out = capsys.readouterr().out
    assert rc == 0, out
    first, last = (float(v) for v in out.split("loss: ")[1].split(" (train)")[0].split(" -> "))
    assert last < first - 0.5, out  # from ~ln(60) = 4.1 nats/char towards English letter statistics
    assert out.count("--- sample, temperature") == 2 and "Shall I " in out
