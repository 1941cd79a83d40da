"""nn layers and nn.functional against PyTorch 2.13 where they once differed: error classes, reprs,
warnings, argument names and the shapes F.linear takes. Expected values are written out, so these run
without torch; the tests that compare with torch skip where it is absent."""
import inspect
import warnings

import numpy as np
import pytest

import firstepoch as fe
import firstepoch.nn as nn
import firstepoch.nn.functional as F


@pytest.mark.parametrize("cls", [nn.RNN, nn.GRU, nn.LSTM])
def test_rnn_wrong_features_and_state_are_runtime_errors(cls):
    # torch: RuntimeError "input.size(-1) must be equal to input_size. Expected 3, got 4" and
    # RuntimeError "Expected hidden size (1, 2, 4), got [1, 3, 4]"
    m = cls(3, 4)
    with pytest.raises(RuntimeError, match="input has 4 features"):
        m(fe.zeros(5, 2, 4))
    bad = fe.zeros(1, 3, 4)
    with pytest.raises(RuntimeError, match="has shape"):
        m(fe.zeros(5, 2, 3), (bad, fe.zeros(1, 2, 4)) if cls is nn.LSTM else bad)
    with pytest.raises(RuntimeError, match="has shape"):  # unbatched input, a batched state
        m(fe.zeros(5, 3), (fe.zeros(1, 1, 4), fe.zeros(1, 4)) if cls is nn.LSTM else fe.zeros(1, 1, 4))
    with pytest.raises(ValueError, match="3-D"):  # the rank: ValueError in torch too
        m(fe.zeros(5, 2, 3, 1))


@pytest.mark.parametrize("cls", [nn.RNNCell, nn.GRUCell, nn.LSTMCell])
def test_rnn_cell_wrong_features_and_state_are_runtime_errors(cls):
    # torch: RuntimeError "input has inconsistent input_size: got 4 expected 3",
    # RuntimeError "Input batch size 2 doesn't match hidden0 batch size 3"
    m = cls(3, 4)
    with pytest.raises(RuntimeError, match=r"input_size"):
        m(fe.zeros(2, 4))
    bad = fe.zeros(3, 4)
    with pytest.raises(RuntimeError, match="has shape"):
        m(fe.zeros(2, 3), (bad, fe.zeros(2, 4)) if cls is nn.LSTMCell else bad)
    with pytest.raises(ValueError, match=r"\(batch, 3\)"):  # the rank: ValueError in torch too
        m(fe.zeros(2, 2, 3))


def test_rnn_reprs_as_torch():
    # torch's RNN repr leaves the nonlinearity out; its cells print it unquoted
    assert repr(nn.RNN(3, 4, nonlinearity="relu")) == "RNN(3, 4)"
    assert repr(nn.RNNCell(3, 4, nonlinearity="relu")) == "RNNCell(3, 4, nonlinearity=relu)"
    assert repr(nn.RNNCell(3, 4, bias=False, nonlinearity="relu")) == "RNNCell(3, 4, bias=False, nonlinearity=relu)"
    assert repr(nn.RNNCell(3, 4)) == "RNNCell(3, 4)"


@pytest.mark.parametrize("cls", [nn.RNN, nn.GRU, nn.LSTM])
def test_rnn_dropout_with_one_layer_warns(cls):
    # torch: UserWarning "dropout option adds dropout after all but last recurrent layer, so non-zero dropout
    # expects num_layers greater than 1, but got dropout=0.5 and num_layers=1"
    with pytest.warns(UserWarning, match="expects num_layers greater than 1"):
        cls(3, 4, dropout=0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cls(3, 4, num_layers=2, dropout=0.5)
        cls(3, 4)


def test_rnn_proj_size_argument():
    # torch's LSTM takes proj_size (default 0) and has the attribute; firstepoch has no projection (README)
    lstm = nn.LSTM(3, 4)
    assert lstm.proj_size == 0
    assert nn.LSTM(3, 4, proj_size=0).proj_size == 0
    with pytest.raises(NotImplementedError, match="proj_size"):
        nn.LSTM(3, 4, proj_size=2)
    with pytest.raises(ValueError, match="proj_size"):  # torch's own check comes first
        nn.LSTM(3, 4, proj_size=4)
    assert nn.GRU(3, 4).proj_size == 0 and nn.RNN(3, 4).proj_size == 0  # torch's attribute on every RNN
