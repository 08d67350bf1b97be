"""Capacity-bound separation: the source file sent error-free at the channel's capacity.

Bits available = floor(k * C) with k = floor(cbr * H*W*3) channel uses and C the capacity per
use (AWGN: log2(1 + SNR); Rayleigh: the ergodic capacity). No practical scheme with separate
source and channel coding does better, so it is the upper bound of the digital curves.
"""

from __future__ import annotations

import math
from typing import Sequence

from testbed.channel import Channel
from testbed.codec import Codec, ImageRecord, Reception, SourceCodec, fallback_image
from testbed.codecs.rate_control import EncodingCache, best_quality
from testbed.images import rgb8_to_tensor


class CapacityBound(Codec):
    """A source codec over an ideal capacity-achieving channel code (no errors, no overhead)."""

    mcs_policy = "none"

    def __init__(self, source: SourceCodec) -> None:
        self.source = source
        self.cache = EncodingCache()

    def check(self) -> None:
        self.source.check()

    def variants(self) -> list[str]:
        return ["capacity"]

    def transmit(self, images: Sequence[ImageRecord], channel: Channel, snr_db: float, cbr: float,
                 generator_for) -> list[list[Reception]]:
        capacity = channel.capacity_per_use(snr_db)
        out = []
        for record in images:
            budget_uses = math.floor(cbr * record.num_values)
            budget_bits = math.floor(budget_uses * capacity)
            choice = best_quality(self.source, record, self.cache, lambda nbytes: 8 * nbytes <= budget_bits)
            h, w = record.pixels.shape[-2:]
            extra = {"capacity_bits_per_use": capacity, "budget_bits": budget_bits}
            if choice is None:
                out.append([Reception(fallback_image(h, w), 0, 0, None, "capacity", True,
                                      {**extra, "reason": "no source quality fits the budget"})])
                continue
            quality, data = choice
            payload = 8 * len(data)
            image = rgb8_to_tensor(self.source.decode(data, h, w))
            out.append([Reception(image, math.ceil(payload / capacity), payload, float(quality), "capacity",
                                  False, extra)])
        return out

    def describe(self) -> dict:
        return {"codec_backend": "testbed.codecs.capacity.CapacityBound", **self.source.describe()}
