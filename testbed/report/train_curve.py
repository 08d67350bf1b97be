"""``testbed train-curve``: validation PSNR against training time, from checkpoints alone.

    testbed train-curve outputs/train/adjscc_awgn/checkpoint.pt codecs/checkpoints/deepjscc_*.pt

Each checkpoint's history holds (step, validation PSNR in dB, wall seconds); older histories
without the seconds are placed at step x (total wall time / steps). A warm-started model's curve
starts where the chain of runs it descends from ended (:func:`~testbed.train.trainer.time_before`),
so the x axis is the CPU time spent on the model in all.
"""

from __future__ import annotations

from pathlib import Path

from testbed.core.weights import load_training_checkpoint
from testbed.train.trainer import time_before
from testbed.core.errors import TestbedError


def history(checkpoint: str | Path) -> tuple[str, list[tuple[int, float, float]]]:
    """``(name, [(step, psnr_db, hours), ...])`` of a training checkpoint."""
    path = Path(checkpoint)
    if not path.is_file():
        raise TestbedError(f"no checkpoint at {path}")
    saved = load_training_checkpoint(path)
    points = saved.get("val_psnr") or []
    if not points:
        raise TestbedError(f"{path} holds no validation history")
    steps, total = max(int(saved.get("step") or 1), 1), float(saved.get("wall_time_s") or 0.0)
    start = time_before(saved)
    out = []
    for point in points:
        seconds = point[2] if len(point) > 2 else point[0] * total / steps
        out.append((int(point[0]), float(point[1]), (start + seconds) / 3600.0))
    name = (saved.get("config") or {}).get("name") or path.stem
    return name, out


def plot_curves(checkpoints: list[str | Path], out: str | Path) -> list[Path]:
    """Draw validation PSNR vs training hours (PNG and PDF) and write the points as CSV."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(6, 4))
    lines = ["model,step,val_psnr_db,train_hours"]
    for checkpoint in checkpoints:
        name, points = history(checkpoint)
        ax.plot([p[2] for p in points], [p[1] for p in points], marker=".", label=name)
        lines += [f"{name},{s},{v:.4f},{h:.4f}" for s, v, h in points]
    ax.set_xlabel("training time (CPU hours)")
    ax.set_ylabel("validation PSNR (dB)")
    ax.set_xscale("log")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    written = [out / "train_curve.png", out / "train_curve.pdf", out / "train_curve.csv"]
    fig.savefig(written[0], dpi=150)
    fig.savefig(written[1])
    plt.close(fig)
    written[2].write_text("\n".join(lines) + "\n")
    return written
