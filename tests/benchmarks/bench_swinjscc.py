"""SwinJSCC / WITT speed on this machine: images per second at 768x512 (Kodak's size) through the
codec's encoder and decoder, for every variant and size, with seeded random weights in the released
layout (speed does not depend on the weights). Plain script, not collected by pytest.

    python tests/benchmarks/bench_swinjscc.py [--threads 2] [--count 3] [--sizes small base large]
"""

from __future__ import annotations

import argparse
import time

import torch

from testbed.codecs.learned.swinjscc_net import SwinJSCCNet

RATES = [32, 64, 96, 128, 192]


def build(variant: str, size: str) -> SwinJSCCNet:
    torch.manual_seed(0)
    if variant in ("wo", "sa"):
        return SwinJSCCNet(variant, size, channels=96).eval()
    return SwinJSCCNet(variant, size, rates=RATES).eval()


@torch.no_grad()
def images_per_second(net: SwinJSCCNet, count: int, height: int = 512, width: int = 768) -> float:
    """One 768x512 image at a time (as the sweep sends them), CBR 1/16, SNR 10 dB; one warm-up."""
    x = torch.rand(1, 3, height, width, generator=torch.Generator().manual_seed(1))
    snr = torch.tensor([10.0])
    rate = 96 if net.variant in ("ra", "sa_ra") else None
    for i in range(count + 1):
        if i == 1:
            start = time.perf_counter()
        feature, _ = net.encode(x, snr, rate)
        net.decode(feature, snr, (height, width))
    return count / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--count", type=int, default=3)
    parser.add_argument("--sizes", nargs="+", default=["small", "base", "large"])
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} thread(s), 768x512, {args.count} images after one warm-up")
    print(f"{'variant':8} " + " ".join(f"{s:>14}" for s in args.sizes))
    for variant in ("wo", "sa", "ra", "sa_ra"):
        rates = [images_per_second(build(variant, size), args.count) for size in args.sizes]
        print(f"{variant:8} " + " ".join(f"{r:10.3f} im/s" for r in rates))


if __name__ == "__main__":
    main()
