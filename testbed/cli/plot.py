"""``testbed plot RESULTS.csv|RUN_DIR ... [--out DIR]``: figures and image grids from any results files."""

from __future__ import annotations

from pathlib import Path

from testbed.core.errors import TestbedError


def run(args) -> int:
    from testbed.report.plots import plot_results

    paths = [Path(p) / "results.csv" if Path(p).is_dir() else Path(p) for p in args.results]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise TestbedError(f"results file(s) not found: {', '.join(missing)}")
    out = Path(args.out) if args.out else paths[0].parent / "plots"
    written = plot_results(paths, out, metrics=args.metric or None, formats=tuple(args.format or ("png", "pdf")))
    if not written:
        from testbed.run.results import read_results

        count = sum(len(read_results(p)) for p in paths)
        raise TestbedError(f"no figure drawn from {count} valid row(s) in {', '.join(map(str, paths))}: a curve "
                           "needs two or more SNRs or CBRs, and a grid saved reconstructions (save_images)")
    print(f"{len(written)} files written to {out}")
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser("plot", help="draw figures from results files")
    p.add_argument("results", nargs="+", help="results.csv files or run directories")
    p.add_argument("--out", help="output folder (default: <first run>/plots)")
    p.add_argument("--metric", action="append", help="only this metric (repeatable)")
    p.add_argument("--format", action="append", default=None, choices=["png", "pdf", "svg"])
    p.set_defaults(func=run)
