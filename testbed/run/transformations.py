"""Clean images under transformations, scored by every metric (the SeSS paper's fourth experiment).

Some transformations keep the meaning while moving pixels (flip, small rotation, crop, brightness);
some degrade the image (blur, noise, heavy JPEG); others change its meaning (occlusion, shuffled
regions). A pixel metric collapses for
the first kind; a semantic metric should not. Every transformation is a deterministic function
of the image ``[3, H, W]`` in [0, 1] (and of a seed where it draws), returning the same size.

    testbed transforms dataset=kodak --metric psnr st_lpips vitscore --transform hflip rotate5
"""

from __future__ import annotations

import io
import math
from typing import Callable

import torch
import torch.nn.functional as F

from testbed.core.errors import ConfigError


def _resize(image: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    return F.interpolate(image[None], size=size, mode="bicubic", align_corners=False, antialias=True)[0].clamp(0, 1)


def crop_resize(image: torch.Tensor, fraction: float = 0.1, margin: int = 0) -> torch.Tensor:
    """Cut ``fraction`` of each side length (half from each edge, plus ``margin`` pixels) and
    resize back."""
    _, h, w = image.shape
    dh, dw = round(h * fraction / 2) + margin, round(w * fraction / 2) + margin
    return _resize(image[:, dh:h - dh, dw:w - dw], (h, w))


def rotate(image: torch.Tensor, degrees: float = 5.0) -> torch.Tensor:
    """Rotate about the centre (bilinear), then crop the largest centred rectangle of the same aspect
    that holds no filled corner and resize back: no black wedges enter the image."""
    from torchvision.transforms.v2 import functional as TF

    _, h, w = image.shape
    turned = TF.rotate(image, degrees, interpolation=TF.InterpolationMode.BILINEAR)
    a = math.radians(abs(degrees))
    scale = min(w / (w * math.cos(a) + h * math.sin(a)), h / (w * math.sin(a) + h * math.cos(a)))
    return crop_resize(turned, 1.0 - scale, margin=2)  # 2 px for the interpolated wedge edges


def brightness(image: torch.Tensor, factor: float = 1.2) -> torch.Tensor:
    return (image * factor).clamp(0, 1)


def blur(image: torch.Tensor, sigma: float = 2.0) -> torch.Tensor:
    from torchvision.transforms.v2 import functional as TF

    size = 2 * math.ceil(3 * sigma) + 1
    return TF.gaussian_blur(image, [size, size], [sigma, sigma])


def occlude(image: torch.Tensor, fraction: float = 0.25, seed: int = 0) -> torch.Tensor:
    """A mid-grey box of ``fraction`` of the area at a seeded position."""
    _, h, w = image.shape
    bh, bw = round(h * math.sqrt(fraction)), round(w * math.sqrt(fraction))
    g = torch.Generator().manual_seed(seed)
    top, left = int(torch.randint(0, h - bh + 1, (1,), generator=g)), int(torch.randint(0, w - bw + 1, (1,), generator=g))
    out = image.clone()
    out[:, top:top + bh, left:left + bw] = 0.5
    return out


def shuffle(image: torch.Tensor, grid: int = 4, seed: int = 0) -> torch.Tensor:
    """Cut into ``grid`` x ``grid`` tiles and permute them (seeded); edge pixels that do not fill a
    tile stay in place."""
    _, h, w = image.shape
    th, tw = h // grid, w // grid
    tiles = [image[:, i * th:(i + 1) * th, j * tw:(j + 1) * tw] for i in range(grid) for j in range(grid)]
    order = torch.randperm(len(tiles), generator=torch.Generator().manual_seed(seed)).tolist()
    out = image.clone()
    for k, src in enumerate(order):
        i, j = divmod(k, grid)
        out[:, i * th:(i + 1) * th, j * tw:(j + 1) * tw] = tiles[src]
    return out


def noise(image: torch.Tensor, sigma: float = 0.1, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return (image + sigma * torch.randn(image.shape, generator=g)).clamp(0, 1)


def jpeg(image: torch.Tensor, quality: int = 5) -> torch.Tensor:
    """A round trip through Pillow's JPEG at ``quality``."""
    import numpy as np
    from PIL import Image

    from testbed.core.images import rgb8_to_tensor, tensor_to_rgb8

    buffer = io.BytesIO()
    Image.fromarray(tensor_to_rgb8(image)).save(buffer, format="JPEG", quality=quality)
    return rgb8_to_tensor(np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")))


#: The categories: the meaning is kept (pixels move), the image is degraded, the meaning changes.
CATEGORIES = ("kept", "degraded", "changed")

#: name -> (function, category)
TRANSFORMS: dict[str, tuple[Callable[[torch.Tensor], torch.Tensor], str]] = {
    "identity": (lambda x: x.clone(), "kept"),
    "hflip": (lambda x: x.flip(-1), "kept"),
    "rotate5": (rotate, "kept"),
    "crop10": (crop_resize, "kept"),
    "brightness20": (brightness, "kept"),
    "blur2": (blur, "degraded"),
    "noise0.1": (noise, "degraded"),
    "jpeg5": (jpeg, "degraded"),
    "occlude25": (occlude, "changed"),
    "shuffle4": (shuffle, "changed"),
}


def apply(name: str, image: torch.Tensor) -> torch.Tensor:
    """The transformation ``name`` of ``image`` ``[3, H, W]`` (same size, in [0, 1])."""
    if name not in TRANSFORMS:
        raise ConfigError(f"unknown transformation {name!r}; available: {', '.join(TRANSFORMS)}")
    out = TRANSFORMS[name][0](image)
    assert out.shape == image.shape, f"{name} changed the size"
    return out.float()
