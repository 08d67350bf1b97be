"""SwinJSCC and WITT, the authors' released models, as one codec: released files in, our conventions out.

The networks are our own implementation of the released architectures
(:class:`~testbed.codecs.learned.swinjscc_net.SwinJSCCNet`, state dicts equal to the released
ones); the files are the authors' (``testbed weights swinjscc`` says which and from where). Per
sweep point the file trained for the channel, CBR and SNR is used (:mod:`~testbed.codecs.learned.swin.serving`).

Conventions, and how the released code maps onto ours (README "SwinJSCC and WITT"):

* Symbols: the released channel reads the flattened latent ``[L * C]`` (one image) as
  ``first half + j * second half`` and scales it to unit average complex energy, ``E|s|^2 = 1``;
  its SNR is Es/N0 with N0 = 10^(-SNR/10). Ours is the same: the rows' SNR is the authors' SNR.
* Rate-adaptive variants (``ra``, ``sa_ra``) send only the ``rate`` latent channels the rate
  ModNet selects; the released code scales them to unit energy, sends the whole (zero-padded) latent
  and zeroes the unselected entries at the receiver. We send the selected entries only (the same
  values, in the same order), so ``channel_uses`` = L * rate / 2 and the CBR is rate / (6 * 4^stages)
  exactly as the paper counts it.
* The decoder receives the noisy latent scaled back by the transmitter's power (one real scalar
  per image, which the released code hands the receiver too: side information, not sent).
* The SNR reaches the SA ModNet as its value in dB, the rate as the channel count, as released.
* Rayleigh: see :mod:`~testbed.codecs.learned.swin.serving` (fast fading, the receiver removes
  the phase of h, the decoder sees ``|h| x + n``).
* Image sides that are not multiples of 2^stages (16; 4 at the CIFAR size) are padded by edge
  replication and the reconstruction cropped back; the padded latent is what is sent, so such an
  image's ``cbr_actual`` lies slightly above the point's CBR (Kodak's 768x512 needs no padding).
"""

from __future__ import annotations


import torch
import torch.nn.functional as F
from torch import nn

from testbed.codecs.learned.swin.released import parse_released_name, read_released_state_dict
from testbed.codecs.learned.checkpoint import spec_label
from testbed.codecs.learned.swin.serving import CHANNEL_SPECS, SOURCES, ReleasedFile
from testbed.codecs.learned.swinjscc_net import SwinJSCCNet
from testbed.core.channel import Channel, ChannelOutput
from testbed.core.errors import ConfigError
from testbed.core.learned_codec import LearnedCodec
from testbed.core.plugin import RequiredFile
from testbed.core.weights import MissingWeightsError, WeightsFile, candidates, sha256

