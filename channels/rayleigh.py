"""Rayleigh flat-fading channel with block or fast fading."""

from __future__ import annotations

import math

import torch

from testbed.channels.sionna_blocks import sionna_device, SeededAWGN, SeededFlatFading
from testbed.core.channel import Channel, ChannelOutput, row_noise
from testbed.core.errors import ConfigError
from testbed.core.numbers import is_whole

CSI_MODES = ("perfect", "none")


class RayleighChannel(Channel):
    """y_i = h_i x_i + n_i with h ~ CN(0, 1) held constant over ``coherence`` symbols.

    Args:
        coherence: coherence length in symbols; 1 is fast fading (a new h every symbol).
        csi: ``perfect`` (the receiver is given h) or ``none`` (it gets only y).
    """

    name = "rayleigh"

    def __init__(self, coherence: int = 1, csi: str = "perfect") -> None:
        if not is_whole(coherence) or coherence < 1:
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

    def draw_state(self, shape, generator: torch.Generator) -> torch.Tensor:
        """h: complex64 of ``shape`` = ``(..., K)``, one draw per coherence block of each row."""
        shape = (shape,) if isinstance(shape, int) else tuple(shape)
        rows, num_symbols = math.prod(shape[:-1]), shape[-1]
        blocks = math.ceil(num_symbols / self.coherence)
        h_blocks = self._fading.using(generator)(rows * blocks).reshape(*shape[:-1], blocks)
        return h_blocks.repeat_interleave(self.coherence, dim=-1)[..., :num_symbols].to(torch.complex64)

    def apply(self, x, state, snr_db, generator) -> ChannelOutput:
        no = row_noise(snr_db, x.device)
        y = self._awgn.using(generator)(state.to(x.device) * x.to(torch.complex64), no)
        return ChannelOutput(y=y, h=state if self.csi == "perfect" else None, no=no)

    def capacity_per_use(self, snr_db: float) -> float:
        """Ergodic capacity E[log2(1 + |h|^2 snr)] = e^{1/snr} E1(1/snr) / ln 2 (bit/use)."""
        from scipy.special import exp1

        inv = 10.0 ** (-float(snr_db) / 10.0)
        return float(math.exp(inv) * exp1(inv) / math.log(2.0))

    def spec(self) -> dict:
        return {**super().spec(), "coherence": self.coherence, "csi": self.csi}

    def to(self, device: torch.device):
        """Rebuild the Sionna blocks on ``device`` (they draw their noise and fading there)."""
        super().to(device)
        self._fading = SeededFlatFading(device=sionna_device(self.device))
        self._awgn = SeededAWGN(device=sionna_device(self.device))
        return self

    def describe(self) -> dict:
        return {
            "channel_backend": "sionna.phy.channel.GenerateFlatFadingChannel+AWGN",
            "coherence": self.coherence,
            "csi": self.csi,
        }
