"""``dataset=folder`` / ``dataset=kodak``: every image below a folder (recursive, sorted by relative path)."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from testbed.core.dataset import Dataset, make_record
from testbed.core.errors import ConfigError, DatasetError
from testbed.core.images import DEFAULT_MAX_PIXELS, IMAGE_SUFFIXES, read_image, to_rgb8

log = logging.getLogger(__name__)


class ImageFolder(Dataset):
    """All images below ``path`` (recursive), ordered by relative path.

    Args:
        path: the folder; when empty, the environment variable ``env`` is read.
        env: name of the environment variable that may hold the folder.
        limit: keep only the first ``limit`` images.
        name: dataset name recorded in the results.
    """

    def __init__(self, path: str | None = None, env: str = "TESTBED_DATA", limit: int | None = None,
                 name: str = "folder", max_side: int | None = None, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> None:
        super().__init__(limit, max_side, max_pixels)
        self.skipped: list[str] = []
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
        found, skipped = [], []
        for folder, subfolders, names in os.walk(self.path, onerror=lambda err: skipped.append(
                f"{Path(err.filename).relative_to(self.path) if err.filename else '?'}/ (folder not readable: "
                f"{err.strerror})")):
            for name in subfolders:  # os.walk lists links to folders but does not enter them
                if (Path(folder) / name).is_symlink():
                    skipped.append(f"{(Path(folder) / name).relative_to(self.path).as_posix()}/ (a link to a "
                                   "folder: not followed; copy the images in, or point dataset.path at it)")
            for name in names:
                path = Path(folder) / name
                if path.suffix.lower() in IMAGE_SUFFIXES:
                    found.append(path)
                elif not name.startswith("."):
                    skipped.append(f"{path.relative_to(self.path).as_posix()} (not an image suffix)")
        found.sort(key=lambda p: p.relative_to(self.path).as_posix())
        self.skipped = sorted(skipped)
        if skipped:
            log.warning("dataset '%s': %d file(s) or folder(s) below %s skipped: %s", self.name, len(skipped),
                        self.path, "; ".join(self.skipped[:10]) + (" ..." if len(skipped) > 10 else ""))
        if not found:
            raise ConfigError(
                f"dataset '{self.name}': no image files ({', '.join(IMAGE_SUFFIXES)}) below {self.path}"
            )
        return found[: self.limit] if self.limit else found

    def load(self) -> list[ImageRecord]:
        records, bad = [], []
        for path in self.files():
            try:
                rgb = read_image(path, self.max_pixels)
                if self.max_side:
                    from PIL import Image

                    rgb = to_rgb8(self._fit(Image.fromarray(rgb)))
            except Exception as err:  # any decoder failure is a bad file
                bad.append(f"  {path}: {type(err).__name__}: {err}")
                continue
            records.append(make_record(path.relative_to(self.path).as_posix(), rgb))
        if bad:
            raise DatasetError(
                f"{len(bad)} image file(s) in dataset '{self.name}' cannot be read "
                "(fix or remove them, or point dataset.path elsewhere):\n" + "\n".join(bad)
            )
        return records

    def describe(self) -> dict:
        info = {"dataset": self.name, "dataset_path": str(self.path), "max_side": self.max_side}
        if self.skipped:
            info["dataset_skipped"] = self.skipped
        return info


def _absolute(path: str) -> str:
    """Resolve relative paths against the directory the user launched from (Hydra-aware)."""
    if os.path.isabs(path):
        return path
    try:
        from hydra.utils import to_absolute_path

        return to_absolute_path(path)
    except ValueError:  # Hydra not initialised
        return os.path.abspath(path)
