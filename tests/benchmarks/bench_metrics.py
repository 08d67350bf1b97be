"""Per-image cost of every metric at 768x512 (Kodak size) on this machine. Plain script, not
collected by pytest.

For each metric option (``experiments/metric/*.yaml``): seconds per scored pair in a sweep, where
a reference's features are computed once (``score_many`` with keys), and for backbone metrics
seconds per image of the batched backbone alone. Metrics whose torchvision checkpoint is missing
here (LPIPS, the ViT-B/16 ViTScore) run on seeded random stand-ins of the same architecture and
size (``testbed.testing.stand_in_weights``): the speed is the same, the numbers are not.

    OMP_NUM_THREADS=1 python tests/benchmarks/bench_metrics.py [--images 4] [--metric psnr lpips]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import torch

from testbed.core.feature_metric import FeatureMetric
from testbed.config.catalogue import available, instantiate, option_node
from testbed.testing import stand_in_weights
from testbed.core.weights import WEIGHTS_ENV

HEIGHT, WIDTH = 512, 768


def timing(metric, count: int) -> tuple[float | None, float]:
    """(seconds per image of the backbone or None, seconds per pair with cached references)."""
    g = torch.Generator().manual_seed(0)
    targets = [torch.rand(3, HEIGHT, WIDTH, generator=g) for _ in range(count)]
    preds = [(t + 0.05 * torch.randn(t.shape, generator=g)).clamp(0, 1) for t in targets]
    metric.check()
    keys = [f"ref{i}" for i in range(count)]
    metric.score_many(targets[:1], targets[:1], None)  # warm-up (lazy loading, first-call costs)
    per_image = None
    if isinstance(metric, FeatureMetric):
        start = time.perf_counter()
        metric.batched_features(targets)
        per_image = (time.perf_counter() - start) / count
        metric.score_many(targets, targets, keys)  # references embedded once, as in a sweep
    start = time.perf_counter()
    metric.score_many(preds, targets, keys)
    return per_image, (time.perf_counter() - start) / count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=4, help="images per measurement")
    parser.add_argument("--metric", nargs="+", default=available("metric"))
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {WIDTH}x{HEIGHT}, {args.images} images")
    with tempfile.TemporaryDirectory() as folder:
        for name in args.metric:
            metric = instantiate(option_node("metric", name))
            stood_in = stand_in_weights(metric, folder)
            if stood_in:
                os.environ[WEIGHTS_ENV] = folder
            try:
                per_image, per_pair = timing(metric, args.images)
            except Exception as err:  # a metric whose weights are missing: say so, go on
                print(f"{name:>16}: not run ({type(err).__name__}: {str(err).splitlines()[0]})")
                continue
            backbone = f"backbone {per_image:6.3f} s/image, " if per_image is not None else ""
            note = " (random stand-in weights)" if stood_in else ""
            print(f"{name:>16}: {backbone}{per_pair:6.3f} s/pair with cached references{note}")


if __name__ == "__main__":
    main()
