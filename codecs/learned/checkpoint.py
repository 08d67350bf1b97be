"""A trained deep-JSCC checkpoint: its network, the channel and CBRs it fits, and its provenance.

``testbed-train`` writes the full training config into every checkpoint, so a checkpoint says
itself which architecture to build (``config.model``), which channel it was trained on
(``config.channel``: class, fading coherence, CSI mode), which receiver fed its decoder
(``config.codec.receiver``; ``mmse`` before the key existed) and which latent prefixes it sends
(``config.rates``, or all the latent channels of a fixed-rate model). A codec config therefore
only lists files; per sweep point the one whose channel spec equals the sweep channel's
:meth:`~testbed.core.channel.Channel.spec`, with the codec's receiver, at the point's CBR is used.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from pathlib import Path

from torch import nn

from testbed.config.catalogue import instantiate
from testbed.core.errors import ConfigError
from testbed.core.numbers import is_whole
from testbed.core.weights import load_training_checkpoint

#: Where relative checkpoint paths are looked up (shipped with the package).
CHECKPOINT_DIR = Path(__file__).resolve().parent.parent / "checkpoints"

#: Network classes stored in checkpoints written before the architecture step, and where they live now.
LEGACY_TARGETS = {
    "testbed.codecs.deepjscc_net.DeepJSCCNet": "testbed.codecs.learned.deepjscc_net.DeepJSCCNet",
    "testbed.codecs.adjscc_net.ADJSCCNet": "testbed.codecs.learned.adjscc_net.ADJSCCNet",
}

#: The receiver every checkpoint written before ``config.codec.receiver`` existed was trained with.
DEFAULT_RECEIVER = "mmse"


def resolve_checkpoint(path: str | Path) -> Path:
    """Absolute paths stay; relative ones are read from ``codecs/checkpoints/``."""
    p = Path(path)
    return p if p.is_absolute() else CHECKPOINT_DIR / p


def channel_spec(config: dict | None) -> dict | None:
    """The :meth:`Channel.spec` of a training config's ``channel`` node (``None``: no channel)."""
    if not config or not config.get("_target_"):
        return None
    return {"channel": config["_target_"], **{k: v for k, v in config.items() if k != "_target_"}}


def with_defaults(stored: dict, channel) -> dict:
    """``stored`` with the settings it leaves out taken from the defaults of the live channel's class
    (when it names that class): a config that gave only ``_target_`` was trained with the defaults."""
    live = channel.spec()
    if stored.get("channel") != live["channel"]:
        return stored
    params = inspect.signature(type(channel)).parameters
    defaults = {k: p.default for k, p in params.items() if k in live and p.default is not inspect.Parameter.empty}
    return {**defaults, **stored}


def spec_label(spec: dict | None) -> str:
    """``RayleighChannel(coherence=1, csi=perfect)`` for messages."""
    if spec is None:
        return "any channel"
    settings = ", ".join(f"{k}={v}" for k, v in spec.items() if k != "channel")
    return f"{spec['channel'].rsplit('.', 1)[-1]}" + (f"({settings})" if settings else "")


