"""Neighbour refinement of SeSS (step 2 of ``matching.py``), for both update orders: the plan of a
graph pair, run by the compiled kernel (:mod:`.refine_kernel`, default) or by the numpy blocks below.

A :class:`RefinementPlan` is built once per graph pair. It splits the node pairs (u, v) into
*blocks* that may be updated together (synchronous: one block of every pair; released: one block
per level of G1's rows, see below) and, inside a block, into groups of equal
k = min(|N(u)|, |N(v)|). A group of G pairs is stored in a ``[k, m, G]`` layout (pairs last, so
that numpy's inner loops run over the pairs): rows are the smaller neighbour set, columns the larger
one (m: the group's largest neighbour set), cells a pair does not have are -inf. (Merging groups of
different k with dummy rows was tried: fewer numpy calls, more work, slower at 30-60 nodes.)

For each group the plan keeps where to read S(a, b) in the buffer ``[new S, previous S]`` (flat
indices), R(p_ua, p_vb), the G1-side and G2-side neighbour weights, the padding and the mixing
coefficients w_u / (w_u + w_v), w_v / (w_u + w_v); a block stores its groups' cells one after the
other in flat arrays. An iteration is then, per block: one gather and two element-wise operations
for all its cells, one call of :func:`assignment.batched_assignment_values` per group on the
``[k, m, 2G]`` stack of the row-weighted and the column-weighted matrices, and one weighted
``bincount`` that mixes s1, s2 (and the constant scores of pairs with an empty neighbour set) into
the update of all the block's pairs.

Released order: row u of G1 reads the current iteration's rows a < u (a in N(u)). Its level is 0
when it has no such neighbour, else 1 + the largest level among them; rows of one level depend only
on rows of lower levels (already updated) and on the previous values of later rows (kept in the
buffer's second half), so updating level after level equals the sequential row-major loop.
"""

from __future__ import annotations

import numpy as np

from testbed.metrics.sess.matching.assignment import batched_assignment_values
from testbed.metrics.sess.graph import SceneGraph
from testbed.metrics.sess.params import SeSSParams


def _neighbour_tables(g: SceneGraph, width: int):
    """Padded out-neighbour tables of a graph: ids, predicates, normalised weights ``[n, width]``
    and degrees ``[n]``."""
    n = g.num_nodes
    order = np.lexsort((g.edges[:, 1], g.edges[:, 0])) if len(g.edges) else np.zeros(0, np.int64)
    edges = g.edges[order]
    degree = np.bincount(edges[:, 0], minlength=n) if len(edges) else np.zeros(n, np.int64)
    start = np.concatenate([[0], np.cumsum(degree)[:-1]]) if n else np.zeros(0, np.int64)
    slot = np.arange(len(edges)) - start[edges[:, 0]] if len(edges) else np.zeros(0, np.int64)
    ids = np.zeros((n, width), np.int64)
    predicates = np.zeros((n, width), np.int64)
    weights = np.zeros((n, width))
    ids[edges[:, 0], slot] = edges[:, 1]
    predicates[edges[:, 0], slot] = edges[:, 2]
    weights[edges[:, 0], slot] = g.importance[edges[:, 1]]
    total = weights.sum(axis=1, keepdims=True)
    uniform = (np.arange(width)[None, :] < degree[:, None]) / np.maximum(degree, 1)[:, None]
    weights = np.where(total > 0, weights / np.where(total > 0, total, 1.0), uniform)
    return ids, predicates, weights, degree


