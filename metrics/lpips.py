"""LPIPS v0.1 (Zhang, Isola, Efros, Shechtman, Wang, CVPR 2018), written here on torchvision backbones.

The published metric, step by step, for ``[N, 3, H, W]`` images in [0, 1]:

1. 8-bit quantisation (as PSNR does: the score is of the image a receiver would store), then
   [0, 1] -> [-1, 1] and the published per-channel input normalisation ``(x - shift) / scale``
   with shift ``(-0.030, -0.088, -0.188)`` and scale ``(0.458, 0.448, 0.450)``;
2. the ImageNet backbone up to its fifth tapped ReLU: AlexNet ``relu1..relu5`` (64, 192, 384,
   256, 256 channels) or VGG-16 ``relu1_2, relu2_2, relu3_3, relu4_3, relu5_3`` (64 ... 512);
3. each tap ``[C, h, w]`` divided by its L2 norm over channels at every position (+1e-10);
4. per layer: squared difference of the two unit-normalised taps, a 1x1 linear head (``C -> 1``,
   non-negative weights learned on human judgements: the v0.1 heads), mean over positions;
5. the sum over the five layers: a distance >= 0 (0 for identical images), lower is better.

Weights: the backbone is torchvision's own ImageNet checkpoint (``alexnet-owt-7be5be79.pth`` or
``vgg16-397923af.pth``), resolved by :mod:`testbed.core.weights` (explicit path, ``$TESTBED_WEIGHTS``,
torch hub's cache, download only when allowed); the heads are the few-kB files the ``lpips`` PyPI
wheel ships (read from its folder without importing it). The shared machinery
(:class:`TapDistanceMetric`) also serves ShiftTolerant-LPIPS (:mod:`testbed.metrics.st_lpips`).
"""

from __future__ import annotations

import logging
import zipfile
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from testbed.core.errors import ConfigError
from testbed.core.feature_metric import FeatureMetric
from testbed.core.metric import quantize_8bit
from testbed.core.weights import WeightsFile, resolve, sha256

log = logging.getLogger(__name__)

#: The published input normalisation (applied after mapping [0, 1] to [-1, 1]).
SHIFT = (-0.030, -0.088, -0.188)
SCALE = (0.458, 0.448, 0.450)
#: Added to the channel norm before dividing (as published).
NORM_EPS = 1e-10

_TORCHVISION = "https://download.pytorch.org/models/"
_HEADS_URL = "https://github.com/richzhang/PerceptualSimilarity/raw/master/lpips/weights/v0.1/"

#: net -> (torchvision architecture, checkpoint file, indices of the tapped ReLUs in ``features``, channels)
BACKBONES = {
    "alex": ("alexnet", "alexnet-owt-7be5be79.pth", (1, 4, 7, 9, 11), (64, 192, 384, 256, 256)),
    "vgg": ("vgg16", "vgg16-397923af.pth", (3, 8, 15, 22, 29), (64, 128, 256, 512, 512)),
}


def backbone_file(net: str) -> WeightsFile:
    """torchvision's ImageNet checkpoint of the ``net`` backbone (full model: features + classifier)."""
    arch, filename, _, _ = BACKBONES[net]
    return WeightsFile(filename, f"torchvision ImageNet {arch} weights (LPIPS-{net} backbone)", torch_hub=True,
                       url=_TORCHVISION + filename, sha256_prefix=filename.rsplit("-", 1)[1].split(".")[0])


def heads_file(net: str) -> WeightsFile:
    """The LPIPS v0.1 linear heads of ``net`` (state dict ``lin{k}.model.1.weight``, ``[1, C, 1, 1]``).

    Upstream calls the file ``{net}.pth``; a weights folder holds it as ``lpips_v0.1_{net}.pth``
    (a name that cannot be mistaken for another model's ``alex.pth``).
    """
    return WeightsFile(f"lpips_v0.1_{net}.pth", f"LPIPS v0.1 linear heads ({net})",
                       package=("lpips", f"weights/v0.1/{net}.pth"), url=_HEADS_URL + f"{net}.pth")


