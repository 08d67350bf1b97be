"""Deep joint source-channel coding as a codec: learned encoder -> power norm -> channel -> decoder.

The latent of the encoder is read as real values, paired into complex symbols and scaled per
image to unit average symbol energy (DESIGN.md §3); k = real values / 2 is what the row reports.
The receiver hands the decoder the channel output, equalised with the linear MMSE estimate
``conj(h) y / (|h|^2 + N0)`` when it has CSI (``receiver: mmse``) or as received (``raw``).
Images whose sides are not multiples of the downsampling are padded by edge replication and
the reconstruction is cropped back.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from testbed.channel import Channel
from testbed.codec import Codec, ImageRecord, Reception
from testbed.errors import ConfigError

RECEIVERS = ("mmse", "raw")


def power_normalize(latent: torch.Tensor) -> torch.Tensor:
    """Per-image ``[N, ...]`` real latent -> complex symbols ``[N, K]`` with mean |x|^2 = 1 each."""
    flat = latent.flatten(1)
    if flat.shape[1] % 2:
        flat = F.pad(flat, (0, 1))
    symbols = torch.complex(flat[:, 0::2], flat[:, 1::2])
    energy = symbols.abs().pow(2).mean(dim=1, keepdim=True).clamp_min(1e-12)
    return symbols / energy.sqrt()


def symbols_to_latent(symbols: torch.Tensor, shape: torch.Size) -> torch.Tensor:
    """Complex ``[N, K]`` -> real latent of ``shape`` (drops the pad value of an odd count)."""
    flat = torch.stack([symbols.real, symbols.imag], dim=-1).flatten(1)
    return flat[:, : math.prod(shape[1:])].reshape(shape)


def equalize(y: torch.Tensor, h: torch.Tensor | None, no: float, receiver: str) -> torch.Tensor:
    """What the learned decoder receives: the MMSE estimate with CSI, else y as it is."""
    if receiver == "mmse" and h is not None:
        return h.conj() * y / (h.abs().pow(2) + no)
    return y


class LearnedJSCC(Codec):
    """A trained deep-JSCC model used as a codec.

    Args:
        model: the network (``encode(images, snr)`` / ``decode(latent, snr)``, ``latent_channels``).
        checkpoint: file with the trained weights (``state_dict`` under ``model``); relative paths
            are resolved against ``codecs/checkpoints/``. ``None`` keeps the initial weights
            (only for tests of the plumbing).
        downsampling: the encoder's spatial downsampling factor.
        receiver: ``mmse`` (equalise with h when the channel gives CSI) or ``raw``.
        rates: for a rate-adaptive model (one with ``use_rate(c)``), the latent channel counts it
            was trained to send; each sweep CBR picks c = CBR * 6 * downsampling^2.
    """

    mcs_policy = "none"

    def __init__(self, model: nn.Module, checkpoint: str | None, downsampling: int = 4,
                 receiver: str = "mmse", rates: list[int] | None = None) -> None:
        if rates is not None and not hasattr(model, "use_rate"):
            raise ConfigError(f"codec rates={rates}: {type(model).__name__} is not rate-adaptive (no use_rate)")
        self.rates = list(rates) if rates else None
        if receiver not in RECEIVERS:
            raise ConfigError(f"codec receiver must be one of {RECEIVERS}, got {receiver!r}")
        self.model = model.eval()
        self.downsampling = downsampling
        self.receiver = receiver
        self.checkpoint = _resolve(checkpoint) if checkpoint else None
        self.meta: dict = {}

    def check(self) -> None:
        if self.checkpoint is None:
            return
        if not self.checkpoint.is_file():
            raise ConfigError(
                f"missing model weights {self.checkpoint}: train them with `testbed-train` "
                "(see the README's model cards) or set codec.<name>.checkpoint=PATH"
            )
        state = torch.load(self.checkpoint, map_location="cpu", weights_only=False)
        self.model.load_state_dict(state["model"])
        self.meta = {k: state.get(k) for k in ("step", "wall_time_s", "val_psnr", "data")}

    def cbr(self) -> float:
        """The CBR this model sends: c / (2 * 3 * downsampling^2)."""
        return self.model.latent_channels / (6 * self.downsampling**2)

    def supported_cbrs(self) -> list[float]:
        if self.rates:
            return [c / (6 * self.downsampling**2) for c in self.rates]
        return [self.cbr()]

    def variants(self) -> list[str]:
        return ["analog"]

    @torch.no_grad()
    def transmit(self, images: Sequence[ImageRecord], channel: Channel, snr_db: float, cbr: float,
                 generator_for) -> list[list[Reception]]:
        if self.rates:
            self.model.use_rate(round(cbr * 6 * self.downsampling**2))
        out = []
        for record in images:
            x = record.pixels[None].to(self.device)
            h, w = x.shape[-2:]
            pad_h, pad_w = (-h) % self.downsampling, (-w) % self.downsampling
            x = F.pad(x, (0, pad_w, 0, pad_h), mode="replicate") if pad_h or pad_w else x
            snr = torch.full((1,), float(snr_db), device=x.device)
            latent = self.model.encode(x, snr)
            symbols = power_normalize(latent)[0]
            received = channel(symbols, snr_db, generator_for(record))
            estimate = equalize(received.y, received.h, received.no, self.receiver)
            image = self.model.decode(symbols_to_latent(estimate[None], latent.shape), snr)
            image = image[..., :h, :w].clamp(0, 1)[0].float().cpu()
            out.append([Reception(image, symbols.numel(), 0, None, "analog", False, {})])
        return out

    def describe(self) -> dict:
        return {"codec_backend": f"testbed.codecs.learned_jscc.LearnedJSCC[{type(self.model).__name__}]",
                "weights": str(self.checkpoint) if self.checkpoint else "untrained (initial weights)",
                "receiver": self.receiver, **{f"weights_{k}": v for k, v in self.meta.items() if v is not None}}


def _resolve(path: str) -> Path:
    p = Path(path)
    return p if p.is_absolute() else Path(__file__).resolve().parent / "checkpoints" / p
