"""Base class of learned codecs: differentiable batch encoder and decoder, trainable through the link.

A :class:`LearnedCodec` implements :meth:`~LearnedCodec.encode_batch` and
:meth:`~LearnedCodec.decode_batch` on image tensors; the sweep's per-image :meth:`encode` /
:meth:`decode` and the trainer's :func:`testbed.run.link.forward` are both built on them, so the
model is trained on exactly the path it is evaluated on (receiver, tiling, power normalisation).
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Any, Sequence

import torch
from torch import nn

from testbed.core.channel import Channel, ChannelOutput
from testbed.core.codec import Codec, ImageRecord, Reception, Transmission


class LearnedCodec(Codec):
    """A codec whose encoder and decoder are networks (``network``), trained with ``testbed-train``."""

    mcs_policy = "none"

    @property
    @abstractmethod
    def network(self) -> nn.Module:
        """The module whose parameters training optimises (encoder and decoder together)."""

    @abstractmethod
    def encode_batch(self, images: torch.Tensor, snr_db: torch.Tensor) -> tuple[torch.Tensor, Any]:
        """``[N, 3, H, W]`` in [0, 1] and SNRs ``[N]`` (dB) -> (symbols complex64 ``[N, K]`` with unit
        average energy per row, context for :meth:`decode_batch`). Differentiable."""

    @abstractmethod
    def decode_batch(self, received: ChannelOutput, context: Any, snr_db: torch.Tensor) -> torch.Tensor:
        """Channel output ``[N, K]`` -> reconstructions ``[N, 3, H, W]`` (unclamped). Differentiable."""

    def use_rate(self, channels: int | None) -> None:
        """Send an ordered prefix of ``channels`` latent channels (rate-adaptive models only)."""
        if channels is not None:
            raise NotImplementedError(f"{type(self).__name__} is not rate-adaptive")

    def prepare(self, channel: Channel, cbr: float) -> None:
        """Pick the weights and rate for ``channel`` at ``cbr`` before :meth:`encode` (default: none)."""

    def variants(self) -> list[str]:
        return ["analog"]

    @torch.no_grad()
    def encode(self, images: Sequence[ImageRecord], channel: Channel, snr_db: float,
               cbr: float) -> list[Transmission]:
        self.prepare(channel, cbr)
        self.network.eval()
        sent = []
        for i, record in enumerate(images):
            snr = torch.full((1,), float(snr_db), device=self.device)
            symbols, context = self.encode_batch(record.pixels[None].to(self.device), snr)
            sent.append(Transmission(i, "analog", symbols[0], state=(context, snr)))
        return sent

    @torch.no_grad()
    def decode(self, images: Sequence[ImageRecord], sent: Sequence[Transmission],
               received: Sequence[ChannelOutput]) -> list[Reception]:
        out = []
        for tx, rx in zip(sent, received):
            context, snr = tx.state
            image = self.decode_batch(rx.batched(), context, snr)[0].clamp(0, 1).float().cpu()
            out.append(Reception(image, tx.channel_uses, 0, None, "analog", False, self.reception_extra(context)))
        return out

    def reception_extra(self, context: Any) -> dict:
        """Extra per-row fields of a reception (e.g. the number of tiles)."""
        return {}
