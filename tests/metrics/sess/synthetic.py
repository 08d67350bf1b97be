"""Random scene graphs for the SeSS tests and benchmarks."""

from __future__ import annotations

import numpy as np

from testbed.metrics.sess import SceneGraph, unit


def random_similarity(rng, predicates: int = 6, negative: bool = False) -> np.ndarray:
    """A symmetric predicate similarity ``[P, P]`` with unit diagonal (cosines of random vectors)."""
    vectors = rng.normal(size=(predicates, 5)) if negative else rng.random((predicates, 5))
    vectors = unit(vectors).astype(np.float64)
    r = vectors @ vectors.T
    np.fill_diagonal(r, 1.0)
    return (r + r.T) / 2


def random_graph(rng, nodes: int, edges_per_node: float = 2.0, predicates: int = 6, dim: int = 8,
                 size=(40, 60), negative: bool = False, zero_importance: bool = False,
                 masks: bool = False) -> SceneGraph:
    """A random graph: box (or mask) regions, unit embeddings (non-negative cosines unless
    ``negative``), distinct directed edges without self-loops, Dirichlet importance."""
    height, width = size
    raw = rng.normal(size=(nodes, dim)) if negative else rng.random((nodes, dim))
    x0 = rng.integers(0, width - 1, nodes)
    y0 = rng.integers(0, height - 1, nodes)
    boxes = np.stack([x0, y0, rng.integers(x0 + 1, width + 1), rng.integers(y0 + 1, height + 1)], axis=1)
    pairs = [(s, o) for s in range(nodes) for o in range(nodes) if s != o]
    count = min(len(pairs), rng.poisson(edges_per_node * nodes)) if nodes > 1 else 0
    chosen = rng.choice(len(pairs), size=count, replace=False) if count else np.zeros(0, int)
    edges = np.array([[*pairs[i], rng.integers(predicates)] for i in chosen], np.int64).reshape(-1, 3)
    importance = rng.dirichlet(np.ones(nodes)) if nodes else np.zeros(0)
    if zero_importance and nodes > 2:
        importance[rng.choice(nodes, nodes // 3, replace=False)] = 0.0
        importance /= importance.sum()
    region = {"boxes": boxes}
    if masks:
        grid = np.zeros((nodes, height, width), bool)
        for i, (a, b, c, d) in enumerate(boxes):
            grid[i, b:d, a:c] = True
        region = {"masks": grid}
    glob = rng.normal(size=dim) if negative else rng.random(dim)
    return SceneGraph(size, unit(raw) if nodes else np.zeros((0, dim), np.float32), importance, edges,
                      rng.uniform(0.05, 1.0, len(edges)), global_embedding=unit(glob), predicate_vocab="toy",
                      **region)


def perturbed(rng, graph: SceneGraph, predicates: int = 6) -> SceneGraph:
    """A degraded copy of ``graph``: random amounts of embedding noise, region shift, node loss,
    predicate changes and global-embedding noise, each drawn independently."""
    height, width = graph.image_size
    keep = np.flatnonzero(rng.random(graph.num_nodes) > rng.uniform(0.0, 0.4))
    if len(keep) == 0:
        keep = np.array([0])
    index = -np.ones(graph.num_nodes, np.int64)
    index[keep] = np.arange(len(keep))
    embeddings = unit(graph.embeddings[keep] + rng.uniform(0.0, 0.6) * rng.random(graph.embeddings[keep].shape))
    shift = rng.uniform(0.0, 0.5) * np.array([width, height]) * rng.normal(size=(len(keep), 2))
    boxes = graph.boxes[keep].copy()
    size = boxes[:, 2:] - boxes[:, :2]
    start = np.clip(np.rint(boxes[:, :2] + shift), 0, np.array([width, height]) - size)
    boxes = np.concatenate([start, start + size], axis=1)
    edges = graph.edges[(index[graph.edges[:, 0]] >= 0) & (index[graph.edges[:, 1]] >= 0)].copy()
    scores = graph.edge_scores[(index[graph.edges[:, 0]] >= 0) & (index[graph.edges[:, 1]] >= 0)]
    edges[:, :2] = index[edges[:, :2]]
    change = rng.random(len(edges)) < rng.uniform(0.0, 0.5)
    edges[change, 2] = rng.integers(predicates, size=int(change.sum()))
    importance = graph.importance[keep] / graph.importance[keep].sum()
    glob = unit(graph.global_embedding + rng.uniform(0.0, 0.8) * rng.random(graph.global_embedding.shape))
    return SceneGraph(graph.image_size, embeddings, importance, edges, scores, boxes=boxes,
                      global_embedding=glob, predicate_vocab=graph.predicate_vocab)


def annotated_pairs(rng, count: int, truth, predicate_similarity, noise: float = 0.002):
    """``count`` (reference, degraded, "human" score) triples, the score being SeSS with the
    parameters ``truth`` plus Gaussian noise."""
    from testbed.metrics.sess import sess_score

    out = []
    for _ in range(count):
        a = random_graph(rng, int(rng.integers(4, 9)), edges_per_node=1.5)
        b = perturbed(rng, a)
        out.append((a, b, sess_score(a, b, predicate_similarity, truth) + noise * rng.normal()))
    return out
