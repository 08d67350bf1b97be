"""End-to-end speed of the Kodak digital sweep with Sionna's LDPC decoder vs the fast one.

jpeg_ldpc and bpg_ldpc over AWGN at SNR 1, 4, 7, 10, 13 dB and CBR 1/16 on Kodak, run twice in
one process (same machine, same moment), each into a fresh folder; prints both wall times, the
ratio, and the mean PSNR per codec and SNR of each run so the two can be compared.

    python tests/benchmarks/bench_kodak_sweep.py [dataset.path=DIR] [dataset.limit=N]
"""

from __future__ import annotations

import importlib
import sys
import tempfile
import time

from hydra import compose, initialize_config_module

BASE = ["experiment=kodak_digital", "codec=[jpeg_ldpc,bpg_ldpc]", "channel=[awgn]", "snr_db=[1,4,7,10,13]",
        "cbr=[0.0625]", "metric=[psnr,ms_ssim]", "plots=false", "save_images=0"]
DECODERS = {
    "sionna": ["ldpc_decoder@codec.{c}.fec.decoder=sionna"],
    "fast": ["ldpc_decoder@codec.{c}.fec.decoder=fast", "codec.{c}.fec.decoder.schedule=layered"],
}


def _cfg(decoder: str, extra: list[str]):
    overrides = [o.format(c=c) for c in ("jpeg_ldpc", "bpg_ldpc") for o in DECODERS[decoder]]
    with initialize_config_module(version_base="1.3", config_module="testbed.experiments"):
        return compose(config_name="config", overrides=BASE + overrides + extra)


def main(extra: list[str]) -> None:
    from testbed.report.aggregate import mean_table
    from testbed.run.results import read_results
    from testbed.run.sweep import run_sweep

    importlib.import_module("testbed.codecs.digital.ldpc.ldpc5g")  # import Sionna before timing: both runs need it

    times, tables = {}, {}
    for decoder in ("sionna", "fast"):
        with tempfile.TemporaryDirectory() as out:
            start = time.perf_counter()
            path = run_sweep(_cfg(decoder, extra), out)
            times[decoder] = time.perf_counter() - start
            tables[decoder] = mean_table(read_results(path), "psnr", "cbr", 0.0625, "snr_db")
    for decoder in times:
        print(f"{decoder:>7} decoder: {times[decoder]:7.1f} s end to end")
        print(tables[decoder])
    print(f"speed-up (sionna / fast): {times['sionna'] / times['fast']:.1f}x")


if __name__ == "__main__":
    main(sys.argv[1:])
