"""OFDM channel: settings checks, channel-use accounting (pilots and cyclic prefix counted), the
LDPC + QAM link against Sionna's own reference chain, the cost of estimated CSI against theory,
the ergodic capacity, and codecs over OFDM."""

from __future__ import annotations

import math

import pytest
import torch

from testbed.channels.ofdm import OFDMChannel
from testbed.codecs.digital.qam import QAMModem
from testbed.core.errors import ConfigError
from testbed.core.seeding import make_generator

from .ofdm_reference import our_ofdm_errors, sionna_ofdm_errors


# ---------------------------------------------------------------------------------- settings
@pytest.mark.parametrize("options, words", [
    ({"fft_size": 8}, "fft_size"),
    ({"fft_size": True}, "fft_size"),
    ({"subcarrier_spacing": float("nan")}, "subcarrier_spacing"),
    ({"delay_spread": -1e-7}, "delay_spread"),
    ({"pilot_ofdm_symbol_indices": [2, 14]}, "pilot_ofdm_symbol_indices"),
    ({"pilot_ofdm_symbol_indices": [2, 2]}, "pilot_ofdm_symbol_indices"),
    ({"pilot_ofdm_symbol_indices": "2"}, "pilot_ofdm_symbol_indices"),
    ({"csi": "ideal"}, "csi"),
    ({"tdl_model": "F"}, "tdl_model"),
    ({"model": "exponential", "max_speed": 3.0}, "max_speed=0"),
    ({"fft_size_typo": 64}, "unknown option"),
    ({"tdl_model": "E"}, "cyclic_prefix_length >= 12"),  # TDL-E at 300 ns reaches 6.2 us, beyond 6 samples
])
def test_bad_settings_are_refused_with_the_fix(options, words):
    with pytest.raises(ConfigError, match=words):
        OFDMChannel(**options)


# ---------------------------------------------------------------------------------- accounting
def test_channel_uses_count_data_pilots_and_cyclic_prefix():
    ch = OFDMChannel()  # 14 x 64 grid, pilots on 2 OFDM symbols, cyclic prefix 6
    assert (ch.data_per_slot, ch.uses_per_slot) == (12 * 64, 14 * (64 + 6))
    assert ch.overhead == pytest.approx(980 / 768)
    assert [ch.uses(k) for k in (1, 768, 769, 7680)] == [980, 980, 1960, 9800]
    assert [ch.symbols_within(b) for b in (979, 980, 1959, 10_000)] == [0, 768, 768, 7680]
    info = ch.describe()
    assert info["pilot_overhead"] == pytest.approx(2 / 14, abs=1e-6) and info["uses_per_slot"] == 980
    assert info["tdl_model"] == "A" and info["cyclic_prefix_length"] == 6


