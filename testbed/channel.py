"""Channel base class: complex baseband symbols in, noisy symbols (and CSI) out.

Conventions (DESIGN.md §3): inputs are complex64 symbols with unit average energy; ``snr_db`` is
Es/N0 and the noise is CN(0, N0) with N0 = 10^(-snr_db/10). Drawing the channel state is separate
from applying it, so a receiver with perfect CSI reads the same h the channel used.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass

import torch


def noise_variance(snr_db: float) -> float:
    """N0 for unit-energy symbols at Es/N0 = ``snr_db`` dB."""
    return 10.0 ** (-float(snr_db) / 10.0)


@dataclass
class ChannelOutput:
    """What a receiver gets back from one use of the channel.

    Attributes:
        y: received symbols, complex64 ``[..., K]`` (same shape as the input).
        h: channel coefficients the receiver knows, complex64 ``[..., K]``, or ``None`` when the
            receiver has no CSI (or the channel has no fading).
        no: noise variance N0 (linear, per complex symbol).
    """

    y: torch.Tensor
    h: torch.Tensor | None
    no: float


class Channel(ABC):
    """A memoryless-noise channel model. Subclasses implement :meth:`draw_state` and :meth:`apply`."""

    name: str = "channel"

    @abstractmethod
    def draw_state(self, num_symbols: int, generator: torch.Generator) -> torch.Tensor | None:
        """Draw the channel coefficients for ``num_symbols`` uses (``None`` for no fading)."""

    @abstractmethod
    def apply(
        self, x: torch.Tensor, state: torch.Tensor | None, snr_db: float, generator: torch.Generator
    ) -> ChannelOutput:
        """Send ``x`` (complex64 ``[K]``) through the channel in state ``state``."""

    def __call__(self, x: torch.Tensor, snr_db: float, generator: torch.Generator) -> ChannelOutput:
        """Draw a state and apply it: ``x`` complex64 ``[K]`` -> :class:`ChannelOutput`."""
        if x.dim() != 1:
            raise ValueError(f"channel input must be a 1-D symbol vector, got shape {tuple(x.shape)}")
        state = self.draw_state(x.shape[-1], generator)
        return self.apply(x, state, snr_db, generator)

    def capacity_per_use(self, snr_db: float) -> float:
        """Capacity in bit per complex channel use at Es/N0 = ``snr_db`` (AWGN by default)."""
        return math.log2(1.0 + 10.0 ** (float(snr_db) / 10.0))

    def describe(self) -> dict:
        """Provenance fields recorded in every results row."""
        return {"channel_backend": type(self).__module__ + "." + type(self).__name__}
