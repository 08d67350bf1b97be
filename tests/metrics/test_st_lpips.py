"""ShiftTolerant-LPIPS against the stlpips-pytorch package's own model on the same shipped weights."""

import importlib.util
import sys
import types

import pytest
import torch

from testbed.metrics.st_lpips import STLPIPS
from testbed.testing import tiny_image

TOLERANCE = 1e-5


@pytest.fixture(scope="module")
def reference_module():
    """The package's ``stlpips`` module.

    It imports ``IPython`` (``embed``) and ``torchsummary`` (``summary``) at import time without
    using them; where those are not installed, empty stand-in modules are put into ``sys.modules``
    for the import only (and removed afterwards), so the test does not need either package.
    """
    added = []
    for name in ("IPython", "torchsummary"):
        if name not in sys.modules and importlib.util.find_spec(name) is None:
            stub = types.ModuleType(name)
            stub.embed = stub.summary = lambda *a, **k: None
            sys.modules[name] = stub
            added.append(name)
    try:
        from stlpips_pytorch import stlpips
    finally:
        for name in added:
            del sys.modules[name]
    return stlpips


def _reference(module, net):
    return module.LPIPS(net=net, variant="shift_tolerant", pretrained=True, verbose=False).eval()


def _pairs(seed, shape):
    """Images on the 8-bit grid (so the metric's quantisation changes nothing) and noisy copies."""
    g = torch.Generator().manual_seed(seed)
    target = torch.randint(0, 256, shape, generator=g).float() / 255.0
    smooth = torch.nn.functional.avg_pool2d(target, 5, stride=1, padding=2)  # some image-like structure
    preds = ((smooth + 0.05 * torch.randn(shape, generator=g)).clamp(0, 1) * 255).round() / 255.0
    return preds, smooth.mul(255).round().div(255)


@pytest.mark.parametrize("net, shape", [("alex", (2, 3, 64, 96)), ("alex", (1, 3, 61, 77)),
                                        ("vgg", (2, 3, 32, 48)), ("vgg", (1, 3, 29, 35))])
def test_matches_the_package(reference_module, net, shape):
    torch.manual_seed(0)
    metric, ref = STLPIPS(net=net), _reference(reference_module, net)
    preds, target = _pairs(sum(shape), shape)
    ours = metric.score(preds, target)
    with torch.no_grad():
        theirs = ref(preds * 2 - 1, target * 2 - 1).flatten().double()
    assert ours.dtype == torch.float64 and ours.shape == (shape[0],)
    assert torch.allclose(ours, theirs, rtol=0, atol=TOLERANCE), (ours, theirs)
    assert torch.all(metric.score(target, target) == 0)


def test_shift_scores_far_lower_than_noise():
    """The published property: a 1-pixel shift is far closer than noise of sigma 0.05."""
    image = tiny_image(max_side=128).pixels[None]
    metric = STLPIPS()
    shifted = metric.score(image[..., :, 1:], image[..., :, :-1]).item()
    g = torch.Generator().manual_seed(0)
    noisy = (image + 0.05 * torch.randn(image.shape, generator=g)).clamp(0, 1)
    noise = metric.score(noisy, image).item()
    assert shifted < noise / 4, (shifted, noise)


def test_batched_scores_and_provenance():
    metric = STLPIPS()
    preds, target = _pairs(3, (3, 3, 40, 56))
    single = metric.score(preds, target)
    many = metric.score_many(list(preds), list(target), ["a", "b", "c"])
    assert torch.allclose(many, single, atol=1e-6)
    info = metric.describe()
    assert info["net"] == "alex" and info["weights"].endswith("alex_shift_tolerant.pth")
    assert len(info["weights_sha256"]) == 64 and not metric.higher_is_better


@pytest.mark.parametrize("size", [(64, 96), (97, 131), (96, 130), (33, 40), (12, 12), (9, 12)])
def test_fused_first_layer_equals_convolution_then_blur_pool(size):
    """ConvBlurPool (one stride-2 convolution, border strips the two-step way) equals the pair it
    replaces to float32 rounding, at even and odd sizes and below the size it falls back at."""
    from torch import nn

    from testbed.metrics.st_lpips import BlurPool, ConvBlurPool

    torch.manual_seed(0)
    conv, blur = nn.Conv2d(3, 8, 11, padding=2), BlurPool(8)
    x = torch.rand(2, 3, *size) * 2 - 1
    with torch.no_grad():
        want, got = blur(conv(x)), ConvBlurPool(conv, blur)(x)
    assert got.shape == want.shape
    assert torch.allclose(got, want, rtol=0, atol=1e-5 * want.abs().max().item())  # borders included


def test_sliding_max_equals_max_pool_exactly():
    from testbed.metrics.st_lpips import SlidingMax

    x = torch.randn(2, 5, 17, 23)
    for k in (2, 3):
        assert torch.equal(SlidingMax(k)(x), torch.nn.MaxPool2d(k, stride=1)(x))
        assert torch.equal(SlidingMax(k)(x.contiguous(memory_format=torch.channels_last)),
                           torch.nn.MaxPool2d(k, stride=1)(x))
