"""ShiftTolerant-LPIPS (Ghildyal and Liu, "Shift-tolerant perceptual similarity metric", ECCV 2022).

A different metric from LPIPS (:mod:`testbed.metrics.lpips`), reported under its own name
``st_lpips``: the same recipe (published input normalisation, five unit-normalised ReLU taps,
squared difference, 1x1 linear heads, spatial mean, sum over layers) on backbones rebuilt for
tolerance to small shifts, trained end to end by its authors on human judgements:

- no strided convolution or pooling: every stride-2 step is a stride-1 operation followed by
  anti-aliased downsampling (:class:`BlurPool`: reflection padding of 2 on every side, the 3x3
  binomial filter ``[1, 2, 1]^T [1, 2, 1] / 16`` per channel, stride 2);
- AlexNet: conv 11x11 stride 1 -> blur-pool -> ReLU (tap 1) -> max-pool 3x3 stride 1 ->
  blur-pool -> conv 5x5 -> ReLU (tap 2) -> max-pool 3 s1 -> blur-pool -> conv 3x3 -> ReLU (tap 3)
  -> conv -> ReLU (tap 4) -> conv -> ReLU (tap 5);
- VGG-16: each 2x2 stride-2 max-pool becomes max-pool 2x2 stride 1 -> blur-pool; taps at
  ``relu1_2, relu2_2, relu3_3, relu4_3, relu5_3``.

The backbone and heads are the complete weights that the ``stlpips-pytorch==0.0.2`` wheel (BSD-2)
ships (``weights/vST0.0/{alex,vgg}_shift_tolerant.pth``): the module layout below reproduces that
state dict, which loads strictly. Runs fully offline. Images are 8-bit quantised first, as for
LPIPS; scores are distances >= 0, 0 for identical images, lower is better.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from testbed.core.errors import ConfigError
from testbed.metrics.lpips import Head, TapDistanceMetric, load_state
from testbed.core.weights import WeightsFile, resolve, sha256

#: The 3x3 binomial blur of the anti-aliased downsampling (outer product, normalised to sum 1).
_BINOMIAL = torch.tensor([1.0, 2.0, 1.0])


class BlurPool(nn.Module):
    """Anti-aliased stride-2 downsampling ``[N, C, H, W] -> [N, C, (H + 1) // 2 + 1, (W + 1) // 2 + 1]``.

    Reflection padding of 2 on each side (H, W >= 3), then a per-channel 3x3 binomial filter at stride 2.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        kernel = torch.outer(_BINOMIAL, _BINOMIAL)
        self.register_buffer("filt", (kernel / kernel.sum()).expand(channels, 1, 3, 3).clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(F.pad(x, (2, 2, 2, 2), mode="reflect"), self.filt, stride=2, groups=x.shape[1])


def _relu() -> nn.Module:
    return nn.ReLU(inplace=True)


def alexnet_layers() -> list[nn.Module]:
    """The shift-tolerant AlexNet trunk, layer by layer (indices as in the shipped state dict)."""
    return [
        nn.Conv2d(3, 64, 11, padding=2), BlurPool(64), _relu(),                    # 0-2, tap 1
        nn.MaxPool2d(3, stride=1), BlurPool(64), nn.Conv2d(64, 192, 5, padding=2), _relu(),  # 3-6, tap 2
        nn.MaxPool2d(3, stride=1), BlurPool(192), nn.Conv2d(192, 384, 3, padding=1), _relu(),  # 7-10, tap 3
        nn.Conv2d(384, 256, 3, padding=1), _relu(),                                # 11-12, tap 4
        nn.Conv2d(256, 256, 3, padding=1), _relu(),                                # 13-14, tap 5
    ]


def vgg16_layers() -> list[nn.Module]:
    """The shift-tolerant VGG-16 trunk up to ``relu5_3`` (indices as in the shipped state dict)."""
    layers: list[nn.Module] = []
    channels = 3
    for block, (width, convs) in enumerate([(64, 2), (128, 2), (256, 3), (512, 3), (512, 3)]):
        if block:
            layers += [nn.MaxPool2d(2, stride=1), BlurPool(channels)]
        for _ in range(convs):
            layers += [nn.Conv2d(channels, width, 3, padding=1), _relu()]
            channels = width
    return layers


#: net -> (trunk builder, exclusive end index of each slice = tap index + 1, tap channels)
ARCHITECTURES = {
    "alex": (alexnet_layers, (3, 7, 11, 13, 15), (64, 192, 384, 256, 256)),
    "vgg": (vgg16_layers, (4, 10, 18, 26, 34), (64, 128, 256, 512, 512)),
}


class ShiftTolerantTaps(nn.Module):
    """The trunk as ``slice1 .. slice5`` (layers keep their global index): ``[N, 3, H, W]``
    (normalised input) -> the five taps, a list of ``[N, C_l, h_l, w_l]``."""

    def __init__(self, net: str) -> None:
        super().__init__()
        build, ends, _ = ARCHITECTURES[net]
        layers, start = build(), 0
        for k, end in enumerate(ends, 1):
            part = nn.Sequential()
            for index in range(start, end):
                part.add_module(str(index), layers[index])
            self.add_module(f"slice{k}", part)
            start = end

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        out = []
        for part in self.children():
            x = part(x)
            out.append(x)  # a ReLU output; each slice starts with a pool or conv, never in-place
        return out


class ShiftTolerantLPIPSNet(nn.Module):
    """Everything the shipped file holds: ``scaling_layer`` (shift, scale), ``net``, ``lin0 .. lin4``."""

    def __init__(self, net: str) -> None:
        super().__init__()
        self.scaling_layer = nn.Module()
        self.scaling_layer.register_buffer("shift", torch.zeros(1, 3, 1, 1))
        self.scaling_layer.register_buffer("scale", torch.ones(1, 3, 1, 1))
        self.net = ShiftTolerantTaps(net)
        for k, c in enumerate(ARCHITECTURES[net][2]):
            self.add_module(f"lin{k}", Head(c))


def weights_file(net: str) -> WeightsFile:
    """The complete ST-LPIPS weights of ``net`` shipped by the ``stlpips-pytorch`` wheel."""
    name = f"{net}_shift_tolerant.pth"
    return WeightsFile(name, f"ShiftTolerant-LPIPS {net} (backbone + heads)",
                       package=("stlpips_pytorch", f"weights/vST0.0/{name}"))


class STLPIPS(TapDistanceMetric):
    """ShiftTolerant-LPIPS distance (lower is better, 0 for identical images), 8-bit-quantised input.

    Args:
        net: ``alex`` or ``vgg``.
        weights: explicit path of the ``{net}_shift_tolerant.pth`` file (else the resolution order,
            which ends at the file the ``stlpips-pytorch`` wheel ships).
    """

    name = "st_lpips"
    #: the stride-1 trunk at full resolution runs 1.7x faster channels-last on the CPU (one 768x512
    #: image, one thread: 1.65 s -> 0.95 s; scores move by float32 rounding, below 1e-6 relative)
    channels_last = True

    def __init__(self, net: str = "alex", weights: str | None = None) -> None:
        if net not in ARCHITECTURES:
            raise ConfigError(f"st_lpips: net={net!r} is not one of {sorted(ARCHITECTURES)}")
        self.net, self.weights = net, weights
        self._paths: dict[str, str] = {}
        super().__init__()

    def required_weights(self) -> list[tuple[WeightsFile, str | None]]:
        """The files this metric needs: (spec, explicit path)."""
        return [(weights_file(self.net), self.weights)]

    def check(self) -> None:
        """Resolve the weights (raising :class:`testbed.core.weights.MissingWeightsError`) and load them strictly."""
        if self._backbone is not None:
            return
        path = resolve(weights_file(self.net), self.weights)
        model = ShiftTolerantLPIPSNet(self.net)
        model.load_state_dict(load_state(path), strict=True)
        self._shift, self._scale = model.scaling_layer.shift, model.scaling_layer.scale
        self._heads = [getattr(model, f"lin{k}").model[0].weight.detach() for k in range(5)]
        self._backbone = model.net.eval().requires_grad_(False)
        if self.channels_last:
            self._backbone.to(memory_format=torch.channels_last)
        self._paths = {"weights": str(path), "weights_sha256": sha256(path)}
        self._place()

    def describe(self) -> dict:
        return {"implementation": "testbed.metrics.st_lpips.STLPIPS (ShiftTolerant-LPIPS, Ghildyal & Liu "
                                  "ECCV 2022, weights vST0.0; 8-bit input)", "net": self.net, **self._paths}
