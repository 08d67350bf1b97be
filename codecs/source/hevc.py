"""HEVC-intra still-image source codec (x265 via PyAV): the stand-in for BPG.

BPG is an HEVC intra picture behind a few bytes of header. This codec produces the same kind of
file with packages reachable from Python: libx265 (encoder) and FFmpeg's ``hevc`` decoder, both
inside the PyAV wheel.

Lean file layout (every byte is transmitted and counted)::

    width  (2 B, big endian)   height (2 B, big endian)
    flags  (1 B): qp << 2 | chroma444 (bit 0); bit 1 reserved (0)
    slice NAL units of the picture, Annex-B, without the first start code

The VPS/SPS/PPS that a raw Annex-B stream would carry (~80 B) are not sent: they are a
deterministic function of (coded width, coded height, chroma, qp, preset), so the decoder
regenerates them by encoding a blank picture with the same settings (cached) and prepends them.
:meth:`HEVCIntraSource.encode` checks that claim on every call.

Colour: RGB -> Y'CbCr BT.601 full range (as BPG's default), converted by swscale on both ends.
Sizes x265 refuses are padded by edge replication before encoding and the reconstruction is
cropped back (the header stores the original size): odd width/height with 4:2:0 chroma are padded
to even, and sides under 16 pixels (x265's minimum picture size) to 16.
"""

from __future__ import annotations

import functools
import struct
from fractions import Fraction
from typing import Sequence

import av
import numpy as np
from av.video.reformatter import ColorRange, Colorspace, Interpolation

from testbed.core.codec import SourceCodec
from testbed.core.numbers import is_whole

#: Size of the lean header in bytes (width, height, flags).
HEADER_BYTES = 5
_START_CODE = b"\x00\x00\x01"
_PIX_FMT = {"420": "yuv420p", "444": "yuv444p"}
_SWS_FLAGS = Interpolation.BILINEAR | Interpolation.ACCURATE_RND | Interpolation.FULL_CHR_H_INT
_PARAMETER_SET_TYPES = (32, 33, 34)  # VPS, SPS, PPS
_MIN_SIDE = 16  # smallest picture side x265 accepts
#: x265's presets, fastest first (bpgenc runs placebo), and the tunes the stand-in accepts
#: (bpgenc's own setting is ssim: psy-rd and psy-rdoq off, which costs no PSNR)
X265_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow",
                "placebo")
X265_TUNES = ("psnr", "ssim")


def nal_units(stream: bytes) -> list[tuple[int, int, int]]:
    """Split an Annex-B stream: per NAL, ``(start_code_offset, payload_offset, nal_unit_type)``.

    Emulation prevention guarantees ``00 00 01`` never occurs inside a NAL payload.
    """
    units: list[tuple[int, int, int]] = []
    pos = stream.find(_START_CODE)
    while pos >= 0:
        start = pos - 1 if pos > 0 and stream[pos - 1] == 0 else pos
        payload = pos + 3
        nal_type = (stream[payload] >> 1) & 0x3F if payload < len(stream) else -1
        units.append((start, payload, nal_type))
        pos = stream.find(_START_CODE, payload)
    return units


def split_parameter_sets(stream: bytes) -> tuple[bytes, bytes]:
    """Raw Annex-B stream -> (parameter sets with their start codes, rest minus its first start code)."""
    for start, payload, nal_type in nal_units(stream):
        if nal_type not in _PARAMETER_SET_TYPES:
            return stream[:start], stream[payload:]
    raise ValueError("HEVC stream holds no slice NAL unit")


def padded_size(height: int, width: int, chroma: str) -> tuple[int, int]:
    """Coded (padded) size: sides at least 16, and even for 4:2:0."""
    height, width = max(height, _MIN_SIDE), max(width, _MIN_SIDE)
    if chroma == "420":
        return height + height % 2, width + width % 2
    return height, width


