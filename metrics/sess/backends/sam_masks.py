"""SAM automatic masks that also carry each mask's 256-d decoder mask token (SeSS step 1).

RelateAnything feeds its relation head with SAM's *output mask tokens*: the mask decoder's
two-way transformer returns one token per mask output; the automatic generator asks for three
masks per point prompt (``multimask_output=True``, the decoder's mask outputs 1..3, i.e. rows
``hs[:, 2:5]`` of the transformer's token output ``hs``), and RelateAnything's modified copy of
segment-anything keeps the token of each mask through every filter of the generator.

Here the installed segment-anything 1.0 is used unchanged: :class:`TokenMaskGenerator` subclasses
``SamAutomaticMaskGenerator`` and overrides only ``_process_batch`` (the step that runs the
model on a batch of points). During that call a forward hook on ``mask_decoder.transformer``
captures ``hs``; its mask-output rows are flattened exactly as the masks are (point-major,
``[B, 3, C] -> [B * 3, C]``) and stored as a ``tokens`` column of the generator's ``MaskData``,
so every later filter (predicted IoU, stability, crop edge, box NMS, crop NMS) keeps masks and
tokens aligned. Everything else in the override repeats the package's own steps, and the tests
check that masks, scores and order equal the unmodified generator's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image
from segment_anything import SamAutomaticMaskGenerator
from segment_anything.utils.amg import (MaskData, area_from_rle, batched_mask_to_box, calculate_stability_score,
                                        is_box_near_crop_edge, mask_to_rle_pytorch, rle_to_mask, uncrop_masks)

from testbed.core.errors import ConfigError
from testbed.core.weights import WeightsFile

SAM_URL = "https://dl.fbaipublicfiles.com/segment_anything/"
SAM_WEIGHTS = {
    variant: WeightsFile(filename=filename, url=SAM_URL + filename,
                         description=f"Segment Anything (SAM) {variant} checkpoint (Meta, Apache-2.0)")
    for variant, filename in (("vit_h", "sam_vit_h_4b8939.pth"), ("vit_l", "sam_vit_l_0b3195.pth"),
                              ("vit_b", "sam_vit_b_01ec64.pth"))}

#: ``SamAutomaticMaskGenerator`` settings of the released SeSS code (the package defaults).
RELEASED_SAM_SETTINGS = {"points_per_side": 32, "points_per_batch": 64, "pred_iou_thresh": 0.88,
                         "stability_score_thresh": 0.95, "stability_score_offset": 1.0, "box_nms_thresh": 0.7,
                         "crop_n_layers": 0, "crop_nms_thresh": 0.7, "min_mask_region_area": 0}


def sam_settings(overrides: dict | None = None) -> dict:
    """The released generator settings with ``overrides`` (unknown names: :class:`ConfigError`)."""
    overrides = dict(overrides or {})
    unknown = sorted(set(overrides) - set(RELEASED_SAM_SETTINGS))
    if unknown:
        raise ConfigError(f"SeSS reference backend: unknown sam_settings {unknown}; known: "
                          f"{', '.join(RELEASED_SAM_SETTINGS)}")
    if overrides.get("min_mask_region_area", 0):
        raise ConfigError("SeSS reference backend: min_mask_region_area > 0 is not supported (it rewrites "
                          "masks after the decoder, which the mask tokens would no longer describe)")
    return {**RELEASED_SAM_SETTINGS, **overrides}


def build_sam(variant: str, checkpoint: str | None = None):
    """A segment-anything ``Sam`` of ``variant`` (vit_h/vit_l/vit_b), its state dict loaded strictly."""
    from segment_anything import sam_model_registry

    if variant not in SAM_WEIGHTS:
        raise ConfigError(f"SeSS reference backend: sam_model={variant!r}: use one of {sorted(SAM_WEIGHTS)}")
    sam = sam_model_registry[variant](checkpoint=None)
    if checkpoint is not None:
        sam.load_state_dict(torch.load(checkpoint, map_location="cpu", weights_only=True))
    return sam.eval()


@dataclass
class MaskSet:
    """Masks of one image: bool ``[M, H, W]``, decoder tokens float32 ``[M, C]``, areas int ``[M]`` (px),
    point prompts ``[M, 2]`` (x, y px), predicted IoU and stability ``[M]``."""

    masks: np.ndarray
    tokens: np.ndarray
    areas: np.ndarray
    points: np.ndarray
    predicted_iou: np.ndarray
    stability: np.ndarray

    def __len__(self) -> int:
        return len(self.masks)

    def take(self, index) -> "MaskSet":
        index = np.asarray(index, dtype=np.int64)
        return MaskSet(*(getattr(self, f)[index] for f in ("masks", "tokens", "areas", "points", "predicted_iou",
                                                           "stability")))


def multimask_tokens(hs: torch.Tensor, num_mask_tokens: int) -> torch.Tensor:
    """Transformer token output ``hs`` ``[B, 1 + num_mask_tokens + prompts, C]`` -> the tokens of
    the multimask outputs ``[B, num_mask_tokens - 1, C]`` (row 0 is the IoU token, row 1 the
    single-mask output that ``multimask_output=True`` drops)."""
    return hs[:, 2:1 + num_mask_tokens, :]


class TokenMaskGenerator(SamAutomaticMaskGenerator):
    """``SamAutomaticMaskGenerator`` whose records also hold the mask's decoder token (see module doc)."""

    def _process_batch(self, points: np.ndarray, im_size, crop_box, orig_size) -> MaskData:
        orig_h, orig_w = orig_size
        model = self.predictor.model
        decoder = model.mask_decoder
        captured: list[torch.Tensor] = []
        hook = decoder.transformer.register_forward_hook(lambda _m, _i, out: captured.append(out[0]))
        try:
            coords = torch.as_tensor(self.predictor.transform.apply_coords(points, im_size),
                                     device=self.predictor.device)
            labels = torch.ones(coords.shape[0], dtype=torch.int, device=coords.device)
            logits, iou_preds, _ = self.predictor.predict_torch(coords[:, None, :], labels[:, None],
                                                                multimask_output=True, return_logits=True)
        finally:
            hook.remove()
        if len(captured) != 1:
            raise RuntimeError(f"SAM mask decoder ran {len(captured)} times for one batch of points")
        tokens = multimask_tokens(captured[0], decoder.num_mask_tokens)
        if tokens.shape[:2] != logits.shape[:2]:
            raise RuntimeError(f"SAM tokens {tuple(tokens.shape)} do not match masks {tuple(logits.shape)}")
        data = MaskData(masks=logits.flatten(0, 1), iou_preds=iou_preds.flatten(0, 1),
                        points=torch.as_tensor(points.repeat(logits.shape[1], axis=0)),
                        tokens=tokens.flatten(0, 1).float())
        del logits
        if self.pred_iou_thresh > 0.0:
            data.filter(data["iou_preds"] > self.pred_iou_thresh)
        data["stability_score"] = calculate_stability_score(data["masks"], model.mask_threshold,
                                                            self.stability_score_offset)
        if self.stability_score_thresh > 0.0:
            data.filter(data["stability_score"] >= self.stability_score_thresh)
        data["masks"] = data["masks"] > model.mask_threshold
        data["boxes"] = batched_mask_to_box(data["masks"])
        keep = ~is_box_near_crop_edge(data["boxes"], crop_box, [0, 0, orig_w, orig_h])
        if not torch.all(keep):
            data.filter(keep)
        data["masks"] = uncrop_masks(data["masks"], crop_box, orig_h, orig_w)
        data["rles"] = mask_to_rle_pytorch(data["masks"])
        del data["masks"]
        return data

    @torch.no_grad()
    def masks_with_tokens(self, image: np.ndarray) -> MaskSet:
        """``uint8 [H, W, 3]`` RGB -> every mask the generator keeps, in its order, with its token."""
        height, width = image.shape[:2]
        data = self._generate_masks(image)
        rles = data["rles"]
        dim = self.predictor.model.mask_decoder.transformer_dim
        if not rles:
            return MaskSet(np.zeros((0, height, width), bool), np.zeros((0, dim), np.float32), np.zeros(0, np.int64),
                           np.zeros((0, 2)), np.zeros(0, np.float32), np.zeros(0, np.float32))
        return MaskSet(np.stack([rle_to_mask(r) for r in rles]).astype(bool),
                       np.asarray(data["tokens"], np.float32).reshape(len(rles), dim),
                       np.array([area_from_rle(r) for r in rles], np.int64), np.asarray(data["points"], np.float64),
                       np.asarray(data["iou_preds"], np.float32), np.asarray(data["stability_score"], np.float32))


