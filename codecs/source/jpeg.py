"""JPEG source codec (Pillow / libjpeg): complete JFIF files, every header byte counted.

Decoding is hardened for streams that crossed a noisy channel: the header is parsed first and a
size other than the expected one is rejected before any pixel is decoded (a bit flip in the SOF
marker cannot trigger a huge allocation); truncated entropy-coded data is decoded as far as it
goes (``ImageFile.LOAD_TRUNCATED_IMAGES`` is enabled only for the duration of the call).
"""

from __future__ import annotations

import contextlib
import io
import threading
from typing import Iterator, Sequence

import numpy as np
import PIL
from PIL import Image, ImageFile

from testbed.core.codec import SourceCodec

_SUBSAMPLINGS = ("4:4:4", "4:2:2", "4:2:0")
_TRUNCATED_LOCK = threading.Lock()


@contextlib.contextmanager
def _allow_truncated() -> Iterator[None]:
    """Temporarily set Pillow's ``LOAD_TRUNCATED_IMAGES`` (restored on exit, serialised by a lock)."""
    with _TRUNCATED_LOCK:
        previous = ImageFile.LOAD_TRUNCATED_IMAGES
        ImageFile.LOAD_TRUNCATED_IMAGES = True
        try:
            yield
        finally:
            ImageFile.LOAD_TRUNCATED_IMAGES = previous


class JPEGSource(SourceCodec):
    """Baseline JPEG through Pillow; qualities 1 (smallest) .. 95.

    Args:
        subsampling: chroma subsampling, ``"4:2:0"`` (default), ``"4:2:2"`` or ``"4:4:4"``.
        optimize: optimised Huffman tables (smaller files, same pixels).
    """

    name = "jpeg"

    def __init__(self, subsampling: str = "4:2:0", optimize: bool = True) -> None:
        if subsampling not in _SUBSAMPLINGS:
            raise ValueError(f"subsampling must be one of {_SUBSAMPLINGS}, got {subsampling!r}")
        self.subsampling = subsampling
        self.optimize = bool(optimize)

    @property
    def qualities(self) -> Sequence[float]:
        return list(range(1, 96))

    @property
    def cache_key(self) -> str:
        return f"jpeg(subsampling={self.subsampling},optimize={self.optimize},pillow={PIL.__version__})"

    def encode(self, image: np.ndarray, quality: float) -> bytes:
        """``uint8 [H, W, 3]`` -> JFIF file bytes at Pillow quality ``quality`` (1..95)."""
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(f"expected uint8 [H, W, 3], got {image.dtype} {image.shape}")
        q = int(round(float(quality)))
        if not 1 <= q <= 95:
            raise ValueError(f"JPEG quality must be in 1..95, got {quality}")
        buffer = io.BytesIO()
        Image.fromarray(np.ascontiguousarray(image), mode="RGB").save(
            buffer, format="JPEG", quality=q, subsampling=self.subsampling, optimize=self.optimize
        )
        return buffer.getvalue()

    def decode(self, data: bytes, height: int, width: int) -> np.ndarray:
        """JFIF bytes -> ``uint8 [height, width, 3]``; ``ValueError`` if undecodable or wrong size."""
        try:
            with Image.open(io.BytesIO(bytes(data)), formats=["JPEG"]) as im:
                if im.size != (width, height):
                    raise ValueError(f"JPEG is {im.size[1]}x{im.size[0]}, expected {height}x{width}")
                with _allow_truncated():
                    im.load()
                rgb = np.asarray(im.convert("RGB"), dtype=np.uint8)
        except ValueError:
            raise
        except Exception as exc:  # Pillow raises OSError, SyntaxError, struct.error, ...
            raise ValueError(f"JPEG decode failed: {type(exc).__name__}: {exc}") from exc
        if rgb.shape != (height, width, 3):
            raise ValueError(f"JPEG decoded to {rgb.shape}, expected {(height, width, 3)}")
        return rgb

    def describe(self) -> dict:
        return {
            "source_backend": f"pillow-jpeg {PIL.__version__}",
            "source_subsampling": self.subsampling,
            "source_optimize": self.optimize,
        }
