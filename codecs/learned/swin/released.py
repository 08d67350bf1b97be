"""The authors' released SwinJSCC / WITT weight files: reading, checking and naming.

A released file is ``torch.save(net.state_dict())`` of the whole training network
(``SwinJSCC``/``WITT`` in ``net/network.py``): ``encoder.*`` and ``decoder.*``, plus, for models
trained with the MS-SSIM loss, the two buffers of its ``MS_SSIM`` module
(``distortion_loss.dist.window`` ``[3, 1, 1, k]``, a normalised Gaussian of sigma 1.5 with
``k = 11``, or 3 for CIFAR10, and ``distortion_loss.dist.weights`` ``[4]``, the first four
MS-SSIM level weights renormalised). The channel module and the MSE loss hold no tensors.
"""

from __future__ import annotations

import pickle
import re
from pathlib import Path

import torch

from testbed.core.errors import ConfigError

LOSS_PREFIX = "distortion_loss."
_MS_SSIM_LEVEL_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)

#: Training lists the READMEs give for files whose names say only "snr" / "cbr" (random).
README_SNRS = [1.0, 4.0, 7.0, 10.0, 13.0]
README_RATES = [32, 64, 96, 128, 192]


def read_released_state_dict(path) -> dict[str, torch.Tensor]:
    """``path`` -> ``{key: tensor}`` of the network (loss buffers dropped, see :func:`drop_loss_buffers`).

    Loads with ``weights_only=True``; unwraps a top-level ``state_dict`` / ``model`` dict and a
    ``module.`` prefix. Anything that is not a dict of tensors raises :class:`ConfigError`.
    """
    path = Path(path)
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, OSError, ValueError, AttributeError) as err:
        raise ConfigError(f"released file {path}: not a plain PyTorch state dict of tensors "
                          f"(loaded with weights_only=True): {str(err).splitlines()[0] if str(err) else err!r}") from err
    for wrapper in ("state_dict", "model"):
        if isinstance(data, dict) and isinstance(data.get(wrapper), dict):
            data = data[wrapper]
    if not isinstance(data, dict) or not data:
        raise ConfigError(f"released file {path}: expected a dict of tensors, got {type(data).__name__}")
    bad = [k for k, v in data.items() if not isinstance(k, str) or not isinstance(v, torch.Tensor)]
    if bad:
        raise ConfigError(f"released file {path}: entry {bad[0]!r} is a {type(data[bad[0]]).__name__}, "
                          f"not a tensor ({len(bad)} such entries); not a state dict")
    if all(k.startswith("module.") for k in data):
        data = {k[len("module."):]: v for k, v in data.items()}
    try:
        return drop_loss_buffers(data)
    except ConfigError as err:
        raise ConfigError(f"released file {path}: {err}") from None


def _gaussian(k: int, sigma: float = 1.5) -> torch.Tensor:
    x = torch.arange(k, dtype=torch.float64) - k // 2
    g = torch.exp(-(x**2) / (2 * sigma**2))
    return g / g.sum()


def drop_loss_buffers(state: dict) -> dict:
    """Remove the MS-SSIM loss buffers, after checking they are exactly what the released loss holds.

    Any other ``distortion_loss.*`` or ``channel.*`` key raises :class:`ConfigError`.
    """
    extra = [k for k in state if k.startswith(LOSS_PREFIX) or k.startswith("channel.")]
    if not extra:
        return state
    known = {LOSS_PREFIX + "dist.window", LOSS_PREFIX + "dist.weights"}
    unknown = sorted(set(extra) - known)
    if unknown:
        raise ConfigError(f"unexpected loss/channel entries {unknown}; the released losses hold only "
                          f"{sorted(known)}")
    window = state.get(LOSS_PREFIX + "dist.window")
    if window is not None:
        k = window.shape[-1] if window.dim() == 4 else 0
        if window.shape != (3, 1, 1, k) or k not in (3, 11) or not torch.allclose(
                window.double(), _gaussian(k).expand(3, 1, 1, k), atol=1e-6):
            raise ConfigError(f"{LOSS_PREFIX}dist.window {list(window.shape)} is not the released MS-SSIM "
                              "window (a sigma-1.5 Gaussian of 3 or 11 taps per colour channel)")
    weights = state.get(LOSS_PREFIX + "dist.weights")
    if weights is not None:
        want = torch.tensor(_MS_SSIM_LEVEL_WEIGHTS[:4], dtype=torch.float64)
        if weights.shape != (4,) or not torch.allclose(weights.double(), want / want.sum(), atol=1e-6):
            raise ConfigError(f"{LOSS_PREFIX}dist.weights {weights.tolist()} are not the released MS-SSIM "
                              "level weights (4 levels)")
    return {k: v for k, v in state.items() if k not in known}