def _group_cells(u, v, k, tables1, tables2, r, n2, reads_new):
    """The ``[k, m, 2G]`` cells of the G pairs (u, v) with min(|N(u)|, |N(v)|) = k: flat buffer
    index, R, neighbour weight, padding (the s1 half uses G1's weights, the s2 half G2's)."""
    ids1, pred1, w1, deg1 = tables1
    ids2, pred2, w2, deg2 = tables2
    width = ids1.shape[1]
    m = np.maximum(deg1[u], deg2[v])[None, None, :]
    row = np.arange(k)[:, None, None]
    col = np.arange(int(m.max()))[None, :, None]
    swap = (deg1[u] > deg2[v])[None, None, :]
    uu = u[None, None, :]
    at1 = uu * width + np.where(swap, col, row)  # G1 neighbour table cell of each (row, column, pair)
    at2 = v[None, None, :] * width + np.where(swap, row, col)
    a, b = ids1.ravel()[at1], ids2.ravel()[at2]
    real = np.broadcast_to(col < m, a.shape)
    offset = np.where(reads_new & (a < uu), 0, len(deg1) * n2)  # buffer half: new S or previous S
    cell = np.where(real, offset + a * n2 + b, 0)
    flat = np.concatenate((cell, cell), axis=2)
    relation = r.ravel()[pred1.ravel()[at1] * r.shape[0] + pred2.ravel()[at2]]
    relation = np.concatenate((relation, relation), axis=2)
    weights = np.concatenate((np.where(real, w1.ravel()[at1], 0.0), np.where(real, w2.ravel()[at2], 0.0)), axis=2)
    padding = np.where(np.concatenate((real, real), axis=2), 0.0, -np.inf)
    return flat, relation, weights, padding


class _Block:
    """Pairs (u, v) for the G1 rows ``rows`` and every v, updated together: the cells of all its
    groups are stored flat, one after the other, so that an iteration gathers them in one go."""

    def __init__(self, rows, tables1, tables2, importance1, importance2, r, reads_new):
        deg1, deg2 = tables1[3], tables2[3]
        n2 = len(deg2)
        u = np.repeat(rows, n2)
        v = np.tile(np.arange(n2), len(rows))
        k = np.minimum(deg1[u], deg2[v])
        cells, self.shapes, targets, mix_u, mix_v = [], [], [], [], []
        for size in np.unique(k[k > 0]):
            pick = k == size
            group = _group_cells(u[pick], v[pick], int(size), tables1, tables2, r, n2, reads_new)
            cells.append(group)
            self.shapes.append(group[0].shape)
            wu, wv = importance1[u[pick]], importance2[v[pick]]
            total = np.where(wu + wv > 0, wu + wv, 1.0)
            mix_u.append(np.where(wu + wv > 0, wu / total, 0.5))
            mix_v.append(np.where(wu + wv > 0, wv / total, 0.5))
            targets.append(u[pick] * n2 + v[pick])
        self.flat, self.relation, self.weights, self.padding = (
            np.concatenate([c[i].reshape(-1) for c in cells] + [np.zeros(0, dtype)])
            for i, dtype in enumerate((np.int64, np.float64, np.float64, np.float64)))
        empty = k == 0
        self.both_empty = (deg1[u[empty]] == 0) & (deg2[v[empty]] == 0)
        self.target = np.concatenate(targets + [u[empty] * n2 + v[empty]])
        # solved values come as [s1 (G), s2 (G)] per group, then one constant per empty pair;
        # slot: the pair each value belongs to; mix: its weight in s = mix_u s1 + mix_v s2
        counts = [len(t) for t in targets]
        starts = np.cumsum([0] + counts)
        self.slot = np.concatenate([np.tile(np.arange(c) + s, 2) for c, s in zip(counts, starts)]
                                   + [starts[-1] + np.arange(int(empty.sum()))]).astype(np.int64)
        self.mix = np.concatenate([np.concatenate([a, b]) for a, b in zip(mix_u, mix_v)]
                                  + [np.ones(int(empty.sum()))])

    def prepare(self, params: SeSSParams) -> tuple:
        """The run's parameters folded into the stored arrays (once per refinement)."""
        alpha, beta = params.relation_weight, params.update_rate
        constants = np.where(self.both_empty, params.both_empty_score, 0.0)
        return ((1.0 - alpha) * self.weights, alpha * self.relation * self.weights + self.padding,
                beta * self.mix, constants, 1.0 - beta)

    def update(self, buffer: np.ndarray, size: int, prepared: tuple) -> None:
        """``S(u, v) <- (1 - beta) S(u, v) + beta s`` for the block's pairs (buffer: [new, previous])."""
        scale, bias, rates, constants, keep = prepared
        cells = buffer[self.flat] * scale + bias
        values, start = [], 0
        for shape in self.shapes:
            stop = start + shape[0] * shape[1] * shape[2]
            values.append(batched_assignment_values(cells[start:stop].reshape(shape)))
            start = stop
        mixed = np.bincount(self.slot, weights=np.concatenate(values + [constants]) * rates,
                            minlength=len(self.target))
        buffer[self.target] = keep * buffer[size + self.target] + mixed


