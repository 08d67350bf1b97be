"""Where do the next CPU hours of the adaptive model go? Validation PSNR gained per CPU-hour.

Each variant is a short ``testbed-train`` run on the photo pool (never Kodak), one thread, run one
after the other on the same machine, and scored by the trainer's own validation (the 4 held-out
photos, 4 fixed crops each, AWGN at 10 dB, CBR 1/16, fixed noise seeds):

* continued training of the shipped ``adjscc_awgn.pt`` (36 000 steps, 29.52 dB validation) with
  a cosine decay from a restarted learning rate: ``steps`` (lr 1e-4, crop 128, batch 8: the
  plain "more steps"), ``lr3e-4`` (a larger restart), ``crop256`` (crops of 256 px, a quarter of
  the steps: the same pixels), ``batch16`` (half the steps);
* from scratch at equal steps, ``width48`` (the shipped width) against ``width64``, both cosine
  from 1e-3 with the shipped warm-up: the early-training gain of a wider model per CPU-hour.

Prints per variant the steps, CPU minutes (the trainer's wall time, one thread), the validation
PSNR at the start and the end, and the gain per CPU-hour.

    python tests/benchmarks/train_ablation.py [--steps 1500] [--only steps,crop256] [--out DIR]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "codecs" / "checkpoints" / "adjscc_awgn.pt"
WARM = ["train.init_from=" + str(SHIPPED), "train.warmup=0", "train.lr_final=1e-5"]


def variants(steps: int) -> dict[str, list[str]]:
    """Variant name -> overrides of ``testbed-train --config-name train_adjscc_awgn``."""
    return {
        "steps": WARM + ["train.lr=1e-4", f"train.steps={steps}"],
        "lr3e-4": WARM + ["train.lr=3e-4", f"train.steps={steps}"],
        "crop256": WARM + ["train.lr=1e-4", "train.data.crop=256", f"train.steps={steps // 4}"],
        "batch16": WARM + ["train.lr=1e-4", "train.batch_size=16", f"train.steps={steps // 2}"],
        "width48": [f"train.steps={steps}", "train.model.width=48"],
        "width64": [f"train.steps={steps}", "train.model.width=64"],
    }


def run_variant(name: str, overrides: list[str], out: Path) -> dict:
    folder = out / name
    argv = [sys.executable, "-m", "testbed.train.trainer", "--config-name", "train_adjscc_awgn",
            f"train.name=ablation_{name}", "train.threads=1", f"train.val_every={10**9}",
            f"hydra.run.dir={folder}", *overrides]
    subprocess.run(argv, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    saved = torch.load(folder / "checkpoint.pt", map_location="cpu", weights_only=False)
    start = torch.load(SHIPPED, map_location="cpu", weights_only=False)["val_psnr"][-1][1] \
        if any(o.startswith("train.init_from") for o in overrides) else None
    return {"steps": saved["step"], "cpu_min": saved["wall_time_s"] / 60, "start": start,
            "end": saved["val_psnr"][-1][1]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--only", default="", help="comma-separated variant names")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="ablation-"))
    chosen = {k: v for k, v in variants(args.steps).items() if not args.only or k in args.only.split(",")}
    print(f"{'variant':<10} {'steps':>6} {'CPU min':>8} {'start dB':>9} {'end dB':>7} {'dB/CPU-h':>9}")
    for name, overrides in chosen.items():
        r = run_variant(name, overrides, out)
        gain = "" if r["start"] is None else f"{(r['end'] - r['start']) / (r['cpu_min'] / 60):9.2f}"
        start = "scratch" if r["start"] is None else f"{r['start']:9.2f}"
        print(f"{name:<10} {r['steps']:>6} {r['cpu_min']:8.1f} {start:>9} {r['end']:7.2f} {gain}", flush=True)


if __name__ == "__main__":
    main()
