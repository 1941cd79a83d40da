"""fe.summary(model, input_size): per-layer output shape, parameter count and mult-adds, totals and
memory, as torchinfo prints them: the numbers equal hand counts for LeNet-5 and a small model, and
the table equals torchinfo's on torch twins of the same models when torch and torchinfo are installed."""
import numpy as np
import pytest

import firstepoch as fe
from firstepoch import nn


def test_lenet_numbers_equal_hand_counts():
    s = fe.summary(fe.models.create("lenet"), (16, 1, 28, 28), verbose=0)
    n = 16
    # Param #: weights + biases; Mult-Adds: (weights + biases) x N (x H_out x W_out for a convolution)
    layers = {"Conv2d": [(1 * 6 * 25 + 6, [n, 6, 28, 28]), (6 * 16 * 25 + 16, [n, 16, 10, 10])],
              "Linear": [(400 * 120 + 120, [n, 120]), (120 * 84 + 84, [n, 84]), (84 * 10 + 10, [n, 10])]}
    for kind, want in layers.items():
        rows = [r for r in s.summary_list if r.class_name == kind]
        assert [(r.own_params, r.output_size) for r in rows] == want
        for r, (p, shape) in zip(rows, want):
            assert r.macs == p * n * (int(np.prod(shape[2:])) if kind == "Conv2d" else 1)
    assert s.total_params == s.trainable_params == 156 + 2416 + 48120 + 10164 + 850 == 61706
    assert s.total_mult_adds == n * (156 * 784 + 2416 * 100 + 48120 + 10164 + 850)
    assert s.total_input == n * 784 * 4
    # activations of the layers with parameters, x2 for their gradients
    assert s.total_output_bytes == 2 * 4 * n * (6 * 784 + 16 * 100 + 120 + 84 + 10)
    assert s.total_param_bytes == 61706 * 4
    text = str(s)
    lines = text.splitlines()
    assert lines[1].split() == ["Layer", "(type:depth-idx)", "Output", "Shape", "Param", "#", "Mult-Adds"]
    assert "│    └─Conv2d: 2-1                       [16, 6, 28, 28]           156                       1,956,864" in lines
    assert "├─Sequential: 1-2                        [16, 10]                  --                        --" in lines
    for line in ("Total params: 61,706", "Trainable params: 61,706", "Non-trainable params: 0",
                 "Total mult-adds (M): 6.77", "Input size (MB): 0.05", "Forward/backward pass size (MB): 0.83",
                 "Params size (MB): 0.25", "Estimated Total Size (MB): 1.13"):
        assert line in lines
    assert lines[0] == "=" * (40 + 3 * 25)


def _small(nn_):
    """A small model, the same in firstepoch.nn and torch.nn: a frozen BatchNorm, a nested Sequential and
    one Linear used twice (a recursive row)."""
    shared = nn_.Linear(8, 8)
    m = nn_.Sequential(nn_.Conv2d(3, 4, 3, padding=1), nn_.BatchNorm2d(4), nn_.ReLU(), nn_.Flatten(),
                       nn_.Linear(4 * 6 * 6, 8), shared, nn_.ReLU(), shared, nn_.Sequential(nn_.Linear(8, 2)))
    for p in m[1].parameters():
        p.requires_grad_(False)
    return m


