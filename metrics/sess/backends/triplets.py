"""From RAM's predicate probabilities to scene-graph nodes and edges (SeSS step 3, ``predict.py``).

* candidates: the ``candidate_triplets`` most probable (subject, object, predicate) triplets over
  all ordered pairs of distinct masks, ranked by probability (ties: by the flat index
  ``predicate * N * N + subject * N + object``, a stable order where the released ``torch.topk``
  leaves ties unspecified);
* kept: the first ``min_triplets`` always, then further candidates while their probability is
  ``>= triplet_threshold``. ``released_cut=True`` reproduces the released loop, which sets
  ``k = i`` for the last passing rank ``i`` and keeps ``[:k]``: it drops that last passing
  triplet (0 passing or 1 passing beyond the minimum both keep exactly ``min_triplets``);
* nodes: the masks of the kept triplets, in mask order (largest first);
* edges: per (subject, object) pair the most probable kept predicate, its probability the score.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from testbed.metrics.sess.params import SeSSParams


@dataclass
class TripletGraph:
    """``nodes`` int ``[n]`` (mask indices), ``edges`` int ``[E, 3]`` (node indices + predicate),
    ``scores`` float64 ``[E]``, ``triplets`` int ``[K, 3]`` (mask indices + predicate, kept, ranked)."""

    nodes: np.ndarray
    edges: np.ndarray
    scores: np.ndarray
    triplets: np.ndarray


def ranked_triplets(probabilities: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``count`` most probable triplets of ``probabilities`` ``[P, N, N]`` (self pairs never):
    ``([K, 3]`` subject, object, predicate; ``[K]`` probabilities), most probable first."""
    p, n, _ = np.shape(probabilities)
    cube = np.array(probabilities, dtype=np.float64)
    cube[:, np.arange(n), np.arange(n)] = -np.inf  # self pairs
    flat = cube.reshape(-1)
    count = min(int(count), p * n * (n - 1))
    if count <= 0:
        return np.zeros((0, 3), np.int64), np.zeros(0)
    cut = np.partition(flat, flat.size - count)[flat.size - count]  # the count-th largest value
    above = np.flatnonzero(flat > cut)
    chosen = np.concatenate([above, np.flatnonzero(flat == cut)[:count - len(above)]])
    order = chosen[np.lexsort((chosen, -flat[chosen]))]
    predicate, rest = np.divmod(order, n * n)
    subject, obj = np.divmod(rest, n)
    return np.stack([subject, obj, predicate], axis=1).astype(np.int64), flat[order]


def kept_count(scores: np.ndarray, params: SeSSParams, released_cut: bool = False) -> int:
    """How many of the ranked triplet ``scores`` ``[K]`` are kept (module doc)."""
    k = minimum = min(len(scores), params.min_triplets)
    passing = 0
    while minimum + passing < len(scores) and scores[minimum + passing] >= params.triplet_threshold:
        passing += 1
    if released_cut:
        return k + max(passing - 1, 0)
    return k + passing


def triplet_graph(probabilities: np.ndarray, params: SeSSParams, released_cut: bool = False) -> TripletGraph:
    """Nodes and edges from RAM's probabilities ``[P, N, N]`` (N >= 2 masks) under ``params``."""
    triplets, scores = ranked_triplets(probabilities, params.candidate_triplets)
    k = kept_count(scores, params, released_cut)
    triplets, scores = triplets[:k], scores[:k]
    nodes = np.unique(triplets[:, :2])
    index = np.full(np.asarray(probabilities).shape[1], -1, np.int64)
    index[nodes] = np.arange(len(nodes))
    _, first = np.unique(triplets[:, 0] * len(index) + triplets[:, 1], return_index=True)  # ranked: first = best
    best = triplets[np.sort(first)]
    edges = np.stack([index[best[:, 0]], index[best[:, 1]], best[:, 2]], axis=1).reshape(-1, 3)
    return TripletGraph(nodes.astype(np.int64), edges.astype(np.int64), scores[np.sort(first)], triplets)