def test_digital_and_learned_codecs_keep_the_budget_with_overhead(make_cfg):
    from hydra.utils import instantiate

    from testbed.testing import tiny_image
    from testbed.run.link import transmit

    record = tiny_image(96, "rocket")
    channel = OFDMChannel(csi="perfect")
    cbr = 1 / 4
    budget = math.floor(cbr * record.num_values)
    cfg = make_cfg("codec=[jpeg_ldpc]")
    codec = instantiate(cfg.codec.jpeg_ldpc).bind("jpeg_ldpc")
    gens = lambda rec, *salt: make_generator("ofdm-codec", rec.image_id, *salt)  # noqa: E731
    for rec in transmit(codec, [record], channel, 30.0, cbr, gens)[0]:
        assert 0 < rec.channel_uses <= budget and rec.channel_uses % 980 == 0, rec
        assert not rec.decode_failed
    from testbed.codecs.learned.adjscc_net import ADJSCCNet
    from testbed.codecs.learned_jscc import LearnedJSCC

    learned = LearnedJSCC(model=ADJSCCNet(width=16), rates=list(range(1, 13))).bind("adjscc")
    learned.prepare(channel, 1 / 8)  # 1/8 over an overhead of 1.276: 12 / 96 does not fit, 9 / 96 does
    assert learned.network.latent_channels == 9
    (rec,) = transmit(learned, [record], channel, 30.0, 1 / 8, gens)[0]
    assert rec.channel_uses == channel.uses(9 * record.num_values // 96)  # c H/4 W/4 real values, paired


# ---------------------------------------------------------------------------------- fidelity
def _stats(errors: torch.Tensor, k: int) -> tuple[float, float, float, float]:
    """BER with its frame-clustered standard error, BLER with its binomial standard error."""
    frames = errors.numel()
    bler = (errors > 0).float().mean().item()
    return (errors.mean().item() / k, errors.std().item() / math.sqrt(frames) / k,
            bler, math.sqrt(max(bler * (1 - bler), 1.0 / frames) / frames))


def test_ldpc_qpsk_over_tdl_with_ls_estimation_matches_sionnas_chain():
    """QPSK, (k, n) = (768, 1536), one codeword per slot, TDL-A 300 ns, LS + linear interpolation,
    Eb/N0 7 dB (BLER about 0.4): equal to Sionna's own chain within 4 standard errors."""
    k, n, frames = 768, 1536, 400
    ours = _stats(our_ofdm_errors(7.0, frames, k, n, 2), k)
    ref = _stats(sionna_ofdm_errors(7.0, frames, k, n, 2), k)
    print(f"ours BER {ours[0]:.3e} BLER {ours[2]:.3f} | Sionna BER {ref[0]:.3e} BLER {ref[2]:.3f}")
    assert 0.2 < ref[2] < 0.7  # in the waterfall, where a wrong SNR or LLR scale shows
    assert abs(ours[0] - ref[0]) <= 4 * math.hypot(ours[1], ref[1])
    assert abs(ours[2] - ref[2]) <= 4 * math.hypot(ours[3], ref[3])


def _qpsk_ber(channel: OFDMChannel, snr_db: float, slots: int = 600) -> float:
    """Uncoded QPSK bit error rate over ``slots`` slots (hard decisions on the LLRs)."""
    modem = QAMModem()
    bits = torch.randint(0, 2, (2 * 768 * slots,), generator=make_generator("ofdm-theory", "bits")).float()
    out = channel(modem.modulate(bits, 2), snr_db, make_generator("ofdm-theory", "channel"))
    llr = modem.demodulate(out.y, out.no, out.h, 2, bits.numel())
    return ((llr > 0).float() != bits).float().mean().item()


@pytest.mark.parametrize("interpolation, pilots_averaged", [("nn", 1), ("lin_time_avg", 2)])
def test_estimated_csi_costs_what_theory_says(interpolation, pilots_averaged):
    """A static channel estimated by LS from m pilots of the same power: h_hat = h + e with
    var(e) = N0 / m, so for constant-modulus QPSK the equalised noise is N0 (1 + 1/m) / |h|^2 to
    first order. Estimated CSI at SNR + 10 log10(1 + 1/m) must give the BER of perfect CSI at SNR
    (m = 1: 3.01 dB for the nearest pilot; m = 2: 1.76 dB averaging both pilot symbols), within 10 %
    (600 slots: the errors cluster in the deep fades of a few slots)."""
    for snr in (12.0, 18.0):
        perfect = _qpsk_ber(OFDMChannel(csi="perfect"), snr)
        penalty = 10 * math.log10(1 + 1 / pilots_averaged)
        estimated = OFDMChannel(csi="estimated", interpolation=interpolation)
        shifted, same = _qpsk_ber(estimated, snr + penalty), _qpsk_ber(estimated, snr)
        assert shifted == pytest.approx(perfect, rel=0.10), (snr, perfect, shifted)
        assert same > 1.3 * perfect  # and the loss is real at equal SNR


def test_no_csi_hands_over_the_raw_elements_and_lmmse_estimation_beats_ls():
    raw = OFDMChannel(csi="none")(torch.ones(2000, dtype=torch.complex64), 20.0, make_generator("raw"))
    assert raw.h is None and not raw.equalized and raw.no == pytest.approx(0.01)
    assert (raw.y - 1).abs().median() > 0.3  # the channel is not undone
    ls, lmmse = (_qpsk_ber(OFDMChannel(csi="estimated", estimator=e), 20.0, 60) for e in ("ls", "lmmse"))
    perfect = _qpsk_ber(OFDMChannel(csi="perfect"), 20.0, 60)
    assert perfect <= lmmse < ls


# ---------------------------------------------------------------------------------- capacity
@pytest.mark.parametrize("options", [{}, {"model": "exponential", "delay_spread": 1e-6, "num_paths": 6}])
def test_ergodic_capacity_per_data_element_is_rayleighs(options):
    """NLOS taps are Rayleigh and sum to unit power: each element's gain is CN(0, 1), so the
    capacity per data element is the flat Rayleigh ergodic capacity (Monte Carlo, within 1 %)."""
    from testbed.channels.rayleigh import RayleighChannel

    ch = OFDMChannel(**options)
    for snr in (0.0, 10.0, 20.0):
        assert ch.capacity_per_use(snr) == pytest.approx(RayleighChannel().capacity_per_use(snr), rel=0.01)


# ---------------------------------------------------------------------------------- Sionna equality
@pytest.mark.parametrize("max_speed", [0.0, 30.0])
def test_channel_draw_equals_sionnas_generate_ofdm_channel(max_speed):
    """The static shortcut (one time step, held) and the one-antenna frequency response give what
    Sionna's GenerateOFDMChannel gives from the same random numbers."""
    from sionna.phy.channel import GenerateOFDMChannel

    ch = OFDMChannel(max_speed=max_speed)
    ours = ch.draw_state((3 * 768,), make_generator("draw", max_speed))
    reference = GenerateOFDMChannel(ch._paths.using(make_generator("draw", max_speed)), ch._grid)(3)
    assert ours.shape == reference.shape == (3, 1, 1, 1, 1, 14, 64)
    torch.testing.assert_close(ours, reference, rtol=1e-5, atol=2e-6)
    varies = (ours[:, ..., 0, :] - ours[:, ..., -1, :]).abs().max().item()
    assert (varies == 0.0) == (max_speed == 0.0)  # Doppler moves the response within the slot


def test_siso_lmmse_equals_sionnas_lmmse_equalizer():
    """The closed form equals Sionna's LMMSEEqualizer on LS estimates with their error variance."""
    import numpy as np
    from sionna.phy.mimo import StreamManagement
    from sionna.phy.ofdm import LMMSEEqualizer, ResourceGridDemapper

    from testbed.channels.ofdm import siso_lmmse

    ch = OFDMChannel()
    gen = make_generator("lmmse")
    state = ch.draw_state((4 * 768,), gen)
    grid = ch._mapper(torch.polar(torch.ones(4, 1, 1, 768), torch.rand(4, 1, 1, 768, generator=gen) * 6.283))
    no = torch.full((4, 1, 1), 0.05)
    y = ch._awgn.using(gen)(ch._apply(grid, state), no[..., None, None])
    h_hat, err_var = ch._estimator(y, no)
    streams = StreamManagement(np.ones([1, 1]), 1)
    x_ref, no_ref = LMMSEEqualizer(ch._grid, streams)(y, h_hat, err_var, no)
    # the data elements are read in the order Sionna's ResourceGridDemapper reads them (csi=none hands them over)
    assert torch.equal(ch._data_elements(y), ResourceGridDemapper(ch._grid, streams)(y).reshape(4, -1))
    x_hat, no_eff = siso_lmmse(*(ch._data_elements(t) for t in (y, h_hat, err_var)), no.reshape(4, 1))
    torch.testing.assert_close(x_hat, x_ref.reshape(4, -1), rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(no_eff, no_ref.reshape(4, -1).float(), rtol=1e-4, atol=1e-6)


def test_two_channels_built_alike_send_alike():
    """The pilots are fixed (Sionna's Kronecker values come from its unseeded generator): two
    channels with the same settings, in one process or two, give the same output for one seed."""
    x = torch.ones(2 * 768, dtype=torch.complex64)
    a, b = (OFDMChannel()(x, 10.0, make_generator("alike")) for _ in range(2))
    assert torch.equal(a.y, b.y) and torch.equal(a.no, b.no)
    pilots = OFDMChannel()._grid.pilot_pattern.pilots
    assert torch.allclose(pilots.abs(), torch.ones(()), atol=1e-6) and pilots.numel() == 2 * 64
