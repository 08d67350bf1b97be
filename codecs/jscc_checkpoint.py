"""A trained deep-JSCC checkpoint: its network, the channel and CBRs it fits, and its provenance.

``testbed-train`` writes the full training config into every checkpoint, so a checkpoint says
itself which architecture to build (``config.model``), which channel it was trained on
(``config.channel._target_``) and which latent prefixes it sends (``config.rates``, or all the
latent channels of a fixed-rate model). A codec config therefore only lists files; the one that
fits the sweep's channel and CBR is picked per point.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from testbed.errors import ConfigError
from testbed.plugins import instantiate

#: Where relative checkpoint paths are looked up (shipped with the package).
CHECKPOINT_DIR = Path(__file__).resolve().parent / "checkpoints"

#: Channel key of a model that fits any channel (untrained test models).
ANY_CHANNEL = "any"


def resolve_checkpoint(path: str | Path) -> Path:
    """Absolute paths stay; relative ones are read from ``codecs/checkpoints/``."""
    p = Path(path)
    return p if p.is_absolute() else CHECKPOINT_DIR / p


def channel_key(channel) -> str:
    """``module.Class`` of a channel object, as written in a training config's ``_target_``."""
    return f"{type(channel).__module__}.{type(channel).__name__}"


@dataclass
class JSCCCheckpoint:
    """One model of a learned codec.

    Attributes:
        model: the network in eval mode.
        channel: ``module.Class`` of the channel it was trained on, or ``"any"``.
        rates: latent channel counts it sends (one for a fixed-rate model).
        path: the weights file (``None``: initial weights, for plumbing tests only).
        meta: steps, wall time, last validation PSNR, data description, warm start.
    """

    model: nn.Module
    channel: str
    rates: list[int]
    path: Path | None = None
    meta: dict = field(default_factory=dict)

    @classmethod
    def load(cls, path: str | Path, model: nn.Module | None = None) -> "JSCCCheckpoint":
        """Read a ``testbed-train`` checkpoint; ``model`` is used when it carries no config."""
        file = resolve_checkpoint(path)
        if not file.is_file():
            raise ConfigError(
                f"missing model weights {file}: train them with `testbed-train` (see the README's "
                "model cards) or list another file in codec.<name>.checkpoints"
            )
        saved = torch.load(file, map_location="cpu", weights_only=False)
        config = saved.get("config") or {}
        if config.get("model"):
            model = instantiate(config["model"])
        elif model is None:
            raise ConfigError(f"{file} has no training config: give the codec a `model` to load it into")
        model.load_state_dict(saved["model"])
        rates = config.get("rates") or [model.latent_channels]
        channel = (config.get("channel") or {}).get("_target_", ANY_CHANNEL)
        meta = {k: saved.get(k) for k in ("step", "wall_time_s", "data", "init_from")}
        if saved.get("val_psnr"):
            meta["val_psnr_db"] = saved["val_psnr"][-1][1]  # the last validation, not the history
        return cls(model.eval(), channel, [int(r) for r in rates], file, meta)

    @classmethod
    def untrained(cls, model: nn.Module, rates: list[int] | None = None) -> "JSCCCheckpoint":
        """The initial weights of ``model`` for any channel (tests of the plumbing)."""
        return cls(model.eval(), ANY_CHANNEL, list(rates or [model.latent_channels]))

    def cbrs(self, downsampling: int) -> list[float]:
        """The CBRs it sends: c / (2 * 3 * downsampling^2) for each rate c."""
        return [c / (6 * downsampling**2) for c in self.rates]

    def rate_for(self, cbr: float, downsampling: int) -> int | None:
        """The latent channel count that sends ``cbr`` (within 1 %), or ``None``."""
        for c, value in zip(self.rates, self.cbrs(downsampling)):
            if abs(value - cbr) <= 0.01 * cbr:
                return c
        return None

    def fits(self, channel, cbr: float, downsampling: int) -> bool:
        return self.channel in (ANY_CHANNEL, channel_key(channel)) and self.rate_for(cbr, downsampling) is not None

    def label(self, downsampling: int) -> str:
        """``file (channel; CBR 1/48, 1/16)`` for messages."""
        name = self.path.name if self.path else "initial weights"
        cbrs = ", ".join(f"1/{1 / c:.3g}" for c in self.cbrs(downsampling))
        return f"{name} ({self.channel.rsplit('.', 1)[-1]}; CBR {cbrs})"

    def describe(self) -> dict:
        return {"weights": str(self.path) if self.path else "untrained (initial weights)",
                "weights_channel": self.channel,
                **{f"weights_{k}": v for k, v in self.meta.items() if v is not None}}
