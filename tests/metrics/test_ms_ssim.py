"""MS-SSIM against pytorch_msssim (tolerance 1e-4), and the small-image rule."""

import pytest
import torch
from pytorch_msssim import ms_ssim as reference
from pytorch_msssim import ssim as reference_ssim

from testbed.metrics.ms_ssim import MSSSIM, ms_ssim, usable_scales


def _pair(shape, sigma, seed=0):
    g = torch.Generator().manual_seed(seed)
    base = torch.rand((shape[0], shape[1], shape[2] // 8, shape[3] // 8), generator=g)
    target = torch.nn.functional.interpolate(base, size=shape[2:], mode="bilinear", align_corners=False)
    preds = (target + sigma * torch.randn(shape, generator=g)).clamp(0, 1)
    return preds, target


@pytest.mark.parametrize("shape", [(2, 3, 192, 256), (1, 3, 201, 263)])
@pytest.mark.parametrize("sigma", [0.02, 0.1, 0.3])
def test_matches_pytorch_msssim(shape, sigma):
    preds, target = _pair(shape, sigma)
    ours = ms_ssim(preds, target)
    ref = reference((preds * 255).round(), (target * 255).round(), data_range=255, size_average=False)
    assert torch.allclose(ours, ref.double(), atol=1e-4)


def test_small_images_use_fewer_scales_single_scale_is_ssim():
    assert usable_scales(512, 768) == 5
    assert usable_scales(100, 100) == 4
    assert usable_scales(12, 40) == 1
    preds, target = _pair((1, 3, 16, 24), 0.1)
    ref = reference_ssim((preds * 255).round(), (target * 255).round(), data_range=255, size_average=False)
    assert torch.allclose(ms_ssim(preds, target), ref.double(), atol=1e-4)
    small = _pair((1, 3, 64, 64), 0.1)
    assert 0 < MSSSIM().score(*small).item() < 1
    with pytest.raises(ValueError, match="at least 11"):
        ms_ssim(torch.zeros(1, 3, 8, 8), torch.zeros(1, 3, 8, 8))


def test_identical_is_one():
    _, target = _pair((1, 3, 176, 176), 0.0)
    assert torch.allclose(ms_ssim(target, target), torch.ones(1, dtype=torch.float64))
