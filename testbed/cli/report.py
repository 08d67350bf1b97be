"""``testbed report RUN_DIR...``: one self-contained HTML report of a run or a group of runs."""

from __future__ import annotations

from testbed.report.page import build_report


def add_parser(sub) -> None:
    """``testbed report RUN_DIR... [--out DIR] [--snr 1 13] [--cbr 0.0625] [--title T]``."""
    p = sub.add_parser("report", help="write a self-contained HTML report of one run or a group of runs")
    p.add_argument("runs", nargs="+", help="run directories, results.csv files or multirun directories")
    p.add_argument("--out", help="report folder (default: the first run directory)")
    p.add_argument("--snr", type=float, nargs="+", help="gallery SNRs in dB (default: lowest, middle, highest)")
    p.add_argument("--cbr", type=float, nargs="+", help="gallery CBRs (default: the middle one)")
    p.add_argument("--title", help="page title")
    p.set_defaults(func=lambda a: print(build_report(a.runs, a.out, a.title, a.snr, a.cbr)) or 0)
