"""Uncoded analog transmission: downsampled pixels sent directly as channel symbols.

The simplest joint source-channel scheme and the README's example plugin. The image is
block-averaged by the smallest integer factor s that fits the budget, normalised to zero mean
and unit power, and pairs of real values form complex symbols; the receiver forms the linear
MMSE estimate (with h where it has CSI) and upsamples bilinearly. The per-image mean and
standard deviation travel as one extra channel use. Degrades gracefully: no cliff.
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
import torch.nn.functional as F

from testbed.core.channel import Channel
from testbed.core.codec import Codec, ImageRecord, Reception, Transmission, fallback_image


class UncodedAnalog(Codec):
    """Block-average, normalise, send as complex symbols, LMMSE-estimate, upsample."""

    mcs_policy = "none"

    def variants(self) -> list[str]:
        return ["analog"]

    def encode(self, images: Sequence[ImageRecord], channel: Channel, snr_db: float, cbr: float) -> list[Transmission]:
        return [self._encode_one(i, record, channel, cbr) for i, record in enumerate(images)]

    def _encode_one(self, index: int, record: ImageRecord, channel: Channel, cbr: float) -> Transmission:
        _, h, w = record.pixels.shape
        budget = channel.symbols_within(math.floor(cbr * record.num_values) - 1)  # one use carries mean and std
        factor = next((s for s in range(1, max(h, w) + 1)
                       if 3 * math.ceil(h / s) * math.ceil(w / s) <= 2 * budget), None)
        if factor is None:
            return Transmission(index, "analog", None)
        small = F.avg_pool2d(record.pixels[None].to(self.device), factor, ceil_mode=True)  # [1, 3, h', w']
        values = small.reshape(-1)
        mean, std = values.mean(), values.std().clamp_min(1e-6)
        real = (values - mean) / std
        if real.numel() % 2:
            real = torch.cat([real, real.new_zeros(1)])
        symbols = torch.complex(real[0::2], real[1::2]).to(torch.complex64)  # unit average energy
        return Transmission(index, "analog", symbols, state=(factor, small.shape, mean, std))

    def decode(self, images: Sequence[ImageRecord], sent: Sequence[Transmission], received) -> list[Reception]:
        return [self._decode_one(images[tx.image], tx, out) for tx, out in zip(sent, received)]

    def _decode_one(self, record: ImageRecord, tx: Transmission, out) -> Reception:
        _, h, w = record.pixels.shape
        if tx.symbols is None:
            return Reception(fallback_image(h, w), 0, 0, None, "analog", True, {"reason": "budget too small"})
        factor, shape, mean, std = tx.state
        if out.h is not None:  # LMMSE with CSI: conj(h) y / (|h|^2 + N0)
            estimate = out.h.conj() * out.y / (out.h.abs() ** 2 + out.no)
        else:  # no fading information: x ~ (0, 1), so the LMMSE gain is 1 / (1 + N0)
            estimate = out.y / (1.0 + out.no)
        count = math.prod(shape)
        received = torch.stack([estimate.real, estimate.imag], dim=1).reshape(-1)[:count]
        small_hat = (received * std + mean).reshape(shape)
        image = F.interpolate(small_hat, size=(h, w), mode="bilinear", align_corners=False)[0].clamp(0, 1).cpu()
        return Reception(image=image, channel_uses=tx.channel_uses + 1, payload_bits=0, source_quality=None,
                         mcs="analog", decode_failed=False, extra={"downsampling": factor})

    def describe(self) -> dict:
        return {"codec_backend": "testbed.codecs.uncoded.UncodedAnalog (LMMSE, bilinear upsampling)"}
