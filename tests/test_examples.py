"""The examples run and do what they say: XOR is learned; the MNIST MLP reaches 95% validation
accuracy on the embedded split in 3 epochs."""
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
