"""Image segments from ViT patch tokens: grid-seeded superpixels and a Ward hierarchy over them.

On the patch grid ``[gh, gw]`` (row-major, 4-neighbour adjacency) of unit-norm tokens ``[n, D]``:

* :func:`superpixels`: SLIC (Achanta et al., TPAMI 2012) on tokens instead of colours: ``count``
  seeds on a regular grid, each patch assigned to the centre minimising ``|f - mu|^2 +
  compactness^2 |p - c|^2 / spacing^2`` (token distance + grid distance in seed spacings), means
  and centres updated, ``iterations`` times. Seeds anchored to a fixed grid make the partition
  move only at its borders when the image changes a little (a free clustering can re-split the
  whole image); the regions still follow the tokens' boundaries.
* :func:`ward_tree`: agglomerative clustering with Ward's criterion, allowed to merge only
  *adjacent* clusters, from single patches or from given initial clusters (the superpixels):
  merges ``[m, 2]`` as ``scipy.cluster.hierarchy.linkage`` numbers them (merge k creates cluster
  ``initial + k``).
* :func:`hierarchy_segments`: the initial clusters plus the hierarchy's cut at ``leaves`` clusters
  and every cluster above it (the root, the whole image, left out): nested masks, wholes and
  parts, the way Segment Anything's automatic masks come.
* :func:`deduplicate`: the released SeSS mask filter (largest first, drop a mask whose IoU with
  a kept one exceeds a threshold, keep at most ``max_masks``).

Everything is deterministic: ties between equal costs go to the lower index.
"""

from __future__ import annotations

import heapq

import numpy as np


def grid_positions(height: int, width: int) -> np.ndarray:
    """(row, col) of every cell of a row-major grid, float64 ``[height * width, 2]``."""
    rows, cols = np.meshgrid(np.arange(height), np.arange(width), indexing="ij")
    return np.stack([rows.ravel(), cols.ravel()], axis=1).astype(np.float64)


