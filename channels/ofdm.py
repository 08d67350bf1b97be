"""OFDM over a multipath channel: pilots, channel estimation and LMMSE equalisation (Sionna 2.x).

A codec's symbols fill the data resource elements of as many slots as they need (the last slot's
unused elements carry zeros). Per slot (one transmit and one receive antenna):

    grid = ResourceGridMapper(data, pilots)              [slots, 1, 1, S, F]
    h    = GenerateOFDMChannel(TDL or exponential PDP)   frequency response per resource element
    y    = h * grid + n,  n ~ CN(0, N0)                  (frequency domain; the cyclic prefix covers
                                                          every path, checked at construction)
    h_hat, err_var = perfect | LS at the pilots + interpolation | LMMSE estimation
    x_hat, no_eff  = LMMSE equalisation per data resource element (one antenna each end: the
                     closed form of Sionna's LMMSEEqualizer, equal to it in the tests, 25x faster)

The receiver hands the codec ``x_hat`` (an unbiased estimate of the sent symbols) with its
post-equalisation noise ``no_eff`` per symbol (``ChannelOutput.equalized``); with ``csi: none``
it hands over the data elements of ``y`` as received. SNR is Es/N0 per resource element.

Channel uses (the CBR numerator) are time-domain samples: every slot sent costs
``S * (F + cyclic_prefix_length)`` uses, data, pilots and cyclic prefix alike; a slot carries
``S * F - pilots`` data symbols. Slots are independent channel draws (block fading per slot,
Doppler within it).
"""

from __future__ import annotations

import inspect
import math
from dataclasses import fields

import torch
from sionna.phy.channel import ApplyOFDMChannel, subcarrier_frequencies
from sionna.phy.ofdm import (LMMSEChannelEstimator, LSChannelEstimator, PilotPattern, ResourceGrid, ResourceGridMapper,
                             tdl_freq_cov_mat, tdl_time_cov_mat)

from testbed.channels.multipath import ExponentialPDP, tdl
from testbed.channels.ofdm_settings import OFDMSettings
from testbed.channels.sionna_blocks import SeededAWGN, sionna_device
from testbed.core.channel import Channel, ChannelOutput, row_noise
from testbed.core.errors import ConfigError

#: Draws per SNR of the Monte Carlo ergodic capacity (slots of the resource grid).
CAPACITY_SLOTS = 256


