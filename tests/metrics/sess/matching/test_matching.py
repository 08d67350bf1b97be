"""The SeSS matching core: compiled and vectorised == plain loop (both update orders), conventions, properties."""

import numpy as np
import pytest

from testbed.metrics.sess import SceneGraph, SceneGraphError, SeSSPair, SeSSParams, sess, sess_score, unit

from testbed.metrics.sess.matching.neighbours import ENGINES

from ..loop_reference import loop_sess
from ..synthetic import random_graph, random_similarity

UPDATES = ("synchronous", "released")


def graph_pairs():
    """(seed, n1, n2, edges per node 1, 2, options): empty, one-node, sparse, dense, 60 nodes."""
    cases = [(0, 0, 0, 0, 0, {}), (1, 0, 6, 0, 2, {}), (2, 5, 0, 2, 0, {}), (3, 1, 1, 0, 0, {}),
             (4, 1, 9, 0, 3, {}), (5, 2, 2, 1, 1, {}), (6, 12, 12, 11, 11, {}),  # complete graphs: k = 11
             (7, 10, 14, 5, 8, {"negative": True}), (8, 9, 9, 2, 2, {"zero_importance": True}),
             (9, 60, 60, 2, 2, {}), (10, 45, 25, 3, 1.5, {"negative": True}), (11, 30, 30, 0, 2, {})]
    rng = np.random.default_rng(99)
    for _ in range(10):  # random sizes 0-20
        n1, n2 = (int(x) for x in rng.integers(0, 21, 2))
        cases.append((int(rng.integers(1000)), n1, n2, float(rng.uniform(0, 4)), float(rng.uniform(0, 4)), {}))
    return cases


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("update", UPDATES)
def test_fast_versions_equal_the_plain_loop(update, engine):
    worst = 0.0
    for seed, n1, n2, e1, e2, options in graph_pairs():
        rng = np.random.default_rng(seed)
        g1 = random_graph(rng, n1, edges_per_node=e1, **options)
        g2 = random_graph(rng, n2, edges_per_node=e2, **options)
        r = random_similarity(rng, negative=options.get("negative", False))
        params = SeSSParams(update=update)
        expected, similarity = loop_sess(g1, g2, r, params)
        result = sess(g1, g2, r, params, engine=engine)
        worst = max(worst, abs(result.score - expected), np.abs(result.similarity - similarity).max(initial=0))
        assert worst <= 1e-9, (seed, n1, n2)
    print(f"{update}, {engine}: largest difference {worst:.2e}")


def test_other_parameters_match_the_loop_too():
    rng = np.random.default_rng(5)
    g1, g2 = random_graph(rng, 14, edges_per_node=3), random_graph(rng, 11, edges_per_node=3)
    r = random_similarity(rng)
    for update in UPDATES:
        params = SeSSParams(update=update, iterations=3, relation_weight=0.6, update_rate=0.3,
                            location_weight=0.5, both_empty_score=0.4, global_weight=0.0)
        assert sess_score(g1, g2, r, params) == pytest.approx(loop_sess(g1, g2, r, params)[0], abs=1e-12)
        assert sess(g1, g2, r, params, engine="numpy").score == pytest.approx(loop_sess(g1, g2, r, params)[0], abs=1e-12)


def test_zero_node_conventions():
    rng = np.random.default_rng(0)
    empty, other = random_graph(rng, 0), random_graph(rng, 4)
    r = random_similarity(rng)
    both = sess(empty, random_graph(rng, 0), r)
    assert both.graph_score == 1.0 and both.similarity.shape == (0, 0)
    one = sess(empty, other, r)
    assert one.graph_score == 0.0 and sess(other, empty, r).graph_score == 0.0
    assert one.score == pytest.approx(0.05 * float(empty.global_embedding @ other.global_embedding))


@pytest.mark.parametrize("update", UPDATES)
def test_identical_graphs_score_one(update):
    rng = np.random.default_rng(1)
    r = random_similarity(rng, negative=True)
    for n in (1, 2, 8, 25):
        g = random_graph(rng, n, edges_per_node=2, negative=True)
        result = sess(g, g, r, SeSSParams(update=update))
        assert result.score >= 0.99
        assert result.score == pytest.approx(1.0, abs=1e-6)
        np.testing.assert_allclose(np.diag(result.similarity), 1.0, atol=1e-6)
        assert sorted(map(tuple, result.matches.tolist())) == [(i, i) for i in range(n)]


