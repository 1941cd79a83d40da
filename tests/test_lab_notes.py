"""The lab entries the course notes ask for (issue 18), each in its tiny configuration: it runs, prints
its table, writes its PNG, and its numbers are the closed-form values or the stated claim.

saturation (CE vs MSE through a sigmoid at logit -8), exploding (h_50 = 2^50 h_0), convolution (conv2d
is cross-correlation), universal (a sum of ReLUs), quadratic (fast.ai lesson 3), batchnorm (steps to a
target accuracy), deepwide (equal parameter counts)."""
import math

import numpy as np
import pytest

from conftest import run_lab_experiment
from firstepoch import lab


pytestmark = pytest.mark.usefixtures("one_thread")  # conftest's: one kernel thread, then the count restored


def run_experiment(name, tmp_path, capsys, seed=0):
    return run_lab_experiment(name, tmp_path, capsys, seed)


def sigmoid(z):
    return 1 / (1 + math.exp(-z))


def test_saturation_cross_entropy_keeps_the_gradient_mse_loses_it(tmp_path, capsys):
    m = run_experiment("saturation", tmp_path, capsys)["metrics"]
    assert m["logits"][0] == -8.0
    s = sigmoid(-8.0)
    ce, mse = m["ce_grad"][0], m["mse_grad"][0]
    assert ce == pytest.approx(s - 1, rel=1e-12) and ce == pytest.approx(-0.99966, abs=1e-5)
    assert mse == pytest.approx(2 * (s - 1) * s * (1 - s), rel=1e-12)
    assert mse / 2 == pytest.approx(-3.35e-4, rel=1e-2)        # the 1/2 (s - 1)^2 convention: about -3.4e-4
    assert ce / mse > 1000
    np.testing.assert_allclose(m["ce_grad"], m["ce_grad_closed_form"], rtol=1e-12)
    np.testing.assert_allclose(m["mse_grad"], m["mse_grad_closed_form"], rtol=1e-12)
    # training from logit -8: cross-entropy escapes within a few dozen steps, squared error does not move
    assert m["steps_to_half"]["cross-entropy"] <= 20
    assert m["steps_to_half"]["squared error"] is None
    assert m["final_p"]["squared error"] < 1e-3 < 0.99 < m["final_p"]["cross-entropy"]


def test_exploding_is_two_to_the_fifty_exactly(tmp_path, capsys):
    out = run_experiment("exploding", tmp_path, capsys)
    m = out["metrics"]
    h0, relu2 = m["h0"], m["ReLU cell, w = 2"]
    assert m["steps"] == 50
    assert relu2["h"][50] == 2.0 ** 50 * h0                     # bit for bit: doubling only moves the exponent
    assert all(relu2["h"][t] == 2.0 ** t * h0 for t in range(51))
    assert relu2["grad"][50] == pytest.approx(50 * 2.0 ** 49 * h0, rel=1e-14)
    for t in range(1, 51):
        assert relu2["grad"][t] == pytest.approx(t * 2.0 ** (t - 1) * h0, rel=1e-14)
    half = m["ReLU cell, w = 1/2"]
    assert half["h"][50] == 2.0 ** -50 * h0
    assert half["grad"][50] == pytest.approx(50 * 0.5 ** 49 * h0, rel=1e-14)
    tanh = m["tanh cell, w = 2"]
    assert m["tanh_fixed_point"] == pytest.approx(math.tanh(2 * m["tanh_fixed_point"]), abs=1e-12)
    assert abs(tanh["grad"][50]) < 1                            # bounded: no explosion through tanh
    assert "337769972052787.2" in out["table"]


def test_convolution_layer_is_cross_correlation_and_the_flip_is_convolution(tmp_path, capsys):
    m = run_experiment("convolution", tmp_path, capsys)["metrics"]
    for case, r in m.items():
        if case in ("1-D", "impulse"):
            continue
        assert r["layer_vs_xcorr"] <= 1e-12, case
        assert r["flipped_vs_conv"] <= 1e-12, case
        if "asymmetric" in case:
            assert r["layer_vs_conv"] > 0.1 * r["scale"], case  # not convolution ...
        else:
            assert r["layer_vs_conv"] <= 1e-12, case            # ... unless the kernel is symmetric
    one_d = m["1-D"]
    assert one_d["layer_vs_np_correlate"] <= 1e-12 and one_d["flipped_vs_np_convolve"] <= 1e-12
    assert one_d["layer_vs_np_convolve"] > 0.1
    assert m["impulse"] == {"response_is_flipped_kernel": True, "flipped_response_is_kernel": True}


