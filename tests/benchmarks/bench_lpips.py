"""Speed of LPIPS and ST-LPIPS at 768x512 (Kodak size) on this machine. Plain script, not collected
by pytest.

For each metric and backbone: seconds per image of the batched backbone (``batched_features``,
``batch_size`` images per call) and seconds per scored pair in a sweep, where the reference's
features are cached (``score_many`` with keys: one backbone pass per reception plus the comparison).
LPIPS runs on seeded random torchvision-architecture weights written to a temporary folder (the
real checkpoints are the same size and architecture, so the speed is the same).

    OMP_NUM_THREADS=1 python tests/benchmarks/bench_lpips.py [--images 4] [--nets alex vgg]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import torch

from testbed.metrics.lpips import BACKBONES, LPIPS
from testbed.testing import stand_in_torchvision_checkpoint
from testbed.metrics.st_lpips import STLPIPS
from testbed.weights import WEIGHTS_ENV

HEIGHT, WIDTH = 512, 768


def timing(metric, count: int) -> tuple[float, float]:
    """(seconds per image of the backbone, seconds per pair with cached references)."""
    g = torch.Generator().manual_seed(0)
    targets = [torch.rand(3, HEIGHT, WIDTH, generator=g) for _ in range(count)]
    preds = [(t + 0.05 * torch.randn(t.shape, generator=g)).clamp(0, 1) for t in targets]
    metric.check()
    metric.features(targets[0][None])  # warm-up
    start = time.perf_counter()
    metric.batched_features(targets)
    per_image = (time.perf_counter() - start) / count
    keys = [f"ref{i}" for i in range(count)]
    metric.score_many(targets, targets, keys)  # references embedded once, as in a sweep
    start = time.perf_counter()
    metric.score_many(preds, targets, keys)
    per_pair = (time.perf_counter() - start) / count
    return per_image, per_pair


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=4, help="images per measurement (= one batch by default)")
    parser.add_argument("--nets", nargs="+", default=["alex", "vgg"], choices=sorted(BACKBONES))
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {WIDTH}x{HEIGHT}, {args.images} images")
    with tempfile.TemporaryDirectory() as folder:
        for net in args.nets:
            stand_in_torchvision_checkpoint(Path(folder) / BACKBONES[net][1])
        os.environ[WEIGHTS_ENV] = folder
        for metric in [LPIPS(net=n) for n in args.nets] + [STLPIPS(net=n) for n in args.nets]:
            metric.batch_size = args.images
            per_image, per_pair = timing(metric, args.images)
            print(f"{metric.name:>8} {metric.net:<4}: backbone {per_image:6.2f} s/image (batch {metric.batch_size}), "
                  f"{per_pair:6.2f} s/pair with cached references")


if __name__ == "__main__":
    main()
