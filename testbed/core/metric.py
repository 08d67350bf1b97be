"""Metric base class: one interface for pixel, perceptual and semantic metrics.

Like torchmetrics, each metric has a plain function (per-image scores) and a stateful wrapper
(``update`` / ``compute`` / ``reset``); the sweep runner only calls :meth:`Metric.score` and never
needs to know which metric it holds. Images are float32 ``[N, 3, H, W]`` in [0, 1].
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import torch

from testbed.core.plugin import Plugin


def quantize_8bit(images: torch.Tensor) -> torch.Tensor:
    """Round ``[N, 3, H, W]`` images in [0, 1] to the 8-bit grid, returned as float in [0, 255]."""
    return images.clamp(0.0, 1.0).mul(255.0).round()


class Metric(Plugin, ABC):
    """A full-reference image metric.

    Subclasses set :attr:`name` and :attr:`higher_is_better` and implement :meth:`score`.
    """

    name: str = "metric"
    higher_is_better: bool = True
    #: the smallest image side (px) the metric scores; a sweep refuses smaller images before work
    min_side: int = 1

    def __init__(self) -> None:
        self.reset()

    def check(self) -> None:
        """Raise a :class:`testbed.core.errors.TestbedError` if the metric cannot run (missing weights)."""

    @abstractmethod
    def score(self, preds: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Per-image scores, float64 ``[N]``, for ``preds`` and ``target`` of shape ``[N, 3, H, W]``."""

    def required_files(self):
        """The files of :meth:`required_weights` (``(WeightsFile, explicit path)`` pairs), resolved."""
        from testbed.core.plugin import RequiredFile
        from testbed.core.weights import MissingWeightsError, resolve

        out = []
        for spec, explicit in getattr(self, "required_weights", lambda: [])():
            try:
                out.append(RequiredFile(spec.description, spec.filename, resolve(spec, explicit)))
            except MissingWeightsError as err:
                out.append(RequiredFile(spec.description, spec.filename, None, str(err)))
        return out

    def loss(self, preds: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """A differentiable training loss (scalar, lower is better) on unquantised ``[N, 3, H, W]``
        images, for metrics that offer one (``train.loss=<metric>``)."""
        raise NotImplementedError(f"metric {self.name} offers no differentiable training loss")

    def score_many(self, preds, targets, keys=None) -> torch.Tensor:
        """Scores of lists of ``[3, H, W]`` pairs, float64 ``[N]`` (``keys``: the targets' content
        hashes, which feature metrics use to embed each reference once per sweep)."""
        return torch.cat([self.score(p[None].float().to(self.device), t[None].float().to(self.device)).double().cpu()
                          for p, t in zip(preds, targets)]) if len(preds) else torch.zeros(0, dtype=torch.float64)

    def update(self, preds: torch.Tensor, target: torch.Tensor) -> None:
        """Accumulate the scores of a batch."""
        self._scores.append(self.score(preds, target).detach().double().cpu())

    def compute(self) -> torch.Tensor:
        """Mean score over everything seen since the last :meth:`reset`."""
        if not self._scores:
            raise RuntimeError(f"{self.name}: compute() called before update()")
        return torch.cat(self._scores).mean()

    def reset(self) -> None:
        self._scores: list[torch.Tensor] = []

    def describe(self) -> dict:
        """Provenance of the numbers: implementation, backbone, weights."""
        return {"implementation": type(self).__module__ + "." + type(self).__name__}
