"""SceneGraph: construction, validation, networkx conversion, the JSON + npz file format."""

import json

import networkx as nx
import numpy as np
import pytest

from testbed.metrics.sess import SceneGraph, SceneGraphError, SeSSParams, unit
from testbed.metrics.sess.matching.importance import node_importance

from .synthetic import random_graph


def full_graph(rng):
    """Masks, boxes, global embedding, saliency masses, edges and provenance all present."""
    g = random_graph(rng, 7, masks=True)
    boxes = np.array([[1, 2, 9, 11]] * 7, np.float64)
    return SceneGraph(g.image_size, g.embeddings, g.importance, g.edges, g.edge_scores, masks=g.masks,
                      boxes=boxes, global_embedding=g.global_embedding, saliency_mass=rng.random(7) * 50,
                      predicate_vocab="psg56", provenance={"backend": "test", "weights": ["a", 1, 2.5]})


def test_file_round_trip_is_exact(tmp_path):
    g = full_graph(np.random.default_rng(0))
    path = g.save(tmp_path / "sub" / "g.json")
    assert path.exists() and (tmp_path / "sub" / "g.npz").exists()
    back = SceneGraph.load(path)
    assert back.equals(g)
    document = json.loads(path.read_text())
    assert document["format"] == "testbed-sess-scene-graph" and document["version"] == 1
    assert document["arrays"] == "g.npz" and len(document["nodes"]) == 7


@pytest.mark.parametrize("nodes", [0, 1, 5])
def test_round_trips_of_small_graphs(tmp_path, nodes):
    g = random_graph(np.random.default_rng(nodes), nodes, masks=nodes % 2 == 1)
    assert SceneGraph.load(g.save(tmp_path / "g.json")).equals(g)
    assert SceneGraph.from_networkx(g.to_networkx()).equals(g)


def test_networkx_round_trip_and_attributes():
    g = full_graph(np.random.default_rng(1))
    graph = g.to_networkx()
    assert isinstance(graph, nx.DiGraph)
    assert graph.number_of_nodes() == 7 and graph.number_of_edges() == len(g.edges)
    s, o, p = g.edges[0]
    assert graph.edges[int(s), int(o)]["predicate"] == p
    assert graph.graph["predicate_vocab"] == "psg56"
    assert SceneGraph.from_networkx(graph).equals(g)


def test_centroids_follow_the_released_mask_centre_and_boxes_agree():
    masks = np.zeros((1, 10, 20), bool)
    masks[0, 2:5, 4:10] = True  # rows 2..4, cols 4..9
    g = SceneGraph((10, 20), unit(np.ones((1, 3))), [1.0], masks=masks)
    np.testing.assert_allclose(g.centroids, [[3 / 10, 6.5 / 20]])
    boxed = SceneGraph((10, 20), unit(np.ones((1, 3))), [1.0], boxes=[[4, 2, 10, 5]])
    np.testing.assert_allclose(boxed.centroids, g.centroids)


def test_build_computes_importance_from_saliency():
    rng = np.random.default_rng(2)
    boxes = np.array([[0, 0, 10, 10], [10, 0, 20, 10], [0, 10, 20, 20]])
    saliency = rng.random((20, 20))
    edges = [[0, 1, 3], [2, 0, 1]]
    g = SceneGraph.build((20, 20), unit(rng.random((3, 4))), boxes=boxes, edges=edges, edge_scores=[0.9, 0.4],
                         saliency_map=saliency, global_embedding=unit(rng.random(4)))
    mass = [saliency[:10, :10].sum(), saliency[:10, 10:].sum(), saliency[10:, :].sum()]
    np.testing.assert_allclose(g.saliency_mass, mass)
    np.testing.assert_allclose(g.importance, node_importance(mass, np.array(edges), [0.9, 0.4]))
    changed = g.with_importance(SeSSParams(saliency_weight=1.0))
    np.testing.assert_allclose(changed.importance, node_importance(mass, None, None))  # saliency only


def _graph(**changes):
    fields = dict(image_size=(10, 10), embeddings=unit(np.ones((2, 3))), importance=[0.5, 0.5],
                  edges=[[0, 1, 2]], edge_scores=[0.5], boxes=[[0, 0, 5, 5], [5, 5, 10, 10]])
    fields.update(changes)
    return SceneGraph(**fields)


@pytest.mark.parametrize("changes, message", [
    (dict(embeddings=np.ones((2, 3))), "unit-norm"),
    (dict(importance=[0.5, 0.6]), "sum to 1"),
    (dict(importance=[1.5, -0.5]), ">= 0"),
    (dict(edges=[[0, 0, 2]]), "self-loops"),
    (dict(edges=[[0, 2, 2]]), "node indices"),
    (dict(edges=[[0, 1, 2], [0, 1, 3]], edge_scores=[0.5, 0.5]), "one edge per ordered"),
    (dict(edges=[[0, 1, -1]]), "predicate ids"),
    (dict(edge_scores=None), "without edge_scores"),
    (dict(edge_scores=[np.nan]), "edge_scores"),
    (dict(boxes=[[0, 0, 5, 5], [5, 5, 11, 10]]), "boxes"),
    (dict(boxes=None), "region"),
    (dict(boxes=None, masks=np.zeros((2, 10, 10), bool)), "empty mask"),
    (dict(boxes=None, masks=np.ones((2, 9, 10), bool)), "masks"),
    (dict(global_embedding=np.ones(3)), "global_embedding"),
    (dict(centroids=[[0.5, 0.5], [0.5, 1.5]]), "centroids"),
    (dict(image_size=(0, 10)), "image_size"),
    (dict(predicate_vocab=""), "predicate_vocab"),
])
def test_validation_names_the_problem(changes, message):
    with pytest.raises(SceneGraphError, match=message):
        _graph(**changes)


def test_errors_are_value_errors_and_files_are_checked(tmp_path):
    assert issubclass(SceneGraphError, ValueError)
    with pytest.raises(SceneGraphError, match="JSON"):
        _graph(provenance={"x": object()}).save(tmp_path / "bad.json")
    with pytest.raises(SceneGraphError, match=".json"):
        _graph().save(tmp_path / "g.npz")
    path = _graph().save(tmp_path / "g.json")
    _graph(embeddings=unit([[1, 2, 3], [3, 2, 1]])).save(tmp_path / "other.json")
    (tmp_path / "g.npz").write_bytes((tmp_path / "other.npz").read_bytes())
    (tmp_path / "other.npz").unlink()
    with pytest.raises(SceneGraphError, match="checksum"):
        SceneGraph.load(path)
    with pytest.raises(SceneGraphError, match="cannot read"):
        SceneGraph.load(tmp_path / "missing.json")
