"""``testbed transforms``: every metric on clean images under transformations."""

from __future__ import annotations

from pathlib import Path

from testbed.report.transforms import run_experiment
from testbed.run.transformations import TRANSFORMS


def run(args) -> int:
    from testbed.config.catalogue import option_node

    node = option_node("dataset", args.dataset)
    for key in ("path", "limit", "max_side"):
        if getattr(args, key) is not None:
            node[key] = getattr(args, key)
    written = run_experiment(node, {name: option_node("metric", name) for name in args.metric},
                             args.transform, Path(args.out), args.device)
    print((Path(args.out) / "transforms_table.md").read_text())
    print(f"files: {', '.join(str(p) for p in written)}")
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser("transforms", help="every metric on clean images under transformations")
    p.add_argument("--dataset", default="embedded", help="dataset option (embedded, kodak, folder)")
    p.add_argument("--path", default=None, help="dataset folder (kodak, folder)")
    p.add_argument("--limit", type=int, default=None)
    p.add_argument("--max-side", dest="max_side", type=int, default=None)
    p.add_argument("--metric", nargs="+", default=["psnr", "ms_ssim", "st_lpips", "vitscore", "sess"])
    p.add_argument("--transform", nargs="+", default=[t for t in TRANSFORMS if t != "identity"],
                   help=f"of: {', '.join(TRANSFORMS)}")
    p.add_argument("--out", default="outputs/transforms")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (as the sweep's device=)")
    p.set_defaults(func=run)
