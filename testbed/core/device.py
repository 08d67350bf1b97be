"""The ``device`` setting: where the tensors of a sweep live (DESIGN.md §3)."""

from __future__ import annotations

import torch

from testbed.core.errors import ConfigError


def resolve_device(name: str | None) -> torch.device:
    """``auto`` -> CUDA when present, else CPU; ``cpu``, ``cuda`` or ``cuda:N`` as given (checked)."""
    if name in (None, "", "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(str(name))
    except RuntimeError:
        raise ConfigError(f"device={name!r} is not a device: use auto, cpu, cuda or cuda:N") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device={name!r} but no CUDA device is visible: use device=cpu or device=auto")
    if device.type not in ("cpu", "cuda"):
        raise ConfigError(f"device={name!r} is not supported: use auto, cpu, cuda or cuda:N")
    return device


def use_device(device: torch.device) -> None:
    """Make Sionna build its blocks on ``device`` (its channel blocks draw noise there)."""
    from sionna.phy import config

    config.device = str(device) if device.type == "cuda" else "cpu"
