"""Capacity-bound separation: the source file sent error-free at the channel's capacity.

Bits available = floor(k * C) with k = floor(cbr * H*W*3) channel uses and C the capacity per
use (AWGN: log2(1 + SNR); Rayleigh: the ergodic capacity). No practical scheme with separate
source and channel coding does better, so it is the upper bound of the digital curves.
"""

from __future__ import annotations

import math
from typing import Sequence

from testbed.core.channel import Channel
from testbed.core.codec import Codec, ImageRecord, Reception, SourceCodec, Transmission, fallback_image
from testbed.codecs.source.rate_control import SHARED_CACHE, best_quality
from testbed.core.images import rgb8_to_tensor


class CapacityBound(Codec):
    """A source codec over an ideal capacity-achieving channel code (no errors, no overhead)."""

    mcs_policy = "none"

    def __init__(self, source: SourceCodec) -> None:
        self.source = source
        self.cache = SHARED_CACHE  # encodings shared by every codec of the process (same source settings)

    def bind(self, name: str, device="cpu"):
        super().bind(name, device)
        self.source.config_path = f"codec.{name}.source"  # named in the source's error messages
        return self

    def check(self) -> None:
        self.source.check()

    def variants(self) -> list[str]:
        return ["capacity"]

    def encode(self, images: Sequence[ImageRecord], channel: Channel, snr_db: float, cbr: float) -> list[Transmission]:
        """Rate control only: the file crosses an ideal code, no symbols cross the link. The
        capacity is per data symbol; the channel's overhead (pilots, cyclic prefix) is paid first."""
        capacity = channel.capacity_per_use(snr_db)
        sent = []
        for i, record in enumerate(images):
            budget_uses = math.floor(cbr * record.num_values)
            budget_bits = math.floor(channel.symbols_within(budget_uses) * capacity)
            choice = best_quality(self.source, record, self.cache, lambda nbytes: 8 * nbytes <= budget_bits)
            extra = {"capacity_bits_per_use": capacity, "budget_bits": budget_bits}
            uses = channel.uses(math.ceil(8 * len(choice[1]) / capacity)) if choice else 0  # the file's uses
            sent.append(Transmission(i, "capacity", None, state=(choice, uses, extra)))
        return sent

    def decode(self, images: Sequence[ImageRecord], sent: Sequence[Transmission], received) -> list[Reception]:
        out = []
        for tx in sent:
            (choice, uses, extra), record = tx.state, images[tx.image]
            h, w = record.pixels.shape[-2:]
            if choice is None:
                out.append(Reception(fallback_image(h, w), 0, 0, None, "capacity", True,
                                     {**extra, "reason": "no source quality fits the budget"}))
                continue
            quality, data = choice
            payload = 8 * len(data)
            image = rgb8_to_tensor(self.source.decode(data, h, w))
            out.append(Reception(image, uses, payload, float(quality), "capacity",
                                 False, extra))
        return out

    def describe(self) -> dict:
        return {"codec_backend": "testbed.codecs.capacity.CapacityBound", **self.source.describe()}
