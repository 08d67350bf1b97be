"""The scene graph SeSS compares: what a backend builds from an image and the matching consumes.

Nodes (N) are image regions: a mask (bool ``[H, W]``) or a pixel box ``(x0, y0, x1, y1)`` (end
exclusive, as ``PIL.Image.crop``), a centroid ``(row / H, col / W)`` (of the mask's pixels, as the
released code; of the box's pixels for boxes), a unit-norm float32 embedding ``[D]`` and an
importance (>= 0, summing to 1 over the graph). Edges (E) are directed subject -> object, at most
one per ordered pair, no self-loops, kept sorted by (subject, object), with a predicate id (an
index into the vocabulary named by ``predicate_vocab``, e.g. the 56 PSG predicates) and a score
(the predicate's probability). A graph may have no node (then it has no masks/boxes/masses).

A backend builds one with :meth:`SceneGraph.build` (importance from a saliency map) or the
constructor (importance given). Files: :meth:`SceneGraph.save` / :meth:`SceneGraph.load`, format
in ``graph_files.py``. How a backend builds one::

    saliency = spectral_residual_saliency(rgb)                 # [H, W] in [0, 1]
    graph = SceneGraph.build((H, W), unit(node_features), masks=masks,   # or boxes=
                             edges=[[subject, object, predicate], ...], edge_scores=probabilities,
                             saliency_map=saliency, params=params, global_embedding=unit(image_feature),
                             predicate_vocab="psg56", provenance={...})

and a metric compares the reference's graph (first) with the reconstruction's::

    score = sess_score(reference_graph, received_graph, predicate_similarity, params)   # float

``predicate_similarity`` is the ``[P, P]`` cosine matrix of the vocabulary's predicate-name text
embeddings. Every hyperparameter is a field of :class:`SeSSParams` (released values by default;
``load_params`` reads a calibrated file). ``sess`` returns the details (refined node similarities,
matches), :class:`SeSSPair` scores one pair under many parameter sets, ``calibrate`` fits
parameters to human scores, ``draw`` pictures graphs and matchings.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import networkx as nx
import numpy as np

from testbed.core.errors import TestbedError

from testbed.metrics.sess.matching.importance import node_importance, saliency_mass
from testbed.metrics.sess.params import SeSSParams

NORM_TOLERANCE, SUM_TOLERANCE = 1e-3, 1e-6


class SceneGraphError(TestbedError, ValueError):
    """A scene graph is malformed or its files cannot be read; the message names the problem."""


def unit(vectors) -> np.ndarray:
    """L2-normalised float32 copy of ``[..., D]`` vectors."""
    vectors = np.asarray(vectors, dtype=np.float64)
    return (vectors / np.linalg.norm(vectors, axis=-1, keepdims=True)).astype(np.float32)


def _array(value, dtype, shape_text: str, ndim: int, name: str) -> np.ndarray:
    array = np.asarray(value, dtype=dtype)
    if array.ndim != ndim:
        raise SceneGraphError(f"scene graph: {name} must have shape {shape_text}, got {array.shape}")
    return array


@dataclass(eq=False)
class SceneGraph:
    """A scene graph: arrays over nodes and edges (see the module docstring for units)."""

    image_size: tuple[int, int]               # (H, W) pixels
    embeddings: np.ndarray                    # float32 [N, D], unit-norm rows
    importance: np.ndarray                    # float64 [N], >= 0, sum 1
    edges: np.ndarray | None = None           # int64 [E, 3]: subject, object, predicate id
    edge_scores: np.ndarray | None = None     # float64 [E], >= 0
    masks: np.ndarray | None = None           # bool [N, H, W]
    boxes: np.ndarray | None = None           # float64 [N, 4]: x0, y0, x1, y1 (px, end exclusive)
    centroids: np.ndarray | None = None       # float64 [N, 2]: row / H, col / W; None: computed
    global_embedding: np.ndarray | None = None  # float32 [D], unit-norm: the whole image
    saliency_mass: np.ndarray | None = None   # float64 [N]: saliency summed over each region
    predicate_vocab: str = "psg56"
    provenance: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.embeddings = _array(self.embeddings, np.float32, "[N, D]", 2, "embeddings")
        n, d = self.embeddings.shape
        if len(tuple(self.image_size)) != 2 or min(int(s) for s in self.image_size) < 1:
            raise SceneGraphError(f"scene graph: image_size must be (H, W) > 0, got {self.image_size}")
        self.image_size = (int(self.image_size[0]), int(self.image_size[1]))
        height, width = self.image_size
        self.importance = _array(self.importance, np.float64, "[N]", 1, "importance")
        self.edges = _array(np.zeros((0, 3)) if self.edges is None else self.edges, np.int64, "[E, 3]", 2, "edges")
        if self.edges.size == 0:
            self.edges = self.edges.reshape(0, 3)
        scores = np.zeros(0) if self.edge_scores is None and not len(self.edges) else self.edge_scores
        if scores is None:
            raise SceneGraphError("scene graph: edges given without edge_scores")
        self.edge_scores = _array(scores, np.float64, "[E]", 1, "edge_scores")
        if self.masks is not None:
            self.masks = _array(self.masks, bool, "[N, H, W]", 3, "masks")
            if self.masks.shape != (n, height, width):
                raise SceneGraphError(f"scene graph: masks {self.masks.shape} != (N, H, W) = {(n, height, width)}")
            if n and not self.masks.reshape(n, -1).any(axis=1).all():
                raise SceneGraphError("scene graph: a node has an empty mask")
        if self.boxes is not None:
            self.boxes = _array(self.boxes, np.float64, "[N, 4]", 2, "boxes")
            b = self.boxes
            if b.shape != (n, 4) or not np.isfinite(b).all() or np.any(b[:, :2] < 0) or np.any(b[:, :2] >= b[:, 2:]) \
                    or np.any(b[:, 2] > width) or np.any(b[:, 3] > height):
                raise SceneGraphError(f"scene graph: boxes must be [N, 4] with 0 <= x0 < x1 <= {width}, "
                                      f"0 <= y0 < y1 <= {height}")
        if n and self.masks is None and self.boxes is None:
            raise SceneGraphError("scene graph: every node needs a region (masks or boxes)")
        if self.centroids is None:
            self.centroids = self._region_centroids()
        self.centroids = _array(self.centroids, np.float64, "[N, 2]", 2, "centroids")
        if self.global_embedding is not None:
            self.global_embedding = _array(self.global_embedding, np.float32, "[D]", 1, "global_embedding")
        if self.saliency_mass is not None:
            self.saliency_mass = _array(self.saliency_mass, np.float64, "[N]", 1, "saliency_mass")
        self.provenance = dict(self.provenance or {})
        self._validate(n, d)
        order = np.lexsort((self.edges[:, 1], self.edges[:, 0]))  # canonical edge order
        self.edges, self.edge_scores = self.edges[order], self.edge_scores[order]
        if n == 0:  # nothing to tell apart: one representation of the empty graph
            self.masks = self.boxes = self.saliency_mass = None

    def _region_centroids(self) -> np.ndarray:
        height, width = self.image_size
        if self.masks is not None and len(self.masks):
            rows, cols = np.arange(height, dtype=np.float64), np.arange(width, dtype=np.float64)
            area = self.masks.sum(axis=(1, 2))
            r = (self.masks.sum(axis=2) @ rows) / area
            c = (self.masks.sum(axis=1) @ cols) / area
            return np.stack([r / height, c / width], axis=1)
        if self.boxes is not None:
            b = self.boxes
            return np.stack([(b[:, 1] + b[:, 3] - 1) / 2 / height, (b[:, 0] + b[:, 2] - 1) / 2 / width], axis=1)
        return np.zeros((0, 2))

    def _validate(self, n: int, d: int) -> None:
        def fail(message: str):
            raise SceneGraphError(f"scene graph: {message}")

        if not np.isfinite(self.embeddings).all():
            fail("embeddings are not finite")
        if n and np.abs(np.linalg.norm(self.embeddings, axis=1) - 1).max() > NORM_TOLERANCE:
            fail("embeddings must be unit-norm rows (use sess.graph.unit)")
        if self.importance.shape != (n,) or not np.isfinite(self.importance).all() or np.any(self.importance < 0):
            fail(f"importance must be [N] = [{n}] finite and >= 0, got shape {self.importance.shape}")
        if n and abs(self.importance.sum() - 1) > SUM_TOLERANCE:
            fail(f"importance must sum to 1, sums to {self.importance.sum()!r}")
        if self.centroids.shape != (n, 2) or not np.isfinite(self.centroids).all() \
                or np.any(self.centroids < 0) or np.any(self.centroids > 1):
            fail(f"centroids must be [N, 2] = [{n}, 2] in [0, 1]")
        e = self.edges
        scores = self.edge_scores
        if scores.shape != (len(e),) or not np.isfinite(scores).all() or np.any(scores < 0):
            fail(f"edge_scores must be [E] = [{len(e)}] finite and >= 0")
        if len(e):
            if e[:, :2].min() < 0 or e[:, :2].max() >= n:
                fail(f"edge endpoints must be node indices in [0, {n})")
            if np.any(e[:, 0] == e[:, 1]):
                fail("self-loops are not allowed")
            if e[:, 2].min() < 0:
                fail("predicate ids must be >= 0")
            if len(np.unique(e[:, 0] * n + e[:, 1])) != len(e):
                fail("at most one edge per ordered (subject, object) pair")
        g = self.global_embedding
        if g is not None and (g.shape != (d,) or not np.isfinite(g).all()
                              or abs(np.linalg.norm(g) - 1) > NORM_TOLERANCE):
            fail(f"global_embedding must be a unit-norm [D] = [{d}] vector")
        m = self.saliency_mass
        if m is not None and (m.shape != (n,) or not np.isfinite(m).all() or np.any(m < 0)):
            fail(f"saliency_mass must be [N] = [{n}] finite and >= 0")
        if not isinstance(self.predicate_vocab, str) or not self.predicate_vocab:
            fail("predicate_vocab must be a non-empty name")

    # ----------------------------------------------------------------- construction
    @classmethod
    def build(cls, image_size, embeddings, *, masks=None, boxes=None, edges=None, edge_scores=None,
              saliency_map=None, params: SeSSParams | None = None, **fields) -> "SceneGraph":
        """What a backend calls: importance computed from ``saliency_map`` float ``[H, W]`` (None:
        equal saliency) and the edges, as ``importance.node_importance`` with ``params``."""
        n = len(embeddings)
        mass = np.ones(n) if saliency_map is None else saliency_mass(saliency_map, masks, boxes)
        edges = np.zeros((0, 3), np.int64) if edges is None else np.asarray(edges, np.int64).reshape(-1, 3)
        importance = node_importance(mass, edges, edge_scores, params)
        return cls(image_size, embeddings, importance, edges, edge_scores, masks=masks, boxes=boxes,
                   saliency_mass=None if saliency_map is None else mass, **fields)

    def with_importance(self, params: SeSSParams) -> "SceneGraph":
        """A copy whose importance is recomputed from ``saliency_mass`` with ``params``."""
        if self.saliency_mass is None:
            raise SceneGraphError("scene graph has no saliency_mass: importance cannot be recomputed")
        return replace(self, importance=node_importance(self.saliency_mass, self.edges, self.edge_scores, params))

    @property
    def num_nodes(self) -> int:
        return len(self.embeddings)

    def equals(self, other: "SceneGraph") -> bool:
        """Exact equality of every field (arrays bit for bit)."""
        def same(a, b):
            if a is None or b is None:
                return a is None and b is None
            return isinstance(a, np.ndarray) and a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b)

        arrays = ("embeddings", "importance", "edges", "edge_scores", "masks", "boxes", "centroids",
                  "global_embedding", "saliency_mass")
        return (self.image_size == other.image_size and self.predicate_vocab == other.predicate_vocab
                and self.provenance == other.provenance
                and all(same(getattr(self, a), getattr(other, a)) for a in arrays))

    # ----------------------------------------------------------------- networkx
    def to_networkx(self) -> nx.DiGraph:
        """DiGraph: nodes 0..N-1 (embedding, centroid, importance, mask, box, saliency_mass), edges
        (predicate, score), graph attributes (image_size, predicate_vocab, global_embedding, provenance)."""
        graph = nx.DiGraph(image_size=self.image_size, predicate_vocab=self.predicate_vocab,
                           global_embedding=self.global_embedding, provenance=dict(self.provenance))
        for i in range(self.num_nodes):
            graph.add_node(i, embedding=self.embeddings[i], centroid=tuple(self.centroids[i]),
                           importance=float(self.importance[i]),
                           mask=None if self.masks is None else self.masks[i],
                           box=None if self.boxes is None else tuple(self.boxes[i]),
                           saliency_mass=None if self.saliency_mass is None else float(self.saliency_mass[i]))
        for (s, o, p), score in zip(self.edges.tolist(), self.edge_scores.tolist()):
            graph.add_edge(s, o, predicate=p, score=score)
        return graph

    @classmethod
    def from_networkx(cls, graph: nx.DiGraph) -> "SceneGraph":
        """Inverse of :meth:`to_networkx`; nodes are taken in ``graph.nodes`` order."""
        nodes = list(graph.nodes)
        index = {node: i for i, node in enumerate(nodes)}
        attrs = [graph.nodes[v] for v in nodes]

        def column(key):
            values = [a.get(key) for a in attrs]
            if all(v is None for v in values):
                return None
            if any(v is None for v in values):
                raise SceneGraphError(f"scene graph: node attribute {key!r} is missing on some nodes")
            return np.array(values)

        edges = [(index[s], index[o], d["predicate"]) for s, o, d in graph.edges(data=True)]
        embeddings = column("embedding")
        dim = 0 if graph.graph.get("global_embedding") is None else len(graph.graph["global_embedding"])
        return cls(graph.graph["image_size"], np.zeros((0, dim), np.float32) if embeddings is None else embeddings,
                   np.array([a["importance"] for a in attrs], np.float64),
                   np.array(edges, np.int64).reshape(-1, 3), [d["score"] for _, _, d in graph.edges(data=True)],
                   masks=column("mask"), boxes=column("box"),
                   centroids=np.array([a["centroid"] for a in attrs]).reshape(-1, 2),
                   global_embedding=graph.graph.get("global_embedding"), saliency_mass=column("saliency_mass"),
                   predicate_vocab=graph.graph.get("predicate_vocab", "psg56"),
                   provenance=graph.graph.get("provenance", {}))

    # ----------------------------------------------------------------- files
    def save(self, path: str | Path) -> Path:
        """Write ``path`` (``.json``) and the ``.npz`` beside it (format: ``graph_files.py``)."""
        from testbed.metrics.sess.graph_files import save_graph

        return save_graph(self, path)

    @classmethod
    def load(cls, path: str | Path) -> "SceneGraph":
        """Read a graph written by :meth:`save`."""
        from testbed.metrics.sess.graph_files import load_graph

        return load_graph(path)
