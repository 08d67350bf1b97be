"""Benchmark: bytes spent outside the coded picture by three ways of shipping one HEVC intra image.

- raw: the Annex-B stream x265 writes (VPS+SPS+PPS with start codes, then the slice NAL units);
- lean: :class:`testbed.codecs.source.hevc.HEVCIntraSource` (5-byte header + slice NAL units);
- HEIF: pillow-heif's container (ftyp/meta/iloc/hvcC/... boxes, 4-byte NAL lengths in mdat).

Overhead = file bytes minus the bytes of its slice NAL units. HEIF encodes with libheif's own x265
settings, so only its overhead column (not its total) compares with the others.

Run: ``python tests/benchmarks/hevc_overhead.py``
"""

from __future__ import annotations

import io
import struct

import numpy as np
import pillow_heif
from PIL import Image
from skimage import data, transform

from testbed.codecs.source.hevc import HEADER_BYTES, HEVCIntraSource, split_parameter_sets


def _image(name: str, height: int, width: int) -> np.ndarray:
    """A skimage sample photo resized to ``uint8 [height, width, 3]``."""
    img = getattr(data, name)()
    return (transform.resize(img, (height, width), anti_aliasing=True) * 255).round().astype(np.uint8)


def _boxes(blob: bytes) -> dict[str, bytes]:
    """Top-level ISO-BMFF boxes of a HEIF file: type -> payload."""
    boxes, pos = {}, 0
    while pos + 8 <= len(blob):
        size, kind = struct.unpack(">I4s", blob[pos : pos + 8])
        header = 8
        if size == 1:
            size, header = struct.unpack(">Q", blob[pos + 8 : pos + 16])[0], 16
        elif size == 0:
            size = len(blob) - pos
        boxes[kind.decode("latin-1")] = blob[pos + header : pos + size]
        pos += size
    return boxes


def heif_overhead(image: np.ndarray, quality: int = 50) -> tuple[int, int]:
    """(HEIF file bytes, bytes that are not slice NAL data) for pillow-heif at ``quality``."""
    buffer = io.BytesIO()
    pillow_heif.from_pillow(Image.fromarray(image)).save(buffer, quality=quality)
    blob = buffer.getvalue()
    mdat, pos, nal_bytes = _boxes(blob)["mdat"], 0, 0
    while pos + 4 <= len(mdat):  # hvcC lengthSizeMinusOne = 3 (libheif's choice)
        (length,) = struct.unpack(">I", mdat[pos : pos + 4])
        nal_bytes += length
        pos += 4 + length
    if pos != len(mdat):
        raise RuntimeError("mdat is not a sequence of 4-byte-length NAL units")
    return len(blob), len(blob) - nal_bytes


def main() -> None:
    cases = [("astronaut", 512, 512), ("coffee", 512, 768)]
    source = HEVCIntraSource()
    rows = []
    for name, height, width in cases:
        img = _image(name, height, width)
        heif_total, heif_over = heif_overhead(img)
        for qp in (40, 30, 20):
            raw = source.raw_stream(img, qp)
            params, slices = split_parameter_sets(raw)
            lean = source.encode(img, qp)
            assert lean[HEADER_BYTES:] == slices
            rows.append(
                (f"{width}x{height}", qp, len(raw), len(raw) - len(slices), len(lean),
                 len(lean) - len(slices), heif_total, heif_over)
            )
    head = ("WxH", "QP", "raw B", "raw ovh", "lean B", "lean ovh", "HEIF B(q50)", "HEIF ovh")
    print("HEVC intra: bytes outside the slice NAL units (ovh) per way of shipping the picture")
    print(" | ".join(f"{h:>11}" for h in head))
    for row in rows:
        print(" | ".join(f"{v:>11}" for v in row))
    saved = [r[3] - r[5] for r in rows]
    print(f"lean header saves {min(saved)}..{max(saved)} B per image vs the raw stream; "
          f"HEIF container costs {min(r[7] for r in rows)}..{max(r[7] for r in rows)} B")


if __name__ == "__main__":
    main()
