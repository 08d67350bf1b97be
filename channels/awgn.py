"""Additive white Gaussian noise channel."""

from __future__ import annotations

import torch

from testbed.channel import Channel, ChannelOutput, noise_variance
from testbed.channels.sionna_blocks import SeededAWGN


class AWGNChannel(Channel):
    """y = x + n with n ~ CN(0, N0), N0 = 10^(-snr_db/10) for unit-energy symbols (Sionna AWGN)."""

    name = "awgn"

    def __init__(self) -> None:
        self._awgn = SeededAWGN()

    def draw_state(self, num_symbols: int, generator: torch.Generator) -> None:
        return None

    def apply(self, x, state, snr_db, generator) -> ChannelOutput:
        no = noise_variance(snr_db)
        y = self._awgn.using(generator)(x.to(torch.complex64), no)
        return ChannelOutput(y=y, h=None, no=no)

    def describe(self) -> dict:
        return {"channel_backend": "sionna.phy.channel.AWGN"}
