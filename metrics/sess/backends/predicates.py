"""Geometric relations between image segments, named with Panoptic Scene Graph (PSG) predicates.

The released SeSS predicts relations with a model trained on PSG (RelateAnything); offline we have
no relation model, so the embedded backend reads relations off the segments' layout on the patch
grid and names each with the PSG predicate that describes that layout, so that the 56-name
vocabulary and its text-similarity matrix keep their meaning. Segments come from one region
hierarchy (any two are nested or disjoint); relations follow its structure:

* part -> whole: s's parent (its smallest strict superset) o: ``in``, score :data:`PART_SCORE`;
* touching siblings (same parent, or both top-level; 4-neighbour cell contacts), the smaller one
  as subject s, the larger as object o, with t = contacts / boundary cells of s: s mostly
  surrounded by o (t >= :data:`SURROUNDED`): ``in``; else by the centroid offset: s above o
  (vertical offset >= horizontal): ``on`` (the smaller thing rests on the larger: a boat on
  water, a person on grass); s below o: ``in front of`` (lower in a photograph is usually nearer
  the camera: a tree in front of the sky); side by side: ``beside``. Score ``min(1, t / SURROUNDED)``.

Tying edges to the hierarchy keeps their number near 2 per node (about 70 for 46 nodes), below
the released filter's 100 candidates, so the filter never cuts between tied scores, and a small
change of the image moves few edges. Left/right are not PSG predicates, so a mirrored image keeps
its relations. Limits: the layout is seen at patch resolution (14 px on the ViT input); depth,
support and action predicates (holding, riding, ...) cannot be read off geometry and are never
produced; non-touching pairs get no relation.
"""

from __future__ import annotations

import numpy as np

#: The 56 PSG predicates, in the dataset's (and RelateAnything's) order.
PSG_PREDICATES = (
    "over", "in front of", "beside", "on", "in", "attached to", "hanging from", "on back of", "falling off",
    "going down", "painted on", "walking on", "running on", "crossing", "standing on", "lying on", "sitting on",
    "flying over", "jumping over", "jumping from", "wearing", "holding", "carrying", "looking at", "guiding",
    "kissing", "eating", "drinking", "feeding", "biting", "catching", "picking", "playing with", "chasing",
    "climbing", "cleaning", "playing", "touching", "pushing", "pulling", "opening", "cooking", "talking to",
    "throwing", "slicing", "driving", "riding", "parked on", "driving on", "about to hit", "kicking", "swinging",
    "entering", "exiting", "enclosing", "leaning on",
)
PREDICATE_ID = {name: i for i, name in enumerate(PSG_PREDICATES)}

PART_SCORE = 0.5     # score of a segment -> its parent ("in")
SURROUNDED = 0.75    # share of s's boundary that o must cover for "s in o"


def _contacts(masks: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cell contacts between segments ``[S, gh, gw]``: ``(above, beside, boundary)``.

    above ``[S, S]``: cells of s directly above a cell of o; beside ``[S, S]``: horizontal contacts;
    boundary ``[S]``: 4-neighbour positions just outside s (image border included), with repeats.
    """
    m = masks.astype(np.float64)
    s = len(m)
    above = np.einsum("ahw,bhw->ab", m[:, :-1, :], m[:, 1:, :])
    beside = np.einsum("ahw,bhw->ab", m[:, :, :-1], m[:, :, 1:])
    beside = beside + beside.T
    padded = np.pad(masks, ((0, 0), (1, 1), (1, 1)))
    edge = (padded[:, 1:-1, 1:-1] & ~padded[:, :-2, 1:-1]).sum((1, 2)) \
        + (padded[:, 1:-1, 1:-1] & ~padded[:, 2:, 1:-1]).sum((1, 2)) \
        + (padded[:, 1:-1, 1:-1] & ~padded[:, 1:-1, :-2]).sum((1, 2)) \
        + (padded[:, 1:-1, 1:-1] & ~padded[:, 1:-1, 2:]).sum((1, 2))
    return above.reshape(s, s), beside, edge.astype(np.float64)


def parents(masks: np.ndarray) -> np.ndarray:
    """Index of each segment's smallest strict superset among ``masks`` (-1: none), ``[S]``."""
    flat = masks.reshape(len(masks), -1).astype(np.float64)
    area = flat.sum(axis=1)
    inter = flat @ flat.T
    contains = (inter >= area[:, None] - 0.5) & (area[None, :] > area[:, None])  # [s, o]: s inside o
    candidates = np.where(contains, area[None, :], np.inf)
    best = candidates.argmin(axis=1)
    return np.where(np.isfinite(candidates.min(axis=1)), best, -1)


def geometric_relations(masks: np.ndarray) -> np.ndarray:
    """Relation scores float64 ``[P, S, S]`` (P = 56 PSG predicates; at most one non-zero predicate
    per ordered pair, zero diagonal) of grid masks bool ``[S, gh, gw]`` (nested or disjoint)."""
    count = len(masks)
    scores = np.zeros((len(PSG_PREDICATES), count, count))
    if count < 2:
        return scores
    area = masks.reshape(count, -1).sum(axis=1).astype(np.float64)
    above, beside, boundary = _contacts(masks)
    parent = parents(masks)
    centre = np.stack(np.nonzero(masks)[1:], axis=1).astype(np.float64)
    owner = np.nonzero(masks)[0]
    centroids = np.stack([np.bincount(owner, centre[:, k], count) / area for k in range(2)], axis=1)
    for s in range(count):
        if parent[s] >= 0:
            scores[PREDICATE_ID["in"], s, parent[s]] = PART_SCORE
        for o in range(count):
            touch = above[s, o] + above[o, s] + beside[s, o]
            if o == s or parent[o] != parent[s] or touch == 0 or (area[s], s) > (area[o], o):
                continue  # only touching siblings, the smaller one as subject
            share = touch / max(boundary[s], 1.0)
            down, side = centroids[o] - centroids[s]
            if share >= SURROUNDED:
                name = "in"
            elif abs(down) >= abs(side):
                name = "on" if down > 0 else "in front of"
            else:
                name = "beside"
            scores[PREDICATE_ID[name], s, o] = min(1.0, share / SURROUNDED)
    return scores


def select_triplets(scores: np.ndarray, candidates: int, minimum: int, threshold: float):
    """The released triplet filter on ``[P, S, S]`` scores: the ``candidates`` highest (subject,
    object, predicate) triplets, the first ``minimum`` always, later ones while >= ``threshold``;
    per pair the highest kept predicate. Returns ``edges`` int64 ``[E, 3]`` and ``scores`` ``[E]``.
    Ties are broken by (predicate, subject, object) order, so the result is deterministic."""
    flat = scores.ravel()
    positive = np.flatnonzero(flat > 0)
    order = positive[np.lexsort((positive, -flat[positive]))][:candidates]
    kept = [i for rank, i in enumerate(order) if rank < minimum or flat[i] >= threshold]
    best: dict[tuple[int, int], tuple[float, int]] = {}
    for i in kept:
        p, s, o = np.unravel_index(i, scores.shape)
        if (int(s), int(o)) not in best or flat[i] > best[(int(s), int(o))][0]:
            best[(int(s), int(o))] = (float(flat[i]), int(p))
    edges = np.array([[s, o, p] for (s, o), (_, p) in sorted(best.items())], np.int64).reshape(-1, 3)
    return edges, np.array([score for _, (score, _) in sorted(best.items())], np.float64)
