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
from typing import Sequence

from testbed.codecs.digital.coded_modulation import CodedModulation
from testbed.core.channel import Channel
from testbed.core.codec import Codec, ImageRecord, Reception, SourceCodec, Transmission, fallback_image
from testbed.codecs.digital.bits import bits_to_bytes, bytes_to_bits
from testbed.codecs.digital.ldpc.ldpc5g import LDPC5G
from testbed.codecs.digital.mcs import AWGN_MCS_TABLE, MCS, parse_mcs
from testbed.codecs.digital.mcs_tables import NR_TABLES, nr_table
from testbed.codecs.digital.qam import QAMModem
from testbed.codecs.source.rate_control import SHARED_CACHE, best_quality
from testbed.core.errors import ConfigError
from testbed.core.images import rgb8_to_tensor


def parse_mcs_list(mcs) -> tuple[MCS, ...]:
    """``"table"`` (the six-entry AWGN table), ``"nr-table1"`` / ``"nr-table2"`` (TS 38.214 MCS index
    tables 1 and 2, up to 64QAM and 256QAM), one MCS, or a list of them -> a tuple of :class:`MCS`."""
    if isinstance(mcs, str) and mcs == "table":
        return tuple(AWGN_MCS_TABLE)
    if isinstance(mcs, str) and mcs in NR_TABLES:
        return nr_table(mcs)
    items = mcs if isinstance(mcs, (list, tuple)) else [mcs]
    if not items:
        raise ConfigError("codec mcs list is empty: give e.g. mcs: 16qam-1/2 or mcs: table")
    return tuple(parse_mcs(m) for m in items)


class Separation(Codec):
    """``Separation(source, fec, modem)``: a source codec over LDPC-coded QAM.

    Args:
        source: the image codec (JPEG, BPG, ...).
        fec: the channel code (:class:`~testbed.codecs.digital.ldpc.ldpc5g.LDPC5G`).
        modem: the QAM mapper/demapper.
        mcs: one MCS (``"16qam-1/2"`` or ``{modulation, code_rate}``) -> reported as ``fixed``; a
            list or ``"table"`` -> every entry is sent and rows are marked ``table`` (plots draw
            the per-SNR envelope).
    """

    def __init__(self, source: SourceCodec, fec: LDPC5G, modem: QAMModem, mcs="16qam-1/2") -> None:
        self.source = source
        self.coding = CodedModulation(fec, modem)
        self.mcs = parse_mcs_list(mcs)
        self.mcs_policy = "table" if (isinstance(mcs, str) and (mcs == "table" or mcs in NR_TABLES)) \
            or len(self.mcs) > 1 else "fixed"
        self.cache = SHARED_CACHE  # encodings shared by every codec of the process (same source settings)

    @property
    def fec(self) -> LDPC5G:
        return self.coding.fec

    @property
    def modem(self) -> QAMModem:
        return self.coding.modem

    def bind(self, name: str, device="cpu"):
        super().bind(name, device)
        self.source.config_path = f"codec.{name}.source"  # named in the source's error messages
        return self

    def check(self) -> None:
        self.source.check()

    def variants(self) -> list[str]:
        return [m.label for m in self.mcs]

    def _fits(self, budget_symbols: int, mcs: MCS):
        """Whether a file of ``num_bytes`` fits in ``budget_symbols`` data symbols at ``mcs``."""
        def fits(num_bytes: int) -> bool:
            return self.coding.channel_uses(self.coding.plan(8 * num_bytes, mcs), mcs) <= budget_symbols
        return fits

    def encode(self, images: Sequence[ImageRecord], channel: Channel, snr_db: float, cbr: float) -> list[Transmission]:
        sent = []
        for i, record in enumerate(images):
            budget = channel.symbols_within(math.floor(cbr * record.num_values))  # data symbols
            for mcs in self.mcs:
                choice = best_quality(self.source, record, self.cache, self._fits(budget, mcs))
                if choice is None:
                    sent.append(Transmission(i, mcs.label, None, state=(mcs, None, None, None)))
                    continue
                quality, data = choice
                plan = self.coding.plan(8 * len(data), mcs)
                symbols = self.coding.encode(bytes_to_bits(data).to(self.device), plan, mcs)
                sent.append(Transmission(i, mcs.label, symbols, salt=(mcs.label,), state=(mcs, quality, data, plan)))
        return sent

    def decode(self, images: Sequence[ImageRecord], sent: Sequence[Transmission], received) -> list[Reception]:
        todo = [j for j, tx in enumerate(sent) if tx.symbols is not None]
        items = [(sent[j].state[3], self.coding.llrs(received[j], sent[j].state[3], sent[j].state[0])) for j in todo]
        bits = dict(zip(todo, self.coding.decode(items)))  # every codeword of the point in shared batches
        return [self._receive(images[tx.image], tx, bits[j]) if j in bits else
                self._failed(images[tx.image], tx.state[0], reason="no source quality fits the budget")
                for j, tx in enumerate(sent)]

    def _receive(self, record: ImageRecord, tx: Transmission, got) -> Reception:
        mcs, quality, data, plan = tx.state
        payload = 8 * len(data)
        bit_errors = int((got.cpu() != bytes_to_bits(data)).sum())
        extra = {"bit_errors": bit_errors, "codewords": plan.num_codewords, "k": plan.k, "n": plan.n}
        h, w = record.pixels.shape[-2:]
        try:
            image = rgb8_to_tensor(self.source.decode(bits_to_bytes(got.cpu()), h, w))
            failed = False
        except Exception as err:  # any decoder failure -> fallback, never raise
            image, failed = fallback_image(h, w), True
            extra["reason"] = f"source decoder: {type(err).__name__}"
        return Reception(image=image, channel_uses=tx.channel_uses, payload_bits=payload,
                         source_quality=float(quality), mcs=mcs.label, decode_failed=failed, extra=extra)

    def _failed(self, record: ImageRecord, mcs: MCS, reason: str) -> Reception:
        h, w = record.pixels.shape[-2:]
        return Reception(image=fallback_image(h, w), channel_uses=0, payload_bits=0, source_quality=None,
                         mcs=mcs.label, decode_failed=True, extra={"reason": reason})

    def describe(self) -> dict:
        return {"codec_backend": "testbed.codecs.separation.Separation", **self.source.describe(),
                **self.coding.describe(), "mcs_policy": self.mcs_policy}
