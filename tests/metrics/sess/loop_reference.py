"""SeSS written as plainly as SESS.md states it: Python loops, one scipy assignment per matrix,
the released update order reproduced by the released loop's own array aliasing. The vectorised
implementation (testbed.metrics.sess) must give the same numbers."""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment


def best_assignment(matrix) -> float:
    """Maximum-weight assignment value; 0 for an empty matrix."""
    matrix = np.array(matrix, dtype=np.float64)
    if matrix.size == 0:
        return 0.0
    rows, cols = linear_sum_assignment(matrix, maximize=True)
    return float(matrix[rows, cols].sum())


def out_neighbours(graph, node):
    """[(neighbour, predicate)] of a node's out-edges."""
    return [(int(o), int(p)) for s, o, p in graph.edges.tolist() if s == node]


def neighbour_weights(graph, neighbours):
    weights = [float(graph.importance[a]) for a, _ in neighbours]
    total = sum(weights)
    if total > 0:
        return [w / total for w in weights]
    return [1.0 / len(neighbours)] * len(neighbours)


def neighbour_score(L, g1, g2, u, v, R, params):
    n_u, n_v = out_neighbours(g1, u), out_neighbours(g2, v)
    if not n_u and not n_v:
        return params.both_empty_score
    if not n_u or not n_v:
        return 0.0
    alpha = params.relation_weight
    M = [[(1 - alpha) * L[a][b] + alpha * R[p][q] for b, q in n_v] for a, p in n_u]
    wa, wb = neighbour_weights(g1, n_u), neighbour_weights(g2, n_v)
    s1 = best_assignment([[wa[i] * M[i][j] for j in range(len(n_v))] for i in range(len(n_u))])
    s2 = best_assignment([[wb[j] * M[i][j] for j in range(len(n_v))] for i in range(len(n_u))])
    w_u, w_v = float(g1.importance[u]), float(g2.importance[v])
    if w_u + w_v > 0:
        return (w_u * s1 + w_v * s2) / (w_u + w_v)
    return (s1 + s2) / 2


def loop_sess(g1, g2, R, params):
    """(score, refined similarity) of two graphs."""
    n1, n2 = g1.num_nodes, g2.num_nodes
    theta, beta = params.location_weight, params.update_rate
    L = np.zeros((n1, n2))
    for u in range(n1):
        for v in range(n2):
            cos = float(np.dot(g1.embeddings[u].astype(np.float64), g2.embeddings[v].astype(np.float64)))
            (r1, c1), (r2, c2) = g1.centroids[u], g2.centroids[v]
            L[u, v] = (1 - theta) * cos + theta * (1 - ((r1 - r2) ** 2 + (c1 - c2) ** 2) / 2)
    L_new = np.zeros((n1, n2))
    for _ in range(params.iterations):
        if params.update == "synchronous":
            L_new = np.zeros((n1, n2))
        for u in range(n1):
            for v in range(n2):
                s = neighbour_score(L, g1, g2, u, v, R, params)
                L_new[u, v] = (1 - beta) * L[u, v] + beta * s
        L = L_new  # released: from here on L and L_new are one array, updated in place
    if n1 == 0 and n2 == 0:
        graph = 1.0
    elif n1 == 0 or n2 == 0:
        graph = 0.0
    else:
        s1 = best_assignment([[g1.importance[u] * L[u, v] for v in range(n2)] for u in range(n1)])
        s2 = best_assignment([[g2.importance[v] * L[u, v] for v in range(n2)] for u in range(n1)])
        graph = (n1 * s1 + n2 * s2) / (n1 + n2)
    if params.global_weight == 0:
        return graph, np.array(L)
    cosine = float(np.dot(g1.global_embedding.astype(np.float64), g2.global_embedding.astype(np.float64)))
    return (1 - params.global_weight) * graph + params.global_weight * cosine, np.array(L)
