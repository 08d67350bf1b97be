"""The SeSS matching core: node similarities refined through neighbour matching, then a weighted
graph score mixed with the whole-image similarity (released ``demo.py``, ``inference``).

For graphs G1 (n1 nodes; the reference, which the released code passes first) and G2 (n2 nodes; the
reconstruction), with R the predicate similarity ``[P, P]`` (cosines of the predicate names' text
embeddings) and the fields of :class:`SeSSParams`:

1. ``S0(u, v) = (1 - theta) cos(f_u, f_v) + theta (1 - |c_u - c_v|^2 / 2)``, theta = location_weight.
2. ``iterations`` times, for every pair: N(u), N(v) = out-neighbours. Both empty: s =
   ``both_empty_score``; one empty: s = 0; else ``M(a, b) = (1 - alpha) S(a, b) + alpha R(p_ua, p_vb)``,
   s1 = assignment value of M with rows scaled by the importances of N(u) normalised over N(u),
   s2 likewise with columns over N(v), ``s = (w_u s1 + w_v s2) / (w_u + w_v)``;
   ``S(u, v) <- (1 - beta) S(u, v) + beta s``. (Neighbour importances summing to 0: uniform weights;
   w_u + w_v = 0: s = (s1 + s2) / 2. The released code divides by zero there.)
3. Graph score ``G = (n1 s1 + n2 s2) / (n1 + n2)``, s1 = assignment value of ``w1_u S(u, v)``, s2 of
   ``w2_v S(u, v)``. Zero-node graphs: two empty graphs have G = 1 (nothing is missing), one empty
   graph against a non-empty one G = 0 (everything is missing; the formula's own limit).
4. ``SeSS = (1 - g) G + g cos(global_1, global_2)``, g = global_weight.

Update orders (``params.update``):

* ``synchronous`` (default): every iteration computes all neighbour scores from the previous S, then
  updates (Jacobi). SeSS(a, b) == SeSS(b, a) for a symmetric R, and relabelling nodes changes nothing.
* ``released``: what the released loop does. Its first iteration writes a separate array (so it is
  synchronous); it then aliases the two arrays and, from the second iteration on, updates S in place
  in row-major order (u of G1 outer, v of G2 inner). A pair (u, v) reads S(a, b) for a in N(u), and
  a != u (no self-loops), so it reads the *current* iteration's values of rows a < u and the previous
  iteration's values of rows a > u (and its own previous S(u, v)). This depends on G1's node order
  and is not symmetric. It is computed row-block by row-block: rows whose earlier-numbered neighbours
  are all done are updated together, which is exactly the sequential result (``neighbours.py``).
  On random 30-node graphs the two orders differ by 6e-4 (median; max 1.5e-3 over 30 pairs) and
  released SeSS(a, b) - SeSS(b, a) by 2e-4 (max 6e-4). Synchronous is the default because a score
  should not depend on the order in which the segmenter listed the masks.

Bounds: if all node cosines, predicate similarities and the global cosine are >= 0, every S stays
in [0, 1] (convex mixes of [0, 1] terms; importance-weighted assignment values of [0, 1] entries
with weights summing to 1 lie in [0, 1]) and so does SeSS (in general S and SeSS lie in [-1, 1]).
Identical graphs (S0 diagonal = 1, R diagonal = 1) keep S(u, u) = 1 when both_empty_score = 1,
whatever the signs, and score 1 (to float32 rounding of the embeddings) when their global cosine is 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from testbed.metrics.sess.matching.assignment import assignment_pairs, assignment_value
from testbed.metrics.sess.graph import SceneGraph, SceneGraphError
from testbed.metrics.sess.matching.neighbours import RefinementPlan
from testbed.metrics.sess.params import SeSSParams


@dataclass
class SeSSResult:
    """Score and what it was computed from (all float64)."""

    score: float                      # SeSS
    graph_score: float                # G
    global_similarity: float | None   # cosine of the global embeddings (None when not used)
    initial_similarity: np.ndarray    # S0 [n1, n2]
    similarity: np.ndarray            # refined S [n1, n2]
    matches: np.ndarray               # [min(n1, n2), 2] (u, v) of the G1-importance-weighted assignment


def initial_similarity(g1: SceneGraph, g2: SceneGraph, params: SeSSParams) -> np.ndarray:
    """``S0`` float64 ``[n1, n2]``."""
    cos = g1.embeddings.astype(np.float64) @ g2.embeddings.astype(np.float64).T
    distance2 = ((g1.centroids[:, None, :] - g2.centroids[None, :, :]) ** 2).sum(axis=2)
    theta = params.location_weight
    return (1.0 - theta) * cos + theta * (1.0 - distance2 / 2.0)


def graph_score(similarity: np.ndarray, importance1: np.ndarray, importance2: np.ndarray) -> float:
    """``G`` of a refined ``[n1, n2]`` similarity (zero-node conventions in the module docstring)."""
    n1, n2 = similarity.shape
    if n1 == 0 or n2 == 0:
        return 1.0 if n1 == n2 else 0.0
    s1 = assignment_value(importance1[:, None] * similarity)
    s2 = assignment_value(similarity * importance2[None, :])
    return (n1 * s1 + n2 * s2) / (n1 + n2)


def check_pair(g1: SceneGraph, g2: SceneGraph, predicate_similarity: np.ndarray) -> np.ndarray:
    """Validate that two graphs can be compared with ``predicate_similarity`` ``[P, P]``."""
    r = np.asarray(predicate_similarity, dtype=np.float64)
    if r.ndim != 2 or r.shape[0] != r.shape[1] or not np.isfinite(r).all():
        raise SceneGraphError(f"predicate similarity must be a finite square [P, P] matrix, got {r.shape}")
    if g1.predicate_vocab != g2.predicate_vocab:
        raise SceneGraphError(f"predicate vocabularies differ: {g1.predicate_vocab!r} vs {g2.predicate_vocab!r}")
    if g1.embeddings.shape[1] != g2.embeddings.shape[1] and g1.num_nodes and g2.num_nodes:
        raise SceneGraphError(f"embedding sizes differ: {g1.embeddings.shape[1]} vs {g2.embeddings.shape[1]}")
    for g in (g1, g2):
        if len(g.edges) and g.edges[:, 2].max() >= r.shape[0]:
            raise SceneGraphError(f"predicate id {g.edges[:, 2].max()} outside the [{r.shape[0]}] vocabulary")
    return r


class SeSSPair:
    """Two graphs prepared for scoring; the neighbour plans are built once and reused for any
    parameters that leave the graphs unchanged (what calibration needs)."""

    def __init__(self, g1: SceneGraph, g2: SceneGraph, predicate_similarity: np.ndarray, engine: str = "numba"):
        self.g1, self.g2, self.engine = g1, g2, engine
        self.predicate_similarity = check_pair(g1, g2, predicate_similarity)
        self._plans: dict[str, RefinementPlan] = {}

    def plan(self, update: str) -> RefinementPlan:
        if update not in self._plans:
            self._plans[update] = RefinementPlan(self.g1, self.g2, self.predicate_similarity, update, self.engine)
        return self._plans[update]

    def global_similarity(self, params: SeSSParams) -> float | None:
        if params.global_weight == 0:
            return None
        a, b = self.g1.global_embedding, self.g2.global_embedding
        if a is None or b is None:
            raise SceneGraphError("global_weight > 0 but a graph has no global_embedding")
        return float(a.astype(np.float64) @ b.astype(np.float64))

    def result(self, params: SeSSParams | None = None) -> SeSSResult:
        params = params or SeSSParams()
        s0 = initial_similarity(self.g1, self.g2, params)
        s = self.plan(params.update).refine(s0, params) if s0.size else s0
        graph = graph_score(s, self.g1.importance, self.g2.importance)
        cosine = self.global_similarity(params)
        score = graph if cosine is None else (1.0 - params.global_weight) * graph + params.global_weight * cosine
        matches = assignment_pairs(self.g1.importance[:, None] * s)
        return SeSSResult(float(score), float(graph), cosine, s0, s, matches)

    def score(self, params: SeSSParams | None = None) -> float:
        return self.result(params).score


def sess(g1: SceneGraph, g2: SceneGraph, predicate_similarity: np.ndarray,
         params: SeSSParams | None = None, engine: str = "numba") -> SeSSResult:
    """SeSS of two scene graphs (G1: the reference, G2: the reconstruction) with its details;
    ``engine``: the refinement's implementation, ``numba`` (compiled loop) or ``numpy`` (vectorised)."""
    return SeSSPair(g1, g2, predicate_similarity, engine).result(params)


def sess_score(g1: SceneGraph, g2: SceneGraph, predicate_similarity: np.ndarray,
               params: SeSSParams | None = None) -> float:
    """SeSS of two scene graphs, a float (in [0, 1] under the conditions of the module docstring)."""
    return sess(g1, g2, predicate_similarity, params).score
