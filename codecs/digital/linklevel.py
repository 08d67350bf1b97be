"""Link-level Monte Carlo: BER and BLER of 5G LDPC + QAM over a channel, as link simulators do.

Each Eb/N0 point sends batches of random codewords until ``max_block_errors`` codeword errors
or ``max_frames`` codewords, whichever comes first, then reports the bit and block error rates
with their counts (so confidence intervals can be drawn). Es/N0 = Eb/N0 + 10 log10(bits per
symbol x k/n).
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from typing import Sequence

import torch

from testbed.core.channel import Channel
from testbed.codecs.digital.ldpc.ldpc5g import LDPC5G, CodewordPlan
from testbed.codecs.digital.coded_modulation import CodedModulation
from testbed.codecs.digital.mcs import parse_mcs
from testbed.codecs.digital.qam import QAMModem
from testbed.core.seeding import make_generator
from testbed.run.link import send


@dataclass
class LinkPoint:
    """Error counts at one Eb/N0 (dB); rates are errors / trials."""

    decoder: str
    channel: str
    modulation: str
    k: int
    n: int
    ebno_db: float
    snr_db: float
    frames: int
    bit_errors: int
    block_errors: int
    seconds: float
    interleave: bool = True  #: the 38.212 bit interleaver was applied (``fec.interleave``)

    @property
    def ber(self) -> float:
        return self.bit_errors / max(1, self.frames * self.k)

    @property
    def bler(self) -> float:
        return self.block_errors / max(1, self.frames)

    def as_row(self) -> dict:
        return {**asdict(self), "ber": self.ber, "bler": self.bler}


def ebno_to_snr_db(ebno_db: float, bits_per_symbol: int, rate: float) -> float:
    """Es/N0 in dB for an Eb/N0 in dB, modulation order and code rate."""
    return ebno_db + 10.0 * math.log10(bits_per_symbol * rate)


def simulate_point(coding: CodedModulation, channel: Channel, k: int, n: int, modulation: str,
                   ebno_db: float, max_block_errors: int = 100, max_frames: int = 10_000,
                   batch: int = 200, seed: int = 0) -> LinkPoint:
    """Monte Carlo BER/BLER at one Eb/N0 for the code (k, n) and a QAM order, through the link."""
    mcs = parse_mcs(f"{modulation}-1/2")
    snr_db = ebno_to_snr_db(ebno_db, mcs.bits_per_symbol, k / n)
    frames = bit_errors = block_errors = 0
    started = time.perf_counter()
    draw = 0
    while block_errors < max_block_errors and frames < max_frames:
        size = min(batch, max_frames - frames)
        plan = CodewordPlan(k=k, n=n, num_codewords=size)
        gen = make_generator(seed, "linklevel", k, n, modulation, ebno_db, draw)
        bits = torch.randint(0, 2, (size, k), generator=gen).float()
        received = send(channel, coding.encode(bits.reshape(-1), plan, mcs), snr_db, gen)
        decoded = coding.decode([(plan, coding.llrs(received, plan, mcs))])[0].view(size, k)
        errors = (decoded != bits).sum(dim=1)
        bit_errors += int(errors.sum())
        block_errors += int((errors > 0).sum())
        frames += size
        draw += 1
    return LinkPoint(coding.fec.decoder, getattr(channel, "name", type(channel).__name__), modulation, k, n,
                     float(ebno_db), snr_db, frames, bit_errors, block_errors, time.perf_counter() - started,
                     coding.fec.interleave)


def waterfall(k: int, n: int, modulation: str, ebno_db: Sequence[float], channel: Channel,
              decoders: Sequence[str] = ("fast",), iterations: int = 20, interleave: bool = True,
              **kwargs) -> list[LinkPoint]:
    """BER/BLER curves of each decoder over the Eb/N0 list (same seeds, so the same noise); with or
    without the 38.212 bit interleaver."""
    points = []
    for decoder in decoders:
        coding = CodedModulation(LDPC5G(iterations=iterations, decoder=decoder, interleave=interleave), QAMModem())
        for ebno in ebno_db:
            points.append(simulate_point(coding, channel, k, n, modulation, ebno, **kwargs))
    return points
