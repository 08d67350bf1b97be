"""Speed of the SeSS matching core (not collected by pytest; run it as a script).

Scores random scene-graph pairs (1024-d embeddings like OpenCLIP ViT-H-14's, 56 predicates, about
``--edges`` out-edges per node, 7 iterations) with the plain loop of SESS.md
(tests/metrics/sess/loop_reference.py: one scipy assignment per matrix) and with
``testbed.metrics.sess.sess`` on each refinement engine (``numba``: the compiled loop, the default;
``numpy``: the vectorised blocks), plan building included, as a metric calls it once per pair, for
both update orders; checks that they agree and prints milliseconds per pair and the ratio, all
measured in this one run (median over ``--pairs`` graph pairs; the kernel is compiled before
timing). The goal is a ratio >= 50 at 30 nodes.

    OMP_NUM_THREADS=1 python tests/benchmarks/bench_sess_matching.py [--nodes 15 30 60] [--edges 2]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "metrics" / "sess"))

from loop_reference import loop_sess  # noqa: E402
from synthetic import random_graph, random_similarity  # noqa: E402

from testbed.metrics.sess import SeSSParams, sess  # noqa: E402


def timed(function, repeats: int) -> tuple[float, object]:
    """Best wall time of ``repeats`` calls (seconds) and the last result."""
    best, out = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        out = function()
        best = min(best, time.perf_counter() - start)
    return best, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, nargs="+", default=[15, 30, 60])
    parser.add_argument("--edges", type=float, default=2.0, help="mean out-edges per node")
    parser.add_argument("--pairs", type=int, default=5)
    args = parser.parse_args()
    print(f"graphs: 1024-d embeddings, 56 predicates, ~{args.edges:g} out-edges per node; "
          f"median over {args.pairs} pairs; loop: best of 1, fast: best of 5 calls")
    print(f"{'nodes':>5} {'update':>12} {'engine':>7} {'loop ms/pair':>13} {'fast ms/pair':>13} {'ratio':>7} "
          f"{'max |diff|':>11}")
    warm = np.random.default_rng(0)
    sess(random_graph(warm, 3), random_graph(warm, 3), random_similarity(warm))  # compile the kernel
    for nodes, update, engine in [(n, u, e) for n in args.nodes for u in ("synchronous", "released")
                                  for e in ("numba", "numpy")]:
        params = SeSSParams(update=update)
        loops, fasts, diffs = [], [], []
        for seed in range(args.pairs):
            rng = np.random.default_rng(seed)
            g1 = random_graph(rng, nodes, edges_per_node=args.edges, predicates=56, dim=1024)
            g2 = random_graph(rng, nodes, edges_per_node=args.edges, predicates=56, dim=1024)
            r = random_similarity(rng, predicates=56)
            loop_time, (expected, _) = timed(lambda: loop_sess(g1, g2, r, params), 1)
            fast_time, result = timed(lambda: sess(g1, g2, r, params, engine=engine), 5)
            loops.append(loop_time)
            fasts.append(fast_time)
            diffs.append(abs(result.score - expected))
        loop_ms, fast_ms = statistics.median(loops) * 1e3, statistics.median(fasts) * 1e3
        ratio = statistics.median(a / b for a, b in zip(loops, fasts))
        print(f"{nodes:>5} {update:>12} {engine:>7} {loop_ms:>13.1f} {fast_ms:>13.2f} {ratio:>6.0f}x "
              f"{max(diffs):>11.1e}")


if __name__ == "__main__":
    main()
