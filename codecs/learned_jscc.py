"""Deep joint source-channel coding as a codec: learned encoder -> power norm -> channel -> decoder.

The latent of the encoder is read as real values, paired into complex symbols and scaled per
image to unit average symbol energy (DESIGN.md §3); k = real values / 2 is what the row reports.
The receiver hands the decoder the channel output, equalised with the linear MMSE estimate
``conj(h) y / (|h|^2 + N0)`` when it has CSI (``receiver: mmse``) or as received (``raw``).
Images whose sides are not multiples of the downsampling are padded by edge replication and
the reconstruction is cropped back. Training (``testbed-train``) runs the same
:meth:`LearnedJSCC.encode_batch` / :meth:`LearnedJSCC.decode_batch` through the link.
"""

from __future__ import annotations

import logging
import math

import torch
import torch.nn.functional as F
from torch import nn

from testbed.codecs.learned.checkpoint import JSCCCheckpoint, resolve_checkpoint, spec_label
from testbed.core.channel import Channel, ChannelOutput
from testbed.core.errors import ConfigError
from testbed.core.learned_codec import LearnedCodec
from testbed.core.numbers import is_whole
from testbed.core.plugin import RequiredFile

log = logging.getLogger(__name__)

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


def equalize(received: ChannelOutput, receiver: str) -> torch.Tensor:
    """What the learned decoder receives: the MMSE estimate with CSI, else y as it is.

    With CSI ``h`` (``no`` a float or ``[..., 1]`` per row): ``conj(h) y / (|h|^2 + N0)``. From an
    equalising receiver (OFDM: ``y`` = x + e, ``no`` per symbol): the same MMSE shrinkage of its
    unbiased estimate, ``y / (1 + no)``, which keeps deep fades from blowing the latent up.
    """
    y, h, no = received.y, received.h, received.no
    if receiver == "mmse" and h is not None:
        return h.conj() * y / (h.abs().pow(2) + no)
    if receiver == "mmse" and received.equalized:
        return y / (1.0 + no)
    return y


def tile_boxes(height: int, width: int, tile: int | None) -> list[tuple[int, int, int, int]]:
    """``(top, bottom, left, right)`` of the tiles covering ``height x width`` row by row: ``tile``
    pixels square, the last row and column what remains (``None``: one box, the whole image)."""
    if not tile:
        return [(0, height, 0, width)]
    return [(t, min(t + tile, height), le, min(le + tile, width))
            for t in range(0, height, tile) for le in range(0, width, tile)]


def _check_tile(tile, downsampling: int, key: str) -> None:
    """``ConfigError`` unless ``tile`` is null, ``crop`` or a positive multiple of ``downsampling``."""
    if tile is None or tile == "crop":
        return
    if not is_whole(tile) or tile <= 0 or tile % downsampling:
        raise ConfigError(f"codec {key}={tile!r}: use null, 'crop' or a multiple of {downsampling}")


