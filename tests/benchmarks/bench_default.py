"""Benchmark of the default experiment (not collected by pytest; run it as a script).

Prints, measured in one run on this machine:
  * sweep points per second and images per second of the default experiment;
  * the share of the sweep's wall time spent in LDPC decoding (Sionna BP);
  * the speed-up of cached vs uncached source coding (rate control over the default grid).

    python tests/benchmarks/bench_default.py [hydra overrides...]
"""

from __future__ import annotations

import sys
import tempfile
import time

from hydra import compose, initialize_config_module


def _compose(overrides):
    with initialize_config_module(version_base="1.3", config_module="testbed.experiments"):
        return compose(config_name="config", overrides=list(overrides))


def sweep_timing(cfg) -> dict:
    """Run the sweep once with the LDPC decoder timed."""
    from testbed.codecs.digital.ldpc.ldpc5g import LDPC5G
    from testbed.run.sweep import run_sweep

    spent = {"ldpc": 0.0}
    original = LDPC5G.decode_batch

    def timed(self, items):
        start = time.perf_counter()
        try:
            return original(self, items)
        finally:
            spent["ldpc"] += time.perf_counter() - start

    LDPC5G.decode_batch = timed
    try:
        with tempfile.TemporaryDirectory() as out:
            start = time.perf_counter()
            run_sweep(cfg, out)
            wall = time.perf_counter() - start
    finally:
        LDPC5G.decode_batch = original
    points = len(cfg.codec) * len(cfg.channel) * len(cfg.snr_db) * len(cfg.cbr) * cfg.repetitions
    return {"wall_s": wall, "points": points, "ldpc_s": spent["ldpc"]}


def source_cache_speedup(cfg, records) -> tuple[float, float]:
    """Rate control of every (image, codec, cbr, snr, channel) of the grid: fresh cache per call vs shared."""
    from testbed.codecs.capacity import CapacityBound
    from testbed.codecs.source.rate_control import EncodingCache, best_quality
    from testbed.config.catalogue import instantiate

    codecs = [instantiate(node) for node in cfg.codec.values()]
    calls = []
    for codec in codecs:
        for cbr in cfg.cbr:
            for snr in cfg.snr_db:
                for _ in cfg.channel:
                    for record in records:
                        budget = int(cbr * record.num_values) * (2 if isinstance(codec, CapacityBound) else 1)
                        calls.append((codec.source, record, budget))

    def run(shared: bool) -> float:
        cache = EncodingCache()
        start = time.perf_counter()
        for source, record, budget in calls:
            best_quality(source, record, cache if shared else EncodingCache(), lambda nbytes: nbytes <= budget // 8)
        return time.perf_counter() - start

    return run(False), run(True)


def main(argv: list[str]) -> None:
    from testbed.config.catalogue import instantiate

    cfg = _compose(argv)
    records = instantiate(cfg.dataset).load()
    images = len(records)
    timing = sweep_timing(cfg)
    uncached, cached = source_cache_speedup(cfg, records)
    print(f"default experiment: {timing['points']} sweep points x {images} images in {timing['wall_s']:.1f} s")
    print(f"  points per second:             {timing['points'] / timing['wall_s']:.3f}")
    print(f"  images per second:             {timing['points'] * images / timing['wall_s']:.2f}")
    print(f"  LDPC decoding share of time:   {timing['ldpc_s'] / timing['wall_s']:.1%} ({timing['ldpc_s']:.1f} s)")
    print(f"source coding (rate control over the grid): uncached {uncached:.2f} s, cached {cached:.3f} s")
    print(f"  cached vs uncached speed-up:   {uncached / max(cached, 1e-9):.0f}x")


if __name__ == "__main__":
    main(sys.argv[1:])