class SwinJSCC(LearnedCodec):
    """The released SwinJSCC / WITT files as one codec.

    Args:
        files: released files (names, read from ``weights_dir``, ``$TESTBED_WEIGHTS`` or the torch
            hub cache), each a name or a mapping ``{file, variant, size, channel, rates, snr_db,
            family}`` whose fields override what the name says.
        weights_dir: a folder searched first (``None``: the usual order only).
        modnet_layout: ``per_variant`` (the authors' latest code) or ``full`` (their earlier code,
            whose files carry the ModNets of every variant).
    """

    def __init__(self, files: list | str, weights_dir: str | None = None, modnet_layout: str = "per_variant") -> None:
        entries = [files] if isinstance(files, (str, dict)) else list(files or [])
        if not entries:
            raise ConfigError("codec swinjscc: list at least one released file in `files`")
        self.models = [ReleasedFile.from_entry(e, _parse) for e in entries]
        self.weights_dir = weights_dir
        self.modnet_layout = modnet_layout
        self._used: ReleasedFile | None = None
        self._rate: int | None = None
        self._digest: dict[str, str] = {}

    # -- files ---------------------------------------------------------------------------------
    def _spec(self, model: ReleasedFile) -> WeightsFile:
        return WeightsFile(model.name, f"{model.family} released weights ({model.variant}, {model.size}, "
                                       f"{model.channel})", torch_hub=True)

    def _find(self, model: ReleasedFile):
        explicit = None
        if self.weights_dir:
            explicit = f"{self.weights_dir}/{model.name}"
        elif "/" in model.file:
            explicit = model.file
        for _, path in candidates(self._spec(model), explicit):
            if path is not None and path.is_file():
                return path
        return None

    def required_files(self) -> list[RequiredFile]:
        found = [self._find(m) for m in self.models]  # each file looked up once
        return [RequiredFile(self._spec(m).description, m.name, path, "" if path else self._fix(m))
                for m, path in zip(self.models, found)]

    def _fix(self, model: ReleasedFile) -> str:
        return (f"download {model.name} from {SOURCES.get(model.family, 'the authors')} and put it into "
                f"$TESTBED_WEIGHTS (a folder of your choice) or codec.{self._option}.weights_dir")

    def check(self) -> None:
        """Load every file that is present (strict key check); missing ones are refused per point."""
        for model in self.models:
            model.path = self._find(model)
            if model.path is not None and model.net is None:
                net = self._build(model)
                net.load_released(read_released_state_dict(model.path))
                model.net = net.eval().to(self.device)

    def _build(self, model: ReleasedFile) -> SwinJSCCNet:
        variant = "sa" if model.family == "witt" else model.variant
        one = variant in ("wo", "sa")
        return SwinJSCCNet(variant=variant, size=model.size, channels=model.rates[0] if one else None,
                           rates=None if one else model.rates, modnet_layout=self.modnet_layout)

    def to(self, device: torch.device):
        super().to(device)
        for model in self.models:
            if model.net is not None:
                model.net.to(self.device)
        return self

    @property
    def _option(self) -> str:
        return self.name if self.name != "plugin" else "<option>"

    # -- which file serves a point -------------------------------------------------------------
    def _downsampling(self, model: ReleasedFile) -> int:
        return 4 if model.size == "cifar" else 16  # 2 stages on 32 px images, 4 on the HR sizes

    def _fitting(self, channel: Channel, cbr: float, snr_db: float | None = None) -> list[ReleasedFile]:
        spec = channel.spec()
        return [m for m in self.models if m.fits_channel(spec) and m.rate_for(cbr, self._downsampling(m))
                and (snr_db is None or m.serves_snr(snr_db))]

    def _refuse(self, channel: Channel, what: str, fitting: list[ReleasedFile]) -> None:
        missing = [m for m in fitting if m.path is None]
        if fitting and len(missing) == len(fitting):
            raise MissingWeightsError(
                f"codec {self.name}: {what} is served only by {', '.join(m.name for m in missing)}, which is "
                f"not present. Fix: {self._fix(missing[0])}; or leave this point out (unsupported=skip).")
        have = "; ".join(m.label(self._downsampling(m)) for m in self.models)
        needs = "; ".join(sorted({f"{m.channel} = {spec_label(CHANNEL_SPECS[m.channel])}" for m in self.models}))
        raise ConfigError(f"codec {self.name}: no released file serves {what} ({spec_label(channel.spec())}). "
                          f"Files: {have}; their channels: {needs}. Pick a point these serve, list another file "
                          f"in codec.{self.name}.files, or set unsupported=skip.")

    def check_point(self, channel: Channel, cbr: float) -> None:
        fitting = self._fitting(channel, cbr)
        if not any(m.path is not None for m in fitting):
            self._refuse(channel, f"channel {channel.name} at CBR {cbr:.4g} (1/{1 / cbr:.3g})", fitting)

    def check_snr(self, channel: Channel, cbr: float, snr_db: float) -> None:
        fitting = self._fitting(channel, cbr, snr_db)
        if not any(m.path is not None for m in fitting):
            self._refuse(channel, f"channel {channel.name} at CBR {cbr:.4g} and SNR {snr_db:g} dB", fitting)

    def supported_cbrs(self) -> list[float]:
        return sorted({c for m in self.models for c in m.cbrs(self._downsampling(m))})

    def encode(self, images, channel: Channel, snr_db: float, cbr: float):
        """Encode with the file that serves the point. A sweep never asks for an SNR outside every
        file's range (:meth:`check_snr` refuses or skips it first); a direct call (the contract kit's
        noiseless and hopeless SNRs) gets the present file whose training SNRs are nearest."""
        self.check_point(channel, cbr)
        present = [m for m in self._fitting(channel, cbr) if m.path is not None]
        self._used = min(present, key=lambda m: (not m.serves_snr(snr_db),
                                                 min(abs(float(snr_db) - s) for s in m.snr_db)))
        self._rate = self._used.rate_for(cbr, self._downsampling(self._used))
        return super().encode(images, channel, snr_db, cbr)

    @property
    def network(self) -> nn.Module:
        if self._used is None:
            raise RuntimeError("SwinJSCC.network: no file chosen yet (encode a sweep point first)")
        return self._used.net

    # -- the data path -------------------------------------------------------------------------
    def encode_batch(self, images: torch.Tensor, snr_db: torch.Tensor):
        """``[N, 3, H, W]`` -> unit-energy symbols ``[N, L * rate / 2]`` and the decoder's context."""
        net, step = self.network, self._downsampling(self._used)
        h, w = images.shape[-2:]
        pad_h, pad_w = (-h) % step, (-w) % step
        x = F.pad(images, (0, pad_w, 0, pad_h), mode="replicate") if pad_h or pad_w else images
        rate = self._rate if self._used.variant in ("ra", "sa_ra") and self._used.family != "witt" else None
        feature, selected = net.encode(x, snr_db.to(x.device), rate)
        n = feature.shape[0]
        values = feature.reshape(n, -1) if selected is None else feature[selected[:, None, :].expand_as(feature)].view(n, -1)
        if values.shape[1] % 2:
            values = F.pad(values, (0, 1))
        half = values.shape[1] // 2
        power = values.pow(2).mean(dim=1, keepdim=True).mul(2).clamp_min(1e-12)  # E|s|^2 before scaling
        symbols = torch.complex(values[:, :half], values[:, half:]) / power.sqrt()
        context = {"scale": power.sqrt(), "selected": selected, "shape": feature.shape, "size": (h, w),
                   "padded": tuple(x.shape[-2:]), "count": values.shape[1]}
        return symbols, context

    def decode_batch(self, received: ChannelOutput, context, snr_db: torch.Tensor) -> torch.Tensor:
        y = received.y
        if received.h is not None:  # the authors' real-gain fading: remove the phase of h, keep |h|
            y = y * received.h.conj() / received.h.abs().clamp_min(1e-12)
        values = torch.cat([y.real, y.imag], dim=1) * context["scale"]
        n, length, width = context["shape"]
        if context["selected"] is None:
            feature = values[:, : length * width].reshape(n, length, width)
        else:
            feature = values.new_zeros(context["shape"])
            mask = context["selected"][:, None, :].expand(n, length, width)
            feature[mask] = values[:, : int(mask[0].sum())].reshape(-1)
        image = self.network.decode(feature, snr_db.to(feature.device), context["padded"])
        h, w = context["size"]
        return image[..., :h, :w]

    def reception_extra(self, context) -> dict:
        return {"rate": self._rate, "file": self._used.name}

    def describe(self) -> dict:
        model = self._used or next((m for m in self.models if m.path is not None), self.models[0])
        if model.path is not None and str(model.path) not in self._digest:
            self._digest[str(model.path)] = sha256(model.path)
        return {"codec_backend": f"testbed.codecs.swinjscc.SwinJSCC[{model.family} {model.variant} {model.size}]",
                "weights": str(model.path) if model.path else f"missing: {model.name}",
                "weights_sha256": self._digest.get(str(model.path)), "weights_channel": model.channel,
                "weights_snr_db": model.snr_label(), "modnet_layout": self.modnet_layout}


def _parse(name: str) -> dict:
    """The fields of :class:`ReleasedFile` a released file name states (see :func:`parse_released_name`)."""
    return parse_released_name(name)
