"""Node importance of a SeSS scene graph (per graph, sums to 1), as the released code computes it
(``utils/semantic_importance.py``), with defined results where the released one divides by zero.

With ``m_i`` the saliency mass of node i (sum of the saliency map over its mask or box), k1, k2, k3 =
``saliency_exponent``, ``relation_exponent``, ``saliency_weight``:

* saliency part ``s_i = m_i ** (1 / k1)``, normalised to sum 1 (all masses 0: uniform);
* relation part: every edge i -> j with score p > 0 adds ``p * s_i / (s_i + s_j)`` to node i and
  ``p * s_j / (s_i + s_j)`` to node j (both saliency parts 0: half each); then ``r_i ** (1 / k2)``,
  normalised; a graph without edges has no relation part and ``w = s`` (saliency only);
* ``w = k3 * s + (1 - k3) * r``, normalised. A one-node graph has importance [1.0].
"""

from __future__ import annotations

import numpy as np

from testbed.metrics.sess.params import SeSSParams


def saliency_mass(saliency_map: np.ndarray, masks: np.ndarray | None = None,
                  boxes: np.ndarray | None = None) -> np.ndarray:
    """Sum of ``saliency_map`` float ``[H, W]`` over each node's region: float64 ``[N]``.

    ``masks``: bool ``[N, H, W]``; else ``boxes``: ``[N, 4]`` pixel boxes (x0, y0, x1, y1), end
    exclusive (fractional coordinates are floored for the start and ceiled for the end).
    """
    saliency_map = np.asarray(saliency_map, dtype=np.float64)
    if masks is not None:
        masks = np.asarray(masks, dtype=bool)
        if masks.ndim != 3 or masks.shape[1:] != saliency_map.shape:
            raise ValueError(f"masks {masks.shape} do not match the saliency map {saliency_map.shape}")
        # float32 sums like numpy's on the released float32 map would differ only in rounding
        return np.array([saliency_map[m].sum() for m in masks], dtype=np.float64)
    if boxes is None:
        raise ValueError("saliency_mass needs masks or boxes")
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    integral = np.zeros((saliency_map.shape[0] + 1, saliency_map.shape[1] + 1))
    integral[1:, 1:] = saliency_map.cumsum(0).cumsum(1)
    height, width = saliency_map.shape
    x0 = np.clip(np.floor(boxes[:, 0]), 0, width).astype(int)
    y0 = np.clip(np.floor(boxes[:, 1]), 0, height).astype(int)
    x1 = np.clip(np.ceil(boxes[:, 2]), 0, width).astype(int)
    y1 = np.clip(np.ceil(boxes[:, 3]), 0, height).astype(int)
    return integral[y1, x1] - integral[y0, x1] - integral[y1, x0] + integral[y0, x0]


def _normalised(values: np.ndarray) -> np.ndarray | None:
    total = values.sum()
    return values / total if total > 0 else None


def node_importance(mass: np.ndarray, edges: np.ndarray | None = None,
                    edge_scores: np.ndarray | None = None,
                    params: SeSSParams | None = None) -> np.ndarray:
    """Importance float64 ``[N]`` (sums to 1) from saliency masses ``[N]`` (>= 0) and directed
    ``edges`` int ``[E, 2+]`` (subject, object, ...) with ``edge_scores`` ``[E]``."""
    params = params or SeSSParams()
    mass = np.asarray(mass, dtype=np.float64).reshape(-1)
    n = mass.size
    if n == 0:
        return np.zeros(0)
    if np.any(~np.isfinite(mass)) or np.any(mass < 0):
        raise ValueError("saliency masses must be finite and >= 0")
    if n == 1:
        return np.ones(1)
    saliency = _normalised(mass ** (1.0 / params.saliency_exponent))
    if saliency is None:
        saliency = np.full(n, 1.0 / n)
    relation = np.zeros(n)
    if edges is not None and len(edges):
        edges = np.asarray(edges, dtype=np.int64).reshape(len(edges), -1)
        scores = np.asarray(edge_scores, dtype=np.float64).reshape(-1)
        if scores.size != len(edges):
            raise ValueError(f"{len(edges)} edges but {scores.size} edge scores")
        keep = scores > 0
        sub, obj, p = edges[keep, 0], edges[keep, 1], scores[keep]
        pair = saliency[sub] + saliency[obj]
        half = np.full(pair.shape, 0.5)
        np.add.at(relation, sub, p * np.divide(saliency[sub], pair, out=half.copy(), where=pair > 0))
        np.add.at(relation, obj, p * np.divide(saliency[obj], pair, out=half, where=pair > 0))
    relation = _normalised(relation ** (1.0 / params.relation_exponent))
    if relation is None:
        return saliency
    k3 = params.saliency_weight
    return _normalised(k3 * saliency + (1.0 - k3) * relation)
