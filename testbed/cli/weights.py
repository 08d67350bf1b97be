"""``testbed weights``: every file the metrics and learned codecs need, found or missing, and where.

    testbed weights            # all metric and codec options
    testbed weights lpips      # only these options

For each file: where it was found (by the resolution order of :mod:`testbed.core.weights`), or every
place searched and exactly where to put it. Nothing is downloaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from testbed.core.errors import TestbedError


@dataclass
class Requirement:
    """One file an option needs: ``path`` where found, else ``None`` and ``fix``."""

    group: str
    option: str
    description: str
    filename: str
    path: Path | None
    fix: str = ""


def requirements(only: list[str] | None = None) -> list[Requirement]:
    """The files of every metric and codec option (or of the named ``only`` options), as each
    plugin declares them (:meth:`~testbed.core.plugin.Plugin.required_files`)."""
    from testbed.config.catalogue import available, instantiate, option_node

    out = []
    for group in ("metric", "codec"):
        for name in available(group):
            if only and name not in only:
                continue
            for f in instantiate(option_node(group, name)).required_files():
                out.append(Requirement(group, name, f.description, f.filename, f.path, f.fix))
    unknown = set(only or []) - {r.option for r in out} - set(available("metric")) - set(available("codec"))
    if unknown:
        raise TestbedError(f"testbed weights: unknown option(s) {sorted(unknown)}; see `testbed list`")
    return out


def run(args) -> int:
    rows = requirements(args.options or None)
    for r in rows:
        status = f"found: {r.path}" if r.path else "MISSING"
        print(f"{r.group} {r.option}: {r.description} [{r.filename}]\n    {status}")
        if r.fix:
            print("    " + r.fix.replace("\n", "\n    "))
    missing = sum(r.path is None for r in rows)
    print(f"\n{len(rows)} files, {missing} missing")
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser("weights", help="list the weights files of metrics and codecs: found or where to put them")
    p.add_argument("options", nargs="*", help="metric or codec options (default: all)")
    p.set_defaults(func=run)
