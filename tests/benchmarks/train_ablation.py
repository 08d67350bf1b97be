"""Where do the next CPU hours of the adaptive model go? Validation PSNR gained per CPU-hour.

Each variant is a short ``testbed-train`` run on the photo pool (never Kodak), one thread, run one
after the other on the same machine. All are scored the same way, by a sweep over the 4 held-out
photos of the pool resized to 768 px on the long side (Kodak-like, not Kodak), AWGN at 10 dB,
CBR 1/16, the codec coding tiles of the model's training crop (``tile: crop``) as ``adjscc``
does. (The trainer's own validation uses crops of the training crop size, so it cannot compare
crop sizes.)

* continued training of the shipped ``adjscc_awgn.pt`` (run on 2026-12-01 from the 36 000-step one) with
  a cosine decay from a restarted learning rate: ``steps`` (lr 1e-4, crop 128, batch 8: the
  plain "more steps"), ``lr3e-4`` (a larger restart), ``crop256`` (crops of 256 px, a quarter of
  the steps: the same pixels), ``batch16`` (half the steps);
* from scratch at equal steps, ``width48`` (the shipped width) against ``width64``, both cosine
  from 1e-3 with the shipped warm-up: the early-training gain of a wider model per CPU-hour.

Prints per variant the steps, CPU minutes (the trainer's wall time, one thread), the held-out
PSNR at the start and the end, and the gain per CPU-hour. A variant whose run folder already holds
a finished checkpoint is scored without training again.

    python tests/benchmarks/train_ablation.py [--steps 1500] [--only steps,crop256] [--out DIR]
"""

from __future__ import annotations

import argparse
import csv
import os
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


def held_out_photos(out: Path, count: int = 4) -> Path:
    """A folder linking the last ``count`` photos of the pool: the trainer's held-out images."""
    pool = Path(os.environ.get("TESTBED_PHOTOS", ROOT / ".." / "shared" / "data" / "photos"))
    images = sorted(p for p in pool.iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg"))[-count:]
    folder = out / "held_out"
    folder.mkdir(parents=True, exist_ok=True)
    for image in images:
        link = folder / image.name
        if not link.exists():
            link.symlink_to(image.resolve())
    return folder


def held_out_psnr(checkpoint: Path, photos: Path, out: Path) -> float:
    """Mean PSNR (dB) of the codec on the held-out photos at 768 px, AWGN 10 dB, CBR 1/16."""
    run = out / "score"
    argv = [sys.executable, "-m", "testbed.cli", "dataset=folder", f"dataset.path={photos}", "dataset.max_side=768",
            "codec=[adjscc]", f"codec.adjscc.checkpoints=[{checkpoint}]", "channel=[awgn]", "snr_db=[10]",
            "cbr=[1/16]", "metric=[psnr]", "threads=1", "save_images=0", "plots=false", "report=false",
            f"hydra.run.dir={run}"]
    subprocess.run(argv, check=True, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with (run / "results.csv").open(newline="") as fh:
        values = [float(r["psnr"]) for r in csv.DictReader(fh)]
    return sum(values) / len(values)


def run_variant(name: str, overrides: list[str], out: Path, photos: Path) -> dict:
    folder = out / name
    argv = [sys.executable, "-m", "testbed.train.trainer", "--config-name", "train_adjscc_awgn",
            f"train.name=ablation_{name}", "train.threads=1", f"train.val_every={10**9}",
            f"hydra.run.dir={folder}", *overrides]
    subprocess.run(argv, check=True, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    saved = torch.load(folder / "checkpoint.pt", map_location="cpu", weights_only=False)
    return {"steps": saved["step"], "cpu_min": saved["wall_time_s"] / 60,
            "end": held_out_psnr(folder / "checkpoint.pt", photos, folder)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--only", default="", help="comma-separated variant names")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="ablation-"))
    chosen = {k: v for k, v in variants(args.steps).items() if not args.only or k in args.only.split(",")}
    photos = held_out_photos(out)
    shipped = held_out_psnr(SHIPPED, photos, out / "shipped")
    print(f"held-out photos: {photos}; shipped {SHIPPED.name}: {shipped:.2f} dB")
    print(f"{'variant':<10} {'steps':>6} {'CPU min':>8} {'start dB':>9} {'end dB':>7} {'dB/CPU-h':>9}")
    for name, overrides in chosen.items():
        r = run_variant(name, overrides, out, photos)
        warm = any(o.startswith("train.init_from") for o in overrides)
        gain = f"{(r['end'] - shipped) / (r['cpu_min'] / 60):9.2f}" if warm else ""
        start = f"{shipped:9.2f}" if warm else "scratch"
        print(f"{name:<10} {r['steps']:>6} {r['cpu_min']:8.1f} {start:>9} {r['end']:7.2f} {gain}", flush=True)


if __name__ == "__main__":
    main()
