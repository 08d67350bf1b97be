"""The original deep joint source-channel autoencoder (Bourtsoulatze, Kurka, Gunduz, 2019).

Encoder: five 5x5 convolutions (16, 32, 32, 32, c filters; the first two with stride 2), each
followed by PReLU; decoder: the mirror image with transposed convolutions and a sigmoid output.
The latent has ``c`` channels at 1/4 of the image size, so an H x W image sends ``c*H*W/16``
real values = ``c*H*W/32`` complex channel uses: CBR = c / 96 (c = 6 -> 1/16, c = 2 -> 1/48).
"""

from __future__ import annotations

import torch
from torch import nn

#: Spatial downsampling factor of the encoder (two stride-2 layers).
DOWNSAMPLING = 4


def latent_channels_for(cbr: float) -> int:
    """Latent channels c giving CBR = c / (2 * 3 * DOWNSAMPLING**2) (rounded to the nearest)."""
    return max(1, round(cbr * 2 * 3 * DOWNSAMPLING**2))


def _conv(cin: int, cout: int, stride: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 5, stride=stride, padding=2), nn.PReLU(cout))


def _deconv(cin: int, cout: int, stride: int, last: bool = False) -> nn.Sequential:
    layer = nn.ConvTranspose2d(cin, cout, 5, stride=stride, padding=2, output_padding=stride - 1)
    return nn.Sequential(layer, nn.Sigmoid() if last else nn.PReLU(cout))


class DeepJSCCNet(nn.Module):
    """Bourtsoulatze et al. (2019) encoder/decoder.

    Args:
        latent_channels: c, the channels of the latent (sets the CBR: c / 96).
        width: filters of the hidden layers (the paper: 16 then 32).
    """

    def __init__(self, latent_channels: int = 6, width: int = 32) -> None:
        super().__init__()
        self.latent_channels = latent_channels
        self.encoder = nn.Sequential(
            _conv(3, width // 2, 2), _conv(width // 2, width, 2), _conv(width, width, 1),
            _conv(width, width, 1), _conv(width, latent_channels, 1),
        )
        self.decoder = nn.Sequential(
            _deconv(latent_channels, width, 1), _deconv(width, width, 1), _deconv(width, width, 1),
            _deconv(width, width // 2, 2), _deconv(width // 2, 3, 2, last=True),
        )

    def encode(self, images: torch.Tensor, snr_db: torch.Tensor | None = None) -> torch.Tensor:
        """``[N, 3, H, W]`` in [0, 1] (H, W multiples of 4) -> latent ``[N, c, H/4, W/4]``."""
        return self.encoder(images)

    def decode(self, latent: torch.Tensor, snr_db: torch.Tensor | None = None) -> torch.Tensor:
        """Noisy latent ``[N, c, H/4, W/4]`` -> images ``[N, 3, H, W]`` in [0, 1]."""
        return self.decoder(latent)
