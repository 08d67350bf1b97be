"""Gray-labelled square QAM on Sionna's Mapper and Demapper (unit average symbol energy).

Demapping gives Sionna's logit LLRs ``ln P(b=1 | y) / P(b=0 | y)`` (positive favours 1), the
convention :class:`~sionna.phy.fec.ldpc.LDPC5GDecoder` expects. With perfect CSI the receiver
equalises ``y / h`` and demaps with the per-symbol noise variance ``N0 / |h|^2``, so LLRs scale with
the channel gain |h|^2 (DESIGN.md §3); without CSI it demaps ``y`` as is with variance ``N0``.
"""

from __future__ import annotations

import math

import torch

from testbed.core.errors import ConfigError

DEMAPPING_METHODS: tuple[str, ...] = ("app", "maxlog")
#: Floor on |h|^2 so that a symbol in a (numerically) perfect fade gives LLRs ~ 0, not NaN.
MIN_GAIN: float = 1e-12


class QAMModem:
    """QAM mapper / demapper.

    Args:
        demapping: ``app`` (exact a-posteriori LLRs) or ``maxlog`` (max-log approximation).
    """

    def __init__(self, demapping: str = "app") -> None:
        if demapping not in DEMAPPING_METHODS:
            raise ConfigError(f"modem.demapping must be one of {DEMAPPING_METHODS}, got {demapping!r}")
        self.demapping = demapping
        self._blocks: dict[tuple[int, str], tuple[object, object]] = {}

    def _get(self, bits_per_symbol: int, device: torch.device) -> tuple[object, object]:
        """Cached (Mapper, Demapper) for ``bits_per_symbol`` on ``device``."""
        if isinstance(bits_per_symbol, bool) or bits_per_symbol not in (2, 4, 6, 8, 10):
            raise ValueError(f"bits_per_symbol must be an even number of 2..10, got {bits_per_symbol!r}")
        key = (int(bits_per_symbol), str(device))
        if key not in self._blocks:
            from sionna.phy.mapping import Constellation, Demapper, Mapper

            # "qam" points are normalised to unit average energy by Sionna
            const = Constellation("qam", int(bits_per_symbol), device=str(device))
            mapper = Mapper(constellation=const, device=str(device))
            demapper = Demapper(self.demapping, constellation=const, device=str(device))
            self._blocks[key] = (mapper, demapper)
        return self._blocks[key]

    def modulate(self, bits: torch.Tensor, bits_per_symbol: int) -> torch.Tensor:
        """float32 ``[L]`` of {0, 1} -> complex64 symbols ``[ceil(L / bits_per_symbol)]``.

        The tail is zero-padded to a whole symbol.
        """
        if bits.dim() != 1:
            raise ValueError(f"bits must be 1-D, got shape {tuple(bits.shape)}")
        mapper, _ = self._get(bits_per_symbol, bits.device)
        num_symbols = math.ceil(bits.numel() / bits_per_symbol)
        pad = num_symbols * bits_per_symbol - bits.numel()
        if pad:
            bits = torch.cat([bits, bits.new_zeros(pad)])
        if num_symbols == 0:
            return torch.zeros(0, dtype=torch.complex64, device=bits.device)
        return mapper(bits.to(torch.float32)).to(torch.complex64)

    def demodulate(
        self,
        y: torch.Tensor,
        no: float | torch.Tensor,
        h: torch.Tensor | None,
        bits_per_symbol: int,
        num_bits: int,
    ) -> torch.Tensor:
        """Received symbols -> logit LLRs.

        Args:
            y: received symbols, complex64 ``[K]``.
            no: noise variance N0 per complex symbol (linear): a float, or float32 ``[K]`` with one
                value per symbol (an equalising OFDM receiver's post-equalisation noise).
            h: channel coefficients complex64 ``[K]`` known to the receiver, or ``None``.
            bits_per_symbol: 2, 4 or 6.
            num_bits: number of coded bits sent (the zero-padded tail is dropped).

        Returns:
            float32 ``[num_bits]`` LLRs ``ln P(b=1|y) / P(b=0|y)``.
        """
        if y.dim() != 1:
            raise ValueError(f"y must be 1-D, got shape {tuple(y.shape)}")
        if num_bits > y.numel() * bits_per_symbol:
            raise ValueError(
                f"{y.numel()} symbols carry at most {y.numel() * bits_per_symbol} bits, asked {num_bits}"
            )
        _, demapper = self._get(bits_per_symbol, y.device)
        if y.numel() == 0:
            return torch.zeros(0, dtype=torch.float32, device=y.device)
        y = y.to(torch.complex64)
        if isinstance(no, torch.Tensor) and no.numel() > 1:
            no = no.to(device=y.device, dtype=torch.float32).reshape(y.shape)
        else:
            no = float(no)
        if h is None:
            y_eq = y
            no_eff = torch.full(y.shape, no, dtype=torch.float32, device=y.device) if isinstance(no, float) else no
        else:
            if h.shape != y.shape:
                raise ValueError(f"h must match y's shape {tuple(y.shape)}, got {tuple(h.shape)}")
            h = h.to(device=y.device, dtype=torch.complex64)
            gain = (h.real.square() + h.imag.square()).clamp_min(MIN_GAIN)  # |h|^2, float32
            y_eq = y * h.conj() / gain  # = y / h, safe at |h| = 0
            no_eff = no / gain
        llr = demapper(y_eq, no_eff)
        return llr.reshape(-1)[:num_bits].to(torch.float32)

    def describe(self) -> dict:
        """Provenance fields for results rows."""
        return {
            "modem": "sionna.phy.mapping Mapper/Demapper (Gray QAM, unit energy)",
            "demapping": self.demapping,
        }