def superpixels(features: np.ndarray, height: int, width: int, count: int, compactness: float,
                iterations: int = 10) -> np.ndarray:
    """SLIC labels int64 ``[height * width]`` (0..K-1, K <= count, in seed order) of ``features``."""
    x = np.asarray(features, dtype=np.float64)
    rows = max(1, min(height, round(np.sqrt(count * height / width))))
    cols = max(1, min(width, round(count / rows)))
    step_r, step_c = height / rows, width / cols
    seeds_r, seeds_c = np.meshgrid((np.arange(rows) + 0.5) * step_r - 0.5, (np.arange(cols) + 0.5) * step_c - 0.5,
                                   indexing="ij")
    centres = np.stack([seeds_r.ravel(), seeds_c.ravel()], axis=1)
    positions = grid_positions(height, width)
    block = (np.floor((positions[:, 0] + 0.5) / step_r) * cols + np.floor((positions[:, 1] + 0.5) / step_c))
    block = np.minimum(block.astype(np.int64), rows * cols - 1)
    means = np.zeros((rows * cols, x.shape[1]))
    np.add.at(means, block, x)
    means /= np.maximum(np.bincount(block, minlength=rows * cols), 1)[:, None]  # seed = its block's mean
    weight = compactness ** 2 / (step_r * step_c)
    labels = np.zeros(len(x), np.int64)
    for _ in range(iterations):
        distance = (x * x).sum(1)[:, None] - 2.0 * x @ means.T + (means * means).sum(1)[None, :]
        distance += weight * ((positions[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)
        labels = distance.argmin(axis=1)
        counts = np.bincount(labels, minlength=len(means)).astype(np.float64)
        filled = counts > 0
        sums = np.zeros_like(means)
        np.add.at(sums, labels, x)
        spots = np.zeros_like(centres)
        np.add.at(spots, labels, positions)
        means[filled] = sums[filled] / counts[filled, None]
        centres[filled] = spots[filled] / counts[filled, None]
    return np.unique(labels, return_inverse=True)[1].astype(np.int64)


def ward_tree(features: np.ndarray, height: int, width: int, labels: np.ndarray | None = None) -> np.ndarray:
    """Connectivity-constrained Ward merges int64 ``[K - 1, 2]`` (cluster a < b) of ``features``
    ``[height * width, D]`` starting from the clusters ``labels`` ``[height * width]`` (0..K-1;
    None: every cell alone). The cost of merging A and B is ``|A||B| / (|A| + |B|) |mean_A - mean_B|^2``."""
    x = np.asarray(features, dtype=np.float64)
    labels = np.arange(len(x)) if labels is None else np.asarray(labels, np.int64)
    count = int(labels.max()) + 1
    sums = dict(enumerate(np.stack([x[labels == c].sum(0) for c in range(count)])))
    sizes = dict(enumerate(np.bincount(labels, minlength=count).astype(np.float64).tolist()))
    grid = labels.reshape(height, width)
    pairs = np.concatenate([np.stack([grid[:, :-1].ravel(), grid[:, 1:].ravel()], 1),
                            np.stack([grid[:-1].ravel(), grid[1:].ravel()], 1)])
    pairs = np.unique(np.sort(pairs[pairs[:, 0] != pairs[:, 1]], axis=1), axis=0)
    neighbours: dict[int, set[int]] = {c: set() for c in range(count)}

    def cost(a: int, b: int) -> float:
        diff = sums[a] / sizes[a] - sums[b] / sizes[b]
        return sizes[a] * sizes[b] / (sizes[a] + sizes[b]) * float(diff @ diff)

    heap = []
    for a, b in pairs.tolist():
        neighbours[a].add(b)
        neighbours[b].add(a)
        heap.append((cost(a, b), a, b))
    heapq.heapify(heap)
    merges, new = [], count
    while heap:
        _, a, b = heapq.heappop(heap)
        if a not in sizes or b not in sizes:
            continue  # stale: one side was merged already
        sums[new], sizes[new] = sums.pop(a) + sums.pop(b), sizes.pop(a) + sizes.pop(b)
        around = (neighbours.pop(a) | neighbours.pop(b)) - {a, b}
        neighbours[new] = around
        for m in sorted(around):
            neighbours[m] -= {a, b}
            neighbours[m].add(new)
            heapq.heappush(heap, (cost(m, new), m, new))
        merges.append((a, b))
        new += 1
    return np.array(merges, dtype=np.int64).reshape(-1, 2)


def hierarchy_segments(merges: np.ndarray, labels: np.ndarray, height: int, width: int, leaves: int) -> np.ndarray:
    """Masks bool ``[S, height, width]``, largest first (ties: lower cluster id): every initial
    cluster of ``labels``, the clusters created by the last ``leaves - 1`` merges and their children
    (the cut at ``leaves`` clusters and everything above it), the root excluded."""
    labels = np.asarray(labels, np.int64)
    count = int(labels.max()) + 1
    members = [[c] for c in range(count)]
    for a, b in merges.tolist():
        members.append(members[a] + members[b])
    last = merges[max(0, len(merges) - (leaves - 1)):]
    wanted = set(range(count)) | set(last.ravel().tolist()) | set(range(len(members) - len(last), len(members)))
    if len(merges):
        wanted.discard(len(members) - 1)  # the root: the whole image
    wanted = sorted(wanted)
    masks = np.stack([np.isin(labels, members[c]) for c in wanted]).reshape(len(wanted), height, width)
    order = sorted(range(len(wanted)), key=lambda i: (-int(masks[i].sum()), wanted[i]))
    return masks[order]


def deduplicate(masks: np.ndarray, iou_threshold: float, max_masks: int) -> np.ndarray:
    """Indices of the masks kept by the released filter: in the given (largest-first) order, a mask
    whose IoU with an already kept mask exceeds ``iou_threshold`` is dropped; at most ``max_masks``."""
    flat = masks.reshape(len(masks), -1).astype(np.float64)
    areas = flat.sum(axis=1)
    kept: list[int] = []
    for i in range(len(flat)):
        if kept:
            inter = flat[kept] @ flat[i]
            if (inter / (areas[kept] + areas[i] - inter)).max() > iou_threshold:
                continue
        kept.append(i)
        if len(kept) == max_masks:
            break
    return np.array(kept, dtype=np.int64)


def upsample_masks(masks: np.ndarray, height: int, width: int) -> np.ndarray:
    """Grid masks ``[S, gh, gw]`` -> pixel masks bool ``[S, height, width]`` (each pixel takes the
    grid cell it falls in: cell row ``floor(y * gh / height)``)."""
    _, gh, gw = masks.shape
    rows = np.minimum((np.arange(height) * gh) // height, gh - 1)
    cols = np.minimum((np.arange(width) * gw) // width, gw - 1)
    return np.take(np.take(masks, rows, axis=1), cols, axis=2)  # C-contiguous (fancy indexing is not)
