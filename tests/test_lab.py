"""The lab experiments, each in its tiny configuration: it runs, prints its table, writes its PNG and
shows what it claims to show (the thresholds leave room for other seeds, not just seed 0)."""
import os
import runpy

import pytest

import firstepoch
from conftest import run_lab_experiment
from firstepoch import lab
from firstepoch.lab._common import format_table, mnist_subset, percent


@pytest.fixture(autouse=True)
def one_thread():
    """The tiny models gain nothing from a second thread, and on a busy machine OpenMP's spin-waiting
    made these runs 5-20x slower with two threads than with one; the claims do not depend on it."""
    before = firstepoch.get_num_threads()
    firstepoch.set_num_threads(1)
    yield
    firstepoch.set_num_threads(before)


def run_experiment(name, tmp_path, capsys):
    return run_lab_experiment(name, tmp_path, capsys)


def test_list_names_every_experiment(capsys):
    assert lab.main(["--list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == lab.ORDER
    assert len(lab.ORDER) == 17
    assert not [line for line in lines if "unavailable" in line], lines  # every entry imports


def test_examples_script_is_the_same_command_line(capsys):
    script = os.path.join(os.path.dirname(__file__), "..", "examples", "lab", "run.py")
    assert runpy.run_path(script, run_name="example")["main"](["--list"]) == 0
    assert "regularization" in capsys.readouterr().out


def test_cli_runs_one_experiment_and_rejects_unknown_names(tmp_path, capsys):
    assert lab.main(["gates", "--tiny", "--out", str(tmp_path)]) == 0
    assert os.path.exists(tmp_path / "gates.png")
    assert "XOR" in capsys.readouterr().out
    assert lab.main(["no-such-experiment"]) == 2
    assert "backprop" in capsys.readouterr().err
    assert lab.main([]) == 2


def test_common_helpers():
    table = format_table(["name", "value", "acc"], [["a", 0.5, percent(0.25)], ["bb", 1.5e-7, "-"]], title="t")
    assert table.splitlines() == ["t", "name      value    acc", "----  ---------  -----",
                                  "a           0.5  25.0%", "bb    1.500e-07      -"]
    with pytest.raises(ValueError, match="row 0 has 1 cells"):
        format_table(["a", "b"], [[1]])
    x, y, xv, yv = mnist_subset(20, 10, seed=3)
    assert x.shape == (20, 784) and xv.shape == (10, 784) and x.dtype.name == "float32"
    assert 0.0 <= x.min() and x.max() <= 1.0 and y.dtype.name == "int64"
    again = mnist_subset(20, 10, seed=3)
    assert (again[0] == x).all() and (again[3] == yv).all()


def test_backprop_hand_gradients_match_autograd_and_finite_differences(tmp_path, capsys):
    m = run_experiment("backprop", tmp_path, capsys)["metrics"]
    for p in ("W1", "b1", "W2", "b2"):
        assert m[f"{p}_diff_autograd"] <= 1e-6   # float64: in practice ~1e-17
        assert m[f"{p}_diff_fd"] <= 1e-5         # central differences: ~1e-10


def test_gates_one_neuron_cannot_learn_xor(tmp_path, capsys):
    m = run_experiment("gates", tmp_path, capsys)["metrics"]
    assert m["AND_one_min_acc"] == 1.0 and m["OR_one_min_acc"] == 1.0
    assert m["XOR_one_max_acc"] <= 0.75          # no line separates XOR: 3 of 4 at best
    assert m["XOR_hidden_min_acc"] == 1.0


def test_activations_sigmoid_gradient_vanishes_towards_the_input(tmp_path, capsys):
    out = run_experiment("activations", tmp_path, capsys)
    m = out["metrics"]
    assert set(m) == {"ReLU", "Softplus", "Sigmoid", "Tanh", "GELU"}
    for name, r in m.items():
        assert r["val_acc"] > 0.3, name          # chance is 0.1
        assert len(r["grad_norm_first_epoch"]) == 3
    assert "|dW1|" in out["table"] and "|dW3|" in out["table"]
    sigmoid, relu = m["Sigmoid"]["grad_norm_first_epoch"], m["ReLU"]["grad_norm_first_epoch"]
    assert sigmoid[0] < relu[0] / 3
    assert sigmoid[0] < sigmoid[-1] / 4          # shrinking on the way back to the input


def test_optimizers_momentum_and_rescaling_beat_plain_descent(tmp_path, capsys):
    m = run_experiment("optimizers", tmp_path, capsys)["metrics"]
    q = m["quadratic"]
    assert q["momentum"] < q["gradient descent"] / 100
    assert q["rescaled"] < q["gradient descent"] / 100
    assert set(m["network"]) == {"SGD", "momentum", "Nesterov", "RMSprop", "Adam", "AdamW"}
    for name, r in m["network"].items():
        assert r["train_loss"] < 0.8 * r["first_loss"], name


def test_init_small_random_collapses_and_he_keeps_relu_alive(tmp_path, capsys):
    m = run_experiment("init", tmp_path, capsys)["metrics"]
    for act in ("tanh", "ReLU"):
        assert m[f"small random/{act}"]["ratio"] < 0.01
        assert len(m[f"small random/{act}"]["std"]) == 10
    assert 1 / 3 < m["He/ReLU"]["ratio"] < 3
    assert 1 / 5 < m["Xavier/tanh"]["ratio"] < 5
    assert m["Xavier/ReLU"]["ratio"] < m["He/ReLU"]["ratio"] / 4   # ReLU halves the variance per layer


def test_regularization_none_has_the_largest_gap(tmp_path, capsys):
    m = run_experiment("regularization", tmp_path, capsys)["metrics"]
    others = [v for v in m if v != "none"]
    assert len(others) == 5
    for v in others:
        assert m[v]["loss_gap"] < m["none"]["loss_gap"], v
    assert m["augmentation"]["acc_gap"] < m["none"]["acc_gap"]
    assert m["none"]["train_acc"] == 1.0         # it does overfit


def test_a_seed_repeats_a_run_exactly(tmp_path, capsys):
    """Dropout masks, augmentation, shuffling and initialisation all come from the seed."""
    exp = lab.load("regularization")
    first = exp.run(str(tmp_path / "a"), seed=5, tiny=True)
    second = exp.run(str(tmp_path / "b"), seed=5, tiny=True)
    assert first["metrics"] == second["metrics"]
    assert first["table"] == second["table"]
