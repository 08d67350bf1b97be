"""Multipath channel models for OFDM, drawing from an explicit ``torch.Generator``.

Both return Sionna's channel impulse response ``(a, tau)`` for ``batch_size`` independent links
(one per OFDM slot here), which :func:`testbed.channels.ofdm.frequency_response` turns into
frequency responses (as Sionna's ``GenerateOFDMChannel`` does):

* ``a``: path gains, complex64 ``[batch, 1, 1, 1, 1, num_paths, num_time_steps]``;
* ``tau``: path delays in seconds, float32 ``[batch, 1, 1, num_paths]``.

:func:`tdl` is 3GPP TR 38.901 §7.7.2 TDL-A..E (Sionna's :class:`~sionna.phy.channel.tr38901.TDL`:
sum-of-sinusoids Rayleigh taps, Rician first tap for D and E, Doppler from the speed);
:class:`ExponentialPDP` is the simple textbook profile: ``num_paths`` Rayleigh taps spaced one
sample apart with powers ``exp(-l * Ts / delay_spread)``, normalised to sum 1, constant over a
slot (the multipath model of OFDM-guided deep JSCC, Yang et al., IEEE TCCN 2022).
"""

from __future__ import annotations

import math

import torch
from sionna.phy.channel import ChannelModel
from sionna.phy.channel.tr38901 import TDL

from testbed.channels.sionna_blocks import _GeneratorMixin


class SeededTDL(_GeneratorMixin, TDL):
    """Sionna's TR 38.901 TDL model, single antenna at each end, reading the bound generator."""


class ExponentialPDP(_GeneratorMixin, ChannelModel):
    """``num_paths`` sample-spaced Rayleigh taps with an exponential power-delay profile.

    Args:
        num_paths: taps L (>= 1).
        delay_spread: the profile's decay constant in seconds (the RMS delay spread for large L).
        sample_time: the tap spacing in seconds (1 / (fft_size * subcarrier_spacing)).
    """

    def __init__(self, num_paths: int, delay_spread: float, sample_time: float, device: str | None = None) -> None:
        super().__init__(device=device)
        delays, powers = self.profile(num_paths, delay_spread, sample_time)
        self._delays, self._powers = delays.float().to(self.device), powers.float().to(self.device)

    @staticmethod
    def profile(num_paths: int, delay_spread: float, sample_time: float) -> tuple[torch.Tensor, torch.Tensor]:
        """(delays in s, powers summing to 1), float64 ``[L]`` on the CPU."""
        delays = torch.arange(num_paths, dtype=torch.float64) * sample_time
        powers = torch.exp(-delays / delay_spread)
        return delays, powers / powers.sum()

    @property
    def delays(self) -> torch.Tensor:
        """Tap delays in seconds, float32 ``[L]``."""
        return self._delays

    @property
    def mean_powers(self) -> torch.Tensor:
        """Tap powers (sum 1), float32 ``[L]``."""
        return self._powers

    def __call__(self, batch_size: int, num_time_steps: int, sampling_frequency: float):
        num_paths = self._powers.numel()
        re_im = torch.randn((batch_size, 1, 1, 1, 1, num_paths, 2), generator=self.torch_rng,
                            device=self.device) * math.sqrt(0.5)
        a = torch.complex(re_im[..., 0], re_im[..., 1]) * self._powers.sqrt()
        a = a.unsqueeze(-1).expand(-1, -1, -1, -1, -1, -1, num_time_steps)
        tau = self._delays.expand(batch_size, 1, 1, num_paths)
        return a.to(torch.complex64), tau


def tdl(profile: str, delay_spread: float, carrier_frequency: float, max_speed: float,
        device: str | None = None) -> SeededTDL:
    """TDL-``profile`` (A..E) at ``delay_spread`` s, ``carrier_frequency`` Hz, speeds uniform in
    [0, ``max_speed``] m/s (0: no Doppler), one antenna at each end."""
    return SeededTDL(profile, delay_spread, carrier_frequency, min_speed=0.0, max_speed=max_speed, device=device)
