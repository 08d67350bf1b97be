"""5G LDPC + QAM chain: segmentation plan, noiseless round trips, fidelity against Sionna's own
reference link (BER/BLER within Monte Carlo tolerance), Rayleigh CSI handling, batched decoding and
MCS parsing."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
import torch

from testbed.channels.awgn import AWGNChannel
from testbed.channels.rayleigh import RayleighChannel
from testbed.codecs.digital.ldpc.codeword_plan import MAX_K, MAX_K_BELOW_THIRD, MIN_K
from testbed.codecs.digital.ldpc.ldpc5g import LDPC5G
from testbed.codecs.digital.mcs import AWGN_MCS_TABLE, MCS, parse_mcs
from testbed.codecs.digital.qam import QAMModem
from testbed.core.errors import ConfigError
from testbed.core.seeding import make_generator

from .ldpc_helpers import CountingDecoder


def _bits(shape, *seed_parts) -> torch.Tensor:
    return torch.randint(0, 2, shape, generator=make_generator("test-ldpc", *seed_parts)).float()


# ---------------------------------------------------------------------------------- (a) plan
@pytest.mark.parametrize("rate", [0.2, 0.3, 1 / 3, 0.5, 2 / 3, 948 / 1024])
@pytest.mark.parametrize("payload", [1, 11, 12, 13, 1000, 3825, 8448, 8449, 20000, 100_003])
def test_plan_properties(payload: int, rate: float) -> None:
    fec = LDPC5G()
    plan = fec.plan(payload, rate)
    cap = MAX_K if rate >= 1 / 3 else MAX_K_BELOW_THIRD
    assert plan.num_codewords == math.ceil(payload / cap)
    assert MIN_K <= plan.k <= cap
    assert plan.num_codewords * plan.k >= payload
    if plan.k > MIN_K:  # equal split: padding smaller than one bit per codeword
        assert plan.num_codewords * plan.k - payload < plan.num_codewords
    assert plan.n > plan.k
    assert plan.n >= plan.k / rate - 1e-9
    assert 1 / 5 <= plan.k / plan.n <= rate + 1e-12
    assert plan.coded_bits == plan.num_codewords * plan.n
    assert plan.payload_bits == payload
    assert fec.plan(payload, rate) == plan  # deterministic
    assert not fec._coders  # planning creates no Sionna object


def test_plan_exact_rates_and_edge_cases() -> None:
    fec = LDPC5G(max_info_bits=1024)
    assert [fec.plan(1024, 1 / 3).n, fec.plan(1024, 0.5).n, fec.plan(1023, 2 / 3).n] == [3072, 2048, 1535]
    assert fec.plan(2049, 0.5).num_codewords == 3 and fec.plan(2049, 0.5).k == 683
    empty = fec.plan(0, 0.5)
    assert empty.num_codewords == 0 and empty.coded_bits == 0
    # highest rate, tiny block: a parity bit is added so that the code decodes at all
    assert LDPC5G().plan(12, 948 / 1024).n == 14
    for bad_rate in (0.0, 0.05, 0.95, 1.0):  # below 1/10 even repetition is refused
        with pytest.raises(ConfigError, match="5G NR LDPC"):
            fec.plan(100, bad_rate)
    with pytest.raises(ConfigError, match="fec.decoder"):
        LDPC5G(decoder="fast-typo")
    with pytest.raises(ConfigError, match="max_info_bits"):
        LDPC5G(max_info_bits=9000)
    bits = _bits((1000,), "segment")
    plan = fec.plan(1000, 0.5)
    assert torch.equal(plan.desegment(plan.segment(bits)), bits)


# ---------------------------------------------------------------------------------- (b) noiseless
@pytest.mark.parametrize("bps", [2, 4, 6])
def test_noiseless_round_trip(bps: int) -> None:
    fec, modem = LDPC5G(max_info_bits=1024), QAMModem()
    payload = _bits((2500,), "noiseless", bps)
    plan = fec.plan(payload.numel(), 0.5)
    coded = fec.encode(plan.segment(payload), plan).reshape(-1)
    x = modem.modulate(coded, bps)
    assert x.dtype == torch.complex64 and x.numel() == math.ceil(coded.numel() / bps)
    llr = modem.demodulate(x, 1e-4, None, bps, coded.numel())
    assert llr.dtype == torch.float32 and llr.shape == coded.shape
    assert torch.equal((llr > 0).float(), coded)  # Sionna logits: positive LLR <=> bit 1
    decoded = fec.decode(llr.view(plan.num_codewords, plan.n), plan)
    assert torch.equal(plan.desegment(decoded), payload)


def test_constellation_has_unit_energy() -> None:
    modem = QAMModem()
    for bps in (2, 4, 6):
        labels = torch.arange(2**bps)
        bits = ((labels[:, None] >> torch.arange(bps - 1, -1, -1)) & 1).reshape(-1).float()
        points = modem.modulate(bits, bps)
        assert torch.view_as_real(points).unique(dim=0).shape[0] == 2**bps
        assert abs(points.abs().square().mean().item() - 1.0) < 1e-5


# ---------------------------------------------------------------------------------- (c) fidelity
def _reference_errors(ebno_db: float, frames: int, k: int, n: int, bps: int) -> torch.Tensor:
    """Sionna's link: BinarySource -> LDPC5GEncoder -> Mapper -> AWGN -> Demapper -> LDPC5GDecoder."""
    import sionna
    from sionna.phy.channel import AWGN
    from sionna.phy.fec.ldpc import LDPC5GDecoder, LDPC5GEncoder
    from sionna.phy.mapping import BinarySource, Demapper, Mapper
    from sionna.phy.utils import ebnodb2no

    sionna.phy.config.seed = 20240611
    enc = LDPC5GEncoder(k, n)
    dec = LDPC5GDecoder(enc, num_iter=20)
    source, mapper, awgn = BinarySource(), Mapper("qam", bps), AWGN()
    demapper = Demapper("app", "qam", bps)
    no = ebnodb2no(ebno_db, bps, k / n)
    errors = []
    for start in range(0, frames, 400):
        u = source([min(400, frames - start), k])
        y = awgn(mapper(enc(u)), no)
        errors.append((dec(demapper(y, no)) != u).sum(dim=1))
    return torch.cat(errors).float()