def test_small_model_by_hand():
    s = fe.summary(_small(nn), (5, 3, 6, 6), verbose=0)
    conv, bn, lin1, shared, head = 3 * 4 * 9 + 4, 8, 144 * 8 + 8, 72, 18
    assert s.total_params == conv + bn + lin1 + shared + head
    assert s.trainable_params == s.total_params - bn
    rec = [r for r in s.summary_list if r.is_recursive]
    assert len(rec) == 1 and rec[0].class_name == "Linear" and rec[0].macs == 5 * 72  # runs again: counts again
    assert s.total_mult_adds == 5 * 36 * conv + 5 * bn + 5 * lin1 + 2 * 5 * shared + 5 * head
    lines = str(s).splitlines()
    row = lambda name: next(line for line in lines if name in line).split()  # noqa: E731
    assert row("BatchNorm2d: 1-2")[-2:] == ["(8)", "40"]  # frozen: in parentheses, as torchinfo
    assert row("Linear: 1-8")[-2:] == ["(recursive)", "360"]
    assert row("Sequential: 1-9")[-2:] == ["--", "--"] and row("Linear: 2-1")[-2:] == ["18", "90"]
    cut = str(fe.summary(_small(nn), (5, 3, 6, 6), verbose=0, depth=1)).splitlines()
    assert "Linear: 2-1" not in "\n".join(cut)
    assert next(line for line in cut if "Sequential: 1-9" in line).split()[-2:] == ["18", "90"]


def test_options_and_errors(capsys):
    m = fe.models.create("lenet")
    s = fe.summary(m, (1, 28, 28), batch_dim=0, col_names=("input_size", "output_size", "output_bytes"))
    printed = capsys.readouterr().out  # verbose=1 (the default, as torchinfo) prints the table
    assert printed.strip() == str(s).strip() and "Input Shape" in printed and "Output Bytes" in printed
    assert s.input_size == [[1, 1, 28, 28]]
    assert next(line for line in printed.splitlines() if "Conv2d: 2-1" in line).split()[-1] == f"{6 * 784 * 4:,}"
    x = fe.randn(2, 1, 28, 28)
    assert fe.summary(m, input_data=x, verbose=0).total_input == 2 * 784 * 4
    assert m.training  # the mode is restored (the summary runs in eval mode, as torchinfo)
    with pytest.raises(ValueError, match="unknown col_names"):
        fe.summary(m, (1, 1, 28, 28), col_names=("flops",))
    with pytest.raises(ValueError, match="exactly one of input_size and input_data"):
        fe.summary(m)
    with pytest.raises(TypeError, match="must be a firstepoch.nn.Module"):
        fe.summary("lenet", (1, 1, 28, 28))


def _torchinfo_text(model, size, **kw):
    torchinfo = pytest.importorskip("torchinfo")
    return str(torchinfo.summary(model, input_size=size, verbose=0, **kw)).replace("(Units.MEGABYTES)", "(M)")


@pytest.mark.torch_parity
def test_the_table_equals_torchinfo():
    torch = pytest.importorskip("torch")
    pytest.importorskip("torchinfo")
    from firstepoch.models.lenet import LeNet5

    class TorchLeNet(torch.nn.Module):
        def __init__(self):
            super().__init__()
            tn = torch.nn
            self.features = tn.Sequential(tn.Conv2d(1, 6, 5, padding=2), tn.ReLU(), tn.MaxPool2d(2),
                                          tn.Conv2d(6, 16, 5), tn.ReLU(), tn.MaxPool2d(2))
            self.classifier = tn.Sequential(tn.Flatten(), tn.Linear(400, 120), tn.ReLU(), tn.Linear(120, 84),
                                            tn.ReLU(), tn.Linear(84, 10))

        def forward(self, x):
            return self.classifier(self.features(x))
    TorchLeNet.__name__ = LeNet5.__name__
    cols = ("output_size", "num_params", "mult_adds")
    want = _torchinfo_text(TorchLeNet(), (16, 1, 28, 28), col_names=cols)
    assert str(fe.summary(LeNet5(), (16, 1, 28, 28), verbose=0)) == want
    for depth in (3, 1):
        for c in (cols, ("input_size", "output_size", "num_params")):
            want = _torchinfo_text(_small(torch.nn), (5, 3, 6, 6), col_names=c, depth=depth)
            got = str(fe.summary(_small(nn), (5, 3, 6, 6), verbose=0, col_names=c, depth=depth))
            assert got == want
