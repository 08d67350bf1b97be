"""Deep-JSCC speed on this machine: training samples/s (128 px crops) and inference images/s at
768x512, for the shipped DeepJSCC architecture. Plain script, not collected by pytest.

    python tests/benchmarks/bench_deepjscc.py
"""

from __future__ import annotations

import time

import torch

from testbed.channels.awgn import AWGNChannel
from testbed.codec import ImageRecord
from testbed.codecs.deepjscc_net import DeepJSCCNet
from testbed.codecs.learned_jscc import LearnedJSCC
from testbed.seeding import make_generator
from testbed.train import forward


def training_rate(steps: int = 40, batch: int = 8, crop: int = 128) -> float:
    model, channel = DeepJSCCNet(6), AWGNChannel()
    opt = torch.optim.Adam(model.parameters(), lr=3e-4)
    images = torch.rand(batch, 3, crop, crop)
    snr = torch.full((batch,), 10.0)
    start = None
    for step in range(steps + 5):
        if step == 5:
            start = time.perf_counter()  # after warm-up
        loss = torch.nn.functional.mse_loss(forward(model, channel, images, snr, make_generator(step)), images)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return steps * batch / (time.perf_counter() - start)


def inference_rate(count: int = 10) -> float:
    codec = LearnedJSCC(model=DeepJSCCNet(6))
    record = ImageRecord("bench", torch.rand(3, 512, 768), "0")
    codec.transmit([record], AWGNChannel(), 10.0, 1 / 16, lambda r, *s: make_generator(0))
    start = time.perf_counter()
    for i in range(count):
        codec.transmit([record], AWGNChannel(), 10.0, 1 / 16, lambda r, *s: make_generator(i))
    return count / (time.perf_counter() - start)


def main() -> None:
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    print(f"DeepJSCC training (batch 8, 128x128 crops, AWGN): {training_rate():.1f} samples/s")
    print(f"DeepJSCC inference at 768x512 (encode, channel, decode): {inference_rate():.2f} images/s")


if __name__ == "__main__":
    main()
