"""``dataset=embedded``: the colour photographs scikit-image ships in its wheel (no download)."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from testbed.core.dataset import Dataset, make_record
from testbed.core.errors import ConfigError
from testbed.core.images import to_rgb8

#: scikit-image's bundled colour photographs (no pooch download needed).
EMBEDDED_NAMES = (
    "astronaut", "coffee", "chelsea", "rocket", "motorcycle_left", "motorcycle_right", "hubble_deep_field",
)



class EmbeddedImages(Dataset):
    """The colour photographs inside the scikit-image wheel (``names`` picks which)."""

    name = "embedded"

    def __init__(self, names: Sequence[str] = EMBEDDED_NAMES, limit: int | None = None,
                 max_side: int | None = None, max_pixels: int | None = None) -> None:
        super().__init__(limit, max_side, max_pixels)
        unknown = [n for n in names if n not in EMBEDDED_NAMES]
        if unknown:
            raise ConfigError(f"dataset.names: unknown embedded image(s) {unknown}; choose from {EMBEDDED_NAMES}")
        self.names = list(names)[: limit] if limit else list(names)

    def load(self) -> list[ImageRecord]:
        from PIL import Image

        records = []
        for name in self.names:
            img = self._fit(Image.open(_embedded_file(name)))
            records.append(make_record(f"skimage:{name}", to_rgb8(img)))
        return records

    def describe(self) -> dict:
        return {"dataset": self.name, "dataset_path": "scikit-image data", "max_side": self.max_side}


def _embedded_file(name: str) -> Path:
    """The file of an embedded photograph inside the installed scikit-image package."""
    import skimage.data

    folder = Path(skimage.data.__file__).parent
    for suffix in (".png", ".jpg"):
        if (folder / f"{name}{suffix}").is_file():
            return folder / f"{name}{suffix}"
    raise ConfigError(f"embedded image {name!r} is missing from scikit-image's data folder {folder}")