def select_masks(masks: np.ndarray, iou_threshold: float, max_masks: int) -> np.ndarray:
    """Indices of the masks SeSS keeps, as the released ``sort_and_deduplicate``: bool ``[M, H, W]``
    sorted by area, largest first (stable), a mask whose IoU with an already kept one exceeds
    ``iou_threshold`` dropped, at most ``max_masks`` kept. Empty masks are dropped (the released
    code would keep them: its IoU is NaN there).

    Only kept masks with ``area_new > iou_threshold * area_kept`` are compared (IoU <= the area
    ratio), each on the overlap of the two bounding boxes: the result is exact."""
    masks = np.asarray(masks, dtype=bool)
    areas = masks.sum(axis=(1, 2))
    rows, cols = masks.any(axis=2), masks.any(axis=1)
    kept: list[int] = []
    boxes: list[tuple[int, int, int, int]] = []
    for i in np.argsort(-areas, kind="stable"):
        if len(kept) >= max_masks or areas[i] == 0:
            break
        r, c = np.flatnonzero(rows[i]), np.flatnonzero(cols[i])
        box = (r[0], r[-1] + 1, c[0], c[-1] + 1)
        duplicate = False
        for j, other in zip(kept, boxes):
            if areas[i] <= iou_threshold * areas[j]:
                continue
            top, bottom, left, right = max(box[0], other[0]), min(box[1], other[1]), max(box[2], other[2]), \
                min(box[3], other[3])
            inter = np.count_nonzero(masks[i, top:bottom, left:right] & masks[j, top:bottom, left:right]) \
                if top < bottom and left < right else 0
            if inter / (areas[i] + areas[j] - inter) > iou_threshold:
                duplicate = True
                break
        if not duplicate:
            kept.append(int(i))
            boxes.append(box)
    return np.array(kept, dtype=np.int64)


def working_image(rgb: np.ndarray, max_width: int) -> np.ndarray:
    """``uint8 [H, W, 3]`` shrunk as the released code does when ``W > max_width``: Pillow's
    ``thumbnail((max_width, max_width * H / W))`` (aspect kept, bicubic with reducing gap 2). Pillow
    floors the height bound first, so the width can come out a few px under ``max_width``
    (130 x 50 -> 78 x 30 for 80)."""
    height, width = rgb.shape[:2]
    if width <= max_width:
        return rgb
    image = Image.fromarray(rgb)
    image.thumbnail((max_width, max_width * height / width))
    return np.asarray(image, dtype=np.uint8).copy()
