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
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from testbed.channel import Channel
from testbed.codec import Codec, ImageRecord, Reception
from testbed.codecs.jscc_checkpoint import JSCCCheckpoint, channel_key
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


def tile_boxes(height: int, width: int, tile: int | None) -> list[tuple[int, int, int, int]]:
    """``(top, bottom, left, right)`` of the tiles covering ``height x width`` row by row: ``tile``
    pixels square, the last row and column what remains (``None``: one box, the whole image)."""
    if not tile:
        return [(0, height, 0, width)]
    return [(t, min(t + tile, height), le, min(le + tile, width))
            for t in range(0, height, tile) for le in range(0, width, tile)]


class LearnedJSCC(Codec):
    """Trained deep-JSCC models used as one codec: the checkpoint fitting each (channel, CBR).

    Args:
        checkpoints: files written by ``testbed-train`` (relative paths are read from
            ``codecs/checkpoints/``). Each says its architecture, training channel and CBRs; per
            sweep point the first that fits the channel and CBR is used, and a grid with a
            (channel, CBR) that none fits is refused before any transmission.
        model: the network for checkpoints without a training config, or, with no checkpoints,
            the untrained network (tests of the plumbing only).
        downsampling: the encoder's spatial downsampling factor.
        receiver: ``mmse`` (equalise with h when the channel gives CSI) or ``raw``.
        rates: for an untrained rate-adaptive model, the latent channel counts it sends.
        tile: code the image as independent tiles of this many pixels (the last row and column
            of tiles smaller), their latents power-normalised together as one image; ``crop``:
            the checkpoint's training crop size; ``None``: the whole image at once. Symbol count
            and CBR are the same either way. Why: a model trained on small crops always had an
            image border within its receptive field; on large images it loses that (the adaptive
            model gained 1.2-1.5 dB on Kodak from 128 px tiles; DeepJSCC neither gained nor lost).
    """

    mcs_policy = "none"

    def __init__(self, checkpoints: list[str] | str | None = None, model: nn.Module | None = None,
                 downsampling: int = 4, receiver: str = "mmse", rates: list[int] | None = None,
                 tile: int | str | None = None) -> None:
        if tile is not None and tile != "crop" and (not isinstance(tile, int) or tile % downsampling):
            raise ConfigError(f"codec tile={tile!r}: use null, 'crop' or a multiple of {downsampling}")
        if receiver not in RECEIVERS:
            raise ConfigError(f"codec receiver must be one of {RECEIVERS}, got {receiver!r}")
        if isinstance(checkpoints, str):
            checkpoints = [checkpoints]
        self.files = list(checkpoints or [])
        if not self.files and model is None:
            raise ConfigError("a learned codec needs `checkpoints` (trained weights) or a `model`")
        if rates is not None and model is not None and not hasattr(model, "use_rate"):
            raise ConfigError(f"codec rates={rates}: {type(model).__name__} is not rate-adaptive (no use_rate)")
        self.downsampling = downsampling
        self.receiver = receiver
        self._model, self._rates, self.tile = model, rates, tile
        self.fits: list[JSCCCheckpoint] = [] if self.files else [JSCCCheckpoint.untrained(model, rates)]
        self._used: JSCCCheckpoint | None = None

    def check(self) -> None:
        """Load every listed checkpoint (a missing file is named, with the fix)."""
        if self.files:
            self.fits = [JSCCCheckpoint.load(f, self._model) for f in self.files]

    def select(self, channel: Channel, cbr: float) -> JSCCCheckpoint:
        """The checkpoint for ``channel`` at ``cbr``; a clear error listing the fits if none."""
        if not self.fits:
            self.check()
        for fit in self.fits:
            if fit.fits(channel, cbr, self.downsampling):
                return fit
        have = "; ".join(f.label(self.downsampling) for f in self.fits)
        raise ConfigError(
            f"codec {self.name}: no checkpoint for channel {channel_key(channel)} at CBR {cbr:.4g} "
            f"(1/{1 / cbr:.3g}). Available: {have}. Pick a channel and CBR from these, list another "
            f"file in codec.{self.name}.checkpoints, or train one with `testbed-train`."
        )

    def check_point(self, channel: Channel, cbr: float) -> None:
        self.select(channel, cbr)

    def supported_cbrs(self) -> list[float]:
        return sorted({c for fit in self.fits for c in fit.cbrs(self.downsampling)})

    def variants(self) -> list[str]:
        return ["analog"]

    @torch.no_grad()
    def transmit(self, images: Sequence[ImageRecord], channel: Channel, snr_db: float, cbr: float,
                 generator_for) -> list[list[Reception]]:
        fit = self._used = self.select(channel, cbr)
        model = fit.model.to(self.device)
        if hasattr(model, "use_rate"):
            model.use_rate(fit.rate_for(cbr, self.downsampling))
        tile = self._tile_size(fit)
        out = []
        for record in images:
            x = record.pixels[None].to(self.device)
            h, w = x.shape[-2:]
            pad_h, pad_w = (-h) % self.downsampling, (-w) % self.downsampling
            x = F.pad(x, (0, pad_w, 0, pad_h), mode="replicate") if pad_h or pad_w else x
            snr = torch.full((1,), float(snr_db), device=x.device)
            boxes = tile_boxes(x.shape[-2], x.shape[-1], tile)
            latents = [model.encode(x[..., t:b, le:r], snr) for t, b, le, r in boxes]
            flat = torch.cat([z.flatten() for z in latents])[None]
            symbols = power_normalize(flat)[0]
            received = channel(symbols, snr_db, generator_for(record))
            estimate = symbols_to_latent(equalize(received.y, received.h, received.no, self.receiver)[None],
                                         flat.shape)[0]
            image = torch.zeros_like(x)
            for (t, b, le, r), sent, got in zip(boxes, latents, estimate.split([z.numel() for z in latents])):
                image[..., t:b, le:r] = model.decode(got.reshape(sent.shape), snr)
            image = image[..., :h, :w].clamp(0, 1)[0].float().cpu()
            out.append([Reception(image, symbols.numel(), 0, None, "analog", False, {"tiles": len(boxes)})])
        return out

    def _tile_size(self, fit: JSCCCheckpoint) -> int | None:
        if self.tile != "crop":
            return self.tile
        crop = (fit.meta.get("data") or {}).get("crop")
        return int(crop) if crop else None

    def describe(self) -> dict:
        fit = self._used or self.fits[0]
        return {"codec_backend": f"testbed.codecs.learned_jscc.LearnedJSCC[{type(fit.model).__name__}]",
                "receiver": self.receiver, "tile": self._tile_size(fit), **fit.describe()}