class LearnedJSCC(LearnedCodec):
    """Trained deep-JSCC models used as one codec: the checkpoint fitting each (channel, CBR).

    Args:
        checkpoints: files written by ``testbed-train`` (relative paths are read from
            ``codecs/checkpoints/``). Each says its architecture, the channel it was trained on
            (class, fading coherence, CSI), its receiver and its CBRs; per sweep point the first
            that fits all of these is used, and a grid with a point that none fits is refused
            before any transmission.
        model: the network for checkpoints without a training config, or, with no checkpoints,
            the network itself (training, and tests of the plumbing).
        downsampling: the encoder's spatial downsampling factor.
        receiver: ``mmse`` (equalise with h when the channel gives CSI) or ``raw``.
        rates: for an untrained rate-adaptive model, the latent channel counts it sends.
        tile: code the image as independent tiles of this many pixels (the last row and column
            of tiles smaller), their latents power-normalised together as one image; ``crop``:
            the checkpoint's training crop size; ``None``: the whole image at once. Symbol count
            and CBR are the same either way. Why: a model trained on small crops always had an
            image border within its receptive field; on large images it loses that (the adaptive
            model gained 1.2-1.5 dB on Kodak from 128 px tiles; DeepJSCC neither gained nor lost).
        checkpoint_tiles: per checkpoint (its name as listed in ``checkpoints``), a ``tile`` setting
            that overrides ``tile`` for that model, e.g. ``{deepjscc_awgn_cbr1-48_snr10.pt: crop}``
            (DeepJSCC at CBR 1/48 gained 2.9 dB from its 128 px training crop on the held-out
            photos at 768 px; its other CBRs moved by at most 0.2 dB). Names not in ``checkpoints``
            are ignored with a warning.
    """

    def __init__(self, checkpoints: list[str] | str | None = None, model: nn.Module | None = None,
                 downsampling: int = 4, receiver: str = "mmse", rates: list[int] | None = None,
                 tile: int | str | None = None, checkpoint_tiles: dict | None = None) -> None:
        _check_tile(tile, downsampling, "tile")
        if receiver not in RECEIVERS:
            raise ConfigError(f"codec receiver must be one of {RECEIVERS}, got {receiver!r}")
        if isinstance(checkpoints, str):
            checkpoints = [checkpoints]
        self.files = list(checkpoints or [])
        self.checkpoint_tiles = dict(checkpoint_tiles or {})
        for name, value in self.checkpoint_tiles.items():
            _check_tile(value, downsampling, f"checkpoint_tiles.{name}")
            if name not in self.files:  # e.g. checkpoints narrowed to one file from the command line
                log.warning("codec checkpoint_tiles names %r, which is not in checkpoints %s: ignored",
                            name, self.files)
        if not self.files and model is None:
            raise ConfigError("a learned codec needs `checkpoints` (trained weights) or a `model`")
        if rates is not None and model is not None and not hasattr(model, "use_rate"):
            raise ConfigError(f"codec rates={rates}: {type(model).__name__} is not rate-adaptive (no use_rate)")
        self.downsampling = downsampling
        self.receiver = receiver
        self._model, self.tile = model, tile
        self.fits: list[JSCCCheckpoint] = [] if self.files else [JSCCCheckpoint.untrained(model, rates)]
        self._used: JSCCCheckpoint | None = None if self.files else self.fits[0]

    def check(self) -> None:
        """Load every listed checkpoint (a missing file is named, with the fix)."""
        if self.files:
            self.fits = [JSCCCheckpoint.load(f, self._model) for f in self.files]
            for fit in self.fits:
                fit.model.to(self.device)

    def required_files(self) -> list[RequiredFile]:
        out = []
        for file in self.files:
            path = resolve_checkpoint(file)
            found = path if path.is_file() else None
            fix = "" if found else f"train it with `testbed-train` (README model cards) or put it at {path}"
            out.append(RequiredFile("trained deep-JSCC checkpoint", path.name, found, fix))
        return out

    def to(self, device: torch.device):
        super().to(device)
        for fit in self.fits:
            fit.model.to(self.device)
        return self

    @property
    def network(self) -> nn.Module:
        """The model of the checkpoint in use (the one given, for training)."""
        if self._used is None:
            raise RuntimeError("LearnedJSCC.network: no checkpoint chosen yet (call prepare(channel, cbr))")
        return self._used.model

    def select(self, channel: Channel, cbr: float) -> JSCCCheckpoint:
        """The checkpoint for ``channel`` at ``cbr``; a clear error listing the fits if none."""
        if not self.fits:
            self.check()
        for fit in self.fits:
            if fit.fits(channel, cbr, self.downsampling, self.receiver):
                return fit
        have = "; ".join(f.label(self.downsampling) for f in self.fits)
        raise ConfigError(
            f"codec {self.name}: no checkpoint trained for channel {channel.name} = "
            f"{spec_label(channel.spec())} with receiver {self.receiver} at CBR {cbr:.4g} (1/{1 / cbr:.3g}). "
            f"Available: {have}. Pick a channel and CBR from these, list another file in "
            f"codec.{self.name}.checkpoints, or train one with `testbed-train` for this channel."
        )

    def check_point(self, channel: Channel, cbr: float) -> None:
        self.select(channel, cbr)

    def supported_cbrs(self) -> list[float]:
        return sorted({c for fit in self.fits for c in fit.cbrs(self.downsampling)})

    def prepare(self, channel: Channel, cbr: float) -> None:
        self._used = self.select(channel, cbr)
        self._used.model.to(self.device)
        self.use_rate(self._used.rate_for(cbr, self.downsampling, channel.overhead))

    def use_rate(self, channels: int | None) -> None:
        if hasattr(self.network, "use_rate"):
            self.network.use_rate(channels)
        elif channels is not None and channels != getattr(self.network, "latent_channels", channels):
            raise ConfigError(f"{type(self.network).__name__} sends {self.network.latent_channels} channels only")

    def encode_batch(self, images: torch.Tensor, snr_db: torch.Tensor):
        model = self.network
        h, w = images.shape[-2:]
        pad_h, pad_w = (-h) % self.downsampling, (-w) % self.downsampling
        x = F.pad(images, (0, pad_w, 0, pad_h), mode="replicate") if pad_h or pad_w else images
        boxes = tile_boxes(x.shape[-2], x.shape[-1], self._tile_size(self._used))
        latents = [model.encode(x[..., t:b, le:r], snr_db) for t, b, le, r in boxes]
        flat = torch.cat([z.flatten(1) for z in latents], dim=1)
        context = {"boxes": boxes, "shapes": [z.shape for z in latents], "size": (h, w),
                   "padded": tuple(x.shape), "flat": flat.shape}
        return power_normalize(flat), context

    def decode_batch(self, received: ChannelOutput, context, snr_db: torch.Tensor) -> torch.Tensor:
        model = self.network
        estimate = symbols_to_latent(equalize(received, self.receiver), context["flat"])
        parts = estimate.split([math.prod(s[1:]) for s in context["shapes"]], dim=1)
        boxes, (h, w) = context["boxes"], context["size"]
        if len(boxes) == 1:
            image = model.decode(parts[0].reshape(context["shapes"][0]), snr_db)
        else:
            image = estimate.new_zeros(context["padded"])
            for (t, b, le, r), shape, part in zip(boxes, context["shapes"], parts):
                image[..., t:b, le:r] = model.decode(part.reshape(shape), snr_db)
        return image[..., :h, :w]

    def reception_extra(self, context) -> dict:
        return {"tiles": len(context["boxes"])}

    def _tile_size(self, fit: JSCCCheckpoint | None) -> int | None:
        tile = self.tile
        index = next((i for i, f in enumerate(self.fits) if f is fit), None)
        if index is not None and self.files:
            tile = self.checkpoint_tiles.get(self.files[index], tile)
        if tile != "crop":
            return tile
        crop = ((fit.meta if fit else {}).get("data") or {}).get("crop")
        return int(crop) if crop else None

    def describe(self) -> dict:
        fit = self._used or self.fits[0]
        return {"codec_backend": f"testbed.codecs.learned_jscc.LearnedJSCC[{type(fit.model).__name__}]",
                "receiver": self.receiver, "tile": self._tile_size(fit), **fit.describe()}
