"""Peak signal-to-noise ratio on 8-bit-quantised images."""

from __future__ import annotations

import torch

from testbed.core.metric import Metric, quantize_8bit

#: PSNR reported for a bit-exact reconstruction (MSE = 0), instead of +inf.
PSNR_CAP_DB = 100.0


def psnr(preds: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """PSNR in dB per image, ``[N]`` float64, of ``[N, 3, H, W]`` images in [0, 1].

    Both images are rounded to 8 bits first; peak = 255. MSE = 0 gives :data:`PSNR_CAP_DB`.
    """
    if preds.shape != target.shape:
        raise ValueError(f"psnr: shapes differ, {tuple(preds.shape)} vs {tuple(target.shape)}")
    p = quantize_8bit(preds).double()
    t = quantize_8bit(target).double()
    mse = (p - t).pow(2).flatten(1).mean(dim=1)
    value = 10.0 * torch.log10(255.0**2 / mse.clamp_min(1e-300))
    return torch.where(mse == 0, torch.full_like(value, PSNR_CAP_DB), value)


class PSNR(Metric):
    """PSNR (dB) on 8-bit-quantised RGB images, peak 255, averaged over all three channels."""

    name = "psnr"
    higher_is_better = True

    def score(self, preds, target):
        return psnr(preds, target)

    def describe(self) -> dict:
        return {"implementation": "testbed.metrics.psnr (8-bit, peak 255)"}
