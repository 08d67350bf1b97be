"""Benchmark of the LDPC decoders (not collected by pytest; run it as a script).

Decodes the same received batch with Sionna's LDPC5GDecoder (``LDPC5G(decoder="sionna")``: flooding,
20 iterations, no early termination) and with the numba decoder (``LDPC5G()``: layered, early
termination, boxplus-phi, at most 20 iterations), both through ``LDPC5G.decode_batch`` as the
digital chain calls them, at a low (below the waterfall), a middle (in Sionna's waterfall) and a
high (error-free) Eb/N0, and prints information throughput, the ratio and the average iterations.
The numba decoder in Sionna's own configuration (flooding, no early stop) is shown as well.
Before that, it reports the numba compile time of a first call: cold (empty cache, in a fresh
process) and in this process (loaded from the ``__pycache__`` cache when it is already there).

    python tests/benchmarks/bench_ldpc.py [--frames 100] [--repeats 3]
"""

from __future__ import annotations

import argparse
import math
import os
import subprocess
import sys
import tempfile
import time

#: (label, k, n, bits per symbol, (low, mid, high) Eb/N0 in dB)
CASES = [
    ("QPSK k=4000 n=8000", 4000, 8000, 2, (0.75, 1.0, 2.0)),
    ("16QAM k=4000 n=6000", 4000, 6000, 4, (4.0, 4.5, 5.5)),
]

_FIRST_CALL = """
import time, numpy as np
from sionna.phy.fec.ldpc import LDPC5GEncoder
from testbed.codecs.digital.ldpc.fast_decoder import FastLDPC5GDecoder, _decode_batch
dec = FastLDPC5GDecoder(LDPC5GEncoder(100, 200))
start = time.perf_counter()
dec(np.zeros((2, 200), np.float32))
print(time.perf_counter() - start, _decode_batch.stats.cache_hits and 1 or 0)
"""


def first_call_seconds(cold: bool) -> tuple[float, bool]:
    """Time of the first decode in a fresh interpreter (cold: with an empty numba cache)."""
    env = dict(os.environ)
    with tempfile.TemporaryDirectory() as cache:
        if cold:
            env["NUMBA_CACHE_DIR"] = cache
        out = subprocess.run([sys.executable, "-c", _FIRST_CALL], capture_output=True, text=True,
                             env=env, check=True).stdout.split()
    return float(out[0]), bool(int(out[1]))


def received(k: int, n: int, bps: int, ebno_db: float, frames: int):
    """(info bits [frames, k], logit LLRs [frames, n], plan): LDPC5G + QAM + AWGN."""
    import torch

    from testbed.channels.awgn import AWGNChannel
    from testbed.codecs.digital.ldpc.ldpc5g import LDPC5G
    from testbed.codecs.digital.qam import QAMModem
    from testbed.core.seeding import make_generator

    fec, modem = LDPC5G(max_info_bits=k), QAMModem()
    plan = fec.plan(frames * k, k / n)
    assert (plan.k, plan.n) == (k, n)
    bits = torch.randint(0, 2, (frames, k), generator=make_generator("bench-ldpc", k, n, ebno_db)).float()
    coded = fec.encode(bits, plan).reshape(-1)
    snr_db = ebno_db + 10 * math.log10(bps * k / n)
    out = AWGNChannel()(modem.modulate(coded, bps), snr_db, make_generator("bench-ldpc-awgn", k, n, ebno_db))
    llr = modem.demodulate(out.y, out.no, None, bps, coded.numel()).view(frames, n)
    return bits, llr, plan


def timed_decode(fec, plan, llr, repeats: int):
    """(best seconds over repeats, decoded bits, mean iterations)."""
    from testbed.codecs.digital.ldpc.ldpc5g import CodewordPlan

    warm = CodewordPlan(k=plan.k, n=plan.n, num_codewords=2)
    fec.decode_batch([(warm, llr[:2])])  # build the coder (and compile) outside the timing
    best, bits = math.inf, None
    for _ in range(repeats):
        start = time.perf_counter()
        bits = fec.decode_batch([(plan, llr)])[0]
        best = min(best, time.perf_counter() - start)
    return best, bits, float(fec.last_iterations[0].float().mean())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=100, help="codewords per point")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of the numba decoder (best)")
    args = parser.parse_args(argv)

    import numba
    import torch

    from testbed.codecs.digital.ldpc.ldpc5g import LDPC5G

    cold, _ = first_call_seconds(cold=True)
    warm, hit = first_call_seconds(cold=False)
    print(f"numba {numba.__version__}, {numba.get_num_threads()} threads, torch {torch.__version__} "
          f"({torch.get_num_threads()} threads)")
    print(f"first call (compile): cold cache {cold:.1f} s; with the cache in __pycache__ "
          f"{warm:.2f} s ({'loaded from cache' if hit else 'compiled'})\n")

    sionna = LDPC5G(decoder="sionna")  # flooding, 20 iterations, boxplus-phi
    fast = LDPC5G()  # layered, early stop, boxplus-phi, <= 20 iterations
    flood = LDPC5G(schedule="flooding", early_stop=False)  # Sionna's algorithm in numba
    header = (f"{'code':<20} {'Eb/N0':>5} | {'BLER':>13} | {'Sionna':>8} {'fast':>8} {'ratio':>6} "
              f"{'avg it':>6} | {'flood':>8} {'ratio':>6}")
    print(header)
    print(f"{'':<20} {'dB':>5} | {'sionna / fast':>13} | {'kbit/s':>8} {'kbit/s':>8} {'':>6} "
          f"{'fast':>6} | {'kbit/s':>8} {'':>6}")
    print("-" * len(header))
    for label, k, n, bps, points in CASES:
        for ebno in points:
            bits, llr, plan = received(k, n, bps, ebno, args.frames)
            info = args.frames * k / 1e3  # kbit
            t_ref, ref, _ = timed_decode(sionna, plan, llr, 1)
            t_fast, ours, it_fast = timed_decode(fast, plan, llr, args.repeats)
            t_flood, _, _ = timed_decode(flood, plan, llr, args.repeats)
            bler_ref = (ref != bits).any(dim=1).float().mean().item()
            bler_fast = (ours != bits).any(dim=1).float().mean().item()
            print(f"{label:<20} {ebno:5.2f} | {bler_ref:6.3f}/{bler_fast:6.3f} | {info / t_ref:8.0f} "
                  f"{info / t_fast:8.0f} {t_ref / t_fast:5.1f}x {it_fast:6.2f} | {info / t_flood:8.0f} "
                  f"{t_ref / t_flood:5.1f}x")
    print("\nSionna: LDPC5GDecoder, flooding, 20 iterations (all run), sliced as LDPC5G does; "
          "fast: numba, layered + early stop; flood: numba, flooding, 20 iterations, no early stop.")


if __name__ == "__main__":
    main()
