"""Generalized divisive normalization (Balle, Laparra, Simoncelli, 2016) and its inverse.

y_i = x_i / sqrt(beta_i + sum_j gamma_ij x_j^2) (inverse: multiply). beta and gamma are kept
non-negative by a squared reparametrisation with a small floor, as is usual for training. Written
here rather than taken from CompressAI: CompressAI 1.2.8 pins numpy < 2 (Sionna 2.x needs >= 2.2)
and imports torchvision and torch_geometric at import time, which this project does not need.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

_PEDESTAL = 2.0**-36  # keeps the reparametrised values away from zero


class GDN(nn.Module):
    """GDN over the channels of ``[N, C, H, W]`` (``inverse=True``: IGDN, for decoders)."""

    def __init__(self, channels: int, inverse: bool = False, beta_min: float = 1e-6,
                 gamma_init: float = 0.1) -> None:
        super().__init__()
        self.inverse = inverse
        self.beta_bound = (beta_min + _PEDESTAL) ** 0.5
        self.beta = nn.Parameter(torch.sqrt(torch.ones(channels) + _PEDESTAL))
        self.gamma = nn.Parameter(torch.sqrt(gamma_init * torch.eye(channels) + _PEDESTAL))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        beta = torch.clamp(self.beta, min=self.beta_bound) ** 2 - _PEDESTAL
        gamma = torch.clamp(self.gamma, min=_PEDESTAL**0.5) ** 2 - _PEDESTAL
        c = x.shape[1]
        norm = F.conv2d(x * x, gamma.view(c, c, 1, 1), beta)
        return x * torch.sqrt(norm) if self.inverse else x * torch.rsqrt(norm)
