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
from testbed.metrics.lpips import Head, TapDistanceMetric, load_into
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


class SlidingMax(nn.Module):
    """Max-pooling ``k x k`` at stride 1 without padding, as a max over rows then over columns:
    ``[N, C, H, W] -> [N, C, H - k + 1, W - k + 1]``, equal to ``nn.MaxPool2d(k, stride=1)``
    (a max is exact) and several times faster on the CPU in either memory layout."""

    def __init__(self, k: int) -> None:
        super().__init__()
        self.k = k

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2] - self.k + 1, x.shape[-1] - self.k + 1
        rows = x[..., :h, :]
        for d in range(1, self.k):
            rows = torch.maximum(rows, x[..., d:d + h, :])
        out = rows[..., :w]
        for d in range(1, self.k):
            out = torch.maximum(out, rows[..., d:d + w])
        return out


class ConvBlurPool(nn.Module):
    """A stride-1 convolution followed by :class:`BlurPool`, run as one stride-2 convolution.

    Both are linear and the blur sums to 1, so away from the border ``blur(conv(x))`` equals one
    convolution with the composed ``(k + 2) x (k + 2)`` kernel at stride 2 (same bias): a quarter of
    the output positions. The outermost output row and column on each side read the blur's
    reflection padding; they are computed the two-step way on thin strips of the input. Equal to the
    two modules up to float32 summation order (relative differences about 1e-6 in the taps).
    ``[N, C, H, W] -> [N, C_out, h, w]`` exactly as the pair gives.
    """

    def __init__(self, conv: nn.Conv2d, blur: BlurPool) -> None:
        super().__init__()
        assert conv.stride == (1, 1) and conv.dilation == (1, 1) and conv.groups == 1
        self.conv, self.blur = conv, blur
        self.k, self.pad = conv.kernel_size[0], conv.padding[0]
        g = blur.filt[0, 0].double()
        composed = torch.zeros(*conv.weight.shape[:2], self.k + 2, self.k + 2, dtype=torch.float64,
                               device=conv.weight.device)
        for a in range(3):
            for b in range(3):
                composed[:, :, a:a + self.k, b:b + self.k] += g[a, b] * conv.weight.double()
        self.register_buffer("composed", composed.to(conv.weight.dtype))

    def _two_step(self, x_padded: torch.Tensor) -> torch.Tensor:
        return self.blur(F.conv2d(x_padded, self.conv.weight, self.conv.bias))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        p, k = self.pad, self.k
        rows, cols = x.shape[-2] + 2 * p - k + 1, x.shape[-1] + 2 * p - k + 1  # the convolution's output
        if min(rows, cols) < 8:
            return self.blur(self.conv(x))
        xp = F.pad(x.contiguous(), (p, p, p, p))
        z = F.conv2d(xp, self.composed, self.conv.bias, stride=2)  # z[i, j] is the pair's [i + 1, j + 1]
        z = F.pad(z[:, :, :(rows - 1) // 2, :(cols - 1) // 2], (1, 1, 1, 1))
        last_row, last_col = ((rows - 3) // 2) * 2, ((cols - 3) // 2) * 2  # even starts keep the stride-2 grid
        z[:, :, 0] = self._two_step(xp[:, :, :4 + k - 1])[:, :, 0]
        z[:, :, -1] = self._two_step(xp[:, :, last_row:])[:, :, -1]
        z[:, :, :, 0] = self._two_step(xp[:, :, :, :4 + k - 1])[:, :, :, 0]
        z[:, :, :, -1] = self._two_step(xp[:, :, :, last_col:])[:, :, :, -1]
        return z  # NCHW: the tap after it is read in NCHW; the next convolution converts its smaller input


def fuse_conv_blur(trunk: nn.Module) -> int:
    """Replace, in every slice of ``trunk``, each stride-1 convolution directly followed by a
    :class:`BlurPool` with a :class:`ConvBlurPool` (the blur's slot becomes an identity); returns
    how many pairs were fused. Run after loading the weights (the state-dict layout changes)."""
    fused = 0
    for part in trunk.children():
        names = list(part._modules)
        for first, second in zip(names, names[1:]):
            conv, blur = part._modules[first], part._modules[second]
            if isinstance(conv, nn.Conv2d) and isinstance(blur, BlurPool) and conv.stride == (1, 1):
                part._modules[first], part._modules[second] = ConvBlurPool(conv, blur), nn.Identity()
                fused += 1
    return fused


def _relu() -> nn.Module:
    return nn.ReLU(inplace=True)


def alexnet_layers() -> list[nn.Module]:
    """The shift-tolerant AlexNet trunk, layer by layer (indices as in the shipped state dict)."""
    return [
        nn.Conv2d(3, 64, 11, padding=2), BlurPool(64), _relu(),                    # 0-2, tap 1
        SlidingMax(3), BlurPool(64), nn.Conv2d(64, 192, 5, padding=2), _relu(),   # 3-6, tap 2
        SlidingMax(3), BlurPool(192), nn.Conv2d(192, 384, 3, padding=1), _relu(),  # 7-10, tap 3
        nn.Conv2d(384, 256, 3, padding=1), _relu(),                                # 11-12, tap 4
        nn.Conv2d(256, 256, 3, padding=1), _relu(),                                # 13-14, tap 5
    ]


def vgg16_layers() -> list[nn.Module]:
    """The shift-tolerant VGG-16 trunk up to ``relu5_3`` (indices as in the shipped state dict)."""
    layers: list[nn.Module] = []
    channels = 3
    for block, (width, convs) in enumerate([(64, 2), (128, 2), (256, 3), (512, 3), (512, 3)]):
        if block:
            layers += [SlidingMax(2), BlurPool(channels)]
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
    #: AlexNet's 11x11 stride-1 first convolution and its blur-pool run as one stride-2 convolution
    #: (:class:`ConvBlurPool`: exact up to float32 summation order; 4x fewer positions)
    fuse_conv_blur = True
    #: one image per backbone call: its full-resolution activations (64 x H/2 x W/2 floats) outgrow
    #: the caches, so larger batches ran slower per image here (768x512, one thread: 0.8 s vs 1.2 s at 8)
    batch_size = 1

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
        load_into(model, path)
        self._shift, self._scale = model.scaling_layer.shift, model.scaling_layer.scale
        self._heads = [getattr(model, f"lin{k}").model[0].weight.detach() for k in range(5)]
        self._backbone = model.net.eval().requires_grad_(False)
        if self.channels_last:
            self._backbone.to(memory_format=torch.channels_last)
        if self.fuse_conv_blur:  # after the layout change: its 3-channel input runs fastest in NCHW
            fuse_conv_blur(self._backbone)
        self._paths = {"weights": str(path), "weights_sha256": sha256(path)}
        self._place()

    def describe(self) -> dict:
        return {"implementation": "testbed.metrics.st_lpips.STLPIPS (ShiftTolerant-LPIPS, Ghildyal & Liu "
                                  "ECCV 2022, weights vST0.0; 8-bit input)", "net": self.net, **self._paths}
