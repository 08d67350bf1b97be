"""Metrics that compare backbone features: batched, with the reference side's features cached.

A sweep scores many receptions against few references. :class:`FeatureMetric` runs the backbone
once per image, in batches of images of one size, and keeps the features of each reference image
(keyed by its content hash) for the whole sweep, so a reference is embedded once per sweep.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Any, Sequence

import torch

from testbed.core.metric import Metric


class FeatureMetric(Metric):
    """A full-reference metric ``compare(features(pred), features(target))``.

    Subclasses implement :meth:`features` (a batch -> one feature object per image) and
    :meth:`compare` (lists of features -> float64 ``[N]``).
    """

    #: Images per backbone call.
    batch_size: int = 8
    #: Memory the cached reference features may take (MB); references beyond it are re-embedded.
    cache_limit_mb: float = 2048.0

    def __init__(self) -> None:
        super().__init__()
        self._reference: dict[str, Any] = {}
        self._cached_bytes = 0

    @abstractmethod
    def features(self, images: torch.Tensor) -> list:
        """``[N, 3, H, W]`` in [0, 1] -> a list of N per-image features."""

    @abstractmethod
    def compare(self, pred_features: list, target_features: list) -> torch.Tensor:
        """Per-image scores, float64 ``[N]``, of paired feature lists."""

    def score(self, preds: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if preds.shape != target.shape:
            raise ValueError(f"{self.name}: shapes differ, {tuple(preds.shape)} vs {tuple(target.shape)}")
        return self.compare(self.features(preds.to(self.device)), self.features(target.to(self.device)))

    def score_many(self, preds: Sequence[torch.Tensor], targets: Sequence[torch.Tensor],
                   keys: Sequence[str] | None = None) -> torch.Tensor:
        """Scores of ``[3, H, W]`` pairs; ``keys`` (content hashes) cache the targets' features."""
        pred_features = self.batched_features(preds)
        if keys is None:
            return self.compare(pred_features, self.batched_features(targets))
        todo = {k: t for k, t in zip(keys, targets) if k not in self._reference}
        fresh = dict(zip(todo, self.batched_features(list(todo.values())))) if todo else {}
        for key, feature in fresh.items():
            size = _nbytes(feature)
            if self._cached_bytes + size <= self.cache_limit_mb * 2**20:
                self._reference[key] = feature
                self._cached_bytes += size
        return self.compare(pred_features, [self._reference.get(k, fresh.get(k)) for k in keys])

    def batched_features(self, images: Sequence[torch.Tensor]) -> list:
        """Features of ``[3, H, W]`` images, run in batches of equal-size images, in input order."""
        out: list = [None] * len(images)
        by_shape: dict[tuple, list[int]] = {}
        for i, image in enumerate(images):
            by_shape.setdefault(tuple(image.shape), []).append(i)
        for indices in by_shape.values():
            for start in range(0, len(indices), self.batch_size):
                chunk = indices[start:start + self.batch_size]
                batch = torch.stack([images[i] for i in chunk]).float().to(self.device)
                for i, feature in zip(chunk, self.features(batch)):
                    out[i] = feature
        return out

    def clear_cache(self) -> None:
        """Forget the cached reference features."""
        self._reference.clear()
        self._cached_bytes = 0


def _nbytes(feature) -> int:
    """Bytes held by the tensors of a feature (a tensor or nested lists/tuples of them)."""
    if isinstance(feature, torch.Tensor):
        return feature.numel() * feature.element_size()
    if isinstance(feature, (list, tuple)):
        return sum(_nbytes(f) for f in feature)
    return 0