@pytest.mark.parametrize("update", UPDATES)
def test_scores_lie_in_the_unit_interval_for_non_negative_similarities(update):
    rng = np.random.default_rng(2)
    for _ in range(20):
        g1 = random_graph(rng, int(rng.integers(0, 15)), edges_per_node=rng.uniform(0, 3))
        g2 = random_graph(rng, int(rng.integers(0, 15)), edges_per_node=rng.uniform(0, 3))
        result = sess(g1, g2, random_similarity(rng), SeSSParams(update=update))
        assert 0.0 <= result.score <= 1.0
        assert result.similarity.size == 0 or (result.similarity.min() >= 0 and result.similarity.max() <= 1)


def test_synchronous_order_is_symmetric_and_ignores_node_numbering():
    rng = np.random.default_rng(3)
    r = random_similarity(rng)
    for _ in range(5):
        g1, g2 = random_graph(rng, 13, edges_per_node=2.5), random_graph(rng, 9, edges_per_node=2.5)
        ab, ba = sess(g1, g2, r), sess(g2, g1, r)
        assert ab.score == pytest.approx(ba.score, abs=1e-12)
        np.testing.assert_allclose(ab.similarity, ba.similarity.T, atol=1e-12)
        assert sess_score(relabelled(g1, rng), g2, r) == pytest.approx(ab.score, abs=1e-12)


def test_released_order_differs_only_after_the_first_iteration():
    rng = np.random.default_rng(4)
    r = random_similarity(rng)
    g1, g2 = random_graph(rng, 15, edges_per_node=3), random_graph(rng, 15, edges_per_node=3)
    one = SeSSParams(iterations=1)
    assert sess_score(g1, g2, r, one) == sess_score(g1, g2, r, one.replace(update="released"))
    released = SeSSParams(update="released")
    ab, ba = sess_score(g1, g2, r, released), sess_score(g2, g1, r, released)
    relabelled_ab = sess_score(relabelled(g1, rng), g2, r, released)
    # not symmetric, and it depends on G1's numbering: by construction, small (beta = 0.05) differences
    assert abs(ab - ba) > 1e-9 and abs(ab - relabelled_ab) > 1e-9
    assert abs(ab - ba) < 1e-2 and abs(ab - sess_score(g1, g2, r)) < 1e-2


def test_deterministic():
    rng = np.random.default_rng(6)
    g1, g2 = random_graph(rng, 20), random_graph(rng, 20)
    r = random_similarity(rng)
    for update in UPDATES:
        params = SeSSParams(update=update)
        first = sess(g1, g2, r, params)
        again = SeSSPair(g1, g2, r)
        assert again.score(params) == first.score and again.score(params) == first.score
        assert np.array_equal(again.result(params).similarity, first.similarity)


def test_pair_errors_name_the_problem():
    rng = np.random.default_rng(7)
    g1, g2 = random_graph(rng, 4), random_graph(rng, 4, predicates=6)
    with pytest.raises(SceneGraphError, match="outside"):
        sess(g1, g2, np.eye(2))
    with pytest.raises(SceneGraphError, match="square"):
        sess(g1, g2, np.ones((6, 5)))
    other = SceneGraph(g2.image_size, g2.embeddings, g2.importance, g2.edges, g2.edge_scores, boxes=g2.boxes,
                       predicate_vocab="psg56")
    with pytest.raises(SceneGraphError, match="vocabularies"):
        sess(g1, other, np.eye(6))
    no_global = SceneGraph(g2.image_size, g2.embeddings, g2.importance, g2.edges, g2.edge_scores,
                           boxes=g2.boxes, predicate_vocab="toy")
    with pytest.raises(SceneGraphError, match="global_embedding"):
        sess(g1, no_global, np.eye(6))
    assert 0 <= sess_score(g1, no_global, np.eye(6), SeSSParams(global_weight=0.0)) <= 1


def relabelled(g: SceneGraph, rng) -> SceneGraph:
    """The same graph with its nodes renumbered at random."""
    order = rng.permutation(g.num_nodes)
    new_index = np.argsort(order)
    edges = g.edges.copy()
    edges[:, :2] = new_index[edges[:, :2]]
    return SceneGraph(g.image_size, g.embeddings[order], g.importance[order], edges, g.edge_scores,
                      boxes=g.boxes[order], global_embedding=g.global_embedding, predicate_vocab=g.predicate_vocab)


def test_unit_helper():
    np.testing.assert_allclose(np.linalg.norm(unit(np.arange(1, 7).reshape(2, 3)), axis=1), 1, rtol=1e-6)