def _our_errors(ebno_db: float, frames: int, k: int, n: int, bps: int) -> torch.Tensor:
    """This project's chain: LDPC5G + QAMModem + AWGNChannel (Es/N0 from Eb/N0)."""
    fec, modem, channel = LDPC5G(max_info_bits=k, schedule="flooding", early_stop=False), QAMModem(), AWGNChannel()
    plan = fec.plan(frames * k, k / n)
    assert (plan.k, plan.n, plan.num_codewords) == (k, n, frames)
    u = _bits((frames, k), "fidelity", bps, ebno_db)
    coded = fec.encode(u, plan).reshape(-1)
    snr_db = ebno_db + 10 * math.log10(bps * k / n)
    out = channel(modem.modulate(coded, bps), snr_db, make_generator("test-ldpc", "awgn", bps, ebno_db))
    llr = modem.demodulate(out.y, out.no, out.h, bps, coded.numel())
    return (fec.decode(llr.view(frames, n), plan) != u).sum(dim=1).float()


def _stats(errors: torch.Tensor, k: int) -> tuple[float, float, float, float]:
    """BER, its frame-clustered standard error, BLER and its binomial standard error."""
    frames = errors.numel()
    ber = errors.mean().item() / k
    ber_se = errors.std().item() / math.sqrt(frames) / k
    bler = (errors > 0).float().mean().item()
    return ber, ber_se, bler, math.sqrt(max(bler * (1 - bler), 1.0 / frames) / frames)


@pytest.mark.parametrize(
    "bps, ebno_db, frames, bler_range",
    [
        (2, 1.25, 1000, (0.1, 0.4)),  # QPSK, BER ~1e-2
        (2, 2.0, 3200, (3e-4, 2e-2)),  # QPSK, BER ~1e-4
        (4, 3.5, 600, (0.1, 0.5)),  # 16QAM, BER ~1e-2: checks Es/N0 = Eb/N0 + 3 dB and 16QAM LLRs
    ],
)
def test_ber_matches_sionna_reference_chain(bps: int, ebno_db: float, frames: int, bler_range) -> None:
    k, n = 512, 1024
    ours = _stats(_our_errors(ebno_db, frames, k, n, bps), k)
    ref = _stats(_reference_errors(ebno_db, frames, k, n, bps), k)
    print(f"{2**bps}-QAM Eb/N0 {ebno_db} dB, {frames} frames: "
          f"ours BER {ours[0]:.2e} BLER {ours[2]:.4f} | "
          f"Sionna BER {ref[0]:.2e} BLER {ref[2]:.4f}")
    assert bler_range[0] < ref[2] < bler_range[1]  # the point sits in the waterfall, as intended
    assert abs(ours[0] - ref[0]) <= 4 * math.hypot(ours[1], ref[1]) + 1e-5
    assert abs(ours[2] - ref[2]) <= 4 * math.hypot(ours[3], ref[3]) + 1e-3


