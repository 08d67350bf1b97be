"""Node importance (SESS.md section 5) and the saliency masses it starts from."""

import numpy as np
import pytest

from testbed.metrics.sess import SeSSParams, node_importance, saliency_mass


def released_importance(mass, score_matrix, k1=2.5, k2=3.0, k3=0.8):
    """The released ``get_semantic_imp`` after its saliency sums, as a plain loop."""
    n = len(mass)
    if n == 1:
        return np.array([1.0])
    s = np.array([m ** (1.0 / k1) for m in mass])
    s = s / s.sum()
    r = np.zeros(n)
    for i in range(n):
        for j in range(n):
            if i != j and score_matrix[i, j] > 0:
                r[i] += score_matrix[i, j] * s[i] / (s[i] + s[j])
                r[j] += score_matrix[i, j] * s[j] / (s[i] + s[j])
    r = r ** (1.0 / k2)
    r = r / r.sum()
    w = k3 * s + (1 - k3) * r
    return w / w.sum()


def edges_of(score_matrix):
    s, o = np.nonzero(score_matrix > 0)
    return np.stack([s, o, np.zeros_like(s)], axis=1), score_matrix[s, o]


@pytest.mark.parametrize("seed", range(5))
def test_equals_the_released_formula(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 12))
    mass = rng.random(n) * 100
    scores = np.where(rng.random((n, n)) < 0.3, rng.random((n, n)), -1.0)
    np.fill_diagonal(scores, -1.0)
    scores[0, 1] = 0.7  # at least one edge
    edges, values = edges_of(scores)
    w = node_importance(mass, edges, values)
    np.testing.assert_allclose(w, released_importance(mass, scores), rtol=1e-12, atol=1e-15)
    assert w.sum() == pytest.approx(1.0, abs=1e-12) and np.all(w >= 0)
    params = SeSSParams(saliency_exponent=1.5, relation_exponent=2.0, saliency_weight=0.6)
    np.testing.assert_allclose(node_importance(mass, edges, values, params),
                               released_importance(mass, scores, 1.5, 2.0, 0.6), rtol=1e-12)


def test_without_edges_importance_is_the_saliency_part():
    mass = np.array([1.0, 8.0, 27.0])
    expected = mass ** (1 / 2.5) / (mass ** (1 / 2.5)).sum()
    np.testing.assert_allclose(node_importance(mass), expected)
    np.testing.assert_allclose(node_importance(mass, np.zeros((0, 3)), np.zeros(0)), expected)
    np.testing.assert_allclose(node_importance(mass, [[0, 1, 4]], [0.0]), expected)  # score 0: no relation


def test_degenerate_cases_are_defined():
    assert node_importance([5.0]).tolist() == [1.0]
    assert node_importance([]).shape == (0,)
    np.testing.assert_allclose(node_importance([0.0, 0.0, 0.0, 0.0]), 0.25)  # no saliency: uniform
    w = node_importance([0.0, 0.0, 4.0], [[0, 1, 0]], [0.5])  # both ends unsalient: half each
    assert np.isfinite(w).all() and w.sum() == pytest.approx(1.0)
    assert w[0] == pytest.approx(w[1])
    with pytest.raises(ValueError, match=">= 0"):
        node_importance([1.0, -1.0])


def test_saliency_mass_of_masks_and_boxes():
    rng = np.random.default_rng(0)
    saliency = rng.random((12, 16)).astype(np.float32)
    boxes = np.array([[0, 0, 16, 12], [3, 2, 7, 9], [15, 11, 16, 12]])
    masks = np.zeros((3, 12, 16), bool)
    for m, (x0, y0, x1, y1) in zip(masks, boxes):
        m[y0:y1, x0:x1] = True
    by_mask = saliency_mass(saliency, masks=masks)
    np.testing.assert_allclose(by_mask, [saliency[m].sum(dtype=np.float64) for m in masks], rtol=1e-12)
    np.testing.assert_allclose(saliency_mass(saliency, boxes=boxes), by_mask, rtol=1e-10)
    with pytest.raises(ValueError, match="do not match"):
        saliency_mass(saliency, masks=masks[:, :5])
