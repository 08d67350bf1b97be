"""``testbed list [group]``: the options of the config groups (the config folders are the catalogue)."""

from __future__ import annotations


def run(args) -> int:
    from testbed.config.catalogue import GROUPS, available

    for group in [args.group] if args.group else GROUPS:
        print(f"{group}:")
        for name in available(group):
            print(f"  {name}")
    return 0


def add_parser(sub) -> None:
    from testbed.config.catalogue import GROUPS

    p = sub.add_parser("list", help="list the options of the config groups")
    p.add_argument("group", nargs="?", choices=list(GROUPS))
    p.set_defaults(func=run)