@dataclass
class JSCCCheckpoint:
    """One model of a learned codec.

    Attributes:
        model: the network in eval mode.
        channel: the spec of the channel it was trained on, or ``None`` (untrained: any channel).
        rates: latent channel counts it sends (one for a fixed-rate model).
        receiver: what fed its decoder in training: ``mmse`` or ``raw`` (``None``: any).
        path: the weights file (``None``: initial weights, for plumbing tests only).
        meta: steps, wall time, last validation PSNR, data description, warm start.
    """

    model: nn.Module
    channel: dict | None
    rates: list[int]
    receiver: str | None = DEFAULT_RECEIVER
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
        saved = load_training_checkpoint(file)
        config = saved.get("config") or {}
        if not isinstance(config, dict):
            raise ConfigError(f"{file}: its stored training config is a {type(config).__name__}, not a mapping: "
                              "not a testbed checkpoint (re-export it with testbed.train.export)")
        if config.get("model"):
            node = dict(config["model"])
            node["_target_"] = LEGACY_TARGETS.get(node.get("_target_"), node.get("_target_"))
            model = instantiate(node, base=nn.Module)
        elif model is None:
            raise ConfigError(f"{file} has no training config: give the codec a `model` to load it into")
        try:
            model.load_state_dict(saved["model"])
        except (RuntimeError, TypeError, AttributeError, ValueError) as err:
            first = (str(err).splitlines() or [""])[0][:300]
            raise ConfigError(f"{file}: its weights do not fit the network its config names "
                              f"({type(err).__name__}: {first}); the file is damaged or not from testbed-train") from None
        rates = config.get("rates") or [model.latent_channels]
        if not isinstance(rates, (list, tuple)) or not all(
                is_whole(r) and 0 < r <= model.latent_channels for r in rates):
            raise ConfigError(f"{file}: rates={rates!r} must be latent channel counts from 1 to "
                              f"{model.latent_channels}: the file is damaged or not from testbed-train")
        receiver = (config.get("codec") or {}).get("receiver", DEFAULT_RECEIVER)
        meta = {k: saved.get(k) for k in ("step", "wall_time_s", "data", "init_from")}
        if saved.get("val_psnr"):
            meta["val_psnr_db"] = saved["val_psnr"][-1][1]  # the last validation, not the history
        return cls(model.eval(), channel_spec(config.get("channel")), [int(r) for r in rates], receiver, file, meta)

    @classmethod
    def untrained(cls, model: nn.Module, rates: list[int] | None = None) -> "JSCCCheckpoint":
        """The weights ``model`` has now, for any channel and receiver (training; plumbing tests)."""
        return cls(model, None, list(rates or [model.latent_channels]), None)

    def cbrs(self, downsampling: int) -> list[float]:
        """The CBRs it sends: c / (2 * 3 * downsampling^2) for each rate c."""
        return [c / (6 * downsampling**2) for c in self.rates]

    def rate_for(self, cbr: float, downsampling: int, overhead: float = 1.0) -> int | None:
        """The latent channel count that sends ``cbr`` (within 1 %), or ``None``.

        Over a channel with overhead (OFDM: pilots and cyclic prefix, ``overhead`` channel uses per
        data symbol), the largest rate whose data symbols with their overhead stay within ``cbr``.
        """
        pairs = list(zip(self.rates, self.cbrs(downsampling)))
        if overhead > 1.0:
            within = [(value, c) for c, value in pairs if value * overhead <= cbr * (1 + 1e-9)]
            return max(within)[1] if within else None
        for c, value in pairs:
            if abs(value - cbr) <= 0.01 * cbr:
                return c
        return None

    def fits(self, channel, cbr: float, downsampling: int, receiver: str) -> bool:
        """Trained for this channel spec (class, coherence, CSI...), this receiver and this CBR."""
        return ((self.channel is None or with_defaults(self.channel, channel) == channel.spec())
                and self.receiver in (None, receiver)
                and self.rate_for(cbr, downsampling, channel.overhead) is not None)

    def label(self, downsampling: int) -> str:
        """``file (RayleighChannel(coherence=1, csi=perfect); receiver mmse; CBR 1/48, 1/16)``."""
        name = self.path.name if self.path else "initial weights"
        cbrs = ", ".join(f"1/{1 / c:.3g}" for c in self.cbrs(downsampling))
        return f"{name} ({spec_label(self.channel)}; receiver {self.receiver or 'any'}; CBR {cbrs})"

    def describe(self) -> dict:
        return {"weights": str(self.path) if self.path else "untrained (initial weights)",
                "weights_channel": spec_label(self.channel), "weights_receiver": self.receiver,
                **{f"weights_{k}": v for k, v in self.meta.items() if v is not None}}
