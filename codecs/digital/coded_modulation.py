"""Coded modulation: 5G NR LDPC + QAM between bits and channel symbols, in one place.

Chain: segmentation -> LDPC encoding and rate matching -> the 38.212 §5.4.2.2 bit interleaver per
codeword (``fec.interleave``, on by default; :mod:`.ldpc.interleaver`) -> QAM, and back.

The separation codecs (payloads from a source coder) and the link-level Monte Carlo (random
codewords, ``testbed waterfall``) both use this class; the channel between :meth:`encode` and
:meth:`llrs` is the link's (:func:`testbed.run.link.send`).
"""

from __future__ import annotations

import math

import torch

from testbed.codecs.digital.ldpc.ldpc5g import LDPC5G, CodewordPlan
from testbed.codecs.digital.mcs import MCS
from testbed.codecs.digital.qam import QAMModem
from testbed.core.channel import ChannelOutput


class CodedModulation:
    """``CodedModulation(fec, modem)``: segmentation, LDPC encoding, QAM mapping and back.

    Args:
        fec: the channel code (:class:`~testbed.codecs.digital.ldpc.ldpc5g.LDPC5G`).
        modem: the QAM mapper/demapper (:class:`~testbed.codecs.digital.qam.QAMModem`).
    """

    def __init__(self, fec: LDPC5G, modem: QAMModem) -> None:
        self.fec = fec
        self.modem = modem

    def plan(self, payload_bits: int, mcs: MCS) -> CodewordPlan:
        """The codeword layout of ``payload_bits`` at the MCS code rate (n a multiple of the bits per
        symbol when interleaving)."""
        return self.fec.plan(payload_bits, mcs.code_rate, mcs.bits_per_symbol)

    @staticmethod
    def channel_uses(plan: CodewordPlan, mcs: MCS) -> int:
        """Complex symbols the plan's coded bits take at the MCS modulation."""
        return math.ceil(plan.coded_bits / mcs.bits_per_symbol)

    def encode(self, bits: torch.Tensor, plan: CodewordPlan, mcs: MCS) -> torch.Tensor:
        """float32 ``[plan.payload_bits]`` of {0, 1} -> complex64 ``[channel_uses]`` (unit energy)."""
        coded = self.fec.encode(plan.segment(bits.to(torch.float32)), plan)
        coded = self.fec.interleave_bits(coded, mcs.bits_per_symbol)  # per codeword, for the QAM order
        return self.modem.modulate(coded.reshape(-1), mcs.bits_per_symbol)

    def llrs(self, received: ChannelOutput, plan: CodewordPlan, mcs: MCS) -> torch.Tensor:
        """The channel output -> logit LLRs float32 ``[num_codewords, n]`` in codeword order
        (deinterleaved; equalised with h under CSI)."""
        llrs = self.modem.demodulate(received.y, received.no, received.h, mcs.bits_per_symbol, plan.coded_bits)
        return self.fec.deinterleave_llrs(llrs.view(plan.num_codewords, plan.n), mcs.bits_per_symbol)

    def decode(self, items: list[tuple[CodewordPlan, torch.Tensor]]) -> list[torch.Tensor]:
        """Batched LDPC decoding of ``(plan, llrs)`` items -> hard payload bits ``[payload_bits]`` each."""
        decoded = self.fec.decode_batch(items)
        return [plan.desegment(bits) for (plan, _), bits in zip(items, decoded)]

    def describe(self) -> dict:
        return {**self.fec.describe(), **self.modem.describe()}
