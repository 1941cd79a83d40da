"""The torchvision-layout model zoo (AlexNet, VGG-11/16 with and without batch norm, ResNet-18/34, and
their 32x32 versions): output shapes, parameter counts, a training step, create(), and, where PyTorch is
installed, state-dict names and shapes, loading and outputs and gradients against the same architecture
written here in torch.nn with torchvision's module names (torchvision itself is not needed)."""
import numpy as np
import pytest

import firstepoch as fe
import firstepoch.nn.functional as F
from firstepoch import models as M

# torchvision's parameter counts (num_classes=1000, 3 input channels), as its model cards list them
TORCHVISION_PARAMS = {"alexnet": 61_100_840, "vgg11": 132_863_336, "vgg11_bn": 132_868_840, "vgg16": 138_357_544,
                      "vgg16_bn": 138_365_992, "resnet18": 11_689_512, "resnet34": 21_797_672}

# (builder name, kwargs, input side) for the small and quick configurations
SMALL = [("alexnet32", {}, 32), ("vgg11_32", {}, 32), ("vgg11_bn_32", {}, 32), ("vgg16_32", {}, 32),
         ("vgg16_bn_32", {}, 32), ("resnet18_32", {}, 32), ("resnet34_32", {}, 32),
         ("alexnet", {"num_classes": 7}, 63), ("resnet18", {"num_classes": 7}, 40)]


def _count(model):
    return sum(p.numel() for p in model.parameters())


def _build(name, **kwargs):
    fe.manual_seed(0)
    return getattr(M, name)(**kwargs)


def _np(t):
    return np.asarray(t.detach().numpy())


# ---- the PyTorch reference: torchvision's architectures, written with torch.nn ------------------------

