"""Command-line overrides checked and translated before Hydra sees them.

* ``group=name`` (and lists ``group=[a,b]``) of a known group: a misspelt name is answered with
  the closest options ("did you mean").
* A part chosen by the key it fills, ``codec.jpeg_ldpc.fec.decoder=sionna`` or
  ``metric.sess.backend=reference``, becomes Hydra's group override
  ``ldpc_decoder@codec.jpeg_ldpc.fec.decoder=sionna`` (the part groups' nodes are composed through
  defaults lists, so Hydra validates the choice and loads that option's settings).
"""

from __future__ import annotations

from testbed.config.catalogue import available, check_choice
from testbed.config.groups import GROUPS, LIST_GROUPS, PART_GROUPS


def _names(value: str) -> list[str]:
    return [n.strip() for n in value.strip("[]").split(",") if n.strip()]


def part_group_of(key: str) -> str | None:
    """The part group whose slot ``key`` (``codec.<option>.<slot>``) names, or ``None``."""
    parts = key.split(".")
    if len(parts) < 3 or parts[0] not in LIST_GROUPS:
        return None
    slot = ".".join(parts[2:])
    for group, fills in sorted(PART_GROUPS.items(), key=lambda kv: -len(kv[1])):
        if slot == fills:
            return group
    return None


def translate(argv: list[str]) -> list[str]:
    """Check group choices and turn part choices into group overrides; other arguments unchanged."""
    out = []
    for arg in argv:
        key, sep, value = arg.partition("=")
        bare = key.lstrip("+~")
        if sep and bare in GROUPS and value and value != "null":
            for name in _names(value):
                check_choice(bare, name)
        group = part_group_of(bare) if sep and not key.startswith(("+", "~")) else None
        names = _names(value) if group else []
        if group and names and all(n.replace("_", "").replace("-", "").isalnum() for n in names) \
                and not any(n in ("true", "false") for n in names) and _looks_like_choice(group, names):
            for name in names:
                check_choice(group, name)
            arg = f"{group}@{bare}={value}"
        out.append(arg)
    return out


def _looks_like_choice(group: str, names: list[str]) -> bool:
    """A bare word (not a number) is a choice of the part group, checked against its options."""
    return not any(_is_number(n) for n in names) and bool(available(group))


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False
