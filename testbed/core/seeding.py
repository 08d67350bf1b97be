"""Deterministic random generators derived from the identity of a draw.

Every random draw of a sweep comes from a generator seeded by
(global seed, image id, codec, channel, snr_db, cbr, repetition), so a result does not depend
on run order, worker count or which points were computed before (DESIGN.md §3).
"""

from __future__ import annotations

import hashlib

import torch


def derive_seed(*parts: object) -> int:
    """Map any tuple of printable parts to a 63-bit integer seed (stable across runs/platforms)."""
    text = "\x1f".join(_canonical(p) for p in parts)
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "little") & (2**63 - 1)


def _canonical(part: object) -> str:
    if isinstance(part, float):
        return repr(round(part, 12))
    return str(part)


def make_generator(*parts: object, device: str | torch.device = "cpu") -> torch.Generator:
    """A ``torch.Generator`` on ``device`` seeded with ``derive_seed(*parts)``."""
    gen = torch.Generator(device=device)
    gen.manual_seed(derive_seed(*parts))
    return gen
