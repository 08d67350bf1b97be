"""Multi-scale structural similarity (Wang, Simoncelli, Bovik, 2003) on 8-bit-quantised images.

Written here rather than imported so that the small-image rule below is ours; it reproduces the
reference formulation used by ``pytorch_msssim`` (11-tap Gaussian window, sigma 1.5, "valid"
filtering, K1 = 0.01, K2 = 0.03, 2x2 average pooling with zero padding on odd sizes, the five published
scale weights, ReLU on the contrast-structure terms) and the test suite checks it against that
package to 1e-4.

Small-image rule: five scales need every scale to be at least 11 px on its short side (about
161 px at full size). A smaller image uses as many scales as fit, with the first weights
renormalised to sum to 1 (one scale = plain SSIM). Images under 11 px on a side are rejected.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from testbed.core.metric import Metric, quantize_8bit

SCALE_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
WINDOW_SIZE = 11
WINDOW_SIGMA = 1.5
K1, K2 = 0.01, 0.03


def usable_scales(height: int, width: int, max_scales: int = len(SCALE_WEIGHTS)) -> int:
    """How many scales fit an ``height x width`` image (each scale >= the 11 px window)."""
    side = min(height, width)
    if side < WINDOW_SIZE:
        raise ValueError(
            f"ms_ssim: images must be at least {WINDOW_SIZE} px on each side, got {height}x{width}"
        )
    scales = 1
    while scales < max_scales and math.ceil(side / 2) >= WINDOW_SIZE:
        side = math.ceil(side / 2)
        scales += 1
    return scales


def _gaussian_window(dtype: torch.dtype) -> torch.Tensor:
    coords = torch.arange(WINDOW_SIZE, dtype=dtype) - WINDOW_SIZE // 2
    g = torch.exp(-(coords**2) / (2 * WINDOW_SIGMA**2))
    return g / g.sum()


def _filter(x: torch.Tensor, window: torch.Tensor) -> torch.Tensor:
    """Separable 'valid' Gaussian filter of ``[N, C, H, W]`` per channel."""
    c = x.shape[1]
    x = F.conv2d(x, window.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    return F.conv2d(x, window.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)


def _ssim_terms(x: torch.Tensor, y: torch.Tensor, window: torch.Tensor, data_range: float):
    """Per-image, per-channel SSIM and contrast-structure means, each ``[N, C]``.

    The five local moments are filtered in one grouped convolution (x, y, x^2, y^2, xy stacked).
    """
    c1, c2 = (K1 * data_range) ** 2, (K2 * data_range) ** 2
    c = x.shape[1]
    moments = _filter(torch.cat([x, y, x * x, y * y, x * y], dim=1), window)
    mu_x, mu_y, exx, eyy, exy = torch.split(moments, c, dim=1)
    sxx = exx - mu_x**2
    syy = eyy - mu_y**2
    sxy = exy - mu_x * mu_y
    cs_map = (2 * sxy + c2) / (sxx + syy + c2)
    ssim_map = (2 * mu_x * mu_y + c1) / (mu_x**2 + mu_y**2 + c1) * cs_map
    return ssim_map.flatten(2).mean(-1), cs_map.flatten(2).mean(-1)


def ms_ssim(preds: torch.Tensor, target: torch.Tensor, differentiable: bool = False) -> torch.Tensor:
    """MS-SSIM per image, ``[N]`` float64, of ``[N, 3, H, W]`` images in [0, 1] (8-bit-quantised).

    Filtering runs in float32 (as the reference does); the scale products in float64.
    ``differentiable=True`` (a training loss) skips the 8-bit quantisation and floors the scale
    terms at 1e-6 instead of 0, so that gradients stay finite.
    """
    if preds.shape != target.shape:
        raise ValueError(f"ms_ssim: shapes differ, {tuple(preds.shape)} vs {tuple(target.shape)}")
    x = (preds * 255.0).float() if differentiable else quantize_8bit(preds).float()
    y = (target * 255.0).float() if differentiable else quantize_8bit(target).float()
    floor = (lambda t: t.clamp_min(1e-6)) if differentiable else torch.relu
    scales = usable_scales(x.shape[-2], x.shape[-1])
    weights = torch.tensor(SCALE_WEIGHTS[:scales], dtype=torch.float64)
    weights = weights / weights.sum()
    window = _gaussian_window(torch.float32).to(x.device)
    factors = []
    for level in range(scales):
        ssim, cs = _ssim_terms(x, y, window, 255.0)
        if level == scales - 1:
            factors.append(floor(ssim))
        else:
            factors.append(floor(cs))
            pad = (x.shape[-2] % 2, x.shape[-1] % 2)  # zero padding on odd sizes, as the reference
            x = F.avg_pool2d(x, 2, padding=pad)
            y = F.avg_pool2d(y, 2, padding=pad)
    stacked = torch.stack(factors, dim=0).double()  # [S, N, C]
    per_channel = torch.prod(stacked ** weights.view(-1, 1, 1), dim=0)
    return per_channel.mean(dim=1)


class MSSSIM(Metric):
    """MS-SSIM on 8-bit-quantised RGB images (mean over the three channels)."""

    name = "ms_ssim"
    higher_is_better = True
    min_side = 11  # the 11-tap Gaussian window of one scale

    def score(self, preds, target):
        return ms_ssim(preds, target)

    def loss(self, preds, target):
        """1 - MS-SSIM on unquantised images (differentiable), the mean over the batch."""
        return 1.0 - ms_ssim(preds, target, differentiable=True).mean().float()

    def describe(self) -> dict:
        return {"implementation": "testbed.metrics.ms_ssim (Wang 2003, 5 scales, 8-bit)"}
