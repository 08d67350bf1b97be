"""Rayleigh flat-fading channel with block or fast fading."""

from __future__ import annotations

import math

import torch

from testbed.channel import Channel, ChannelOutput, noise_variance
from testbed.channels.sionna_blocks import SeededAWGN, SeededFlatFading
from testbed.errors import ConfigError

CSI_MODES = ("perfect", "none")


class RayleighChannel(Channel):
    """y_i = h_i x_i + n_i with h ~ CN(0, 1) held constant over ``coherence`` symbols.

    Args:
        coherence: coherence length in symbols; 1 is fast fading (a new h every symbol).
        csi: ``perfect`` (the receiver is given h) or ``none`` (it gets only y).
    """

    name = "rayleigh"

    def __init__(self, coherence: int = 1, csi: str = "perfect") -> None:
        if not isinstance(coherence, int) or isinstance(coherence, bool) or coherence < 1:
            raise ConfigError(
                f"channel.coherence must be a whole number of symbols >= 1, got {coherence!r} "
                "(1 = fast fading, larger = block fading)"
            )
        if csi not in CSI_MODES:
            raise ConfigError(f"channel.csi must be one of {CSI_MODES}, got {csi!r}")
        self.coherence = coherence
        self.csi = csi
        self._fading = SeededFlatFading()
        self._awgn = SeededAWGN()

    def draw_state(self, num_symbols: int, generator: torch.Generator) -> torch.Tensor:
        """h: complex64 ``[num_symbols]``, one draw per coherence block."""
        blocks = math.ceil(num_symbols / self.coherence)
        h_blocks = self._fading.using(generator)(blocks).reshape(blocks)
        return h_blocks.repeat_interleave(self.coherence)[:num_symbols].to(torch.complex64)

    def apply(self, x, state, snr_db, generator) -> ChannelOutput:
        no = noise_variance(snr_db)
        y = self._awgn.using(generator)(state * x.to(torch.complex64), no)
        return ChannelOutput(y=y, h=state if self.csi == "perfect" else None, no=no)

    def capacity_per_use(self, snr_db: float) -> float:
        """Ergodic capacity E[log2(1 + |h|^2 snr)] = e^{1/snr} E1(1/snr) / ln 2 (bit/use)."""
        from scipy.special import exp1

        inv = 10.0 ** (-float(snr_db) / 10.0)
        return float(math.exp(inv) * exp1(inv) / math.log(2.0))

    def describe(self) -> dict:
        return {
            "channel_backend": "sionna.phy.channel.GenerateFlatFadingChannel+AWGN",
            "coherence": self.coherence,
            "csi": self.csi,
        }