def test_universal_hand_built_relus_meet_the_interpolation_bound(tmp_path, capsys):
    m = run_experiment("universal", tmp_path, capsys)["metrics"]
    hand = m["hand"]
    for n, r in hand.items():
        assert r["max_error"] <= r["bound"] * (1 + 1e-9), n      # h^2 / 8 max|f''|
        assert r["error_at_knots"] <= 1e-12, n                   # it interpolates f at the knots
    assert hand[32]["max_error"] < 0.025
    for n in (16, 32):
        assert 3.5 < hand[n // 2]["max_error"] / hand[n]["max_error"] < 4.5  # O(h^2): 4x per doubling
    trained = m["trained"]
    assert trained[16]["max_error"] < trained[4]["max_error"]
    assert trained[16]["rms_error"] < 0.3                       # seeds 0-4: 0.04 to 0.18


def test_quadratic_lesson_loop_descends_and_sgd_lands_on_least_squares(tmp_path, capsys):
    m = run_experiment("quadratic", tmp_path, capsys)["metrics"]
    losses = m["lesson_losses"]
    assert len(losses) == 10
    assert all(b < a for a, b in zip(losses, losses[1:]))        # the MAE falls every step
    assert m["sgd_error"] < 1e-8
    np.testing.assert_allclose(m["sgd_abc"], m["lstsq_abc"], atol=1e-8)
    assert m["final_mse"] == pytest.approx(m["lstsq_mse"], rel=1e-10)
    assert m["rate"] == pytest.approx(1 - m["lr"] * min(m["curvatures"]))
    a, b, c = m["lstsq_abc"]
    assert abs(a - 3) < 1 and abs(b - 2) < 1 and abs(c - 1) < 1.5  # noisy points of 3x^2 + 2x + 1


@pytest.mark.parametrize("seed", [0, 1])
def test_batchnorm_reaches_the_target_in_fewer_steps(seed, tmp_path, capsys):
    m = run_experiment("batchnorm", tmp_path, capsys, seed)["metrics"]
    plain, bn = m["plain"], m["batch norm"]
    for lr in m["lrs"]:
        assert bn[lr]["median"] is not None, lr
        assert plain[lr]["median"] is None or bn[lr]["median"] * 2 <= plain[lr]["median"], lr
    assert m["best"]["batch norm"] * 2 <= m["best"]["plain"]    # also against plain's best learning rate


def test_deepwide_parameter_counts_match(tmp_path, capsys):
    from firstepoch.lab.deepwide import parameter_count
    assert parameter_count(128, 1) == 784 * 128 + 128 + 128 * 10 + 10
    m = run_experiment("deepwide", tmp_path, capsys)["metrics"]
    shapes = {k: v for k, v in m.items() if k != "budget"}
    assert sorted(v["depth"] for v in shapes.values()) == [1, 2, 4]
    for label, r in shapes.items():
        assert r["params"] == parameter_count(r["width"], r["depth"]), label  # the formula counts the model
        assert abs(r["params"] / m["budget"] - 1) < 0.03, label
        assert r["val_acc"] > 0.6 and r["train_loss"] < 1.0, label  # every shape learns (chance: 0.1); no winner
        assert np.isfinite(r["val_loss"])


def test_convolution_pytorch_conv2d_is_the_same_cross_correlation():
    """The docstring's "like PyTorch's": torch's conv2d with the lab's kernel gives the lab's result, and
    its impulse response is the kernel flipped."""
    torch = pytest.importorskip("torch")
    import firstepoch.lab.convolution as conv

    x = np.random.default_rng(0).standard_normal((9, 11))
    theirs = torch.nn.functional.conv2d(torch.from_numpy(x)[None, None], torch.from_numpy(conv.KERNEL)[None, None])
    np.testing.assert_allclose(theirs.numpy()[0, 0], conv.fe_conv2d(x, conv.KERNEL), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(theirs.numpy()[0, 0], conv.cross_correlate2d(x, conv.KERNEL), rtol=1e-12, atol=1e-12)
    impulse = torch.zeros(1, 1, 5, 5, dtype=torch.float64)
    impulse[0, 0, 2, 2] = 1
    response = torch.nn.functional.conv2d(impulse, torch.from_numpy(conv.KERNEL)[None, None], padding=1)
    assert np.array_equal(response.numpy()[0, 0, 1:4, 1:4], conv.KERNEL[::-1, ::-1])
