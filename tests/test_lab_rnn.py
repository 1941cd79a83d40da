"""The lab's recurrent experiments in their tiny configuration: `vanishing` (|dLoss/dh_t| through 100
steps) and `forecast` (RNN/LSTM vs the naive forecast). Each runs, prints its table, writes its PNG and
shows what it claims."""

import pytest

from conftest import run_lab_experiment
from firstepoch import lab


pytestmark = pytest.mark.usefixtures("one_thread")  # conftest's: one kernel thread, then the count restored


def run_experiment(name, tmp_path, capsys, seed=0):
    return run_lab_experiment(name, tmp_path, capsys, seed)["metrics"]


@pytest.mark.parametrize("seed", [0, 1])
def test_vanishing_rnn_gradient_vanishes_or_explodes_lstm_keeps_it(tmp_path, capsys, seed):
    m = run_experiment("vanishing", tmp_path, capsys, seed)
    small, large, lstm_default, lstm_chrono = m.values()
    assert small["kind"] == "rnn" and lstm_chrono["kind"] == "lstm"
    assert small["first_over_previous_to_last"] < 1e-6           # vanishes over 100 steps
    assert large["first_over_previous_to_last"] > 1e3            # explodes
    assert lstm_default["first_over_previous_to_last"] < 1e-6    # forget gate ~0.5 vanishes too
    assert lstm_chrono["first_over_previous_to_last"] > 1e-2     # forget bias log(T) carries it
    assert large["param_grad_norm"] > 100 and large["clipped_norm"] == pytest.approx(5.0, rel=1e-3)
    assert small["clipped_norm"] == pytest.approx(small["param_grad_norm"], rel=1e-6)  # under the cap: untouched


def test_forecast_lstm_beats_the_naive_forecast(tmp_path, capsys):
    m = run_experiment("forecast", tmp_path, capsys)
    mse = m["mse"]
    assert mse["LSTM"] < 0.8 * mse["naive"]
    assert mse["RNN"] < mse["naive"]
    for curve in m["train_loss"].values():
        assert curve[-1] < curve[0]