class OFDMChannel(Channel):
    """One-antenna OFDM link over a TDL or exponential multipath channel; options in
    :class:`~testbed.channels.ofdm_settings.OFDMSettings` (the config node's keys)."""

    name = "ofdm"

    def __init__(self, **options) -> None:
        self.settings = OFDMSettings.parse(options)
        self._build("cpu")

    # --- construction -------------------------------------------------------------------------
    def _build(self, device: str) -> None:
        s = self.settings
        grid = dict(num_ofdm_symbols=s.num_ofdm_symbols, fft_size=s.fft_size, subcarrier_spacing=s.subcarrier_spacing,
                    num_tx=1, num_streams_per_tx=1, cyclic_prefix_length=s.cyclic_prefix_length)
        # Sionna's Kronecker pattern gives the pilot positions; its QPSK values come from Sionna's
        # unseeded process-wide generator, so they are drawn here from a fixed seed instead: the
        # same pilots in every run, every process and on every device
        kronecker = ResourceGrid(**grid, pilot_pattern="kronecker",
                                 pilot_ofdm_symbol_indices=list(s.pilot_ofdm_symbol_indices), device="cpu").pilot_pattern
        signs = 1 - 2 * torch.randint(0, 2, (*kronecker.pilots.shape, 2), generator=torch.Generator().manual_seed(0))
        values = torch.complex(signs[..., 0].float(), signs[..., 1].float()) / math.sqrt(2)  # unit-energy QPSK
        pilots = PilotPattern(kronecker.mask.to(device), values.to(device), device=device)
        self._grid = ResourceGrid(**grid, pilot_pattern=pilots, device=device)
        sample_time = 1.0 / (s.fft_size * s.subcarrier_spacing)
        if s.model == "tdl":
            self._paths = tdl(s.tdl_model, s.delay_spread, s.carrier_frequency, s.max_speed, device=device)
        else:
            self._paths = ExponentialPDP(s.num_paths, s.delay_spread, sample_time, device=device)
        last_delay = float(self._profile()[0].max())
        if last_delay > s.cyclic_prefix_length * sample_time * (1 + 1e-6):
            need = math.ceil(last_delay / sample_time - 1e-6)
            raise ConfigError(
                f"channel ofdm: the last path arrives {last_delay * 1e9:.0f} ns late, beyond the cyclic prefix "
                f"({s.cyclic_prefix_length} samples = {s.cyclic_prefix_length * sample_time * 1e9:.0f} ns), "
                f"so the frequency-domain model would miss the inter-symbol interference: set "
                f"cyclic_prefix_length >= {need} or lower " + ("delay_spread" if s.model == "tdl" else "num_paths"))
        self._frequencies = subcarrier_frequencies(s.fft_size, s.subcarrier_spacing, device=device)
        self._static = s.model == "exponential" or s.max_speed == 0.0  # no Doppler: one time step per slot
        self._apply = ApplyOFDMChannel(device=device)
        self._awgn = SeededAWGN(device=device)
        self._mapper = ResourceGridMapper(self._grid, device=device)
        # the data elements in Sionna's order (row-major over the grid), as its ResourceGridDemapper reads them
        self._data_index = torch.nonzero(self._grid.pilot_pattern.mask.reshape(-1) == 0).reshape(-1).to(device)
        self._estimator = self._make_estimator(device, sample_time) if s.csi == "estimated" else None
        self._capacity: dict[float, float] = {}

    def _make_estimator(self, device: str, sample_time: float):
        s = self.settings
        if s.estimator == "ls":
            return LSChannelEstimator(self._grid, interpolation_type=s.interpolation, device=device)
        if s.model == "tdl":
            freq = tdl_freq_cov_mat(s.tdl_model, s.subcarrier_spacing, s.fft_size, s.delay_spread, device=device)
            time = tdl_time_cov_mat(s.tdl_model, s.max_speed, s.carrier_frequency,
                                    self._grid.ofdm_symbol_duration, s.num_ofdm_symbols, device=device)
        else:  # R_f[u, v] = sum_l P_l exp(-j 2 pi tau_l df (u - v)); static over the slot
            delays, powers = self._profile()
            lag = torch.arange(s.fft_size, dtype=torch.float64)
            phase = -2j * math.pi * s.subcarrier_spacing * (lag[:, None] - lag[None, :])[..., None] * delays
            freq = (torch.exp(phase) * powers).sum(-1).to(torch.complex64).to(device)
            time = torch.ones(s.num_ofdm_symbols, s.num_ofdm_symbols, dtype=torch.complex64, device=device)
        return LMMSEChannelEstimator(self._grid, time, freq, order="f-t", device=device)

    def _profile(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The multipath model's (delays in s, mean powers), float64 ``[L]`` on the CPU."""
        s = self.settings
        if s.model == "tdl":
            cpu = tdl(s.tdl_model, s.delay_spread, s.carrier_frequency, s.max_speed, device="cpu")
            return cpu.delays.double(), cpu.mean_powers.double()
        return ExponentialPDP.profile(s.num_paths, s.delay_spread, 1.0 / (s.fft_size * s.subcarrier_spacing))

    # --- channel uses -------------------------------------------------------------------------
    @property
    def data_per_slot(self) -> int:
        """Data resource elements per slot."""
        return int(self._grid.num_data_symbols)

    @property
    def uses_per_slot(self) -> int:
        """Time-domain samples per slot: ``S * (F + cyclic_prefix_length)``."""
        s = self.settings
        return s.num_ofdm_symbols * (s.fft_size + s.cyclic_prefix_length)

    @property
    def overhead(self) -> float:
        return self.uses_per_slot / self.data_per_slot

    def uses(self, num_symbols: int) -> int:
        return math.ceil(int(num_symbols) / self.data_per_slot) * self.uses_per_slot

    def symbols_within(self, budget_uses: int) -> int:
        return max(int(budget_uses), 0) // self.uses_per_slot * self.data_per_slot

    # --- the link -----------------------------------------------------------------------------
    def draw_state(self, shape, generator: torch.Generator) -> torch.Tensor:
        """Frequency responses complex64 ``[rows * slots, 1, 1, 1, 1, S, F]`` for ``shape = (..., K)``
        (Sionna's GenerateOFDMChannel without normalisation; a static channel is drawn at one time
        step and held: the same random numbers and the same response as drawing all S)."""
        shape = (shape,) if isinstance(shape, int) else tuple(shape)
        slots = math.prod(shape[:-1]) * max(math.ceil(shape[-1] / self.data_per_slot), 1)
        steps = 1 if self._static else self.settings.num_ofdm_symbols
        a, tau = self._paths.using(generator)(slots, steps, 1.0 / self._grid.ofdm_symbol_duration)
        h = frequency_response(self._frequencies, a, tau)
        return h.expand(*h.shape[:-2], self.settings.num_ofdm_symbols, h.shape[-1]) if self._static else h

    def apply(self, x, state, snr_db, generator) -> ChannelOutput:
        rows, k = x.reshape(-1, x.shape[-1]), x.shape[-1]
        slots = state.shape[0] // rows.shape[0]
        data = torch.zeros(rows.shape[0], slots * self.data_per_slot, dtype=torch.complex64, device=x.device)
        data[:, :k] = rows.to(torch.complex64)
        grid = self._mapper(data.reshape(-1, 1, 1, self.data_per_slot))        # [B, 1, 1, S, F]
        no = row_noise(snr_db, x.device)
        no_slot = (no.reshape(-1, 1).expand(-1, slots).reshape(-1) if isinstance(no, torch.Tensor)
                   else torch.full((grid.shape[0],), float(no), device=x.device))
        y = self._awgn.using(generator)(self._apply(grid, state.to(x.device)), no_slot.reshape(-1, 1, 1, 1, 1))
        if self.settings.csi == "none":
            received = self._data_elements(y).reshape(rows.shape[0], -1)[:, :k].reshape(x.shape)
            return ChannelOutput(y=received, h=None, no=no)
        if self.settings.csi == "perfect":
            h_hat, err_var = state, torch.zeros((), device=x.device)
        else:
            h_hat, err_var = self._estimator(y, no_slot.reshape(-1, 1, 1))
        x_hat, no_eff = siso_lmmse(*(self._data_elements(t) for t in (y, h_hat, err_var)), no_slot[:, None])
        x_hat = x_hat.reshape(rows.shape[0], -1)[:, :k].reshape(x.shape)
        no_eff = no_eff.reshape(rows.shape[0], -1)[:, :k].reshape(x.shape)
        return ChannelOutput(y=x_hat, h=None, no=no_eff, equalized=True)

    def _data_elements(self, grid: torch.Tensor) -> torch.Tensor:
        """``[B, ..., S, F]`` (or a scalar) -> its data resource elements ``[B, D]`` in Sionna's order."""
        if grid.dim() == 0:
            return grid
        return grid.reshape(grid.shape[0], -1)[:, self._data_index]

    def capacity_per_use(self, snr_db: float) -> float:
        """Ergodic capacity per data resource element with perfect CSI, E[log2(1 + |h|^2 snr)]
        (bit), by Monte Carlo over :data:`CAPACITY_SLOTS` slots of a fixed seed."""
        snr_db = float(snr_db)
        if snr_db not in self._capacity:
            generator = torch.Generator(device=self.device).manual_seed(0)
            gain = self.draw_state((CAPACITY_SLOTS * self.data_per_slot,), generator).abs().square().double()
            self._capacity[snr_db] = float(torch.log2(1 + gain * 10 ** (snr_db / 10)).mean())
        return self._capacity[snr_db]

    # --- identity -----------------------------------------------------------------------------
    def spec(self) -> dict:
        return {**super().spec(), **self.settings.as_dict()}

    def to(self, device: torch.device):
        """Rebuild the Sionna blocks on ``device``."""
        super().to(device)
        self._build(sionna_device(self.device))
        return self

    def describe(self) -> dict:
        s = self.settings
        estimator = {"perfect": "perfect CSI", "none": "none (raw data elements)",
                     "estimated": f"{'LSChannelEstimator' if s.estimator == 'ls' else 'LMMSEChannelEstimator'}"}[s.csi]
        model = (f"tr38901.TDL-{s.tdl_model}" if s.model == "tdl" else f"exponential PDP, {s.num_paths} taps")
        return {"channel_backend": f"sionna.phy.ofdm (ResourceGrid, {estimator}, one-antenna LMMSEEqualizer) + {model}",
                **s.as_dict(), "data_per_slot": self.data_per_slot, "uses_per_slot": self.uses_per_slot,
                "pilot_overhead": round(1 - self.data_per_slot / (s.num_ofdm_symbols * s.fft_size), 6),
                "overhead": round(self.overhead, 6)}


def frequency_response(frequencies: torch.Tensor, a: torch.Tensor, tau: torch.Tensor) -> torch.Tensor:
    """``H[b, t, f] = sum_l a[b, l, t] exp(-j 2 pi f tau[b, l])`` for one antenna pair, in Sionna's
    layout: ``a`` ``[B, 1, 1, 1, 1, L, T]``, ``tau`` ``[B, 1, 1, L]`` (s), ``frequencies`` ``[F]`` (Hz)
    -> complex64 ``[B, 1, 1, 1, 1, T, F]``. Sionna's cir_to_ofdm_channel without normalisation
    (equal in the tests), 5x faster on this one-antenna layout; the phase is formed in float64."""
    phase = -2 * math.pi * tau[:, 0, 0, :, None].double() * frequencies.double()  # [B, L, F]
    steering = torch.polar(torch.ones_like(phase), phase).to(torch.complex64)
    h = torch.einsum("blt,blf->btf", a[:, 0, 0, 0, 0].to(torch.complex64), steering)
    return h[:, None, None, None, None]


def siso_lmmse(y: torch.Tensor, h_hat: torch.Tensor, err_var, no: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """LMMSE equalisation with one antenna at each end, the estimation error counted as noise:
    ``x_hat = y / h_hat`` (unbiased) and ``no_eff = (N0 + err_var) / |h_hat|^2``, what Sionna's
    LMMSEEqualizer computes through its general matrix path (``conj(h) y / (|h|^2 + N0 + err_var)``
    divided by its gain ``|h|^2 / (|h|^2 + N0 + err_var)``). Shapes broadcast; ``[B, D]`` here."""
    gain = (h_hat.real.square() + h_hat.imag.square()).clamp_min(1e-30)  # |h_hat|^2, safe at a null
    return h_hat.conj() * y / gain, ((no + err_var) / gain).float()


#: The constructor's keywords and defaults are the settings' fields (checkpoints fill in the
#: defaults a training config left out from this signature).
OFDMChannel.__signature__ = inspect.Signature(
    [inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY,
                       default=list(f.default) if isinstance(f.default, tuple) else f.default)
     for f in fields(OFDMSettings)])

__all__ = ["OFDMChannel", "frequency_response", "siso_lmmse"]
