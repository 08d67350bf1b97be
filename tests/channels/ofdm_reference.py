"""Sionna's own OFDM link, built from its blocks, as the independent reference for the ``ofdm`` channel.

BinarySource -> LDPC5GEncoder (with the 38.212 bit interleaver) -> Mapper -> ResourceGridMapper ->
GenerateOFDMChannel(TDL) + ApplyOFDMChannel (Sionna's own noise and fading draws) ->
LSChannelEstimator -> LMMSEEqualizer -> Demapper (app) -> LDPC5GDecoder: one codeword per slot.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from testbed.codecs.digital.ldpc.ldpc5g import LDPC5G, CodewordPlan
from testbed.codecs.digital.qam import QAMModem
from testbed.channels.ofdm import OFDMChannel
from testbed.core.seeding import make_generator


def sionna_ofdm_errors(ebno_db: float, frames: int, k: int, n: int, bps: int, seed: int = 20261207,
                       interpolation: str = "lin") -> torch.Tensor:
    """Bit errors per codeword ``[frames]`` of Sionna's reference chain over TDL-A 300 ns, LS estimation."""
    import sionna
    from sionna.phy.channel import ApplyOFDMChannel, GenerateOFDMChannel
    from sionna.phy.channel.tr38901 import TDL
    from sionna.phy.fec.ldpc import LDPC5GDecoder, LDPC5GEncoder
    from sionna.phy.mapping import BinarySource, Demapper, Mapper
    from sionna.phy.mimo import StreamManagement
    from sionna.phy.ofdm import LMMSEEqualizer, LSChannelEstimator, ResourceGrid, ResourceGridMapper
    from sionna.phy.utils import ebnodb2no

    sionna.phy.config.seed = seed
    grid = ResourceGrid(num_ofdm_symbols=14, fft_size=64, subcarrier_spacing=30e3, cyclic_prefix_length=6,
                        pilot_pattern="kronecker", pilot_ofdm_symbol_indices=[2, 11])
    assert n == grid.num_data_symbols * bps, "one codeword per slot"
    streams = StreamManagement(np.ones([1, 1]), 1)
    enc = LDPC5GEncoder(k, n, num_bits_per_symbol=bps)
    dec = LDPC5GDecoder(enc, num_iter=20)
    source, mapper, demapper = BinarySource(), Mapper("qam", bps), Demapper("app", "qam", bps)
    generate = GenerateOFDMChannel(TDL("A", 300e-9, 3.5e9), grid)
    apply, rg_mapper = ApplyOFDMChannel(), ResourceGridMapper(grid)
    estimate, equalize = LSChannelEstimator(grid, interpolation_type=interpolation), LMMSEEqualizer(grid, streams)
    no = ebnodb2no(ebno_db, bps, k / n)  # per resource element: Es/N0 = Eb/N0 + 10 log10(bps k/n)
    errors = []
    for start in range(0, frames, 200):
        size = min(200, frames - start)
        u = source([size, 1, 1, k])
        y = apply(rg_mapper(mapper(enc(u))), generate(size), no)
        h_hat, err_var = estimate(y, no)
        x_hat, no_eff = equalize(y, h_hat, err_var, no)
        errors.append((dec(demapper(x_hat, no_eff)) != u).reshape(size, k).sum(dim=1))
    return torch.cat(errors).float()


def our_ofdm_errors(ebno_db: float, frames: int, k: int, n: int, bps: int, seed: int = 0,
                    **options) -> torch.Tensor:
    """Bit errors per codeword ``[frames]`` of this project's chain: LDPC5G + QAMModem + ``ofdm``."""
    fec, modem = LDPC5G(max_info_bits=k, schedule="flooding", early_stop=False), QAMModem()
    channel = OFDMChannel(interpolation=options.pop("interpolation", "lin"), **options)
    plan = CodewordPlan(k=k, n=n, num_codewords=frames)
    u = torch.randint(0, 2, (frames, k), generator=make_generator("test-ofdm", "bits", seed, ebno_db)).float()
    coded = fec.interleave_bits(fec.encode(u, plan), bps).reshape(-1)
    snr_db = ebno_db + 10 * math.log10(bps * k / n)
    out = channel(modem.modulate(coded, bps), snr_db, make_generator("test-ofdm", "channel", seed, ebno_db))
    llr = fec.deinterleave_llrs(modem.demodulate(out.y, out.no, out.h, bps, coded.numel()).view(frames, n), bps)
    return (fec.decode(llr, plan) != u).sum(dim=1).float()
