"""``testbed train-curve CHECKPOINT...``: validation PSNR against training time."""

from __future__ import annotations

from testbed.report.train_curve import plot_curves


def run(args) -> int:
    written = plot_curves(args.checkpoints, args.out)
    print(f"{len(written)} files written to {args.out}")
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser("train-curve", help="validation PSNR vs training time of checkpoints")
    p.add_argument("checkpoints", nargs="+", help="checkpoint files written by testbed-train")
    p.add_argument("--out", default="outputs/train_curve", help="output folder")
    p.set_defaults(func=run)