# ---------------------------------------------------------------------------------- (d) Rayleigh
def test_llrs_scale_with_channel_gain() -> None:
    modem = QAMModem()
    coded = _bits((400,), "gain")
    x = modem.modulate(coded, 2)
    h = torch.complex(*torch.randn(2, 200, generator=make_generator("test-ldpc", "h")))
    h[0] = 0  # a perfect fade must give LLR 0, not NaN
    no = 0.1
    llr = modem.demodulate(h * x, no, h, 2, coded.numel())
    expected = 2 * h.abs().square() / no  # exact QPSK LLR magnitude for a noiseless symbol
    assert torch.isfinite(llr).all() and llr[:2].abs().max() < 1e-6
    torch.testing.assert_close(llr.abs(), expected.repeat_interleave(2), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("csi", ["perfect", "none"])
def test_rayleigh_fast_fading_16qam(csi: str) -> None:
    fec, modem = LDPC5G(), QAMModem()
    payload = _bits((20000,), "rayleigh")
    plan = fec.plan(payload.numel(), 0.5)
    coded = fec.encode(plan.segment(payload), plan).reshape(-1)
    out = RayleighChannel(coherence=1, csi=csi)(modem.modulate(coded, 4), 20.0,
                                                 make_generator("test-ldpc", "rayleigh", csi))
    assert (out.h is None) == (csi == "none")
    llr = modem.demodulate(out.y, out.no, out.h, 4, coded.numel())
    decoded = plan.desegment(fec.decode(llr.view(plan.num_codewords, plan.n), plan))
    errors = (decoded != payload).sum().item()
    if csi == "perfect":
        assert errors == 0
    else:  # no CSI: random phase and gain, 16QAM cannot be demapped
        assert errors > 0.2 * payload.numel()


# ---------------------------------------------------------------------------------- (e) batching


def test_decode_batch_equals_separate_decodes() -> None:
    fec, modem, channel = LDPC5G(max_info_bits=1024), QAMModem(), AWGNChannel()
    items, truths = [], []
    for i, (payload, rate) in enumerate([(3000, 0.5), (2998, 0.5), (700, 2 / 3), (3000, 0.5)]):
        bits = _bits((payload,), "batch", i)
        plan = fec.plan(payload, rate)
        coded = fec.encode(plan.segment(bits), plan).reshape(-1)
        out = channel(modem.modulate(coded, 2), 1.5, make_generator("test-ldpc", "batch-awgn", i))
        llr = modem.demodulate(out.y, out.no, None, 2, coded.numel())
        items.append((plan, llr.view(plan.num_codewords, plan.n)))
        truths.append(bits)
    separate = [fec.decode(llr, plan) for plan, llr in items]
    counters = {key: CountingDecoder(dec) for key, (_, dec) in fec._coders.items()}
    fec._coders = {key: (enc, counters[key]) for key, (enc, _) in fec._coders.items()}
    batched = fec.decode_batch(items)
    for (plan, _), a, b in zip(items, separate, batched):
        assert b.shape == (plan.num_codewords, plan.k) and torch.equal(a, b)
    assert sorted(len(c.calls) for c in counters.values()) == [1, 1]  # one call per (k, n)
    assert sum(sum(c.calls) for c in counters.values()) == sum(p.num_codewords for p, _ in items)
    assert any((plan.desegment(b) != t).any() for (plan, _), b, t in zip(items, batched, truths))


# ---------------------------------------------------------------------------------- (f) MCS
def test_parse_mcs_forms_and_labels() -> None:
    assert parse_mcs("16qam-1/2") == MCS("16qam", 0.5)
    assert parse_mcs(" QPSK-2/3 ") == MCS("qpsk", 2 / 3)
    assert parse_mcs({"modulation": "64qam", "code_rate": "1/2"}) == MCS("64qam", 0.5)
    assert parse_mcs({"modulation": "qpsk", "code_rate": 0.75}).label == "qpsk-3/4"
    assert parse_mcs(AWGN_MCS_TABLE[0]) is AWGN_MCS_TABLE[0]
    labels = [m.label for m in AWGN_MCS_TABLE]
    assert labels == ["qpsk-1/3", "qpsk-1/2", "qpsk-2/3", "16qam-1/2", "16qam-2/3", "64qam-1/2"]
    assert all(parse_mcs(m.label) == m for m in AWGN_MCS_TABLE)
    assert [m.bits_per_symbol for m in AWGN_MCS_TABLE] == [2, 2, 2, 4, 4, 6]
    assert Fraction(parse_mcs("qpsk-0.4").code_rate).limit_denominator(16) == Fraction(2, 5)


@pytest.mark.parametrize(
    "bad, message",
    [
        ("512qam-1/2", "unknown modulation"),
        ("qpsk", "<modulation>-<code rate>"),
        ("qpsk-abc", "fraction"),
        ("qpsk-3/2", r"\(0, 1\)"),
        ("qpsk-0", r"\(0, 1\)"),
        ("qpsk-1/20", "5G NR LDPC"),
        ("16qam-0.95", "5G NR LDPC"),
        ({"modulation": "qpsk"}, "code_rate"),
        ({"modulation": 4, "code_rate": 0.5}, "string"),
        (0.5, "label like"),
    ],
)
def test_parse_mcs_errors(bad, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_mcs(bad)


def test_describe() -> None:
    fec = LDPC5G().describe()
    assert fec["fec"].startswith("5G NR LDPC (sionna 2.") and fec["fec_iterations"] == 20
    assert fec["fec_decoder"] == "fast"
    assert QAMModem("maxlog").describe()["demapping"] == "maxlog"
    with pytest.raises(ConfigError, match="demapping"):
        QAMModem("exact")
