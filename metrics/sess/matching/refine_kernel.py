"""The SeSS neighbour refinement (step 2 of ``matching.py``) as one compiled numba kernel.

The numpy plan of :mod:`.neighbours` needs a few dozen numpy calls per iteration (one per group of
equal neighbour-set size and per update level), and at 30-node graphs that call overhead, not the
arithmetic, is the cost; the released in-place order needs one block per level, which is worse.
This kernel runs the loop of SESS.md as written (every pair, its neighbour matrix, two assignment
values, the update) with the assignments solved in the kernel: the row maximum for one row, the
shortest-augmenting-path Hungarian method (O(k^2 m), exact) otherwise. Both update orders are the
same loop: ``synchronous`` writes a second array, ``released`` writes in place from the second
iteration on, as the released code's aliasing does. Equal to the plain loop to float rounding
(tests, 0-60 nodes).
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def _assignment(matrix, k, m, u, v, p, way, minv, used):
    """Maximum-weight assignment value of ``matrix[:k, :m]`` (k <= m, every row matched)."""
    if k == 1:
        best = matrix[0, 0]
        for j in range(1, m):
            if matrix[0, j] > best:
                best = matrix[0, j]
        return best
    for j in range(m + 1):
        v[j] = 0.0
        p[j] = 0
        way[j] = 0
    for i in range(k + 1):
        u[i] = 0.0
    for i in range(1, k + 1):  # Hungarian method on cost = -matrix, rows and columns 1-based
        p[0] = i
        j0 = 0
        for j in range(m + 1):
            minv[j] = np.inf
            used[j] = False
        while True:
            used[j0] = True
            i0 = p[j0]
            delta = np.inf
            j1 = 0
            for j in range(1, m + 1):
                if not used[j]:
                    cur = -matrix[i0 - 1, j - 1] - u[i0] - v[j]
                    if cur < minv[j]:
                        minv[j] = cur
                        way[j] = j0
                    if minv[j] < delta:
                        delta = minv[j]
                        j1 = j
            for j in range(m + 1):
                if used[j]:
                    u[p[j]] += delta
                    v[j] -= delta
                else:
                    minv[j] -= delta
            j0 = j1
            if p[j0] == 0:
                break
        while True:
            j1 = way[j0]
            p[j0] = p[j1]
            j0 = j1
            if j0 == 0:
                break
    total = 0.0
    for j in range(1, m + 1):
        if p[j] != 0:
            total += matrix[p[j] - 1, j - 1]
    return total


@njit(cache=True)
def refine(initial, ids1, pred1, w1, deg1, ids2, pred2, w2, deg2, importance1, importance2, relation,
           alpha, beta, both_empty, iterations, released):
    """Refined similarity ``[n1, n2]`` (float64) from ``initial``; neighbour tables as built by
    :func:`.neighbours._neighbour_tables` (padded ids, predicates, normalised weights, degrees)."""
    n1, n2 = initial.shape
    width = max(1, ids1.shape[1], ids2.shape[1])
    current = initial.copy()
    other = np.empty_like(current)
    weighted = np.empty((width, width))
    mixed = np.empty((width, width))
    u = np.empty(width + 1)
    v = np.empty(width + 1)
    minv = np.empty(width + 1)
    p = np.empty(width + 1, np.int64)
    way = np.empty(width + 1, np.int64)
    used = np.empty(width + 1, np.bool_)
    for iteration in range(iterations):
        in_place = released and iteration > 0
        target = current if in_place else other
        for a in range(n1):
            for b in range(n2):
                da, db = deg1[a], deg2[b]
                if da == 0 and db == 0:
                    s = both_empty
                elif da == 0 or db == 0:
                    s = 0.0
                else:
                    swap = da > db  # rows: the smaller neighbour set
                    k, m = (db, da) if swap else (da, db)
                    for i in range(da):
                        for j in range(db):
                            value = ((1.0 - alpha) * current[ids1[a, i], ids2[b, j]]
                                     + alpha * relation[pred1[a, i], pred2[b, j]])
                            r, c = (j, i) if swap else (i, j)
                            weighted[r, c] = w1[a, i] * value
                            mixed[r, c] = w2[b, j] * value
                    s1 = _assignment(weighted, k, m, u, v, p, way, minv, used)
                    s2 = _assignment(mixed, k, m, u, v, p, way, minv, used)
                    wu, wv = importance1[a], importance2[b]
                    s = (wu * s1 + wv * s2) / (wu + wv) if wu + wv > 0 else 0.5 * (s1 + s2)
                target[a, b] = (1.0 - beta) * current[a, b] + beta * s
        if not in_place:
            current, other = other, current
    return current