class Head(nn.Module):
    """A 1x1 linear head ``[N, C, h, w] -> [N, 1, h, w]``, no bias.

    Stored as ``model.1`` to match the published state dicts (index 0 is a dropout used only when
    the heads are trained).
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.model = nn.Sequential()
        self.model.add_module("1", nn.Conv2d(channels, 1, 1, bias=False))


class Heads(nn.Module):
    """The five heads ``lin0 .. lin4``, in the published state-dict layout."""

    def __init__(self, channels: tuple[int, ...]) -> None:
        super().__init__()
        for k, c in enumerate(channels):
            self.add_module(f"lin{k}", Head(c))

    def weights(self) -> list[torch.Tensor]:
        """The head weights, one ``[1, C_l, 1, 1]`` tensor per layer."""
        return [getattr(self, f"lin{k}").model[0].weight.detach() for k in range(len(self._modules))]


def load_state(path: str | Path) -> dict:
    """A state dict from a ``.pth`` file (tensors only, on the CPU).

    Zip-format files are memory-mapped (tensors that are never used, such as a classifier, are
    never read); legacy-format files (torchvision's older checkpoints) are read whole.
    """
    try:
        state = torch.load(path, map_location="cpu", weights_only=True, mmap=zipfile.is_zipfile(path))
    except Exception as err:  # a truncated, foreign or pickled-code file (weights_only refuses code)
        first = (str(err).splitlines() or [""])[0][:200]
        raise ConfigError(f"{path} is not a readable weights file ({type(err).__name__}: {first}): point the "
                          "metric at the file named in `testbed weights`, or remove it so the shipped one is used") from None
    if not isinstance(state, dict):
        raise ConfigError(f"{path} holds a {type(state).__name__}, not a state dict of tensors: not a weights file")
    return state


def load_into(module: nn.Module, path: str | Path, **options) -> None:
    """``module.load_state_dict(load_state(path), strict=True, **options)``; a file whose tensors do
    not fit the module is refused with :class:`ConfigError` naming the file (no traceback)."""
    try:
        module.load_state_dict(load_state(path), strict=True, **options)
    except (RuntimeError, TypeError, ValueError) as err:
        if isinstance(err, ConfigError):
            raise
        first = (str(err).splitlines() or [""])[0][:200]
        raise ConfigError(f"{path}: its tensors do not fit {type(module).__name__} ({first}): a damaged or "
                          "different file; use the one `testbed weights` names") from None


def unit_normalise(tap: torch.Tensor) -> torch.Tensor:
    """``[N, C, h, w]`` divided by its L2 norm over C at every position (+ :data:`NORM_EPS`)."""
    return tap / (tap.pow(2).sum(dim=1, keepdim=True).sqrt() + NORM_EPS)


class TapDistanceMetric(FeatureMetric):
    """LPIPS-style distance: unit-normalised backbone taps, squared difference, linear heads.

    Subclasses load, in :meth:`check`, ``self._backbone`` (a module mapping the normalised input
    ``[N, 3, H, W]`` to the list of taps ``[N, C_l, h_l, w_l]``), ``self._heads`` (one
    ``[1, C_l, 1, 1]`` weight per tap) and ``self._shift`` / ``self._scale`` (``[1, 3, 1, 1]``).
    """

    higher_is_better = False
    #: Run the backbone in channels-last memory layout (faster for some trunks on the CPU; the
    #: scores move by float32 rounding only).
    channels_last: bool = False

    def __init__(self) -> None:
        super().__init__()
        self._backbone: nn.Module | None = None
        self._heads: list[torch.Tensor] = []
        self._shift = torch.tensor(SHIFT).view(1, 3, 1, 1)
        self._scale = torch.tensor(SCALE).view(1, 3, 1, 1)

    def to(self, device: torch.device):
        """Place the backbone, heads and input scaling on ``device`` (now, or when loaded)."""
        super().to(device)
        if self._backbone is not None:
            self._place()
        return self

    def _place(self) -> None:
        """Move the loaded backbone and heads to :attr:`device` when they are elsewhere."""
        if self._shift.device != self.device or any(w.device != self.device for w in self._heads):
            self._backbone.to(self.device)
            self._heads = [w.to(self.device) for w in self._heads]
            self._shift, self._scale = self._shift.to(self.device), self._scale.to(self.device)

    @torch.no_grad()
    def features(self, images: torch.Tensor) -> list:
        """``[N, 3, H, W]`` in [0, 1] -> per image, the list of unit-normalised taps ``[C_l, h_l, w_l]``."""
        if self._backbone is None:
            self.check()
        self._place()
        x = quantize_8bit(images.to(self.device).float()) / 255.0 * 2.0 - 1.0
        x = (x - self._shift) / self._scale
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        taps = [unit_normalise(t.contiguous()) for t in self._backbone(x)]  # the heads run faster on NCHW
        return [[t[i] for t in taps] for i in range(images.shape[0])]

    @torch.no_grad()
    def compare(self, pred_features: list, target_features: list) -> torch.Tensor:
        """Distances, float64 ``[N]``: sum over layers of the spatial mean of the head on ``(a - b)^2``."""
        scores = []
        for a, b in zip(pred_features, target_features):
            total = torch.zeros((), device=a[0].device)
            for fa, fb, w in zip(a, b, self._heads):
                total = total + F.conv2d((fa - fb).pow(2)[None], w).mean()
            scores.append(total)
        return torch.stack(scores).double().cpu() if scores else torch.zeros(0, dtype=torch.float64)


class TorchvisionTaps(nn.Module):
    """The ``features`` of a torchvision CNN up to its last tap: ``[N, 3, H, W]`` (normalised input)
    -> the outputs at the ``taps`` indices, a list of ``[N, C_l, h_l, w_l]``."""

    def __init__(self, features: nn.Sequential, taps: tuple[int, ...]) -> None:
        super().__init__()
        self.features = features[: taps[-1] + 1]
        self.taps = taps

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        out = []
        for index, layer in enumerate(self.features):
            x = layer(x)
            if index in self.taps:  # a ReLU output; the next layer (pool or conv) is not in-place
                out.append(x)
        return out


class LPIPS(TapDistanceMetric):
    """LPIPS v0.1 distance (lower is better, 0 for identical images) on 8-bit-quantised images.

    Args:
        net: ``alex`` (the published default) or ``vgg``.
        backbone_weights: explicit path of the torchvision checkpoint (else the resolution order).
        download: allow downloading the backbone (and heads) when found nowhere.
    """

    name = "lpips"

    def __init__(self, net: str = "alex", backbone_weights: str | None = None, download: bool = False) -> None:
        if net not in BACKBONES:
            raise ConfigError(f"lpips: net={net!r} is not one of {sorted(BACKBONES)}")
        self.net, self.backbone_weights, self.download = net, backbone_weights, bool(download)
        self._paths: dict[str, str] = {}
        super().__init__()

    def required_weights(self) -> list[tuple[WeightsFile, str | None]]:
        """The files this metric needs: (spec, explicit path)."""
        return [(backbone_file(self.net), self.backbone_weights), (heads_file(self.net), None)]

    def check(self) -> None:
        """Resolve both files (raising :class:`testbed.core.weights.MissingWeightsError`), then load them."""
        if self._backbone is not None:
            return
        spec = backbone_file(self.net)
        path = resolve(spec, self.backbone_weights, self.download)
        head_path = resolve(heads_file(self.net), None, self.download)
        import torchvision

        arch, _, taps, channels = BACKBONES[self.net]
        with torch.device("meta"):  # no random initialisation: every tensor comes from the file
            model = torchvision.models.get_model(arch, weights=None)
        load_into(model, path, assign=True)
        heads = Heads(channels)
        load_into(heads, head_path)
        digest = sha256(path)
        if not digest.startswith(spec.sha256_prefix):
            log.warning("lpips: %s is not torchvision's published checkpoint (sha256 %s...): "
                        "scores are not the published LPIPS", path, digest[:12])
        self._backbone = TorchvisionTaps(model.features, taps).eval().requires_grad_(False)
        self._heads = heads.weights()
        self._paths = {"backbone_weights": str(path), "backbone_sha256": digest, "head_weights": str(head_path)}
        self._place()

    def describe(self) -> dict:
        return {"implementation": "testbed.metrics.lpips.LPIPS (LPIPS v0.1, Zhang et al. 2018; 8-bit input)",
                "net": self.net, **self._paths}
