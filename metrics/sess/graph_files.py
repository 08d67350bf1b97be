"""The scene-graph file format (version 1): ``save_graph(graph, "g.json")`` writes two files side by
side; ``load_graph("g.json")`` reads them back exactly (every array bit for bit).

``g.json`` (UTF-8 JSON; floats as Python's shortest round-trip repr, so float64 values return
exactly; structure, scalars and provenance)::

    {"format": "testbed-sess-scene-graph", "version": 1,
     "arrays": "g.npz", "arrays_sha256": "<hex digest of g.npz>",
     "image_size": [H, W], "predicate_vocab": "psg56", "embedding_dim": D,
     "has_masks": bool, "has_boxes": bool, "has_global_embedding": bool, "has_saliency_mass": bool,
     "nodes": [{"centroid": [row / H, col / W], "importance": w,
                "box": [x0, y0, x1, y1] | null, "saliency_mass": m | null}, ...],
     "edges": [{"subject": i, "object": j, "predicate": p, "score": s}, ...],
     "provenance": {...}}

``g.npz`` (``numpy.savez``, uncompressed; the arrays): ``embeddings`` float32 ``[N, D]``;
``global_embedding`` float32 ``[D]`` when present; ``masks`` uint8 ``[N, ceil(H * W / 8)]`` =
``np.packbits(masks.reshape(N, H * W), axis=1)`` (row-major pixels, big-endian bit order) when
present. The JSON names its npz file and its SHA-256, so a mismatched pair is refused.
"""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import numpy as np

from testbed.metrics.sess.graph import SceneGraph, SceneGraphError

FORMAT, VERSION = "testbed-sess-scene-graph", 1


def save_graph(graph: SceneGraph, path: str | Path) -> Path:
    """Write ``path`` (must end in ``.json``) and the ``.npz`` beside it; returns ``path``."""
    path = Path(path)
    if path.suffix != ".json":
        raise SceneGraphError(f"scene graph files end in .json, got {path}")
    n = graph.num_nodes
    arrays = {"embeddings": graph.embeddings}
    if graph.global_embedding is not None:
        arrays["global_embedding"] = graph.global_embedding
    if graph.masks is not None:
        arrays["masks"] = np.packbits(graph.masks.reshape(n, -1), axis=1)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    blob = buffer.getvalue()
    nodes = [{"centroid": [float(v) for v in graph.centroids[i]], "importance": float(graph.importance[i]),
              "box": None if graph.boxes is None else [float(v) for v in graph.boxes[i]],
              "saliency_mass": None if graph.saliency_mass is None else float(graph.saliency_mass[i])}
             for i in range(n)]
    edges = [{"subject": s, "object": o, "predicate": p, "score": score}
             for (s, o, p), score in zip(graph.edges.tolist(), graph.edge_scores.tolist())]
    document = {"format": FORMAT, "version": VERSION, "arrays": path.with_suffix(".npz").name,
                "arrays_sha256": hashlib.sha256(blob).hexdigest(), "image_size": list(graph.image_size),
                "predicate_vocab": graph.predicate_vocab, "embedding_dim": int(graph.embeddings.shape[1]),
                "has_masks": graph.masks is not None, "has_boxes": graph.boxes is not None,
                "has_global_embedding": graph.global_embedding is not None,
                "has_saliency_mass": graph.saliency_mass is not None,
                "nodes": nodes, "edges": edges, "provenance": graph.provenance}
    try:
        text = json.dumps(document, indent=1, allow_nan=False)
    except (TypeError, ValueError) as err:
        raise SceneGraphError(f"scene graph provenance must be plain JSON data: {err}") from err
    path.parent.mkdir(parents=True, exist_ok=True)
    path.with_suffix(".npz").write_bytes(blob)
    path.write_text(text)
    return path


def load_graph(path: str | Path) -> SceneGraph:
    """Read a graph written by :func:`save_graph` (validated like any new graph)."""
    path = Path(path)
    try:
        document = json.loads(path.read_text())
        blob = (path.parent / document["arrays"]).read_bytes()
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise SceneGraphError(f"cannot read scene graph {path}: {err}") from err
    if document.get("format") != FORMAT or document.get("version") != VERSION:
        raise SceneGraphError(f"{path} is not a {FORMAT} file of version {VERSION}")
    if hashlib.sha256(blob).hexdigest() != document["arrays_sha256"]:
        raise SceneGraphError(f"{path}: {document['arrays']} does not belong to it (checksum differs)")
    arrays = np.load(io.BytesIO(blob))
    nodes, edges = document["nodes"], document["edges"]
    n, (height, width) = len(nodes), document["image_size"]
    masks = boxes = mass = None
    if document["has_masks"]:
        masks = np.unpackbits(arrays["masks"], axis=1, count=height * width).astype(bool).reshape(n, height, width)
    if document["has_boxes"]:
        boxes = np.array([v["box"] for v in nodes], np.float64).reshape(n, 4)
    if document["has_saliency_mass"]:
        mass = np.array([v["saliency_mass"] for v in nodes], np.float64)
    return SceneGraph((height, width), arrays["embeddings"], np.array([v["importance"] for v in nodes], np.float64),
                      np.array([[e["subject"], e["object"], e["predicate"]] for e in edges], np.int64).reshape(-1, 3),
                      np.array([e["score"] for e in edges], np.float64), masks=masks, boxes=boxes,
                      centroids=np.array([v["centroid"] for v in nodes], np.float64).reshape(n, 2),
                      global_embedding=arrays["global_embedding"] if document["has_global_embedding"] else None,
                      saliency_mass=mass, predicate_vocab=document["predicate_vocab"],
                      provenance=document["provenance"])
