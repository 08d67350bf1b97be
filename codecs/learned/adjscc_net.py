"""An SNR- and rate-adaptive deep-JSCC network in the style of ADJSCC (Xu et al., 2021).

Convolutions with GDN/IGDN and PReLU; after each layer an attention feature (AF) module scales
the channels by a gate computed from the globally pooled features, the SNR (dB) and the rate, so
one model serves a range of SNRs. Rate adaptation sends an ordered prefix of the latent channels:
with ``c`` of ``max_latent_channels`` channels sent, the decoder receives zeros for the rest; training draws
``c`` per sample from the CBR set, which teaches the encoder to put the most important content
in the first channels (as layered / rate-adaptive deep-JSCC work does). CBR = c / 96.
"""

from __future__ import annotations

import torch
from torch import nn

from testbed.codecs.learned.gdn import GDN

#: Spatial downsampling factor (two stride-2 layers).
DOWNSAMPLING = 4


class AttentionFeature(nn.Module):
    """AF module: x * sigmoid(MLP([mean over space of x, snr_db / 20, rate]))  (per channel)."""

    def __init__(self, channels: int, hidden: int = 16) -> None:
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(channels + 2, hidden), nn.ReLU(), nn.Linear(hidden, channels))

    def forward(self, x: torch.Tensor, side: torch.Tensor) -> torch.Tensor:
        context = torch.cat([x.mean(dim=(2, 3)), side], dim=1)
        return x * torch.sigmoid(self.mlp(context))[:, :, None, None]


class _Stage(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int, transpose: bool, last: bool = False) -> None:
        super().__init__()
        if transpose:
            self.conv = nn.ConvTranspose2d(cin, cout, 5, stride=stride, padding=2, output_padding=stride - 1)
        else:
            self.conv = nn.Conv2d(cin, cout, 5, stride=stride, padding=2)
        self.last = last
        if not last:
            self.norm = GDN(cout, inverse=transpose)
            self.act = nn.PReLU(cout)
            self.af = AttentionFeature(cout)

    def forward(self, x: torch.Tensor, side: torch.Tensor) -> torch.Tensor:
        x = self.conv(x)
        return x if self.last else self.af(self.act(self.norm(x)), side)


class ADJSCCNet(nn.Module):
    """SNR- and rate-adaptive encoder/decoder.

    Args:
        max_latent_channels: latent channels at the highest CBR (12 -> CBR 1/8).
        width: hidden filters.
        latent_channels: channels sent until :meth:`use_rate` changes it (``None``: all).
    """

    def __init__(self, max_latent_channels: int = 12, width: int = 64, latent_channels: int | None = None) -> None:
        super().__init__()
        self.max_latent_channels = max_latent_channels
        self.latent_channels = latent_channels or max_latent_channels  # the channels sent
        w = width
        self.enc = nn.ModuleList([_Stage(3, w, 2, False), _Stage(w, w, 2, False), _Stage(w, w, 1, False),
                                  _Stage(w, w, 1, False), _Stage(w, max_latent_channels, 1, False, last=True)])
        self.dec = nn.ModuleList([_Stage(max_latent_channels, w, 1, True), _Stage(w, w, 1, True),
                                  _Stage(w, w, 1, True), _Stage(w, w, 2, True), _Stage(w, 3, 2, True, last=True)])

    def use_rate(self, latent_channels: int) -> None:
        """Send the first ``latent_channels`` channels from now on (CBR = c / 96)."""
        if not 1 <= latent_channels <= self.max_latent_channels:
            raise ValueError(f"latent_channels must be in 1..{self.max_latent_channels}, got {latent_channels}")
        self.latent_channels = latent_channels

    def _side(self, snr_db: torch.Tensor, batch: int, device) -> torch.Tensor:
        snr = snr_db.to(device).float().reshape(-1, 1).expand(batch, 1) / 20.0
        rate = torch.full((batch, 1), self.latent_channels / self.max_latent_channels, device=device)
        return torch.cat([snr, rate], dim=1)

    def encode(self, images: torch.Tensor, snr_db: torch.Tensor) -> torch.Tensor:
        """``[N, 3, H, W]`` -> the sent prefix of the latent ``[N, c, H/4, W/4]``."""
        side = self._side(snr_db, images.shape[0], images.device)
        x = images
        for stage in self.enc:
            x = stage(x, side)
        return x[:, : self.latent_channels]

    def decode(self, latent: torch.Tensor, snr_db: torch.Tensor) -> torch.Tensor:
        """Received prefix ``[N, c, H/4, W/4]`` (zeros appended for unsent channels) -> images."""
        n, c, h, w = latent.shape
        side = self._side(snr_db, n, latent.device)
        x = torch.cat([latent, latent.new_zeros(n, self.max_latent_channels - c, h, w)], dim=1)
        for stage in self.dec:
            x = stage(x, side)
        return torch.sigmoid(x)
