"""Sionna channel blocks driven by an explicit ``torch.Generator``.

Sionna 2.x blocks draw from a process-wide generator (``sionna.phy.config``). DESIGN.md §3 asks
for one generator per (seed, image, codec, channel, snr, cbr), so these thin subclasses read the
generator handed to them instead; the noise and fading formulas stay Sionna's own.
"""

from __future__ import annotations

import torch
from sionna.phy.channel import AWGN, GenerateFlatFadingChannel


def sionna_device(device: torch.device) -> str:
    """Sionna's name of a torch device: ``cpu``, ``cuda:0``, ..."""
    device = torch.device(device)
    if device.type == "cuda":
        return f"cuda:{device.index or 0}"
    return device.type


class _GeneratorMixin:
    _generator: torch.Generator | None = None

    @property
    def torch_rng(self) -> torch.Generator:  # overrides sionna.phy.object.Object.torch_rng
        if self._generator is None:
            raise RuntimeError("set a generator with .using(generator) before calling the block")
        return self._generator

    def using(self, generator: torch.Generator):
        """Bind the generator for the next call and return ``self``."""
        self._generator = generator
        return self


class SeededAWGN(_GeneratorMixin, AWGN):
    """Sionna's AWGN block: ``y = x + n``, n ~ CN(0, no)."""


class SeededFlatFading(_GeneratorMixin, GenerateFlatFadingChannel):
    """Sionna's flat-fading generator for one antenna pair: draws h ~ CN(0, 1)."""

    def __init__(self, **kwargs):
        super().__init__(num_tx_ant=1, num_rx_ant=1, **kwargs)
