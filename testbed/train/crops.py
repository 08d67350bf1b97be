"""Random training crops (with flips) from an image folder, and fixed crops of held-out images."""

from __future__ import annotations

import torch

from testbed.config.catalogue import instantiate, option_node
from testbed.core.errors import ConfigError


class CropSampler:
    """Crops of ``crop`` x ``crop`` pixels from the images of a folder.

    The last ``holdout`` images (in the folder's sorted order) are kept for validation only.
    """

    def __init__(self, path: str, crop: int = 128, holdout: int = 4) -> None:
        node = option_node("dataset", "folder")
        node.path, node.name, node.limit, node.max_side = path, "train", None, None
        records = instantiate(node).load()
        small = [r.image_id for r in records if min(r.pixels.shape[1:]) < crop]
        if small:
            raise ConfigError(f"training images smaller than the {crop}px crop: {small}")
        if len(records) <= holdout:
            raise ConfigError(f"need more than {holdout} images in {path} (holdout={holdout})")
        self.path, self.crop = path, crop
        self.train_images = [r.pixels for r in records[:-holdout]] if holdout else [r.pixels for r in records]
        self.val_images = [r.pixels for r in records[-holdout:]] if holdout else []
        self.train_ids = [r.image_id for r in (records[:-holdout] if holdout else records)]

    def _crop(self, image: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        _, h, w = image.shape
        top = int(torch.randint(0, h - self.crop + 1, (1,), generator=gen))
        left = int(torch.randint(0, w - self.crop + 1, (1,), generator=gen))
        out = image[:, top:top + self.crop, left:left + self.crop]
        if bool(torch.rand(1, generator=gen) < 0.5):
            out = out.flip(-1)
        if bool(torch.rand(1, generator=gen) < 0.5):
            out = out.flip(-2)
        return out

    def batch(self, size: int, gen: torch.Generator) -> torch.Tensor:
        """``[size, 3, crop, crop]`` random crops of random training images."""
        idx = torch.randint(0, len(self.train_images), (size,), generator=gen)
        return torch.stack([self._crop(self.train_images[int(i)], gen) for i in idx])

    def validation(self, per_image: int) -> torch.Tensor:
        """Fixed crops (seed 0) of the held-out images: ``[holdout * per_image, 3, crop, crop]``."""
        gen = torch.Generator().manual_seed(0)
        pool = self.val_images or self.train_images
        return torch.stack([self._crop(img, gen) for img in pool for _ in range(per_image)])

    def describe(self) -> dict:
        return {"path": str(self.path), "crop": self.crop, "train_images": self.train_ids,
                "holdout_images": len(self.val_images)}
