"""The FE_REQUIRE_TORCH switch (conftest) turns a parity test's skip into a failure only when the skip is for
torch itself. CI's parity stage failed once because a torchinfo skip was read as a torch skip."""
from conftest import skip_is_for_torch


def test_a_missing_torch_is_a_torch_skip():
    assert skip_is_for_torch("could not import 'torch': No module named 'torch'")
    assert skip_is_for_torch(("file.py", 3, "Skipped: torch 2.13 lacks this"))
    assert skip_is_for_torch("torch.nn.functional has no such name")


def test_a_missing_companion_package_is_not_a_torch_skip():
    assert not skip_is_for_torch("Skipped: could not import 'torchinfo': No module named 'torchinfo'")
    assert not skip_is_for_torch("could not import 'torchvision': No module named 'torchvision'")
    assert not skip_is_for_torch("the CPU lacks avx512f")
