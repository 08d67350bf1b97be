"""What every plugin is: named by its config option and placed on a device, through one declared call.

The runner calls :meth:`Plugin.bind` once per plugin (codecs, channels, metrics, datasets); a
plugin that holds networks or tensors extends :meth:`Plugin.to` to move them. Nothing outside a
plugin sets its attributes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch


@dataclass
class RequiredFile:
    """One file a plugin needs (``testbed weights``): where it was found, else ``None`` and the fix."""

    description: str
    filename: str
    path: Path | None
    fix: str = ""


class Plugin:
    """Base of codecs, channels, metrics and datasets.

    Attributes:
        name: the config option it was built from (the results key), e.g. ``jpeg_ldpc``.
        device: where its tensors and networks live; inputs are moved there by the plugin itself.
    """

    name: str = "plugin"
    device: torch.device = torch.device("cpu")

    def bind(self, name: str, device: str | torch.device = "cpu"):
        """Name the plugin after its config option and place it on ``device``; returns ``self``."""
        self.name = str(name)
        self.to(torch.device(device))
        return self

    def check(self) -> None:
        """Raise a :class:`testbed.core.errors.TestbedError` if the plugin cannot run (missing
        executables or weights), before any work."""

    def to(self, device: torch.device):
        """Place every tensor and network of the plugin on ``device``; returns ``self``.

        Subclasses holding ``torch.nn.Module``s (or other plugins) call ``super().to(device)`` and
        move those. A part that cannot follow (an onnxruntime graph on the CPU build) says so in
        :meth:`devices`.
        """
        self.device = torch.device(device)
        return self

    def required_files(self) -> list[RequiredFile]:
        """Every weights or model file the plugin needs, found or not (nothing is loaded)."""
        return []

    def devices(self) -> dict[str, str]:
        """Where each part of the plugin runs, e.g. ``{"backbone": "cpu (onnxruntime)"}`` (provenance)."""
        return {"tensors": str(self.device)}