def x265_encode(image: np.ndarray, qp: int, chroma: str, preset: str, tune: str | None = None) -> bytes:
    """``uint8 [H, W, 3]`` (coded size) -> raw Annex-B HEVC stream of one intra picture."""
    height, width, _ = image.shape
    ctx = av.CodecContext.create("libx265", "w")
    ctx.width, ctx.height = width, height
    ctx.pix_fmt = _PIX_FMT[chroma]
    ctx.time_base = Fraction(1, 25)
    ctx.options = {
        "preset": preset,
        "x265-params": f"qp={qp}:keyint=1:info=0:annexb=1:log-level=error",
        **({"tune": tune} if tune else {}),
    }
    frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
    frame = frame.reformat(
        format=ctx.pix_fmt,
        src_colorspace=Colorspace.ITU601,
        dst_colorspace=Colorspace.ITU601,
        interpolation=_SWS_FLAGS,
        src_color_range=ColorRange.JPEG,
        dst_color_range=ColorRange.JPEG,
    )
    frame.pts = 0
    packets = list(ctx.encode(frame)) + list(ctx.encode(None))
    return b"".join(bytes(p) for p in packets)


def hevc_decode(stream: bytes) -> np.ndarray:
    """Raw Annex-B stream -> ``uint8 [H, W, 3]`` of its first picture (FFmpeg ``hevc`` decoder).

    Raises ``ValueError`` when FFmpeg rejects the stream or outputs no picture.
    """
    ctx = av.CodecContext.create("hevc", "r")
    frames = []
    try:
        packets = list(ctx.parse(stream)) + list(ctx.parse(None))
        for packet in packets:
            frames.extend(ctx.decode(packet))
        frames.extend(ctx.decode(None))
    except av.FFmpegError as exc:
        if not frames:
            raise ValueError(f"HEVC decoder rejected the stream: {exc}") from exc
    if not frames:
        raise ValueError("HEVC decoder produced no picture")
    rgb = frames[0].reformat(
        format="rgb24",
        src_colorspace=Colorspace.ITU601,
        dst_colorspace=Colorspace.ITU601,
        interpolation=_SWS_FLAGS,
        src_color_range=ColorRange.JPEG,
        dst_color_range=ColorRange.JPEG,
    )
    return rgb.to_ndarray()


@functools.lru_cache(maxsize=256)
def parameter_sets(height: int, width: int, chroma: str, qp: int, preset: str, tune: str | None = None) -> bytes:
    """VPS+SPS+PPS (Annex-B, start codes included) x265 writes for these settings (coded size)."""
    blank = np.full((height, width, 3), 128, dtype=np.uint8)
    return split_parameter_sets(x265_encode(blank, qp, chroma, preset, tune))[0]


