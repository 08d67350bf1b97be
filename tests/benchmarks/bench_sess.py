"""SeSS speed with the offline ``embedded`` backend (not collected by pytest; run it as a script).

Per image at 768 x 512: the ViT-S/14 token passes (the image and its mirror, 336 x 224 input),
the segmentation + relations, the spectral-residual saliency and graph assembly, and the whole
``graphs()`` call; per pair: the SeSS matching (``sess_score``, released parameters, 7
iterations) of a photo's graph against a noisy copy's and against another photo's. Medians over
the photos, all measured in this one run.

    OMP_NUM_THREADS=1 python tests/benchmarks/bench_sess.py [photos] [ViT input size: 224 (sess) | 448 (sess_448)]
"""

from __future__ import annotations

import statistics
import sys
import time

import torch

from testbed.metrics.sess import sess_score
from testbed.metrics.sess.backends.embedded import EmbeddedBackend
from testbed.metrics.sess.matching.saliency import spectral_residual_saliency
from testbed.testing import photo

NAMES = ("coffee", "chelsea", "rocket", "motorcycle_left", "astronaut", "motorcycle_right")


def photos(count: int) -> list[torch.Tensor]:
    """``count`` real photographs at 512x768 (``[3, 512, 768]`` in [0, 1])."""
    return [photo(NAMES[i % len(NAMES)], (512, 768), max_side=768) for i in range(count)]


def seconds(function) -> tuple[float, object]:
    start = time.perf_counter()
    out = function()
    return time.perf_counter() - start, out


def main(count: int = 6, size: int = 224) -> None:
    torch.set_num_threads(1)
    backend = EmbeddedBackend(size=size)
    backend.load()
    r = backend.predicate_similarity()
    images = photos(count)
    backend.graphs(images[0][None])  # warm-up (onnxruntime's first run)
    timing = {"tokens (2 ViT passes)": [], "saliency": [], "graph total": []}
    graphs, noisy = [], []
    for image in images:
        timing["tokens (2 ViT passes)"].append(seconds(lambda: backend.tokens(image[None]))[0])
        timing["saliency"].append(seconds(lambda: spectral_residual_saliency(image.permute(1, 2, 0).numpy()))[0])
        elapsed, (graph,) = seconds(lambda: backend.graphs(image[None]))
        timing["graph total"].append(elapsed)
        graphs.append(graph)
        g = torch.Generator().manual_seed(0)
        noisy.append(backend.graphs((image + 0.1 * torch.randn(image.shape, generator=g)).clamp(0, 1)[None])[0])
    timing["segments + relations + assembly"] = [t - a - b for t, a, b in zip(
        timing["graph total"], timing["tokens (2 ViT passes)"], timing["saliency"])]
    pairs = {"photo vs noisy copy": [], "photo vs another photo": []}
    for i, graph in enumerate(graphs):
        pairs["photo vs noisy copy"].append(seconds(lambda: sess_score(graph, noisy[i], r))[0])
        pairs["photo vs another photo"].append(seconds(lambda: sess_score(graph, graphs[(i + 1) % count], r))[0])
    nodes = statistics.median(g.num_nodes for g in graphs)
    edges = statistics.median(len(g.edges) for g in graphs)
    print(f"embedded backend (size {size}), {count} photos at 768x512, 1 thread; median {nodes} nodes, "
          f"{edges} edges per graph")
    for name, values in timing.items():
        print(f"  per image  {name:34s} {1000 * statistics.median(values):8.1f} ms")
    for name, values in pairs.items():
        print(f"  per pair   matching, {name:24s} {1000 * statistics.median(values):8.1f} ms")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 6, int(sys.argv[2]) if len(sys.argv) > 2 else 224)
