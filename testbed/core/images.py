"""Reading image files into the project's convention: float32 ``[3, H, W]`` RGB in [0, 1].

Conversion rule (applied in this order, documented in the README):

1. EXIF orientation is applied, so pixels are as a viewer shows them.
2. 16-bit and 32-bit integer samples (modes ``I;16*``, ``I``) are scaled to 8 bits as
   ``round(v / 257)`` (65535 -> 255), clipped to [0, 255]; float samples (mode ``F``) are clipped
   to [0, 255] and rounded.
3. Palette images are expanded through their palette (to RGBA when they declare transparency).
4. Images with alpha (``RGBA``, ``LA``, ``PA``) are composited over a white background.
5. Grey images (``L``, ``1``) are replicated to three channels; CMYK, YCbCr, LAB are converted by
   Pillow to RGB.

The result is exactly representable in 8 bits (values k/255).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".pnm", ".gif")
#: Decoded pixels an image may have unless a dataset raises it (``dataset.max_pixels``): 50 MP.
DEFAULT_MAX_PIXELS = 50_000_000


def to_rgb8(img: Image.Image) -> np.ndarray:
    """Any Pillow image -> ``uint8 [H, W, 3]`` RGB by the module's conversion rule."""
    img = ImageOps.exif_transpose(img)
    if img.mode.startswith("I"):
        arr = np.asarray(img, dtype=np.float64)
        img = Image.fromarray(np.clip(np.round(arr / 257.0), 0, 255).astype(np.uint8), "L")
    elif img.mode == "F":
        arr = np.asarray(img, dtype=np.float64)
        img = Image.fromarray(np.clip(np.round(arr), 0, 255).astype(np.uint8), "L")
    if img.mode == "P":
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
    if img.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, rgba)
    if img.mode != "RGB":
        img = img.convert("RGB")
    return np.asarray(img, dtype=np.uint8).copy()


def read_image(path: str | Path, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Decode the file at ``path`` fully -> ``uint8 [H, W, 3]`` (a GIF: its first frame); raises on
    unreadable files, and on images above ``max_pixels`` before decoding them (from the header)."""
    with Image.open(path) as img:
        if max_pixels and img.width * img.height > max_pixels:
            raise ValueError(f"{img.width}x{img.height} = {img.width * img.height / 1e6:.1f} MP is above "
                             f"dataset.max_pixels = {max_pixels / 1e6:g} MP (raise it to read such images)")
        img.load()
        return to_rgb8(img)


def rgb8_to_tensor(rgb: np.ndarray) -> torch.Tensor:
    """``uint8 [H, W, 3]`` -> float32 ``[3, H, W]`` in [0, 1]."""
    rgb = rgb if rgb.flags.writeable and rgb.flags.c_contiguous else np.array(rgb, order="C")
    return torch.from_numpy(rgb).permute(2, 0, 1).float().div(255.0)


def tensor_to_rgb8(image: torch.Tensor) -> np.ndarray:
    """float ``[3, H, W]`` in [0, 1] -> ``uint8 [H, W, 3]`` (rounded)."""
    return image.detach().clamp(0, 1).mul(255).round().to(torch.uint8).permute(1, 2, 0).cpu().numpy()


def content_hash(rgb: np.ndarray) -> str:
    """Stable digest of an 8-bit image (shape and pixels): the key of every per-image cache."""
    h = hashlib.sha256()
    h.update(repr(rgb.shape).encode())
    h.update(np.ascontiguousarray(rgb).tobytes())
    return h.hexdigest()[:24]
