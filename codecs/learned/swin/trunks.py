"""Encoder and decoder trunks of SwinJSCC / WITT with the released module tree.

Encoder (``S = len(depths)`` stages, downsampling ``2**S``)::

    patch_embed.proj                  Conv2d(3, d0, 2, stride 2)        [N,3,H,W] -> [N, H/2*W/2, d0]
    layers.0.blocks.j                 Swin blocks at H/2 x W/2, width d0
    layers.i.downsample               PatchMerging d(i-1) -> d(i)       (i >= 1)
    layers.i.blocks.j                 Swin blocks at H/2^(i+1) x W/2^(i+1)
    norm                              LayerNorm(d(S-1))
    head_list                         Linear(d(S-1), C)                 (when the release has C)
    bm_list / sm_list [/ bm_list1 / sm_list1]   ModNets over d(S-1)

Decoder (widths ``e = reversed encoder widths``)::

    head_list                         Linear(C, e0)                     (when the release has C)
    bm_list / sm_list                 ModNet over e0
    layers.i.blocks.j                 Swin blocks at H/2^(S-i) x W/2^(S-i), width e(i)
    layers.i.upsample                 PatchReverseMerging e(i) -> e(i+1) (3 after the last stage)

The trunks only run the Swin stages; which ModNet runs where is decided by
:class:`~testbed.codecs.learned.swinjscc_net.SwinJSCCNet`.
"""

from __future__ import annotations

import torch
from torch import nn

from testbed.codecs.learned.swin.blocks import PatchEmbed, PatchMerging, PatchReverseMerging, SwinBlock
from testbed.codecs.learned.swin.modnet import build_modnet


def _blocks(dim: int, depth: int, heads: int, window: int, build_grid: tuple[int, int]) -> nn.ModuleList:
    """``depth`` Swin blocks, every second one shifted by half a window (as released)."""
    return nn.ModuleList(SwinBlock(dim, heads, window, 0 if j % 2 == 0 else window // 2, build_grid)
                         for j in range(depth))


class EncoderStage(nn.Module):
    """Optional :class:`PatchMerging` then Swin blocks (released ``BasicLayer`` of the encoder)."""

    def __init__(self, in_dim: int | None, dim: int, depth: int, heads: int, window: int,
                 build_grid: tuple[int, int]) -> None:
        super().__init__()
        self.blocks = _blocks(dim, depth, heads, window, build_grid)
        self.downsample = PatchMerging(in_dim, dim) if in_dim is not None else None

    def forward(self, x: torch.Tensor, grid: tuple[int, int]) -> tuple[torch.Tensor, tuple[int, int]]:
        if self.downsample is not None:
            x = self.downsample(x, grid)
            grid = (grid[0] // 2, grid[1] // 2)
        for block in self.blocks:
            x = block(x, grid)
        return x, grid


class DecoderStage(nn.Module):
    """Swin blocks then :class:`PatchReverseMerging` (released ``BasicLayer`` of the decoder)."""

    def __init__(self, dim: int, out_dim: int, depth: int, heads: int, window: int,
                 build_grid: tuple[int, int]) -> None:
        super().__init__()
        self.blocks = _blocks(dim, depth, heads, window, build_grid)
        self.upsample = PatchReverseMerging(dim, out_dim)

    def forward(self, x: torch.Tensor, grid: tuple[int, int]) -> tuple[torch.Tensor, tuple[int, int]]:
        for block in self.blocks:
            x = block(x, grid)
        return self.upsample(x, grid), (grid[0] * 2, grid[1] * 2)


class EncoderTrunk(nn.Module):
    """Image ``[N, 3, H, W]`` -> normalised features ``[N, H*W / 4**S, d(S-1)]`` (:meth:`features`).

    Args:
        dims, depths, heads: per stage. window: attention window. build_size: the released
            training resolution (decides the ``attn_mask`` buffer shapes only).
        head: width ``C`` of ``head_list`` (``None``: no head, as in the released HR RA models).
        modnets: ModNet suffixes to build, e.g. ``("",)`` or ``("", "1")``.
        modnets_first: register the ModNets before the stages (WITT's key order).
    """

    def __init__(self, dims, depths, heads, window: int, build_size: tuple[int, int], head: int | None,
                 modnets: tuple[str, ...], modnets_first: bool = False) -> None:
        super().__init__()
        self.patch_embed = PatchEmbed(dims[0])
        if modnets_first:
            self._add_modnets(dims[-1], modnets)
        self.layers = nn.ModuleList()
        for i, (dim, depth, nh) in enumerate(zip(dims, depths, heads)):
            grid = (build_size[0] // 2 ** (i + 1), build_size[1] // 2 ** (i + 1))
            self.layers.append(EncoderStage(dims[i - 1] if i else None, dim, depth, nh, window, grid))
        self.norm = nn.LayerNorm(dims[-1])
        if head is not None:
            self.head_list = nn.Linear(dims[-1], head)
        _init(self)  # as released: the trunk (and WITT's early ModNets) get the Swin initialisation
        if not modnets_first:
            self._add_modnets(dims[-1], modnets)

    def _add_modnets(self, width: int, suffixes: tuple[str, ...]) -> None:
        for suffix in suffixes:
            bm_list, sm_list = build_modnet(width)
            setattr(self, "bm_list" + suffix, bm_list)
            setattr(self, "sm_list" + suffix, sm_list)

    def features(self, image: torch.Tensor) -> torch.Tensor:
        grid = (image.shape[-2] // 2, image.shape[-1] // 2)
        x = self.patch_embed(image)
        for stage in self.layers:
            x, grid = stage(x, grid)
        return self.norm(x)


class DecoderTrunk(nn.Module):
    """Features ``[N, h*w, e0]`` at grid ``(h, w)`` -> image ``[N, 3, h * 2**S, w * 2**S]`` (:meth:`image`).

    ``modnet``: build the SNR ModNet ``bm_list``/``sm_list`` (the authors' latest decoder leaves it
    out for the RA variant only; their earlier one builds it always)."""

    def __init__(self, dims, depths, heads, window: int, build_size: tuple[int, int], head: int | None,
                 modnet: bool = True) -> None:
        super().__init__()
        stages = len(dims)
        self.layers = nn.ModuleList()
        for i, (dim, depth, nh) in enumerate(zip(dims, depths, heads)):
            grid = (build_size[0] // 2 ** (stages - i), build_size[1] // 2 ** (stages - i))
            out = dims[i + 1] if i < stages - 1 else 3
            self.layers.append(DecoderStage(dim, out, depth, nh, window, grid))
        if head is not None:
            self.head_list = nn.Linear(head, dims[0])
        _init(self)
        if modnet:
            self.bm_list, self.sm_list = build_modnet(dims[0])

    def image(self, x: torch.Tensor, grid: tuple[int, int]) -> torch.Tensor:
        for stage in self.layers:
            x, grid = stage(x, grid)
        n = x.shape[0]
        return x.transpose(1, 2).reshape(n, 3, grid[0], grid[1])


def _init(module: nn.Module) -> None:
    """The released initialisation of the trunk (the decoder's ModNet is built after it, as released)."""
    for m in module.modules():
        if isinstance(m, nn.Linear):
            nn.init.trunc_normal_(m.weight, std=0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.LayerNorm):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
