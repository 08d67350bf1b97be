"""Pictures of scene graphs and of SeSS node matchings (matplotlib, no pyplot state).

:func:`draw_scene_graph` puts a graph over its image: masks as translucent colours (or box
outlines), a marker at every centroid with an area proportional to the node's importance, and the
directed edges as arrows labelled with their predicate. :func:`draw_matching` shows two images side
by side with a line between the nodes a SeSS result matched, coloured by their refined similarity.
Both return the :class:`matplotlib.figure.Figure` and save it as PNG when given a path.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
from matplotlib import colormaps
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from testbed.metrics.sess.graph import SceneGraph
from testbed.metrics.sess.matching.score import SeSSResult

PALETTE = colormaps["tab20"]


def _rgb(image, size: tuple[int, int]) -> np.ndarray:
    """float ``[H, W, 3]`` in [0, 1] from an ``[H, W, 3]`` array (uint8 or float), a ``[3, H, W]``
    tensor/array, or None (a light grey canvas of ``size``)."""
    if image is None:
        return np.full((*size, 3), 0.92)
    array = np.asarray(image.detach().cpu() if hasattr(image, "detach") else image)
    if array.ndim == 3 and array.shape[0] == 3 and array.shape[2] != 3:
        array = array.transpose(1, 2, 0)
    if array.ndim == 2:
        array = np.repeat(array[..., None], 3, axis=2)
    array = array.astype(np.float64) / (255.0 if array.dtype == np.uint8 else 1.0)
    return np.clip(array[..., :3], 0.0, 1.0)


def _points(graph: SceneGraph, offset: float = 0.0) -> np.ndarray:
    """Centroids in pixel coordinates ``[N, 2]`` as (x, y)."""
    height, width = graph.image_size
    return np.stack([graph.centroids[:, 1] * width + offset, graph.centroids[:, 0] * height], axis=1)


def _draw_graph(ax, graph: SceneGraph, offset: float, predicate_names, alpha: float, labels: bool) -> None:
    height, width = graph.image_size
    if graph.masks is not None and graph.num_nodes:
        overlay = np.zeros((height, width, 4))
        for i in np.argsort(-graph.masks.sum(axis=(1, 2))):  # large masks first, small ones on top
            overlay[graph.masks[i]] = (*PALETTE(i % 20)[:3], alpha)
        ax.imshow(overlay, extent=(offset - 0.5, offset + width - 0.5, height - 0.5, -0.5))
    elif graph.boxes is not None:
        for i, (x0, y0, x1, y1) in enumerate(graph.boxes):
            ax.add_patch(Rectangle((offset + x0 - 0.5, y0 - 0.5), x1 - x0, y1 - y0, fill=False,
                                   edgecolor=PALETTE(i % 20), linewidth=1.5))
    points = _points(graph, offset)
    for (s, o, p), score in zip(graph.edges.tolist(), graph.edge_scores.tolist()):
        ax.annotate("", xy=points[o], xytext=points[s],
                    arrowprops=dict(arrowstyle="-|>", color="white", lw=0.6 + 1.5 * min(score, 1.0),
                                    shrinkA=4, shrinkB=4, connectionstyle="arc3,rad=0.12"))
        if labels:
            name = predicate_names[p] if predicate_names is not None and p < len(predicate_names) else str(p)
            mid = (points[s] + points[o]) / 2
            ax.text(mid[0], mid[1], name, fontsize=6, color="black", ha="center", va="center",
                    bbox=dict(boxstyle="round,pad=0.15", fc="white", ec="none", alpha=0.75))
    sizes = 20 + 600 * graph.importance
    ax.scatter(points[:, 0], points[:, 1], s=sizes, c=[PALETTE(i % 20) for i in range(graph.num_nodes)],
               edgecolors="black", linewidths=0.8, zorder=3)


def _save(fig: Figure, path) -> Figure:
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, format="png", dpi=fig.dpi, bbox_inches="tight")
    return fig


def draw_scene_graph(graph: SceneGraph, image=None, predicate_names: Sequence[str] | None = None,
                     path: str | Path | None = None, alpha: float = 0.45, labels: bool = True,
                     title: str | None = None) -> Figure:
    """A scene graph over its image (``image``: see :func:`_rgb`; None draws on a blank canvas)."""
    height, width = graph.image_size
    fig = Figure(figsize=(6.0, 6.0 * height / width + 0.4), dpi=100)
    ax = fig.add_subplot()
    ax.imshow(_rgb(image, graph.image_size))
    _draw_graph(ax, graph, 0.0, predicate_names, alpha, labels)
    ax.set_xlim(-0.5, width - 0.5)
    ax.set_ylim(height - 0.5, -0.5)
    ax.set_axis_off()
    ax.set_title(title or f"{graph.num_nodes} nodes, {len(graph.edges)} edges", fontsize=9)
    return _save(fig, path)


def draw_matching(graph1: SceneGraph, image1, graph2: SceneGraph, image2, result: SeSSResult,
                  path: str | Path | None = None, alpha: float = 0.3, labels: bool = False) -> Figure:
    """Two graphs side by side and the matched node pairs of ``result`` (``result.matches``), each
    line coloured by the refined similarity ``result.similarity[u, v]``."""
    (h1, w1), (h2, w2) = graph1.image_size, graph2.image_size
    height = max(h1, h2)
    canvas = np.ones((height, w1 + w2, 3))
    canvas[:h1, :w1] = _rgb(image1, graph1.image_size)
    canvas[:h2, w1:] = _rgb(image2, graph2.image_size)
    fig = Figure(figsize=(10.0, 10.0 * height / (w1 + w2) + 0.8), dpi=100)
    ax = fig.add_subplot()
    ax.imshow(canvas)
    _draw_graph(ax, graph1, 0.0, None, alpha, labels)
    _draw_graph(ax, graph2, float(w1), None, alpha, labels)
    p1, p2 = _points(graph1), _points(graph2, float(w1))
    norm = Normalize(vmin=0.0, vmax=1.0)
    cmap = colormaps["viridis"]
    for u, v in result.matches.tolist():
        value = result.similarity[u, v]
        ax.plot([p1[u, 0], p2[v, 0]], [p1[u, 1], p2[v, 1]], color=cmap(norm(value)), lw=1.8, zorder=2.5)
    bar = fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=ax, fraction=0.03, pad=0.01)
    bar.set_label("refined node similarity S(u, v)")
    ax.set_xlim(-0.5, w1 + w2 - 0.5)
    ax.set_ylim(height - 0.5, -0.5)
    ax.set_axis_off()
    ax.set_title(f"SeSS {result.score:.4f} (graph {result.graph_score:.4f})", fontsize=10)
    return _save(fig, path)

