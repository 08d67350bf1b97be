"""SwinJSCC (Yang et al., TCCN 2024) and WITT (ICASSP 2023): our implementation, released layout.

The module tree under ``encoder`` / ``decoder`` (and so every state-dict key and shape) equals
the released ``SwinJSCC`` / ``WITT`` networks (github.com/semcomm/SwinJSCC, github.com/KeYang8/WITT)
minus their loss and channel modules, so the released files load with a strict key check
(:meth:`SwinJSCCNet.load_released`; read them with
:func:`testbed.codecs.learned.swin.released.read_released_state_dict`).

Sizes (:data:`SIZES`) are the configs of SwinJSCC's ``main.py`` / ``test.py`` (DIV2K: small,
base, large; CIFAR10: cifar); WITT's ``train.py`` has the base and cifar ones.

Variants (the released ``--model``):

* ``wo`` (``SwinJSCC_w/o_SAandRA``): ``C = channels`` latent channels; no ModNet runs.
* ``sa`` (``SwinJSCC_w/_SA``, and WITT): the channel ModNet scales the features by the SNR (dB)
  before ``head_list`` in the encoder and after it in the decoder.
* ``ra`` (``SwinJSCC_w/_RA``): the rate ModNet scales the ``d = 320`` (cifar: 256) trunk features
  by the rate (the channel count, a float); the ``rate`` channels with the largest summed scale
  are sent, the rest zeroed. No head, no SNR.
* ``sa_ra``: the SNR ModNet (``bm_list1``/``sm_list1``), then the rate ModNet as in ``ra``;
  the decoder's SNR ModNet acts on the received ``d`` channels directly.

``modnet_layout``: ``per_variant`` is the authors' latest ``net/encoder.py`` (commit 7a9dea0: the
encoder builds ``bm_list1``/``sm_list1`` only for SA&RA); ``full`` is their earlier one (commits
96176d9, 7d55ce2: every variant carries both encoder ModNets, and the decoder's ModNet). The latest
decoder builds its SNR ModNet for every variant but ``ra`` (its model-aware ``net/decoder.py`` is not
in the stored history; the rule is read from derived copies of it, see
``tests/fixtures/SWINJSCC_FIXTURE.md``). Unused ModNets are carried as released (e.g. ``wo`` has
the encoder's and decoder's ``bm_list``/``sm_list``).
"""

from __future__ import annotations

import torch
from torch import nn

from testbed.codecs.learned.swin.blocks import SwinBlock
from testbed.codecs.learned.swin.modnet import modnet_scale, select_channels
from testbed.codecs.learned.swin.released import check_state_dict, drop_loss_buffers
from testbed.codecs.learned.swin.trunks import DecoderTrunk, EncoderTrunk
from testbed.core.errors import ConfigError

#: Encoder widths, depths and heads per stage, window, and the training size the released code
#: builds at (decides the shapes of the ``attn_mask`` buffers). The decoder reverses each list.
SIZES = {
    "small": dict(dims=(128, 192, 256, 320), depths=(2, 2, 2, 2), heads=(4, 6, 8, 10), window=8, build=(256, 256)),
    "base": dict(dims=(128, 192, 256, 320), depths=(2, 2, 6, 2), heads=(4, 6, 8, 10), window=8, build=(256, 256)),
    "large": dict(dims=(128, 192, 256, 320), depths=(2, 2, 18, 2), heads=(4, 6, 8, 10), window=8, build=(256, 256)),
    "cifar": dict(dims=(128, 256), depths=(2, 4), heads=(4, 8), window=2, build=(32, 32)),
}
VARIANTS = ("wo", "sa", "ra", "sa_ra")
LAYOUTS = ("per_variant", "full", "witt")