def check_state_dict(ours: dict, theirs: dict, what: str) -> None:
    """Keys and shapes of ``theirs`` must equal ``ours`` (``attn_mask``: any ``[nW, N, N]``).

    Raises :class:`ConfigError` naming missing keys, unexpected keys and shape mismatches.
    """
    missing = [k for k in ours if k not in theirs]
    unexpected = [k for k in theirs if k not in ours]
    shapes = [f"{k}: file {list(theirs[k].shape)}, ours {list(v.shape)}" for k, v in ours.items()
              if k in theirs and not k.endswith(".attn_mask") and tuple(theirs[k].shape) != tuple(v.shape)]
    if missing or unexpected or shapes:
        parts = []
        for label, items in (("missing", missing), ("unexpected", unexpected), ("shape mismatch", shapes)):
            if items:
                more = f" (+{len(items) - 5} more)" if len(items) > 5 else ""
                parts.append(f"{label} {len(items)}: {', '.join(items[:5])}{more}")
        raise ConfigError(f"state dict does not fit SwinJSCCNet {what}: " + "; ".join(parts) +
                          ". Check variant, size, C / rates and modnet_layout (per_variant or full).")


_SWIN = re.compile(
    r"^(?:pretrained_)?SwinJSCC_(?P<variant>wo_SAandRA|w_SAandRA|w_SA|w_RA)"
    r"(?:_(?P<size>small|base|large))?_(?P<channel>AWGN|Rayleigh|Raylegh|rayleigh|awgn)"
    r"_(?P<data>HRimage|CIFAR10|DIV2K)_(?P<fields>.+?)(?:_v\d+)?\.(?:model|pth|pt)$")
_WITT = re.compile(
    r"^WITT_(?P<channel>AWGN|Rayleigh|rayleigh|awgn)_(?P<data>DIV2K|CIFAR10|HRimage)_"
    r"(?P<snr>random_snr|fixed_snr(?P<snr_value>-?\d+(?:\.\d+)?))_(?P<metric>psnr|msssim)_C(?P<c>\d+)\.(?:model|pth|pt)$")
_VARIANTS = {"wo_SAandRA": "wo", "w_SA": "sa", "w_RA": "ra", "w_SAandRA": "sa_ra"}


def parse_released_name(filename: str) -> dict:
    """What a released file name states: ``family``, ``variant``, ``size``, ``channel``, ``rates``,
    ``snr_db``, ``metric``, ``trainset``.

    SwinJSCC: ``SwinJSCC_<wo_SAandRA|w_SA|w_RA|w_SAandRA>[_<size>]_<AWGN|Rayleigh>_<HRimage|CIFAR10>_``
    then ``snr10`` (fixed) or ``snr`` (random) and ``C96`` (fixed) or ``cbr`` (random rate), and
    ``psnr``/``msssim``, e.g. ``SwinJSCC_w_SAandRA_AWGN_HRimage_cbr_psnr_snr.model``. WITT:
    ``WITT_<AWGN|rayleigh>_<DIV2K|CIFAR10>_<random_snr|fixed_snr10>_<psnr|msssim>_C96.model``.
    A random SNR / rate means the README's lists (:data:`README_SNRS`, :data:`README_RATES`); an HR
    name without a size is ``base`` (main.py's default); ``Raylegh`` (a released typo) is rayleigh.
    Names that do not parse raise :class:`ConfigError` saying which fields to state.
    """
    name = Path(str(filename)).name
    hint = ("state variant (wo/sa/ra/sa_ra), size (small/base/large/cifar), channel (awgn/rayleigh), "
            "rates and snr_db explicitly")
    m = _WITT.match(name)
    if m:
        snr = m["snr_value"]
        return {"family": "witt", "variant": "sa", "size": "cifar" if m["data"] == "CIFAR10" else "base",
                "channel": m["channel"].lower(), "rates": [int(m["c"])],
                "snr_db": [float(snr)] if snr is not None else list(README_SNRS),
                "metric": m["metric"], "trainset": m["data"]}
    m = _SWIN.match(name)
    if not m:
        raise ConfigError(f"released file name {name!r} is not a known SwinJSCC/WITT name; {hint}")
    cifar = m["data"] == "CIFAR10"
    if cifar and m["size"]:
        raise ConfigError(f"released file name {name!r}: CIFAR10 models have one size (cifar); {hint}")
    out = {"family": "swinjscc", "variant": _VARIANTS[m["variant"]], "size": "cifar" if cifar else m["size"] or "base",
           "channel": "rayleigh" if m["channel"].lower().startswith("rayle") else "awgn",
           "trainset": "CIFAR10" if cifar else "HRimage", "rates": None, "snr_db": None, "metric": None}
    for token in m["fields"].split("_"):
        if token in ("psnr", "msssim"):
            out["metric"] = token
        elif token == "cbr":
            out["rates"] = list(README_RATES)
        elif token == "snr":
            out["snr_db"] = list(README_SNRS)
        elif re.fullmatch(r"snr-?\d+(\.\d+)?", token):
            out["snr_db"] = [float(token[3:])]
        elif re.fullmatch(r"C\d+", token):
            out["rates"] = [int(token[1:])]
        else:
            raise ConfigError(f"released file name {name!r}: unknown part {token!r}; {hint}")
    if out["rates"] is None or out["snr_db"] is None or out["metric"] is None:
        gaps = [k for k in ("rates", "snr_db", "metric") if out[k] is None]
        raise ConfigError(f"released file name {name!r} does not state {', '.join(gaps)}; {hint}")
    if (out["variant"] in ("ra", "sa_ra")) != (len(out["rates"]) > 1 or "cbr" in m["fields"].split("_")):
        raise ConfigError(f"released file name {name!r}: variant {out['variant']} does not fit its rate part; {hint}")
    return out
