"""Dataset base class: where the images of a sweep come from (plugins in ``testbed.datasets``).

``load()`` returns every image as an :class:`~testbed.core.codec.ImageRecord` (float32
``[3, H, W]`` in [0, 1], 8-bit exact) in a deterministic order; all are decoded before any
transmission, and unreadable files are reported together.
"""

from __future__ import annotations

from testbed.core.codec import ImageRecord
from testbed.core.errors import ConfigError
from testbed.core.images import DEFAULT_MAX_PIXELS, content_hash, rgb8_to_tensor
from testbed.core.numbers import is_whole
from testbed.core.plugin import Plugin


class Dataset(Plugin):
    """Base: ``load()`` returns the images as :class:`ImageRecord` in a deterministic order."""

    name = "dataset"

    def __init__(self, limit: int | None = None, max_side: int | None = None,
                 max_pixels: int | None = DEFAULT_MAX_PIXELS) -> None:
        for key, value in (("limit", limit), ("max_side", max_side), ("max_pixels", max_pixels)):
            if value is not None and (not is_whole(value) or value < 1):
                raise ConfigError(f"dataset.{key} must be a positive whole number or null, got {value!r}")
        self.limit = limit
        self.max_side = max_side
        self.max_pixels = max_pixels  # images above it are refused before they are decoded

    def _fit(self, img):
        """Resize (Lanczos) so the long side is at most ``max_side``; smaller images stay as they are."""
        from PIL import Image

        if not self.max_side or max(img.size) <= self.max_side:
            return img
        scale = self.max_side / max(img.size)
        size = (max(1, round(img.width * scale)), max(1, round(img.height * scale)))
        return img.resize(size, Image.Resampling.LANCZOS)

    def load(self) -> list[ImageRecord]:
        raise NotImplementedError

    def describe(self) -> dict:
        return {"dataset": self.name}


def make_record(image_id: str, rgb) -> ImageRecord:
    return ImageRecord(image_id=image_id, pixels=rgb8_to_tensor(rgb), content_hash=content_hash(rgb))
