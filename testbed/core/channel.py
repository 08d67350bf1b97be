"""Channel base class: complex baseband symbols in, noisy symbols (and CSI) out, batched.

Conventions (DESIGN.md §3): inputs are complex64 symbols with unit average energy; ``snr_db`` is
Es/N0 and the noise is CN(0, N0) with N0 = 10^(-snr_db/10). Drawing the channel state is separate
from applying it, so a receiver with perfect CSI reads the same h the channel used.

Batches: symbols ``[..., K]``, one channel state per row, the SNR one number or one per row. One
generator draws the whole batch (training); a sequence of generators, one per row, draws each row
exactly as if it were sent alone (the sweep: every image's draw is seeded by its identity).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Sequence

import torch

from testbed.core.plugin import Plugin


def noise_variance(snr_db: float | torch.Tensor) -> float | torch.Tensor:
    """N0 for unit-energy symbols at Es/N0 = ``snr_db`` dB (a float, or a tensor of the same shape)."""
    if isinstance(snr_db, torch.Tensor):
        return torch.pow(10.0, -snr_db.double() / 10.0).float()
    return 10.0 ** (-float(snr_db) / 10.0)


def row_noise(snr_db: float | torch.Tensor, device: torch.device | None = None) -> float | torch.Tensor:
    """N0 as a :class:`ChannelOutput` carries it: a float, or float32 ``[..., 1]`` for per-row SNRs."""
    if isinstance(snr_db, torch.Tensor):
        return noise_variance(snr_db).to(device if device is not None else snr_db.device).unsqueeze(-1)
    return noise_variance(snr_db)


@dataclass
class ChannelOutput:
    """What a receiver gets back from one use of the channel.

    Attributes:
        y: received symbols, complex64 ``[..., K]`` (same shape as the input).
        h: channel coefficients the receiver knows, complex64 ``[..., K]``, or ``None`` when the
            receiver has no CSI (or the channel has no fading).
        no: noise variance N0 (linear, per complex symbol): a float, float32 ``[..., 1]`` with
            one value per row when the SNR differs between rows, or float32 ``[..., K]`` with one
            value per symbol (the post-equalisation noise of an equalising receiver).
        equalized: True when ``y`` is already an unbiased estimate of the sent symbols,
            ``y = x + e`` with ``e`` of variance ``no`` per symbol (an OFDM receiver's LMMSE output);
            ``h`` is then ``None``.
    """

    y: torch.Tensor
    h: torch.Tensor | None
    no: float | torch.Tensor
    equalized: bool = False

    def row(self, i: int) -> "ChannelOutput":
        """Row ``i`` of a ``[N, K]`` output as a ``[K]`` output."""
        no = self.no
        if isinstance(no, torch.Tensor):
            no = no[i, 0].item() if no.shape[-1] == 1 and self.y.shape[-1] != 1 else no[i]
        return ChannelOutput(self.y[i], None if self.h is None else self.h[i], no, self.equalized)

    def batched(self) -> "ChannelOutput":
        """A ``[K]`` output as a ``[1, K]`` batch (per-symbol noise gains its batch dimension)."""
        no = self.no[None] if isinstance(self.no, torch.Tensor) else self.no
        return ChannelOutput(self.y[None], None if self.h is None else self.h[None], no, self.equalized)


class Channel(Plugin, ABC):
    """A memoryless-noise channel model. Subclasses implement :meth:`draw_state` and :meth:`apply`."""

    name: str = "channel"

    @abstractmethod
    def draw_state(self, shape: tuple[int, ...] | int, generator: torch.Generator) -> torch.Tensor | None:
        """Channel coefficients complex64 of ``shape`` = ``(..., K)`` (``None`` for no fading)."""

    @abstractmethod
    def apply(self, x: torch.Tensor, state: torch.Tensor | None, snr_db: float | torch.Tensor,
              generator: torch.Generator) -> ChannelOutput:
        """Send ``x`` (complex64 ``[..., K]``) through the channel in state ``state``; a tensor
        ``snr_db`` has one value per row (shape ``x.shape[:-1]``)."""

    def __call__(self, x: torch.Tensor, snr_db: float | torch.Tensor,
                 generator: torch.Generator | Sequence[torch.Generator]) -> ChannelOutput:
        """Draw a state per row and apply it: ``x`` complex64 ``[..., K]`` -> :class:`ChannelOutput`.

        ``snr_db``: one number, or a tensor of shape ``x.shape[:-1]``. ``generator``: one for the
        batch, or a sequence with one per row (each row then draws as if sent alone).
        """
        if x.dim() < 1:
            raise ValueError(f"channel input must be symbols [..., K], got shape {tuple(x.shape)}")
        if isinstance(generator, torch.Generator):
            snr = _per_row(snr_db, x.shape[:-1])
            return self.apply(x, self.draw_state(tuple(x.shape), generator), snr, generator)
        rows = x.reshape(-1, x.shape[-1])
        if len(generator) != rows.shape[0]:
            raise ValueError(f"{len(generator)} generators for {rows.shape[0]} rows of symbols")
        snrs = _per_row(snr_db, x.shape[:-1])
        snrs = [snrs] * rows.shape[0] if not isinstance(snrs, torch.Tensor) else [float(s) for s in snrs.reshape(-1)]
        outs = [self(rows[i], snrs[i], g) for i, g in enumerate(generator)]
        y = torch.stack([o.y for o in outs]).reshape(x.shape)
        h = None if outs[0].h is None else torch.stack([o.h for o in outs]).reshape(x.shape)
        if isinstance(outs[0].no, torch.Tensor):  # one noise variance per symbol
            no = torch.stack([o.no for o in outs]).reshape(x.shape)
        elif len(set(snrs)) > 1:
            no = torch.tensor([[o.no] for o in outs], dtype=torch.float32, device=x.device).reshape(*x.shape[:-1], 1)
        else:
            no = outs[0].no
        return ChannelOutput(y, h, no, outs[0].equalized)

    #: Channel uses spent per data symbol in the long run (pilots, cyclic prefix...): 1 for a flat channel.
    overhead: float = 1.0

    def uses(self, num_symbols: int) -> int:
        """Complex channel uses (the CBR numerator) that sending ``num_symbols`` data symbols takes."""
        return int(num_symbols)

    def symbols_within(self, budget_uses: int) -> int:
        """The most data symbols whose :meth:`uses` fit in ``budget_uses`` channel uses."""
        return max(int(budget_uses), 0)

    def capacity_per_use(self, snr_db: float) -> float:
        """Capacity in bit per complex channel use at Es/N0 = ``snr_db`` (AWGN by default)."""
        return math.log2(1.0 + 10.0 ** (float(snr_db) / 10.0))

    def spec(self) -> dict:
        """What defines the channel a receiver (or a trained model) faces: its class and settings.

        Learned codecs match checkpoints on it: a model trained for one spec is not used for another.
        """
        return {"channel": f"{type(self).__module__}.{type(self).__name__}"}

    def describe(self) -> dict:
        """Provenance fields recorded in every results row."""
        return {"channel_backend": type(self).__module__ + "." + type(self).__name__}


def _per_row(snr_db: float | torch.Tensor, rows: torch.Size) -> float | torch.Tensor:
    """A float stays a float; a tensor must hold one SNR per row (``rows`` = ``x.shape[:-1]``)."""
    if not isinstance(snr_db, torch.Tensor):
        return float(snr_db)
    if snr_db.numel() == 1 and len(rows) == 0:
        return float(snr_db)
    if tuple(snr_db.shape) != tuple(rows):
        raise ValueError(f"snr_db of shape {tuple(snr_db.shape)} for symbol rows {tuple(rows)}")
    return snr_db
