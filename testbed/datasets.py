"""Datasets: where the images of a sweep come from.

* :class:`ImageFolder` reads every image below a folder (recursive, sorted by relative path).
* :class:`EmbeddedImages` uses the colour photographs that scikit-image ships in its wheel, so the
  default experiment needs no download.

Every image is decoded before any transmission; unreadable files are reported together.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

from testbed.codec import ImageRecord
from testbed.errors import ConfigError, DatasetError
from testbed.images import IMAGE_SUFFIXES, content_hash, read_image, rgb8_to_tensor, to_rgb8

#: scikit-image's bundled colour photographs (no pooch download needed).
EMBEDDED_NAMES = (
    "astronaut", "coffee", "chelsea", "rocket", "motorcycle_left", "motorcycle_right", "hubble_deep_field",
)


class Dataset:
    """Base: ``load()`` returns the images as :class:`ImageRecord` in a deterministic order."""

    name = "dataset"

    def __init__(self, limit: int | None = None, max_side: int | None = None) -> None:
        for key, value in (("limit", limit), ("max_side", max_side)):
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
                raise ConfigError(f"dataset.{key} must be a positive whole number or null, got {value!r}")
        self.limit = limit
        self.max_side = max_side

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


def _record(image_id: str, rgb) -> ImageRecord:
    return ImageRecord(image_id=image_id, pixels=rgb8_to_tensor(rgb), content_hash=content_hash(rgb))


class ImageFolder(Dataset):
    """All images below ``path`` (recursive), ordered by relative path.

    Args:
        path: the folder; when empty, the environment variable ``env`` is read.
        env: name of the environment variable that may hold the folder.
        limit: keep only the first ``limit`` images.
        name: dataset name recorded in the results.
    """

    def __init__(self, path: str | None = None, env: str = "TESTBED_DATA", limit: int | None = None,
                 name: str = "folder", max_side: int | None = None) -> None:
        super().__init__(limit, max_side)
        self.name = name
        self.env = env
        raw = path if path not in (None, "") else os.environ.get(env)
        if not raw:
            raise ConfigError(
                f"dataset '{name}' needs a folder: set dataset.path=DIR on the command line "
                f"or the environment variable {env}"
            )
        self.path = Path(_absolute(str(raw)))

    def files(self) -> list[Path]:
        """Image files below the folder, sorted by relative path, cut to ``limit``."""
        if not self.path.is_dir():
            raise ConfigError(
                f"dataset '{self.name}': folder {self.path} does not exist; "
                f"set dataset.path=DIR or {self.env}"
            )
        found = sorted(
            (p for p in self.path.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES),
            key=lambda p: p.relative_to(self.path).as_posix(),
        )
        if not found:
            raise ConfigError(
                f"dataset '{self.name}': no image files ({', '.join(IMAGE_SUFFIXES)}) below {self.path}"
            )
        return found[: self.limit] if self.limit else found

    def load(self) -> list[ImageRecord]:
        records, bad = [], []
        for path in self.files():
            try:
                rgb = read_image(path)
                if self.max_side:
                    from PIL import Image

                    rgb = to_rgb8(self._fit(Image.fromarray(rgb)))
            except Exception as err:  # any decoder failure is a bad file
                bad.append(f"  {path}: {type(err).__name__}: {err}")
                continue
            records.append(_record(path.relative_to(self.path).as_posix(), rgb))
        if bad:
            raise DatasetError(
                f"{len(bad)} image file(s) in dataset '{self.name}' cannot be read "
                "(fix or remove them, or point dataset.path elsewhere):\n" + "\n".join(bad)
            )
        return records

    def describe(self) -> dict:
        return {"dataset": self.name, "dataset_path": str(self.path), "max_side": self.max_side}


class EmbeddedImages(Dataset):
    """The colour photographs inside the scikit-image wheel (``names`` picks which)."""

    name = "embedded"

    def __init__(self, names: Sequence[str] = EMBEDDED_NAMES, limit: int | None = None,
                 max_side: int | None = None) -> None:
        super().__init__(limit, max_side)
        unknown = [n for n in names if n not in EMBEDDED_NAMES]
        if unknown:
            raise ConfigError(f"dataset.names: unknown embedded image(s) {unknown}; choose from {EMBEDDED_NAMES}")
        self.names = list(names)[: limit] if limit else list(names)

    def load(self) -> list[ImageRecord]:
        from PIL import Image

        records = []
        for name in self.names:
            img = self._fit(Image.open(_embedded_file(name)))
            records.append(_record(f"skimage:{name}", to_rgb8(img)))
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


def _absolute(path: str) -> str:
    """Resolve relative paths against the directory the user launched from (Hydra-aware)."""
    if os.path.isabs(path):
        return path
    try:
        from hydra.utils import to_absolute_path

        return to_absolute_path(path)
    except ValueError:  # Hydra not initialised
        return os.path.abspath(path)
