"""OpenCLIP embeddings for the reference SeSS backend (step 4): region crops, whole images and
predicate names, each L2-normalised, as the released code computes them (``demo.py``):

* node feature: image embedding of the bounding-box crop of the mask (the crop of the image,
  not masked: ``PIL.Image.crop((col_min, row_min, col_max + 1, row_max + 1))``);
* global term: image embedding of the whole image;
* predicate similarity ``R[p, q]``: cosine of the text embeddings of the bare predicate names
  (no prompt template), tokenised by the model's tokenizer.

Images go through the model's evaluation transform (for ViT-H-14: bicubic resize of the short
side to 224 px, centre crop 224, OpenAI mean/std), as ``open_clip.create_model_and_transforms``
returns it.
"""

from __future__ import annotations

import hashlib
from typing import Callable, Sequence

import numpy as np
import torch
from PIL import Image

from testbed.core.weights import WeightsFile

CLIP_MODEL, CLIP_TAG = "ViT-H-14", "laion2B-s32B-b79K"
CLIP_REPO = "laion/CLIP-ViT-H-14-laion2B-s32B-b79K"
CLIP_WEIGHTS = WeightsFile(
    filename="open_clip_pytorch_model.bin", hf_repo=CLIP_REPO,
    url=f"https://huggingface.co/{CLIP_REPO}/resolve/main/open_clip_pytorch_model.bin",
    description=f"OpenCLIP {CLIP_MODEL} ({CLIP_TAG}) weights, Hugging Face {CLIP_REPO} (MIT)")


def mask_box(mask: np.ndarray) -> tuple[int, int, int, int]:
    """Bounding box ``(x0, y0, x1, y1)`` of a non-empty bool mask ``[H, W]``, px, end exclusive."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


def module_fingerprint(module: torch.nn.Module) -> str:
    """SHA-256 of a module's state dict (names, dtypes, shapes, values): names injected models."""
    digest = hashlib.sha256()
    for key, value in module.state_dict().items():
        value = value.detach().cpu().contiguous()
        digest.update(f"{key}:{value.dtype}:{tuple(value.shape)}".encode())
        digest.update(value.reshape(-1).view(torch.uint8).numpy().tobytes() if value.numel() else b"")
    return digest.hexdigest()


class ClipEmbedder:
    """An OpenCLIP model with its evaluation transform and tokenizer.

    ``model``: an ``open_clip`` CLIP (``encode_image``, ``encode_text``); ``preprocess``: PIL image ->
    float ``[3, S, S]``; ``tokenizer``: list of str -> int ``[K, context]``. :meth:`from_file` builds
    ViT-H-14 from a weights file; tests inject small models.
    """

    def __init__(self, model, preprocess: Callable, tokenizer: Callable, name: str = "injected OpenCLIP model",
                 batch_size: int = 16) -> None:
        self.model, self.preprocess, self.tokenizer = model.eval(), preprocess, tokenizer
        self.name, self.batch_size = name, max(1, int(batch_size))
        self.device = torch.device("cpu")

    @classmethod
    def from_file(cls, path: str, model_name: str = CLIP_MODEL, batch_size: int = 16) -> "ClipEmbedder":
        """``open_clip.create_model_and_transforms(model_name, pretrained=path)`` (no download)."""
        import open_clip

        model, _, preprocess = open_clip.create_model_and_transforms(model_name, pretrained=str(path))
        return cls(model, preprocess, open_clip.get_tokenizer(model_name), f"OpenCLIP {model_name} ({CLIP_TAG})",
                   batch_size)

    def to(self, device: torch.device) -> "ClipEmbedder":
        self.device = torch.device(device)
        self.model.to(self.device)
        return self

    @torch.no_grad()
    def images(self, images: Sequence[Image.Image]) -> np.ndarray:
        """PIL RGB images -> unit image embeddings float32 ``[K, D]``."""
        out = []
        for start in range(0, len(images), self.batch_size):
            batch = torch.stack([self.preprocess(im) for im in images[start:start + self.batch_size]])
            out.append(self.model.encode_image(batch.to(self.device)).float().cpu())
        return _unit(torch.cat(out)) if out else np.zeros((0, 0), np.float32)

    @torch.no_grad()
    def texts(self, texts: Sequence[str]) -> np.ndarray:
        """Strings -> unit text embeddings float32 ``[K, D]``."""
        tokens = self.tokenizer(list(texts)).to(self.device)
        return _unit(self.model.encode_text(tokens).float().cpu())

    def describe(self) -> dict:
        return {"model": self.name}


def _unit(x: torch.Tensor) -> np.ndarray:
    x = x.double()
    return (x / x.norm(dim=-1, keepdim=True)).float().numpy()


def region_crops(image: Image.Image, masks: np.ndarray) -> list[Image.Image]:
    """The bounding-box crop of each bool mask ``[N, H, W]`` from ``image`` (same size as the masks)."""
    return [image.crop(mask_box(m)) for m in masks]
