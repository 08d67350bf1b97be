"""PSNR against scikit-image's implementation (tolerance 1e-4 dB)."""

import numpy as np
import torch
from skimage.metrics import peak_signal_noise_ratio

from testbed.metrics.psnr import PSNR, PSNR_CAP_DB, psnr


def _pair(seed, shape=(2, 3, 40, 56), sigma=0.05):
    g = torch.Generator().manual_seed(seed)
    target = torch.rand(shape, generator=g)
    preds = (target + sigma * torch.randn(shape, generator=g)).clamp(0, 1)
    return preds, target


def test_matches_scikit_image_on_8bit_images():
    preds, target = _pair(0)
    ours = psnr(preds, target)
    for i in range(preds.shape[0]):
        p8 = (preds[i] * 255).round().to(torch.uint8).numpy()
        t8 = (target[i] * 255).round().to(torch.uint8).numpy()
        ref = peak_signal_noise_ratio(t8, p8, data_range=255)
        assert abs(ours[i].item() - ref) < 1e-4


def test_identical_images_give_the_cap_and_metric_state_works():
    _, target = _pair(1)
    assert torch.all(psnr(target, target) == PSNR_CAP_DB)
    m = PSNR()
    preds, target = _pair(2)
    m.update(preds, target)
    assert np.isclose(m.compute().item(), psnr(preds, target).mean().item())
    assert m.higher_is_better