def _torch_reference(torch, name, num_classes, in_channels, small_input, dropout=0.5):
    nn = torch.nn
    if name == "alexnet":
        pad1, pool, pooled = (5, dict(kernel_size=2, stride=2, ceil_mode=True), 1) if small_input else \
            (2, dict(kernel_size=3, stride=2), 6)

        class AlexNet(nn.Module):
            def __init__(self):
                super().__init__()
                self.features = nn.Sequential(
                    nn.Conv2d(in_channels, 64, 11, stride=4, padding=pad1), nn.ReLU(inplace=True), nn.MaxPool2d(**pool),
                    nn.Conv2d(64, 192, 5, padding=2), nn.ReLU(inplace=True), nn.MaxPool2d(**pool),
                    nn.Conv2d(192, 384, 3, padding=1), nn.ReLU(inplace=True),
                    nn.Conv2d(384, 256, 3, padding=1), nn.ReLU(inplace=True),
                    nn.Conv2d(256, 256, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(**pool))
                self.avgpool = nn.AdaptiveAvgPool2d((pooled, pooled))
                self.classifier = nn.Sequential(
                    nn.Dropout(p=dropout), nn.Linear(256 * pooled * pooled, 4096), nn.ReLU(inplace=True),
                    nn.Dropout(p=dropout), nn.Linear(4096, 4096), nn.ReLU(inplace=True), nn.Linear(4096, num_classes))

            def forward(self, x):
                return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))
        return AlexNet()

    if name.startswith("vgg"):
        cfg = M.vgg.cfgs["A" if name.startswith("vgg11") else "D"]
        layers, c = [], in_channels
        for v in cfg:
            if v == "M":
                layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
                continue
            layers.append(nn.Conv2d(c, v, kernel_size=3, padding=1))
            if name.endswith("_bn"):
                layers.append(nn.BatchNorm2d(v))
            layers.append(nn.ReLU(inplace=True))
            c = v
        pooled, hidden = (1, 512) if small_input else (7, 4096)

        class VGG(nn.Module):
            def __init__(self):
                super().__init__()
                self.features = nn.Sequential(*layers)
                self.avgpool = nn.AdaptiveAvgPool2d((pooled, pooled))
                self.classifier = nn.Sequential(
                    nn.Linear(512 * pooled * pooled, hidden), nn.ReLU(True), nn.Dropout(p=dropout),
                    nn.Linear(hidden, hidden), nn.ReLU(True), nn.Dropout(p=dropout), nn.Linear(hidden, num_classes))

            def forward(self, x):
                return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))
        return VGG()

    class BasicBlock(nn.Module):
        def __init__(self, inplanes, planes, stride=1, downsample=None):
            super().__init__()
            self.conv1 = nn.Conv2d(inplanes, planes, 3, stride=stride, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(planes)
            self.relu = nn.ReLU(inplace=True)
            self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
            self.bn2 = nn.BatchNorm2d(planes)
            self.downsample = downsample

        def forward(self, x):
            identity = x if self.downsample is None else self.downsample(x)
            out = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
            out += identity
            return self.relu(out)

    class ResNet(nn.Module):
        def __init__(self, layers):
            super().__init__()
            self.inplanes = 64
            if small_input:
                self.conv1 = nn.Conv2d(in_channels, 64, 3, stride=1, padding=1, bias=False)
            else:
                self.conv1 = nn.Conv2d(in_channels, 64, 7, stride=2, padding=3, bias=False)
            self.bn1 = nn.BatchNorm2d(64)
            self.relu = nn.ReLU(inplace=True)
            self.maxpool = nn.Identity() if small_input else nn.MaxPool2d(3, stride=2, padding=1)
            self.layer1 = self._make_layer(64, layers[0])
            self.layer2 = self._make_layer(128, layers[1], 2)
            self.layer3 = self._make_layer(256, layers[2], 2)
            self.layer4 = self._make_layer(512, layers[3], 2)
            self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
            self.fc = nn.Linear(512, num_classes)

        def _make_layer(self, planes, blocks, stride=1):
            downsample = None
            if stride != 1 or self.inplanes != planes:
                downsample = nn.Sequential(nn.Conv2d(self.inplanes, planes, 1, stride=stride, bias=False),
                                           nn.BatchNorm2d(planes))
            layers = [BasicBlock(self.inplanes, planes, stride, downsample)]
            self.inplanes = planes
            layers += [BasicBlock(planes, planes) for _ in range(1, blocks)]
            return nn.Sequential(*layers)

        def forward(self, x):
            x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
            x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
            return self.fc(torch.flatten(self.avgpool(x), 1))
    return ResNet([2, 2, 2, 2] if name == "resnet18" else [3, 4, 6, 3])


# ---- without PyTorch -----------------------------------------------------------------------------

@pytest.mark.parametrize("name", list(TORCHVISION_PARAMS))
def test_parameter_count_is_torchvisions(name):
    kwargs = {"init_weights": False} if name.startswith("vgg") else {}  # VGG's N(0, 0.01) draw takes seconds
    assert _count(_build(name, **kwargs)) == TORCHVISION_PARAMS[name]


@pytest.mark.parametrize("name, kwargs, side", SMALL)
def test_output_shape_and_a_training_step(name, kwargs, side):
    model = _build(name, in_channels=2, **kwargs)
    num_classes = kwargs.get("num_classes", 10)
    fe.manual_seed(1)
    x = fe.randn(3, 2, side, side)
    y = np.array([0, 1, 2])
    opt = fe.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    before = {k: v.copy() for k, v in model.state_dict().items()}
    out = model(x)
    assert out.shape == (3, num_classes)
    loss = F.cross_entropy(out, y)
    opt.zero_grad()
    loss.backward()
    for pname, p in model.named_parameters():
        assert p.grad is not None and np.isfinite(_np(p.grad)).all(), pname
    opt.step()
    after = model.state_dict()
    assert list(after) == list(before)
    assert not np.array_equal(after[next(iter(after))], before[next(iter(before))])  # the first layer moved
    assert np.isfinite(loss.item())
    model.eval()
    assert model(x[:1]).shape == (1, num_classes)


def test_small_input_versions_take_28x28_and_keep_torchvisions_names():
    for name in ("alexnet", "vgg11", "resnet18"):
        small = M.create(name, num_classes=10, in_channels=1, image_size=28)
        assert small.small_input and small(fe.randn(2, 1, 28, 28)).shape == (2, 10)
    # the 32x32 versions keep every name; their features / layers load from the full model's numbers
    small = _build("vgg11_bn_32")  # vgg11_bn's features are make_layers(cfgs["A"], batch_norm=True)
    features = {"features." + k: v for k, v in M.make_layers(M.vgg.cfgs["A"], True).state_dict().items()}
    missing, unexpected = small.load_state_dict(features, strict=False)
    assert unexpected == [] and all(k.startswith("classifier.") for k in missing)
    full, small = _build("resnet18"), _build("resnet18_32")
    assert list(full.state_dict()) == list(small.state_dict())
    assert full.conv1.weight.shape == (64, 3, 7, 7) and small.conv1.weight.shape == (64, 3, 3, 3)
    assert isinstance(small.maxpool, fe.nn.Identity)


def test_torchvision_state_dict_names():
    sd = _build("resnet18_32").state_dict()
    for key in ("conv1.weight", "bn1.running_mean", "bn1.num_batches_tracked", "layer1.0.conv1.weight",
                "layer2.0.downsample.0.weight", "layer2.0.downsample.1.running_var", "layer4.1.bn2.bias",
                "fc.weight", "fc.bias"):
        assert key in sd, key
    assert "layer1.0.downsample.0.weight" not in sd
    sd = _build("alexnet32").state_dict()
    assert [k for k in sd if k.endswith("weight")] == [
        "features.0.weight", "features.3.weight", "features.6.weight", "features.8.weight", "features.10.weight",
        "classifier.1.weight", "classifier.4.weight", "classifier.6.weight"]
    sd = _build("vgg11_bn_32").state_dict()
    assert "features.1.running_mean" in sd and "features.4.weight" in sd and "classifier.6.weight" in sd


def test_create_and_names():
    for name in ("alexnet", "vgg11", "vgg11_bn", "vgg16", "vgg16_bn", "resnet18", "resnet34"):
        assert name in M.NAMES
    model = M.create("resnet18", num_classes=5, in_channels=3, image_size=32)
    assert model.small_input and model.conv1.weight.shape == (64, 3, 3, 3) and model.fc.out_features == 5
    model = M.create("resnet18", num_classes=5, in_channels=3, image_size=96)
    assert not model.small_input and model.conv1.weight.shape == (64, 3, 7, 7)
    assert M.create("lenet").__class__.__name__ == "LeNet5"
    with pytest.raises(ValueError, match="name must be one of"):
        M.create("resnet50")
    with pytest.raises(ValueError, match="downloads no weights"):
        M.resnet18(weights="IMAGENET1K_V1")


def test_vgg_init_is_torchvisions():
    model = _build("vgg11_bn_32")
    assert np.all(_np(model.classifier[0].bias) == 0) and np.all(_np(model.features[1].weight) == 1)
    assert abs(_np(model.classifier[0].weight).std() - 0.01) < 0.001
    w = _np(model.features[4].weight)  # kaiming normal, fan_out = 128 * 9
    assert abs(w.std() - np.sqrt(2 / (128 * 9))) < 0.002


def test_zero_init_residual():
    model = M.resnet18_32(zero_init_residual=True)
    assert np.all(_np(model.layer3[1].bn2.weight) == 0) and np.all(_np(model.layer3[1].bn1.weight) == 1)


# ---- against PyTorch -----------------------------------------------------------------------------

PARITY = [("alexnet", False, 67), ("alexnet", True, 32), ("vgg11", True, 32), ("vgg11_bn", True, 32),
          ("vgg16_bn", True, 32), ("resnet18", False, 48), ("resnet18", True, 32), ("resnet34", True, 16)]


@pytest.mark.parametrize("name, small_input, side", PARITY)
def test_torch_state_dict_loads_and_outputs_agree(name, small_input, side):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    ref = _torch_reference(torch, name, num_classes=6, in_channels=3, small_input=small_input, dropout=0.0)
    with torch.no_grad():  # non-trivial running statistics, so that evaluation mode tests them
        for m in ref.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 1.5)
                m.weight.uniform_(0.5, 1.5)
                m.num_batches_tracked.fill_(3)
    model = M.ZOO[name](num_classes=6, small_input=small_input, dropout=0.0) if "resnet" not in name else \
        M.ZOO[name](num_classes=6, small_input=small_input)
    tsd = ref.state_dict()
    assert list(model.state_dict()) == list(tsd)
    assert {k: tuple(v.shape) for k, v in model.state_dict().items()} == {k: tuple(v.shape) for k, v in tsd.items()}
    assert _count(model) == sum(p.numel() for p in ref.parameters())
    assert model.load_state_dict(tsd) is not None  # torch tensors load as they are (strict)

    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, side, side)).astype(np.float32)
    ref.eval(), model.eval()
    with torch.no_grad():
        want = ref(torch.from_numpy(x)).numpy()
    got = _np(model(fe.tensor(x)))
    np.testing.assert_allclose(got, want, rtol=2e-4, atol=2e-5 * np.abs(want).max())

    # training mode (batch statistics; dropout 0) in float64, where batch norm's backward over a batch of
    # two is well conditioned enough to compare tightly: the same loss, gradients and running statistics
    ref.double().train(), model.double().train()
    x = x.astype(np.float64)
    xt = torch.from_numpy(x).requires_grad_()
    loss_t = torch.nn.functional.cross_entropy(ref(xt), torch.tensor([1, 4]))
    loss_t.backward()
    xf = fe.tensor(x, requires_grad=True)
    loss_f = F.cross_entropy(model(xf), np.array([1, 4]))
    loss_f.backward()
    np.testing.assert_allclose(loss_f.item(), loss_t.item(), rtol=1e-10)
    gt = xt.grad.numpy()
    np.testing.assert_allclose(_np(xf.grad), gt, rtol=1e-7, atol=1e-9 * np.abs(gt).max())
    params = dict(ref.named_parameters())
    largest = max(float(p.grad.abs().max()) for p in ref.parameters())
    for pname, p in model.named_parameters():
        g = params[pname].grad.numpy()
        np.testing.assert_allclose(_np(p.grad), g, rtol=1e-7, atol=1e-9 * largest, err_msg=pname)
    for key, v in ref.state_dict().items():
        if "running" in key or "num_batches" in key:
            np.testing.assert_allclose(model.state_dict()[key], v.numpy(), rtol=1e-10, err_msg=key)
