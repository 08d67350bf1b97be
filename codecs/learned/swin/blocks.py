"""Swin Transformer building blocks with the parameter names of the released SwinJSCC / WITT code.

Tokens are kept as ``[N, L, C]`` with ``L = H * W`` in raster order; every module takes the
token grid ``(H, W)`` at call time, so one network serves any input resolution.

Windows (per block, at the actual grid ``(h, w)``; ``ws``/``shift`` as configured):

* both sides multiples of ``ws`` (this includes ``h == ws``): the released computation, window
  ``ws``, cyclic shift ``shift`` with the Swin region mask (-100 between regions, as released);
* a side smaller than ``ws`` (the released code cannot run there): the window shrinks to
  ``min(h, w)`` and the shift is off (the Swin rule the released blocks apply when built);
  with ``rule="build"`` this also happens when ``min(h, w) == ws`` (a released block *built* at
  that grid; the released evaluation scripts instead build at the training size and keep the shift);
* otherwise the grid is zero-padded at the bottom/right to a window multiple; padded tokens are
  kept out of attention as keys (additive ``-inf``; each token still sees itself, so no row is
  empty) and dropped afterwards.

Relative position biases always come from the block's table (built for ``ws``), indexed by the
true offsets, so a shrunk window uses the centre of the table. Masks and indices are cached per
geometry; the ``attn_mask`` buffers in state dicts are kept only for key compatibility.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

REGION_PENALTY = -100.0  # the released value between different shift regions


def window_partition(x: torch.Tensor, k: int) -> torch.Tensor:
    """``[B, H, W, C]`` -> ``[B, nW, k*k, C]`` (windows in raster order, as released)."""
    b, h, w, c = x.shape
    x = x.view(b, h // k, k, w // k, k, c).permute(0, 1, 3, 2, 4, 5)
    return x.reshape(b, (h // k) * (w // k), k * k, c)


def window_reverse(windows: torch.Tensor, k: int, h: int, w: int) -> torch.Tensor:
    """``[B, nW, k*k, C]`` -> ``[B, H, W, C]`` (inverse of :func:`window_partition`)."""
    b, c = windows.shape[0], windows.shape[-1]
    x = windows.view(b, h // k, w // k, k, k, c).permute(0, 1, 3, 2, 4, 5)
    return x.reshape(b, h, w, c)


_INDEX_CACHE: dict[tuple[int, int], torch.Tensor] = {}
_MASK_CACHE: dict[tuple, torch.Tensor | None] = {}


def relative_index(k: int, table_window: int) -> torch.Tensor:
    """``[k*k, k*k]`` long: row of the bias table (stride ``2*table_window-1``) for each token pair."""
    key = (k, table_window)
    if key not in _INDEX_CACHE:
        ys, xs = torch.meshgrid(torch.arange(k), torch.arange(k), indexing="ij")
        ys, xs = ys.flatten(), xs.flatten()
        dy = ys[:, None] - ys[None, :] + table_window - 1
        dx = xs[:, None] - xs[None, :] + table_window - 1
        _INDEX_CACHE[key] = dy * (2 * table_window - 1) + dx
    return _INDEX_CACHE[key]


def block_geometry(h: int, w: int, ws: int, shift: int, rule: str = "runtime") -> tuple[int, int, int, int]:
    """Window ``k``, shift ``s`` and padded grid ``(hp, wp)`` for a block at grid ``(h, w)``."""
    small = min(h, w) < ws or (rule == "build" and min(h, w) <= ws)
    k, s = (min(h, w), 0) if small else (ws, shift)
    return k, s, -(-h // k) * k, -(-w // k) * k


def attention_mask(h: int, w: int, k: int, s: int, hp: int, wp: int) -> torch.Tensor | None:
    """Additive mask ``[nW, k*k, k*k]`` (region penalty and padded keys), ``None`` if not needed."""
    key = (h, w, k, s, hp, wp)
    if key in _MASK_CACHE:
        return _MASK_CACHE[key]
    mask = None
    if s > 0:
        label = torch.zeros(hp, wp)
        cuts = (slice(0, -k), slice(-k, -s), slice(-s, None))
        for i, rows in enumerate(cuts):
            for j, cols in enumerate(cuts):
                label[rows, cols] = 3 * i + j
        lab = window_partition(label[None, :, :, None], k)[0, :, :, 0]  # nW, N
        mask = (lab[:, None, :] != lab[:, :, None]).float() * REGION_PENALTY
    if hp != h or wp != w:
        pad = torch.ones(hp, wp)
        pad[:h, :w] = 0
        if s > 0:
            pad = torch.roll(pad, shifts=(-s, -s), dims=(0, 1))
        pad = window_partition(pad[None, :, :, None], k)[0, :, :, 0].bool()  # nW, N (key is padding)
        n = k * k
        blocked = pad[:, None, :].expand(-1, n, -1) & ~torch.eye(n, dtype=torch.bool)
        pad_mask = torch.zeros(blocked.shape).masked_fill(blocked, float("-inf"))
        mask = pad_mask if mask is None else mask + pad_mask
    _MASK_CACHE[key] = mask
    return mask


class WindowAttention(nn.Module):
    """Multi-head self-attention inside windows with a learned relative position bias.

    Parameters as released: ``relative_position_bias_table [(2ws-1)^2, heads]``, buffer
    ``relative_position_index [ws^2, ws^2]``, ``qkv``, ``proj``.
    """

    def __init__(self, dim: int, window: int, heads: int) -> None:
        super().__init__()
        self.dim, self.window, self.heads = dim, window, heads
        self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * window - 1) ** 2, heads))
        self.register_buffer("relative_position_index", relative_index(window, window).clone())
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        nn.init.trunc_normal_(self.relative_position_bias_table, std=0.02)

    def forward(self, x: torch.Tensor, k: int, mask: torch.Tensor | None) -> torch.Tensor:
        """``x [B, nW, k*k, C]``, ``mask [nW, k*k, k*k]`` or ``None`` -> ``[B, nW, k*k, C]``."""
        b, nw, n, c = x.shape
        qkv = self.qkv(x).view(b, nw, n, 3, self.heads, c // self.heads).permute(3, 0, 1, 4, 2, 5)
        index = relative_index(k, self.window).to(x.device)
        bias = self.relative_position_bias_table[index.reshape(-1)].view(n, n, self.heads).permute(2, 0, 1)
        bias = bias if mask is None else bias[None] + mask.to(x.device, x.dtype)[:, None]
        out = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2], attn_mask=bias.to(x.dtype))
        return self.proj(out.transpose(2, 3).reshape(b, nw, n, c))


class Mlp(nn.Module):
    """``fc1 -> GELU -> fc2`` (hidden = ``ratio * dim``)."""

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


class SwinBlock(nn.Module):
    """Pre-norm (shifted-)window attention and MLP, both residual: ``[N, H*W, C] -> same``.

    ``build_grid`` is the grid the released code built this block at (its training resolution);
    it only decides whether a shifted block carries an ``attn_mask`` buffer and of which shape.
    """

    rule = "runtime"  # see the module docstring; set per network by SwinJSCCNet

    def __init__(self, dim: int, heads: int, window: int, shift: int, build_grid: tuple[int, int],
                 mlp_ratio: float = 4.0) -> None:
        super().__init__()
        if min(build_grid) <= window:
            window, shift = min(build_grid), 0
        self.window, self.shift = window, shift
        self.norm1 = nn.LayerNorm(dim)
        self.attn = WindowAttention(dim, window, heads)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))
        if shift > 0:
            hb, wb = build_grid
            self.register_buffer("attn_mask", attention_mask(hb, wb, window, shift, hb, wb).clone())
        else:
            self.attn_mask = None

    def forward(self, x: torch.Tensor, grid: tuple[int, int]) -> torch.Tensor:
        h, w = grid
        b, length, c = x.shape
        if length != h * w:
            raise ValueError(f"SwinBlock: {length} tokens do not fill a {h}x{w} grid")
        k, s, hp, wp = block_geometry(h, w, self.window, self.shift, self.rule)
        y = self.norm1(x).view(b, h, w, c)
        if (hp, wp) != (h, w):
            y = F.pad(y, (0, 0, 0, wp - w, 0, hp - h))
        if s:
            y = torch.roll(y, shifts=(-s, -s), dims=(1, 2))
        y = self.attn(window_partition(y, k), k, attention_mask(h, w, k, s, hp, wp))
        y = window_reverse(y, k, hp, wp)
        if s:
            y = torch.roll(y, shifts=(s, s), dims=(1, 2))
        y = y[:, :h, :w].reshape(b, length, c)
        x = x + y
        return x + self.mlp(self.norm2(x))

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs):
        """Accept an ``attn_mask`` of any grid (never used: masks are recomputed per input)."""
        key = prefix + "attn_mask"
        if self.shift > 0:
            mask = state_dict.get(key)
            if mask is not None and mask.dim() == 3 and mask.shape[1] == mask.shape[2]:
                # take the file's shape; the values are then copied in by the default loader
                self.attn_mask = torch.empty_like(mask, device=self.attn.qkv.weight.device)
            elif mask is not None:
                error_msgs.append(f"{key}: expected [windows, N, N], got {list(mask.shape)}")
                state_dict = {k: v for k, v in state_dict.items() if k != key}
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys,
                                      unexpected_keys, error_msgs)


class PatchEmbed(nn.Module):
    """``[N, 3, H, W] -> [N, H/2 * W/2, dim]`` with a 2x2 stride-2 convolution (``proj``)."""

    def __init__(self, dim: int, in_chans: int = 3, patch: int = 2) -> None:
        super().__init__()
        self.proj = nn.Conv2d(in_chans, dim, kernel_size=patch, stride=patch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x).flatten(2).transpose(1, 2)


class PatchMerging(nn.Module):
    """``[N, H*W, C] -> [N, H/2*W/2, out]``: concatenate each 2x2 patch, LayerNorm, linear."""

    def __init__(self, dim: int, out_dim: int) -> None:
        super().__init__()
        self.reduction = nn.Linear(4 * dim, out_dim, bias=False)
        self.norm = nn.LayerNorm(4 * dim)

    def forward(self, x: torch.Tensor, grid: tuple[int, int]) -> torch.Tensor:
        h, w = grid
        b, _, c = x.shape
        x = x.view(b, h, w, c)
        # order of the four taps as released: (even, even), (odd, even), (even, odd), (odd, odd)
        x = torch.cat([x[:, 0::2, 0::2], x[:, 1::2, 0::2], x[:, 0::2, 1::2], x[:, 1::2, 1::2]], dim=-1)
        return self.reduction(self.norm(x.view(b, -1, 4 * c)))


class PatchReverseMerging(nn.Module):
    """``[N, H*W, C] -> [N, 2H*2W, out]``: LayerNorm, linear to ``4*out``, pixel shuffle by 2."""

    def __init__(self, dim: int, out_dim: int) -> None:
        super().__init__()
        self.increment = nn.Linear(dim, 4 * out_dim, bias=False)
        self.norm = nn.LayerNorm(dim)

    def forward(self, x: torch.Tensor, grid: tuple[int, int]) -> torch.Tensor:
        h, w = grid
        b = x.shape[0]
        x = self.increment(self.norm(x)).view(b, h, w, -1).permute(0, 3, 1, 2)
        return F.pixel_shuffle(x, 2).flatten(2).transpose(1, 2)
