"""Codec base classes: what every transmission scheme (digital or learned) implements.

A :class:`Codec` is an encoder and a decoder. :meth:`Codec.encode` turns the images of one sweep
point (snr_db, cbr) into :class:`Transmission` s (channel symbols, one or more per image: several
when it evaluates an MCS table); the link (:mod:`testbed.run.link`) sends them over the channel;
:meth:`Codec.decode` turns what arrived into one :class:`Reception` per transmission. A codec never
calls the channel itself. A :class:`SourceCodec` turns an 8-bit image into bytes and back.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np
import torch

from testbed.core.channel import Channel, ChannelOutput
from testbed.core.plugin import Plugin

#: Image shown when a stream cannot be decoded: mid-grey, the documented fallback (DESIGN.md §4).
FALLBACK_LEVEL = 0.5


def fallback_image(height: int, width: int) -> torch.Tensor:
    """The fallback reconstruction, float32 ``[3, H, W]`` filled with :data:`FALLBACK_LEVEL`."""
    return torch.full((3, height, width), FALLBACK_LEVEL, dtype=torch.float32)


@dataclass
class ImageRecord:
    """One source image of a dataset.

    Attributes:
        image_id: stable identifier (relative path or dataset name), used in rows and seeds.
        pixels: float32 ``[3, H, W]`` in [0, 1], RGB, already 8-bit-exact (k/255 values).
        content_hash: hex digest of the 8-bit pixels, keys every cache.
    """

    image_id: str
    pixels: torch.Tensor
    content_hash: str

    @property
    def num_values(self) -> int:
        """n = H*W*3, the CBR denominator."""
        return int(self.pixels.numel())

    def as_uint8(self) -> np.ndarray:
        """The pixels as ``uint8 [H, W, 3]``."""
        return (self.pixels.permute(1, 2, 0).mul(255.0).round().clamp(0, 255)).to(torch.uint8).numpy()


@dataclass
class Reception:
    """The receiver's output for one image at one sweep point, plus the facts of the transmission.

    Attributes:
        image: reconstruction, float32 ``[3, H, W]`` in [0, 1].
        channel_uses: complex channel uses actually sent, all overhead included (CBR numerator).
        payload_bits: source bits carried (file bytes * 8 for digital schemes; 0 if none fit).
        source_quality: source-codec quality parameter used (``None`` where not applicable).
        mcs: modulation and coding label, e.g. ``"16qam-1/2"``, ``"capacity"`` or ``"analog"``.
        decode_failed: True when the stream did not decode and ``image`` is the fallback.
        extra: additional per-row fields (bit errors, codewords, ...).
    """

    image: torch.Tensor
    channel_uses: int
    payload_bits: int
    source_quality: float | None
    mcs: str
    decode_failed: bool
    extra: dict = field(default_factory=dict)


@dataclass
class Transmission:
    """What a codec sends for one image and one variant (an MCS, say) at one sweep point.

    Attributes:
        image: index of the image in the list handed to :meth:`Codec.encode`.
        variant: the ``mcs`` label of the :class:`Reception` it becomes.
        symbols: complex64 ``[K]`` with unit average energy, or ``None`` when nothing crosses the
            channel (an ideal capacity-achieving code, or nothing fits the budget).
        salt: extra parts of the seed of its channel draw, so variants draw independently.
        state: whatever the decoder needs besides the channel output (private to the codec).
        channel_uses: complex channel uses the symbols took, overhead of the channel included
            (pilots, cyclic prefix: :meth:`Channel.uses`); set by the link when it sends them.
    """

    image: int
    variant: str
    symbols: torch.Tensor | None
    salt: tuple = ()
    state: Any = None
    channel_uses: int = 0


#: Returns the generator for one image of the current sweep point (seeded by its identity);
#: extra arguments (e.g. an MCS label) salt the seed so that variants draw independently.
GeneratorFactory = Callable[..., torch.Generator]


class Codec(Plugin, ABC):
    """A transmission scheme: an encoder and a decoder at a given SNR and CBR budget.

    Subclasses implement :meth:`encode` and :meth:`decode`; the link sends the symbols between
    them, so every codec meets the channel, the seeding and the CBR accounting in one place.
    """

    #: how the MCS column should be read: ``fixed``, ``table`` (plot the envelope) or ``none``.
    mcs_policy: str = "none"

    def check(self) -> None:
        """Raise :class:`testbed.core.errors.ConfigError` if the codec cannot run (before any work)."""

    @abstractmethod
    def encode(self, images: Sequence[ImageRecord], channel: Channel, snr_db: float,
               cbr: float) -> list[Transmission]:
        """The transmissions of every image (``len(variants())`` per image, in that order)."""

    @abstractmethod
    def decode(self, images: Sequence[ImageRecord], sent: Sequence[Transmission],
               received: Sequence[ChannelOutput | None]) -> list[Reception]:
        """One reception per transmission (same order); ``received[i]`` is ``None`` where
        ``sent[i].symbols`` is ``None``."""

    def transmit(self, images: Sequence[ImageRecord], channel: Channel, snr_db: float, cbr: float,
                 generator_for: GeneratorFactory) -> list[list[Reception]]:
        """Encode, send through the link, decode: per image, the receptions of its variants."""
        from testbed.run.link import transmit

        return transmit(self, images, channel, snr_db, cbr, generator_for)

    def variants(self) -> list[str]:
        """The ``mcs`` labels of the receptions returned per image (they key the result rows)."""
        return ["none"]

    def check_point(self, channel, cbr: float) -> None:
        """Raise :class:`ConfigError` if this codec cannot serve ``channel`` at ``cbr`` (before any work)."""

    def check_snr(self, channel, cbr: float, snr_db: float) -> None:
        """Raise :class:`ConfigError` if this codec cannot serve ``channel`` at ``cbr`` at this SNR
        (a model trained for one SNR or an SNR range), before any work. Called only for points
        :meth:`check_point` accepts."""

    def supported_cbrs(self) -> list[float] | None:
        """The CBRs this codec can send (a trained model has one), or ``None`` for any."""
        return None

    def describe(self) -> dict:
        """Provenance recorded in every row (backend, version, weights file...)."""
        return {"codec_backend": type(self).__module__ + "." + type(self).__name__}


class SourceCodec(ABC):
    """An image <-> bytes codec with an ordered quality scale (worst first)."""

    name: str = "source"

    @property
    @abstractmethod
    def qualities(self) -> Sequence[float]:
        """Quality settings, ordered from smallest file to largest."""

    @abstractmethod
    def encode(self, image: np.ndarray, quality: float) -> bytes:
        """``uint8 [H, W, 3]`` -> the complete file bytes (every header byte included)."""

    @abstractmethod
    def decode(self, data: bytes, height: int, width: int) -> np.ndarray:
        """Bytes -> ``uint8 [height, width, 3]``; raises on any failure (caller falls back)."""

    def check(self) -> None:
        """Raise :class:`testbed.core.errors.ConfigError` if the backend is unavailable."""

    def describe(self) -> dict:
        return {"source_backend": self.name}
