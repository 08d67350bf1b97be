"""Additive white Gaussian noise channel."""

from __future__ import annotations

import torch

from testbed.channels.sionna_blocks import sionna_device, SeededAWGN
from testbed.core.channel import Channel, ChannelOutput, row_noise


class AWGNChannel(Channel):
    """y = x + n with n ~ CN(0, N0), N0 = 10^(-snr_db/10) for unit-energy symbols (Sionna AWGN)."""

    name = "awgn"

    def __init__(self) -> None:
        self._awgn = SeededAWGN()

    def draw_state(self, shape, generator: torch.Generator) -> None:
        return None

    def apply(self, x, state, snr_db, generator) -> ChannelOutput:
        no = row_noise(snr_db, x.device)
        y = self._awgn.using(generator)(x.to(torch.complex64), no)
        return ChannelOutput(y=y, h=None, no=no)

    def to(self, device: torch.device):
        """Rebuild the Sionna blocks on ``device`` (they draw their noise and fading there)."""
        super().to(device)
        self._awgn = SeededAWGN(device=sionna_device(self.device))
        return self

    def describe(self) -> dict:
        return {"channel_backend": "sionna.phy.channel.AWGN"}
