"""SeSS as a testbed metric (``metric=sess``): scene graphs as features, the SeSS matching as compare.

``features(images)`` is the backend's scene graphs; ``compare(pred, target)`` is
``sess_score(target graph, pred graph, R, params)``: the reference (target) is G1, as the released
code passes it first. Reference graphs are built once per content hash and kept twice: in memory
for the sweep (masks dropped, boxes kept, within ``cache_limit_mb``) and on disk
(:mod:`.graph_cache`, keyed by the backend's ``describe()``), so later sweeps and calibration runs
reuse them; a sweep then builds one graph per received image.

Options: ``backend`` (``embedded``, default, offline; ``reference``: the released models), a
node of the config group ``sess_backend`` with its options in it (the Python API also takes the
name with ``backend_options``), ``params`` (flat :class:`SeSSParams`
fields), ``params_file`` (a calibrated YAML from ``testbed sess-calibrate``; ``params`` override
it), ``cache_dir`` (default ``$TESTBED_CACHE/sess`` or ``~/.cache/testbed/sess``), ``disk_cache``
(false: memory only), ``batch_size`` (images per backend call).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from testbed.core.errors import ConfigError
from testbed.core.feature_metric import FeatureMetric
from testbed.core.weights import sha256

from testbed.metrics.sess.backends.base import SceneGraphBackend, make_backend
from testbed.metrics.sess.graph import SceneGraph
from testbed.metrics.sess.graph_cache import GraphCache, is_content_hash
from testbed.metrics.sess.matching.score import sess_score
from testbed.metrics.sess.params import SeSSParams, load_params


def resolve_params(params: dict | None = None, params_file: str | None = None) -> SeSSParams:
    """Defaults, overridden by ``params_file``'s ``params:``, overridden by ``params``."""
    base = load_params(params_file) if params_file else SeSSParams()
    return SeSSParams.from_mapping({**base.to_mapping(), **dict(params or {})})


def light(graph: SceneGraph) -> SceneGraph:
    """A copy without pixel masks (boxes instead): what the matching needs, a fraction of the memory."""
    if graph.masks is None:
        return graph
    rows, cols = graph.masks.any(axis=2), graph.masks.any(axis=1)
    first = lambda a: a.argmax(axis=1)  # noqa: E731
    last = lambda a: a.shape[1] - a[:, ::-1].argmax(axis=1)  # noqa: E731
    boxes = np.stack([first(cols), first(rows), last(cols), last(rows)], axis=1)
    return replace(graph, masks=None, boxes=boxes)


def _nbytes(graph: SceneGraph) -> int:
    arrays = (graph.embeddings, graph.importance, graph.edges, graph.edge_scores, graph.masks, graph.boxes)
    return sum(a.nbytes for a in arrays if a is not None)