class SwinJSCCNet(nn.Module):
    """The released SwinJSCC / WITT encoder and decoder.

    Args:
        variant: ``wo``, ``sa``, ``ra`` or ``sa_ra``.
        size: ``small``, ``base``, ``large`` or ``cifar``.
        channels: ``C`` (the ``head_list`` width) for ``wo``/``sa``. For ``ra``/``sa_ra`` only at
            the cifar size, where the released CIFAR10 config builds an (unused) ``head_list`` of
            width ``C`` too (default there: ``max(rates)``).
        rates: the rate list of ``ra``/``sa_ra`` (each at most :attr:`max_channels`).
        modnet_layout: ``per_variant``, ``full`` or ``witt`` (WITT: ``sa`` with the encoder's
            ModNet registered before its stages, which is WITT's key order; same keys as ``sa``).
        window_rule: ``runtime`` (default; the released evaluation: blocks built at the training
            size keep window and shift at any grid that is a window multiple) or ``build`` (a
            released block built at the input size: no shift where ``min(grid) == window``).
    """

    def __init__(self, variant: str, size: str = "base", channels: int | None = None,
                 rates: list[int] | None = None, modnet_layout: str = "per_variant",
                 window_rule: str = "runtime") -> None:
        super().__init__()
        if variant not in VARIANTS:
            raise ConfigError(f"SwinJSCCNet: variant {variant!r}; use one of {VARIANTS}")
        if size not in SIZES:
            raise ConfigError(f"SwinJSCCNet: size {size!r}; use one of {sorted(SIZES)}")
        if modnet_layout not in LAYOUTS or (modnet_layout == "witt" and variant not in ("wo", "sa")):
            raise ConfigError(f"SwinJSCCNet: modnet_layout {modnet_layout!r}; use one of {LAYOUTS} "
                              "(witt: variant sa, or wo for WITT_W/O)")
        if window_rule not in ("runtime", "build"):
            raise ConfigError(f"SwinJSCCNet: window_rule {window_rule!r}; use runtime or build")
        cfg = SIZES[size]
        self.variant, self.size, self.modnet_layout = variant, size, modnet_layout
        self.width = cfg["dims"][-1]
        adaptive = variant in ("ra", "sa_ra")
        if adaptive:
            if not rates or any(not 0 < int(r) <= self.width for r in rates):
                raise ConfigError(f"SwinJSCCNet {variant}: give rates, each in 1..{self.width}; got {rates}")
            self.rates = sorted(int(r) for r in rates)
            if channels is not None and size != "cifar":
                raise ConfigError(f"SwinJSCCNet {variant} {size}: the released HR models have no C (head); "
                                  "give rates only")
            head = (channels or self.rates[-1]) if size == "cifar" else None
        else:
            if channels is None or int(channels) <= 0 or (rates and [int(r) for r in rates] != [int(channels)]):
                raise ConfigError(f"SwinJSCCNet {variant}: give channels (C) and no rate list; got "
                                  f"channels={channels}, rates={rates}")
            head, self.rates = int(channels), [int(channels)]
        modnets = ("", "1") if variant == "sa_ra" or modnet_layout == "full" else ("",)
        self.encoder = EncoderTrunk(cfg["dims"], cfg["depths"], cfg["heads"], cfg["window"], cfg["build"],
                                    head, modnets, modnets_first=modnet_layout == "witt")
        self.decoder = DecoderTrunk(cfg["dims"][::-1], cfg["depths"][::-1], cfg["heads"][::-1], cfg["window"],
                                    cfg["build"], head, modnet=variant != "ra" or modnet_layout == "full")
        for block in self.modules():
            if isinstance(block, SwinBlock):
                block.rule = window_rule

    @classmethod
    def witt(cls, size: str = "base", channels: int = 96) -> "SwinJSCCNet":
        """WITT (its ``train.py``: DIV2K = our ``base``, CIFAR10 = ``cifar``): ``sa`` in WITT's key order."""
        if size not in ("base", "cifar"):
            raise ConfigError(f"WITT was released at sizes base (DIV2K) and cifar (CIFAR10), not {size!r}")
        return cls("sa", size, channels=channels, modnet_layout="witt")

    @property
    def stages(self) -> int:
        """Downsampling stages (patch embedding + merges)."""
        return len(SIZES[self.size]["dims"])

    @property
    def downsampling(self) -> int:
        """Side ratio image : latent grid, ``2 ** stages``; H and W must be multiples of it."""
        return 2 ** self.stages

    @property
    def max_channels(self) -> int:
        """Width of the encoder output: ``C`` (wo/sa) or the trunk width d (ra/sa_ra)."""
        return self.width if self.variant in ("ra", "sa_ra") else self.rates[0]

    def _per_image(self, value, n: int, device, what: str) -> torch.Tensor:
        v = torch.as_tensor(value, dtype=torch.float32, device=device).reshape(-1)
        if v.numel() == 1:
            v = v.expand(n)
        if v.numel() != n:
            raise ValueError(f"SwinJSCCNet: {v.numel()} {what} values for {n} images")
        return v

    def encode(self, x: torch.Tensor, snr_db, rate: int | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``x [N, 3, H, W]`` in [0, 1], ``snr_db [N]`` -> ``(feature [N, L, Cmax], selected)``.

        ``L = H * W / downsampling**2``. ``selected`` (ra/sa_ra) is a bool ``[N, Cmax]`` marking
        the ``rate`` channels kept per image (the others are zero in ``feature``); ``None`` for
        wo/sa. The SNR (dB) and the rate (as a float channel count) enter the ModNets per image.
        """
        n, _, h, w = x.shape
        if h % self.downsampling or w % self.downsampling:
            raise ValueError(f"SwinJSCCNet: image {h}x{w} is not a multiple of {self.downsampling}")
        enc = self.encoder
        f = enc.features(x)
        if self.variant in ("sa", "sa_ra"):
            snr = self._per_image(snr_db, n, x.device, "SNR")
            if self.variant == "sa":
                return enc.head_list(f * modnet_scale(f, snr, enc.bm_list, enc.sm_list)), None
            f = f * modnet_scale(f, snr, enc.bm_list1, enc.sm_list1)
        if self.variant == "wo":
            return enc.head_list(f), None
        if rate is None:
            raise ValueError(f"SwinJSCCNet {self.variant}: give the rate (channels to send)")
        scale = modnet_scale(f, self._per_image(float(rate), n, x.device, "rate"), enc.bm_list, enc.sm_list)
        selected = select_channels(scale, int(rate))
        return f * scale * selected[:, None, :].to(f.dtype), selected

    def decode(self, feature: torch.Tensor, snr_db, size: tuple[int, int]) -> torch.Tensor:
        """``feature [N, L, Cmax]``, ``snr_db [N]``, image size ``(H, W)`` -> ``[N, 3, H, W]`` (unclamped)."""
        n, length, _ = feature.shape
        grid = (size[0] // self.downsampling, size[1] // self.downsampling)
        if grid[0] * grid[1] != length or size[0] % self.downsampling or size[1] % self.downsampling:
            raise ValueError(f"SwinJSCCNet: {length} tokens do not fit an image of {size[0]}x{size[1]}")
        dec = self.decoder
        x = dec.head_list(feature) if self.variant in ("wo", "sa") else feature
        if self.variant in ("sa", "sa_ra"):
            x = x * modnet_scale(x, self._per_image(snr_db, n, feature.device, "SNR"), dec.bm_list, dec.sm_list)
        return dec.image(x, grid)

    def forward(self, x: torch.Tensor, snr_db, rate: int | None = None) -> torch.Tensor:
        """Encode and decode without a channel (for checks): ``[N, 3, H, W] -> [N, 3, H, W]``."""
        feature, _ = self.encode(x, snr_db, rate)
        return self.decode(feature, snr_db, tuple(x.shape[-2:]))

    def load_released(self, state_dict: dict) -> None:
        """Load a released state dict: keys and shapes must equal ours, except ``attn_mask``
        buffers (any grid); distortion-loss buffers are dropped. Raises ConfigError otherwise."""
        state_dict = drop_loss_buffers(dict(state_dict))
        check_state_dict(self.state_dict(), state_dict, f"{self.variant}/{self.size}/{self.modnet_layout}")
        self.load_state_dict(state_dict, strict=True)
