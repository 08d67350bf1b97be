"""Separate source and channel coding: source codec + 5G NR LDPC + QAM (DESIGN.md §4).

Per image and MCS: the highest source quality whose file fits the channel-use budget
``floor(cbr * H*W*3)`` once LDPC-encoded and QAM-mapped is sent; the receiver demaps (equalising
with h where it has CSI), LDPC-decodes all codewords of the sweep point in shared batches and
source-decodes. Residual bit errors are kept; a stream that does not decode gives the fallback
image with ``decode_failed = True``. The code-block layout (k, n, number of codewords) and the
file length are assumed known to the receiver, as control signalling would carry them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import torch

from testbed.channel import Channel
from testbed.codec import Codec, ImageRecord, Reception, SourceCodec, fallback_image
from testbed.codecs.bits import bits_to_bytes, bytes_to_bits
from testbed.codecs.ldpc import LDPC5G
from testbed.codecs.mcs import AWGN_MCS_TABLE, MCS, parse_mcs
from testbed.codecs.qam import QAMModem
from testbed.codecs.rate_control import EncodingCache, best_quality
from testbed.errors import ConfigError
from testbed.images import rgb8_to_tensor


def parse_mcs_list(mcs) -> tuple[MCS, ...]:
    """``"table"`` (the AWGN table), one MCS, or a list of them -> a tuple of :class:`MCS`."""
    if isinstance(mcs, str) and mcs == "table":
        return tuple(AWGN_MCS_TABLE)
    items = mcs if isinstance(mcs, (list, tuple)) else [mcs]
    if not items:
        raise ConfigError("codec mcs list is empty: give e.g. mcs: 16qam-1/2 or mcs: table")
    return tuple(parse_mcs(m) for m in items)


@dataclass
class _Pending:
    """One image x MCS whose codewords wait for the batched LDPC decoder."""

    index: int
    mcs: MCS
    quality: float
    data: bytes
    plan: object
    llrs: torch.Tensor
    channel_uses: int


class Separation(Codec):
    """``Separation(source, fec, modem)``: a source codec over LDPC-coded QAM.

    Args:
        source: the image codec (JPEG, BPG, ...).
        fec: the channel code (:class:`~testbed.codecs.ldpc.LDPC5G`).
        modem: the QAM mapper/demapper.
        mcs: one MCS (``"16qam-1/2"`` or ``{modulation, code_rate}``) -> reported as ``fixed``; a
            list or ``"table"`` -> every entry is sent and rows are marked ``table`` (plots draw
            the per-SNR envelope).
    """

    def __init__(self, source: SourceCodec, fec: LDPC5G, modem: QAMModem, mcs="16qam-1/2") -> None:
        self.source = source
        self.fec = fec
        self.modem = modem
        self.mcs = parse_mcs_list(mcs)
        self.mcs_policy = "table" if (isinstance(mcs, str) and mcs == "table") or len(self.mcs) > 1 else "fixed"
        self.cache = EncodingCache()

    def check(self) -> None:
        self.source.check()

    def variants(self) -> list[str]:
        return [m.label for m in self.mcs]

    def _fits(self, budget_symbols: int, mcs: MCS):
        def fits(num_bytes: int) -> bool:
            plan = self.fec.plan(8 * num_bytes, mcs.code_rate)
            return math.ceil(plan.coded_bits / mcs.bits_per_symbol) <= budget_symbols
        return fits

    def transmit(self, images: Sequence[ImageRecord], channel: Channel, snr_db: float, cbr: float,
                 generator_for) -> list[list[Reception]]:
        out: list[list[Reception | None]] = [[None] * len(self.mcs) for _ in images]
        pending: list[_Pending] = []
        for i, record in enumerate(images):
            budget = math.floor(cbr * record.num_values)
            for j, mcs in enumerate(self.mcs):
                choice = best_quality(self.source, record, self.cache, self._fits(budget, mcs))
                if choice is None:
                    out[i][j] = self._failed(record, mcs, reason="no source quality fits the budget")
                    continue
                quality, data = choice
                pending.append(self._send(i, record, mcs, quality, data, channel, snr_db,
                                          generator_for(record, mcs.label)))
        decoded = self.fec.decode_batch([(p.plan, p.llrs) for p in pending])
        for p, bits in zip(pending, decoded):
            j = self.mcs.index(p.mcs)
            out[p.index][j] = self._receive(images[p.index], p, bits)
        return [list(r) for r in out]

    def _send(self, index, record, mcs: MCS, quality, data: bytes, channel, snr_db, generator) -> _Pending:
        plan = self.fec.plan(8 * len(data), mcs.code_rate)
        info = torch.zeros(plan.num_codewords * plan.k, device=self.device)
        info[: 8 * len(data)] = bytes_to_bits(data).to(self.device)
        coded = self.fec.encode(info.view(plan.num_codewords, plan.k), plan).reshape(-1)
        symbols = self.modem.modulate(coded, mcs.bits_per_symbol)
        received = channel(symbols, snr_db, generator)
        llrs = self.modem.demodulate(received.y, received.no, received.h, mcs.bits_per_symbol, coded.numel())
        return _Pending(index, mcs, quality, data, plan, llrs.view(plan.num_codewords, plan.n), symbols.numel())

    def _receive(self, record: ImageRecord, p: _Pending, bits: torch.Tensor) -> Reception:
        payload = 8 * len(p.data)
        sent = bytes_to_bits(p.data)
        got = bits.reshape(-1)[:payload].cpu()
        bit_errors = int((got != sent).sum())
        extra = {"bit_errors": bit_errors, "codewords": p.plan.num_codewords, "k": p.plan.k, "n": p.plan.n}
        h, w = record.pixels.shape[-2:]
        try:
            image = rgb8_to_tensor(self.source.decode(bits_to_bytes(got), h, w))
            failed = False
        except Exception as err:  # any decoder failure -> fallback, never raise
            image, failed = fallback_image(h, w), True
            extra["reason"] = f"source decoder: {type(err).__name__}"
        return Reception(image=image, channel_uses=p.channel_uses, payload_bits=payload,
                         source_quality=float(p.quality), mcs=p.mcs.label, decode_failed=failed, extra=extra)

    def _failed(self, record: ImageRecord, mcs: MCS, reason: str) -> Reception:
        h, w = record.pixels.shape[-2:]
        return Reception(image=fallback_image(h, w), channel_uses=0, payload_bits=0, source_quality=None,
                         mcs=mcs.label, decode_failed=True, extra={"reason": reason})

    def describe(self) -> dict:
        return {"codec_backend": "testbed.codecs.separation.Separation", **self.source.describe(),
                **self.fec.describe(), **self.modem.describe(), "mcs_policy": self.mcs_policy}
