"""The ``reference`` SeSS backend: the pipeline the SeSS authors released (SESS.md steps 1-4).

Per image (float ``[3, H, W]`` in [0, 1], rounded to 8 bit):

1. working image: shrunk to ``params.max_width`` px wide when wider (Pillow ``thumbnail``, as
   released); SAM's automatic masks (:mod:`.sam_masks`, released generator settings) with their
   decoder mask tokens; sorted by area, deduplicated (IoU > ``mask_iou_threshold``), at most
   ``max_masks``;
2. RAM relation head (:mod:`.relation_head`) on the tokens -> probabilities ``[56, M, M]``;
3. nodes and edges (:mod:`.triplets`; ``released_triplet_cut`` reproduces the released off-by-one);
4. OpenCLIP ViT-H-14 (:mod:`.clip_embeddings`): node = bounding-box crop of the mask, global =
   whole image; saliency = :func:`.saliency.spectral_residual_saliency`.

One image throughout: masks, crops, saliency and the global embedding all use the working image
(the released code crops and computes saliency on the *original* file while its masks are at the
shrunk size: for images wider than 800 px its boxes land elsewhere and its saliency indexing
fails). Graph ``image_size`` is therefore the working image's size. Zero masks give a zero-node
graph, one mask a one-node graph (RAM not run), as released but without crashing.

Weights (:mod:`testbed.core.weights`): ``sam_vit_h_4b8939.pth`` (or the vit_l / vit_b file),
``ram_epoch12.pth``, ``open_clip_pytorch_model.bin`` (Hugging Face cache of
laion/CLIP-ViT-H-14-laion2B-s32B-b79K searched). ``models={"sam": Sam, "ram": RelationHead,
"clip": ClipEmbedder}`` injects built models instead (tests: small real architectures).
"""

from __future__ import annotations

import importlib.metadata
import os
from dataclasses import asdict

import numpy as np
import torch
from PIL import Image

from testbed.core.images import tensor_to_rgb8
from testbed.core.weights import MissingWeightsError, resolve, sha256

from testbed.metrics.sess.backends.base import SceneGraphBackend
from testbed.metrics.sess.backends.clip_embeddings import CLIP_MODEL, CLIP_TAG, CLIP_WEIGHTS, ClipEmbedder, module_fingerprint, region_crops
from testbed.metrics.sess.graph import SceneGraph
from testbed.metrics.sess.params import BUILD_FIELDS, IMPORTANCE_FIELDS, SeSSParams
from testbed.metrics.sess.backends.predicates import PSG_PREDICATES  # the 56 PSG predicates, in RAM's class order
from testbed.metrics.sess.backends.relation_head import RAM_WEIGHTS, RelationHead, load_relation_head
from testbed.metrics.sess.matching.saliency import spectral_residual_saliency
from testbed.metrics.sess.backends.sam_masks import SAM_WEIGHTS, TokenMaskGenerator, build_sam, select_masks, working_image
from testbed.metrics.sess.backends.sam_masks import sam_settings as generator_settings
from testbed.metrics.sess.backends.triplets import triplet_graph

_HASHES: dict[tuple[str, int, int], str] = {}


def _file_sha256(path) -> str:
    """SHA-256 of a weights file, cached per (path, size, mtime) within the process."""
    stat = os.stat(path)
    key = (os.path.realpath(path), stat.st_size, stat.st_mtime_ns)
    if key not in _HASHES:
        _HASHES[key] = sha256(path)
    return _HASHES[key]


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