class HEVCIntraSource(SourceCodec):
    """Raw HEVC intra picture with a 5-byte header.

    Qualities run worst first from ``51 - qp_offset`` down to 0; quality ``q`` is coded with x265
    ``qp = q + qp_offset`` (bpgenc's 8-bit mapping is ``qp = q + 1``; plain HEVC uses 0). The
    header stores the x265 QP, so a file decodes whatever offset wrote it.
    """

    name = "hevc_intra"
    #: file size grows as the QP falls (x265, one intra picture at a fixed QP): the rate control
    #: bisects between the sizes it already knows (:func:`~testbed.codecs.source.rate_control.best_quality`)
    monotone_sizes = True

    def __init__(
        self, chroma: str = "420", preset: str = "medium", tune: str | None = None, qp_offset: int = 0
    ) -> None:
        if not is_whole(qp_offset) or not 0 <= qp_offset <= 51:
            raise ValueError(f"qp_offset must be a whole number in 0..51, got {qp_offset!r}")
        if chroma not in _PIX_FMT:
            raise ValueError(f"chroma must be '420' or '444', got {chroma!r}")
        if str(preset) not in X265_PRESETS:
            raise ValueError(f"x265 preset must be one of {X265_PRESETS}, got {preset!r}")
        if tune is not None and str(tune) not in X265_TUNES:
            raise ValueError(f"x265 tune must be one of {X265_TUNES} or null, got {tune!r}")
        self.chroma = str(chroma)
        self.preset = str(preset)
        self.tune = None if tune is None else str(tune)
        self.qp_offset = qp_offset

    @property
    def qualities(self) -> Sequence[float]:
        return list(range(51 - self.qp_offset, -1, -1))

    @property
    def cache_key(self) -> str:
        tune = f",tune={self.tune}" if self.tune else ""
        offset = f",qp=q+{self.qp_offset}" if self.qp_offset else ""
        return f"hevc_intra(chroma={self.chroma},preset={self.preset}{tune}{offset},x265,av={av.__version__})"

    def raw_stream(self, image: np.ndarray, quality: float) -> bytes:
        """The full Annex-B stream (parameter sets included) x265 writes for the padded image."""
        qp = self._qp(quality)
        height, width = image.shape[:2]
        coded_h, coded_w = padded_size(height, width, self.chroma)
        padded = np.pad(image, ((0, coded_h - height), (0, coded_w - width), (0, 0)), mode="edge")
        return x265_encode(padded, qp, self.chroma, self.preset, self.tune)

    def encode(self, image: np.ndarray, quality: float) -> bytes:
        """``uint8 [H, W, 3]`` -> lean file bytes (5-byte header + slice NAL units)."""
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(f"expected uint8 [H, W, 3], got {image.dtype} {image.shape}")
        height, width = image.shape[:2]
        if not (0 < height < 1 << 16 and 0 < width < 1 << 16):
            raise ValueError(f"image size {height}x{width} does not fit the 16-bit header fields")
        qp = self._qp(quality)
        params, slices = split_parameter_sets(self.raw_stream(image, quality))
        coded_h, coded_w = padded_size(height, width, self.chroma)
        if params != parameter_sets(coded_h, coded_w, self.chroma, qp, self.preset, self.tune):
            raise RuntimeError("x265 parameter sets depend on image content; lean header is invalid")
        flags = qp << 2 | (1 if self.chroma == "444" else 0)
        return struct.pack(">HHB", width, height, flags) + slices

    def decode(self, data: bytes, height: int, width: int) -> np.ndarray:
        """Lean file bytes -> ``uint8 [height, width, 3]``; ``ValueError`` on any failure."""
        if len(data) <= HEADER_BYTES:
            raise ValueError(f"HEVC file too short ({len(data)} bytes)")
        file_w, file_h, flags = struct.unpack(">HHB", data[:HEADER_BYTES])
        if (file_h, file_w) != (height, width):
            raise ValueError(f"HEVC header says {file_h}x{file_w}, expected {height}x{width}")
        qp, chroma = flags >> 2, ("444" if flags & 1 else "420")
        if qp > 51:
            raise ValueError(f"HEVC header carries an invalid QP {qp}")
        coded_h, coded_w = padded_size(height, width, chroma)
        stream = parameter_sets(coded_h, coded_w, chroma, qp, self.preset, self.tune)
        picture = hevc_decode(stream + _START_CODE + bytes(data[HEADER_BYTES:]))
        if picture.shape[:2] != (coded_h, coded_w):
            raise ValueError(f"HEVC picture is {picture.shape[:2]}, expected {(coded_h, coded_w)}")
        return np.ascontiguousarray(picture[:height, :width])

    def describe(self) -> dict:
        return {
            "source_backend": f"x265 via PyAV {av.__version__} (raw HEVC intra, lean header)",
            "source_chroma": self.chroma,
            "source_preset": self.preset,
            **({"source_tune": self.tune} if self.tune else {}),
            **({"source_qp": f"q + {self.qp_offset}"} if self.qp_offset else {}),
        }

    def _qp(self, quality: float) -> int:
        """x265 QP of quality ``quality`` (``ValueError`` outside ``0..51 - qp_offset``)."""
        q = int(round(float(quality)))
        if not 0 <= q <= 51 - self.qp_offset:
            raise ValueError(f"HEVC quality is a whole number in 0..{51 - self.qp_offset}, got {quality}")
        return q + self.qp_offset
