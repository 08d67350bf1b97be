"""Deep-JSCC speed on this machine: training samples/s (128 px crops) and inference images/s at
768x512, for the shipped DeepJSCC and adaptive (ADJSCC-style) architectures, as configured in
their shipped checkpoints (random weights: speed does not depend on them). Plain script, not
collected by pytest.

    python tests/benchmarks/bench_deepjscc.py
"""

from __future__ import annotations

import time

import torch

from testbed.channels.awgn import AWGNChannel
from testbed.core.codec import ImageRecord
from testbed.codecs.learned.checkpoint import resolve_checkpoint
from testbed.codecs.learned_jscc import LearnedJSCC
from testbed.config.catalogue import instantiate
from testbed.core.seeding import make_generator
from testbed.train.trainer import forward


def shipped_model(name: str):
    """The architecture a shipped checkpoint was trained with (fresh random weights)."""
    config = torch.load(resolve_checkpoint(name), map_location="cpu", weights_only=True)["config"]
    model = instantiate(config["model"])
    if hasattr(model, "use_rate"):
        model.use_rate(6)  # CBR 1/16
    return model


def training_rate(model, steps: int = 40, batch: int = 8, crop: int = 128) -> float:
    channel = AWGNChannel()
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


def inference_rate(model, count: int = 10) -> float:
    codec = LearnedJSCC(model=model, rates=[6] if hasattr(model, "use_rate") else None)
    record = ImageRecord("bench", torch.rand(3, 512, 768), "0")
    codec.transmit([record], AWGNChannel(), 10.0, 1 / 16, lambda r, *s: make_generator(0))
    start = time.perf_counter()
    for i in range(count):
        codec.transmit([record], AWGNChannel(), 10.0, 1 / 16, lambda r, *s: make_generator(i))
    return count / (time.perf_counter() - start)


def main() -> None:
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    for name in ("deepjscc_awgn_cbr1-16_snr10.pt", "adjscc_awgn.pt"):
        model = shipped_model(name)
        params = sum(p.numel() for p in model.parameters())
        print(f"{name} ({type(model).__name__}, {params / 1e3:.0f} k parameters), CBR 1/16, AWGN:")
        print(f"  training (batch 8, 128x128 crops): {training_rate(model):.1f} samples/s")
        print(f"  inference at 768x512 (encode, channel, decode): {inference_rate(model):.2f} images/s")


if __name__ == "__main__":
    main()