class ReferenceBackend(SceneGraphBackend):
    """SAM + RAM + OpenCLIP scene graphs (module doc).

    Options: ``sam_model`` (vit_h | vit_l | vit_b), ``sam_weights`` / ``ram_weights`` /
    ``clip_weights`` (explicit paths), ``download`` (SAM and CLIP files only: RAM's is a OneDrive
    share), ``released_triplet_cut``, ``sam_settings`` (overrides of the released generator
    settings), ``clip_batch_size``, ``models`` (injected models, see module doc).
    """

    name = "reference"

    def __init__(self, params: SeSSParams | None = None, *, sam_model: str = "vit_h", sam_weights: str | None = None,
                 ram_weights: str | None = None, clip_weights: str | None = None, download: bool = False,
                 released_triplet_cut: bool = False, sam_settings: dict | None = None, clip_batch_size: int = 16,
                 models: dict | None = None) -> None:
        super().__init__(params)
        from testbed.core.errors import ConfigError

        if sam_model not in SAM_WEIGHTS:
            raise ConfigError(f"SeSS reference backend: sam_model={sam_model!r}: use one of {sorted(SAM_WEIGHTS)}")
        unknown = sorted(set(models or {}) - {"sam", "ram", "clip"})
        if unknown:
            raise ConfigError(f"SeSS reference backend: unknown injected models {unknown}: use sam, ram, clip")
        self.sam_model, self.download = sam_model, bool(download)
        self.explicit = {"sam": sam_weights, "ram": ram_weights, "clip": clip_weights}
        self.released_triplet_cut = bool(released_triplet_cut)
        self.sam_settings = generator_settings(sam_settings)
        self.clip_batch_size = int(clip_batch_size)
        self.injected = dict(models or {})
        self.sam = self.ram = self.clip = None
        self._generator = None
        self._paths: dict[str, str] = {}
        self._similarity: np.ndarray | None = None
        self._loaded_device: torch.device | None = None
        self._weights: dict | None = None

    # ------------------------------------------------------------------ weights
    def _specs(self):
        return {"sam": SAM_WEIGHTS[self.sam_model], "ram": RAM_WEIGHTS, "clip": CLIP_WEIGHTS}

    def required_weights(self):
        specs = self._specs()
        return [(specs[k], self.explicit[k]) for k in ("sam", "ram", "clip") if k not in self.injected]

    def _resolve(self) -> dict[str, str]:
        """Paths of the files not injected; one :class:`MissingWeightsError` naming every missing file."""
        if not self._paths:
            paths, missing = {}, []
            for key, spec in self._specs().items():
                if key in self.injected:
                    continue
                download = self.download and key != "ram"
                try:
                    paths[key] = str(resolve(spec, self.explicit[key], download))
                except MissingWeightsError as err:
                    missing.append(str(err))
            if missing:
                raise MissingWeightsError("SeSS reference backend:\n" + "\n".join(missing))
            self._paths = paths
        return self._paths

    def load(self) -> None:
        """Resolve every file first (MissingWeightsError before any work), then build the models."""
        paths = self._resolve()
        if self.sam is None:
            given = self.injected
            self.sam = given["sam"] if "sam" in given else build_sam(self.sam_model, paths["sam"])
            self.ram = given["ram"] if "ram" in given else load_relation_head(paths["ram"])
            self.clip = given["clip"] if "clip" in given else ClipEmbedder.from_file(paths["clip"], CLIP_MODEL,
                                                                                     self.clip_batch_size)
        if self._loaded_device != self.device:
            self.sam.to(self.device).eval()
            self.ram.to(self.device).eval()
            self.clip.to(self.device)
            self._generator = TokenMaskGenerator(self.sam, **self.sam_settings)
            self._loaded_device = self.device

    # ------------------------------------------------------------------ graphs
    def graphs(self, images: torch.Tensor) -> list[SceneGraph]:
        self.load()
        return [self._graph(tensor_to_rgb8(image)) for image in images]

    def _graph(self, rgb: np.ndarray) -> SceneGraph:
        params = self.params
        work = working_image(rgb, params.max_width)
        height, width = work.shape[:2]
        found = self._generator.masks_with_tokens(work)
        masks = found.take(select_masks(found.masks, params.mask_iou_threshold, params.max_masks))
        edges, scores, nodes = np.zeros((0, 3), np.int64), np.zeros(0), np.arange(len(masks))
        if len(masks) >= 2:
            tokens = torch.from_numpy(masks.tokens).to(self.device)
            probabilities = self.ram.probabilities(tokens).cpu().numpy()
            built = triplet_graph(probabilities, params, self.released_triplet_cut)
            edges, scores, nodes = built.edges, built.scores, built.nodes
        picture = Image.fromarray(work)
        node_masks = masks.masks[nodes]
        features = self.clip.images([picture] + region_crops(picture, node_masks))
        provenance = {**self.describe(), "image": {"input_size": list(rgb.shape[:2]), "working_size": [height, width],
                                                   "masks_found": len(found), "masks_kept": len(masks),
                                                   "nodes": int(len(nodes)), "edges": int(len(edges))}}
        return SceneGraph.build((height, width), features[1:], masks=node_masks, edges=edges, edge_scores=scores,
                                saliency_map=spectral_residual_saliency(work), params=params,
                                global_embedding=features[0], predicate_vocab="psg56", provenance=provenance)

    def predicate_similarity(self) -> np.ndarray:
        """``[56, 56]`` cosines of the OpenCLIP text embeddings of the PSG predicate names."""
        if self._similarity is None:
            self.load()
            text = self.clip.texts(PSG_PREDICATES).astype(np.float64)
            self._similarity = np.clip(text @ text.T, -1.0, 1.0)
        return self._similarity

    # ------------------------------------------------------------------ provenance
    def _weights_record(self) -> dict:
        """Per model: file name and SHA-256, or the injected module's class and state-dict hash."""
        if self._weights is not None:
            return self._weights
        record = {}
        paths = self._resolve()
        for key, spec in self._specs().items():
            if key in self.injected:
                model = self.injected[key]
                module = model.model if isinstance(model, ClipEmbedder) else model
                record[key] = {"file": None, "injected": type(module).__name__,
                               "fingerprint": module_fingerprint(module)}
            else:
                record[key] = {"file": spec.filename, "sha256": _file_sha256(paths[key])}
        self._weights = record
        return record

    def describe(self) -> dict:
        """Models, weights (file + SHA-256: resolves the files, MissingWeightsError when absent),
        generator settings, graph parameters, the triplet rule, device and package versions."""
        ram = self.injected.get("ram")
        return {
            "backend": self.name, "predicate_vocab": "psg56",
            "models": {"segmentation": f"Segment Anything {'(injected)' if 'sam' in self.injected else self.sam_model}"
                                       ", automatic masks + decoder mask tokens",
                       "relations": "Relate-Anything relation head (RAM, PSG)",
                       "embeddings": self.injected["clip"].name if "clip" in self.injected
                       else f"OpenCLIP {CLIP_MODEL} ({CLIP_TAG})"},
            "ram_config": asdict(ram.config) if isinstance(ram, RelationHead) else "released",
            "weights": self._weights_record(),
            "sam_settings": dict(self.sam_settings),
            "graph_params": {k: getattr(self.params, k) for k in BUILD_FIELDS + IMPORTANCE_FIELDS},
            "released_triplet_cut": self.released_triplet_cut,
            "clip_batch_size": self.clip_batch_size,
            "image_policy": "8-bit; shrunk to max_width (Pillow thumbnail); masks, crops, saliency and "
                            "global embedding all on the working image",
            "device": self.device.type,  # float rounding differs between devices
            "versions": {p: _version(p) for p in ("segment-anything", "open-clip-torch", "torch", "pillow")},
        }
