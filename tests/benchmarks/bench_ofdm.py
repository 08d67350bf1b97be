"""Benchmark: what OFDM adds to a sweep point against flat Rayleigh fading (not collected by pytest).

For each codec, one sweep point (Kodak images, CBR 1/16, 10 dB) is sent over flat Rayleigh (fast
fading, perfect CSI) and over ``ofdm`` (TDL-A, LS estimation, LMMSE equalisation), in this process,
after a warm-up point that fills the source-encoding cache, so both channels see the same cached
files. Printed: the time in the channel alone (``Channel.__call__``) and the whole point (encode,
channel, decode; no metrics), each with the OFDM / Rayleigh ratio measured in this run.

    python tests/benchmarks/bench_ofdm.py [--images 2] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from testbed.channels.ofdm import OFDMChannel
from testbed.channels.rayleigh import RayleighChannel
from testbed.core.channel import Channel
from testbed.core.seeding import make_generator


class TimedChannel:
    """Wraps a channel's ``__call__`` and adds up its seconds (the rest is delegated)."""

    def __init__(self, channel: Channel) -> None:
        self.inner, self.seconds = channel, 0.0

    def __call__(self, *args, **kwargs):
        start = time.perf_counter()
        out = self.inner(*args, **kwargs)
        self.seconds += time.perf_counter() - start
        return out

    def __getattr__(self, name):
        return getattr(self.inner, name)


def codecs() -> dict:
    """jpeg_ldpc and bpg_ldpc from their configs; the adaptive network (seeded, untrained: the
    same inference cost as the shipped model, and it serves any channel)."""
    from hydra.utils import instantiate

    import testbed.api as tb
    from testbed.codecs.learned.adjscc_net import ADJSCCNet
    from testbed.codecs.learned_jscc import LearnedJSCC

    cfg = tb.compose("codec=[jpeg_ldpc,bpg_ldpc]")
    out = {name: instantiate(cfg.codec[name]).bind(name) for name in ("jpeg_ldpc", "bpg_ldpc")}
    torch.manual_seed(0)
    out["adjscc (width 48)"] = LearnedJSCC(model=ADJSCCNet(width=48), rates=list(range(1, 13)), tile=128).bind("adjscc")
    return out


def point_seconds(codec, channel: TimedChannel, images, repeats: int) -> tuple[float, float]:
    """Median seconds of (the channel alone, the whole point) over ``repeats`` runs."""
    channel_s, total_s = [], []
    for r in range(repeats):
        channel.seconds = 0.0
        start = time.perf_counter()
        codec.transmit(images, channel, 10.0, 1 / 16, lambda rec, *salt: make_generator("bench-ofdm", rec.image_id, r, *salt))
        total_s.append(time.perf_counter() - start)
        channel_s.append(channel.seconds)
    return statistics.median(channel_s), statistics.median(total_s)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    from hydra.utils import instantiate

    import testbed.api as tb

    images = instantiate(tb.compose("dataset=kodak", f"dataset.limit={args.images}").dataset).load()
    channels = {"rayleigh": TimedChannel(RayleighChannel().bind("rayleigh")), "ofdm": TimedChannel(OFDMChannel().bind("ofdm"))}
    print(f"{args.images} Kodak images, CBR 1/16, 10 dB, median of {args.repeats}, one thread")
    print(f"{'codec':<20} {'channel: rayleigh':>18} {'ofdm':>9} {'ratio':>6} | {'point: rayleigh':>16} {'ofdm':>8} {'ratio':>6}")
    for name, codec in codecs().items():
        codec.transmit(images, channels["rayleigh"], 10.0, 1 / 16, lambda rec, *s: make_generator("warm", rec.image_id, *s))
        (rc, rt), (oc, ot) = (point_seconds(codec, channels[c], images, args.repeats) for c in ("rayleigh", "ofdm"))
        print(f"{name:<20} {rc * 1e3:>15.1f} ms {oc * 1e3:>6.1f} ms {oc / rc:>5.1f}x | {rt:>14.2f} s {ot:>6.2f} s {ot / rt:>5.2f}x")


if __name__ == "__main__":
    main()
