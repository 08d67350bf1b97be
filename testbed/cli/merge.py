"""``testbed merge DIR_OR_CSV... --out DIR``: the rows of many jobs as one results set."""

from __future__ import annotations

from testbed.run.merge import merge_results


def add_parser(sub) -> None:
    """``testbed merge DIR_OR_CSV... --out DIR``."""
    p = sub.add_parser("merge", help="merge the results of many jobs (multirun, shards, machines) into one set")
    p.add_argument("sources", nargs="+", help="results.csv files or directories (searched recursively)")
    p.add_argument("--out", required=True, help="folder of the merged results.csv (and copied images)")
    p.set_defaults(func=lambda args: print(merge_results(args.sources, args.out)) or 0)