ENGINES = ("numba", "numpy")


class RefinementPlan:
    """Neighbour refinement of one graph pair for one update order (``synchronous``/``released``).

    ``engine="numba"`` (default) runs the compiled loop of :mod:`.refine_kernel`; ``"numpy"`` the
    vectorised blocks above (no compiler needed; kept as the second, independent fast version).
    """

    def __init__(self, g1: SceneGraph, g2: SceneGraph, predicate_similarity: np.ndarray, update: str,
                 engine: str = "numba"):
        if engine not in ENGINES:
            raise ValueError(f"SeSS refinement engine {engine!r}: use one of {ENGINES}")
        self.update, self.engine = update, engine
        self.shape = (g1.num_nodes, g2.num_nodes)
        width = max(1, *(np.bincount(g.edges[:, 0]).max() if len(g.edges) else 0 for g in (g1, g2)))
        t1, t2 = _neighbour_tables(g1, width), _neighbour_tables(g2, width)
        importance1, importance2 = (np.asarray(g.importance, np.float64) for g in (g1, g2))
        self._kernel_args = (t1, t2, importance1, importance2, np.asarray(predicate_similarity, np.float64))
        if engine == "numba":
            return
        args = (t1, t2, g1.importance, g2.importance, predicate_similarity)
        rows = np.arange(g1.num_nodes)
        self.synchronous = [_Block(rows, *args, reads_new=False)]
        self.in_place = None
        if update == "released":
            level = np.zeros(g1.num_nodes, np.int64)
            for node in rows:
                earlier = t1[0][node, :t1[3][node]]
                earlier = earlier[earlier < node]
                level[node] = level[earlier].max() + 1 if len(earlier) else 0
            self.in_place = [_Block(rows[level == lv], *args, reads_new=True) for lv in np.unique(level)]

    def refine(self, initial: np.ndarray, params: SeSSParams) -> np.ndarray:
        """Refined similarity float64 ``[n1, n2]`` from ``initial`` after ``params.iterations``."""
        if self.engine == "numba":
            from testbed.metrics.sess.matching.refine_kernel import refine

            t1, t2, importance1, importance2, relation = self._kernel_args
            return refine(np.ascontiguousarray(initial, np.float64), *t1, *t2, importance1, importance2, relation,
                          float(params.relation_weight), float(params.update_rate), float(params.both_empty_score),
                          int(params.iterations), self.update == "released")
        n1, n2 = self.shape
        size = n1 * n2
        buffer = np.empty(2 * size)
        buffer[:size] = initial.reshape(-1)
        synchronous = [(block, block.prepare(params)) for block in self.synchronous]
        in_place = [(block, block.prepare(params)) for block in self.in_place] if self.in_place else synchronous
        for iteration in range(params.iterations):
            buffer[size:] = buffer[:size]  # previous <- current
            for block, prepared in in_place if iteration > 0 else synchronous:
                block.update(buffer, size, prepared)
        return buffer[:size].reshape(n1, n2).copy()