class SeSS(FeatureMetric):
    """Semantic Similarity Score (Fan et al., arXiv 2406.03865): higher is better, ~1 for identical images."""

    name = "sess"
    higher_is_better = True

    def __init__(self, backend="embedded", backend_options: dict | None = None, params: dict | None = None,
                 params_file: str | None = None, cache_dir: str | None = None, disk_cache: bool = True,
                 batch_size: int = 4) -> None:
        super().__init__()
        self.params = resolve_params(params, params_file)
        self.params_file = str(Path(params_file).expanduser()) if params_file else None
        if isinstance(backend, str):  # Python API: a name and its options
            self.backend = make_backend(backend, self.params, **dict(backend_options or {}))
        elif isinstance(backend, SceneGraphBackend):
            self.backend = backend
        elif callable(backend):  # the config node (group sess_backend, `_partial_`): completed with the params
            self.backend = backend(params=self.params)
        else:
            raise ConfigError(f"sess: backend must be a sess_backend option (embedded, reference), got {backend!r}")
        if backend_options and not isinstance(backend, str):
            raise ConfigError("sess: give the backend's options in its node (metric.<name>.backend.*), "
                              "not in backend_options")
        self.backend_name = self.backend.name
        self.cache_dir, self.disk_cache = cache_dir, bool(disk_cache)
        self.batch_size = int(batch_size)
        self._disk: GraphCache | None = None
        self._r: np.ndarray | None = None

    def required_weights(self):
        return self.backend.required_weights()

    def to(self, device: torch.device):
        """The backend's networks run on ``device`` (the matching itself is numpy/numba on the CPU)."""
        super().to(device)
        self.backend.to(self.device)
        return self

    def devices(self) -> dict[str, str]:
        return {**super().devices(), "matching": "cpu (numba)", **self.backend.devices()}

    def check(self) -> None:
        """Load the backend (missing weights raise here) and its predicate similarity."""
        self.backend.load()
        if self._r is None:
            self._r = self.backend.predicate_similarity()

    @property
    def graph_cache(self) -> GraphCache | None:
        """The disk cache of reference graphs (None when ``disk_cache`` is off)."""
        if self.disk_cache and self._disk is None:
            self.check()
            self._disk = GraphCache(self.backend.describe(), self.cache_dir)
        return self._disk if self.disk_cache else None

    def features(self, images: torch.Tensor) -> list[SceneGraph]:
        """``[N, 3, H, W]`` in [0, 1] -> N scene graphs."""
        self.check()
        return self.backend.graphs(images)

    def compare(self, pred_features: list, target_features: list) -> torch.Tensor:
        """SeSS float64 ``[N]`` of each (reference = target, received = pred) pair, clipped to [-1, 1]
        (float32 embeddings put identical images a few 1e-8 above 1)."""
        self.check()
        scores = [sess_score(t, p, self._r, self.params) for p, t in zip(pred_features, target_features)]
        return torch.tensor(scores, dtype=torch.float64).clamp(-1.0, 1.0)

    def reference_graphs(self, targets: Sequence[torch.Tensor], keys: Sequence[str]) -> list[SceneGraph]:
        """Graphs of ``[3, H, W]`` reference images by content hash: memory, then disk, then built."""
        found: dict[str, SceneGraph] = {k: self._reference[k] for k in keys if k in self._reference}
        cache = self.graph_cache
        todo: dict[str, torch.Tensor] = {}
        for key, target in zip(keys, targets):
            if key in found or key in todo:
                continue
            stored = cache is not None and is_content_hash(key)
            graph = cache.get(key) if stored else None
            if graph is None:
                todo[key] = target
            else:
                found[key] = light(graph)
        for key, graph in zip(todo, self.batched_features(list(todo.values())) if todo else []):
            if cache is not None and is_content_hash(key):
                cache.put(key, graph)
            found[key] = light(graph)
        for key in [k for k in found if k not in self._reference]:
            size = _nbytes(found[key])
            if self._cached_bytes + size <= self.cache_limit_mb * 2**20:
                self._reference[key], self._cached_bytes = found[key], self._cached_bytes + size
        return [found[k] for k in keys]

    def score_many(self, preds: Sequence[torch.Tensor], targets: Sequence[torch.Tensor],
                   keys: Sequence[str] | None = None) -> torch.Tensor:
        """Scores of ``[3, H, W]`` pairs; ``keys`` (content hashes) cache the reference graphs."""
        if keys is None:
            return super().score_many(preds, targets, None)
        return self.compare(self.batched_features(preds), self.reference_graphs(targets, keys))

    def describe(self) -> dict:
        self.check()
        info = {"implementation": "testbed.metrics.sess.metric.SeSS (shared matching core, "
                                  f"{self.backend_name} backend)",
                "backend": self.backend.describe(), "params": self.params.to_mapping(),
                "update_order": self.params.update, "params_file": self.params_file,
                "params_file_sha256": sha256(self.params_file) if self.params_file else None}
        cache = self.graph_cache
        info["graph_cache"] = str(cache.folder) if cache is not None else None
        return info
