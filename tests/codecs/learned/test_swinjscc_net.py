"""SwinJSCCNet: our implementation of the released SwinJSCC / WITT networks (layout, behaviour, loading)."""

from __future__ import annotations

import pytest
import torch

from testbed.codecs.learned.swin.blocks import SwinBlock, attention_mask, relative_index
from testbed.codecs.learned.swin.released import (drop_loss_buffers, parse_released_name,
                                                  read_released_state_dict)
from testbed.codecs.learned.swinjscc_net import SwinJSCCNet
from testbed.core.errors import ConfigError

KW = {"wo": {"channels": 32}, "sa": {"channels": 32}, "ra": {"rates": [16, 32, 64]}, "sa_ra": {"rates": [16, 32, 64]}}
_NETS: dict = {}


def net(variant: str, size: str = "cifar", layout: str = "per_variant") -> SwinJSCCNet:
    key = (variant, size, layout)
    if key not in _NETS:
        torch.manual_seed(0)
        _NETS[key] = SwinJSCCNet(variant, size, modnet_layout=layout, **KW[variant]).eval()
    return _NETS[key]


def images(n=2, h=32, w=32, seed=1):
    return torch.rand(n, 3, h, w, generator=torch.Generator().manual_seed(seed))


def snr(*values):
    return torch.tensor(values, dtype=torch.float32)


@pytest.mark.parametrize("variant", ["wo", "sa", "ra", "sa_ra"])
def test_shapes_every_variant(variant):
    model = net(variant)
    assert (model.stages, model.downsampling) == (2, 4)
    with torch.no_grad():
        feature, selected = model.encode(images(), snr(5, 5), 32 if variant in ("ra", "sa_ra") else None)
        out = model.decode(feature, snr(5, 5), (32, 32))
    assert feature.shape == (2, 64, model.max_channels)
    assert model.max_channels == (32 if variant in ("wo", "sa") else 256)
    assert (selected is None) == (variant in ("wo", "sa"))
    assert out.shape == (2, 3, 32, 32) and torch.isfinite(out).all()


@pytest.mark.parametrize("variant", ["ra", "sa_ra"])
def test_rate_selects_that_many_channels(variant):
    model = net(variant)
    with torch.no_grad():
        f16, s16 = model.encode(images(), snr(5, 5), 16)
        f64, s64 = model.encode(images(), snr(5, 5), 64)
    assert s16.dtype == torch.bool and s16.sum(1).tolist() == [16, 16] and s64.sum(1).tolist() == [64, 64]
    assert not torch.equal(s16, s64)
    assert (f16[~s16[:, None, :].expand_as(f16)] == 0).all()  # unselected channels are zero
    assert not torch.allclose(f16, f64)


@pytest.mark.parametrize("variant", ["wo", "sa", "ra", "sa_ra"])
def test_snr_changes_only_sa_variants(variant):
    model, rate = net(variant), (32 if variant in ("ra", "sa_ra") else None)
    with torch.no_grad():
        lo, _ = model.encode(images(), snr(0, 0), rate)
        hi, _ = model.encode(images(), snr(15, 15), rate)
        out_lo = model.decode(lo, snr(0, 0), (32, 32))
        out_lo_hi = model.decode(lo, snr(15, 15), (32, 32))
    sa = variant in ("sa", "sa_ra")
    assert torch.equal(lo, hi) is not sa
    assert torch.equal(out_lo, out_lo_hi) is not sa


def test_mixed_snr_batch_equals_single_runs_and_is_deterministic():
    model = net("sa")
    x = images()
    with torch.no_grad():
        both, _ = model.encode(x, snr(1, 13), None)
        first, _ = model.encode(x[:1], snr(1), None)
        second, _ = model.encode(x[1:], snr(13), None)
        again, _ = model.encode(x, snr(1, 13), None)
    torch.testing.assert_close(both, torch.cat([first, second]), rtol=1e-5, atol=1e-5)
    assert torch.equal(both, again)


def test_block_matches_explicit_released_algorithm():
    """Shifted block at a window-multiple grid == roll, window softmax(qk*scale + bias + mask), roll back."""
    torch.manual_seed(3)
    block = SwinBlock(dim=16, heads=2, window=4, shift=2, build_grid=(8, 12)).eval()
    x = torch.randn(2, 8 * 12, 16)
    with torch.no_grad():
        ours = block(x, (8, 12))
        y = block.norm1(x).view(2, 8, 12, 16).roll((-2, -2), (1, 2))
        win = y.view(2, 2, 4, 3, 4, 16).permute(0, 1, 3, 2, 4, 5).reshape(-1, 16, 16)
        q, k, v = block.attn.qkv(win).view(-1, 16, 3, 2, 8).permute(2, 0, 3, 1, 4)
        bias = block.attn.relative_position_bias_table[block.attn.relative_position_index.view(-1)]
        att = (q * 8**-0.5) @ k.transpose(-2, -1) + bias.view(16, 16, 2).permute(2, 0, 1)
        att = att.view(2, 6, 2, 16, 16) + block.attn_mask[None, :, None]
        out = (att.softmax(-1).view(-1, 2, 16, 16) @ v).transpose(1, 2).reshape(-1, 16, 16)
        out = block.attn.proj(out).view(2, 2, 3, 4, 4, 16).permute(0, 1, 3, 2, 4, 5).reshape(2, 8, 12, 16)
        ref = x + out.roll((2, 2), (1, 2)).reshape(2, 96, 16)
        ref = ref + block.mlp(block.norm2(ref))
    torch.testing.assert_close(ours, ref, rtol=1e-5, atol=1e-5)
    assert block.attn_mask.shape == (6, 16, 16) and set(block.attn_mask.unique().tolist()) == {0.0, -100.0}


def test_padded_and_shrunk_grids():
    """Grids that are not window multiples run; padded keys get no weight; a small grid shrinks the window."""
    mask = attention_mask(5, 6, 4, 2, 8, 8)
    assert mask.shape == (4, 16, 16) and torch.isinf(mask).any() and not torch.isinf(mask.diagonal(0, 1, 2)).any()
    assert relative_index(2, 4).max() < 49 and torch.equal(relative_index(4, 4), relative_index(4, 4))
    torch.manual_seed(4)
    block = SwinBlock(dim=8, heads=2, window=4, shift=0, build_grid=(8, 8)).eval()
    x = torch.randn(1, 6 * 8, 8)
    with torch.no_grad():  # unshifted: the window row without padding equals the block on those rows alone
        torch.testing.assert_close(block(x, (6, 8))[:, :32], block(x[:, :32], (4, 8)), rtol=1e-5, atol=1e-6)
    model = net("sa")
    with torch.no_grad():
        out = model(images(1, 20, 28), snr(5))  # cifar: grids 10x14 and 5x7 (window 2, padded)
    assert out.shape == (1, 3, 20, 28) and torch.isfinite(out).all()
    small = SwinJSCCNet("wo", "small", channels=16).eval()
    with torch.no_grad():
        out = small(images(1, 64, 96), snr(5))  # last grids 4x6 (< window 8) and 8x12 (padded)
    assert out.shape == (1, 3, 64, 96) and torch.isfinite(out).all()
    with pytest.raises(ValueError):
        model.encode(images(1, 30, 32), snr(5))


def test_hr_size_non_square():
    model = SwinJSCCNet("sa_ra", "small", rates=[32, 96]).eval()
    with torch.no_grad():
        for h, w in ((256, 128), (128, 256)):
            feature, sel = model.encode(images(1, h, w), snr(7), 96)
            out = model.decode(feature, snr(7), (h, w))
            assert feature.shape == (1, h * w // 256, 320) and sel.sum() == 96 and out.shape == (1, 3, h, w)


def _other_grid_masks(state: dict) -> dict:
    state = dict(state)
    for key, value in state.items():
        if key.endswith("attn_mask"):
            state[key] = torch.zeros(3, *value.shape[1:])  # as if saved after running another resolution
    return state


def test_load_accepts_masks_of_any_grid_and_is_strict_otherwise(tmp_path):
    source = net("sa_ra")
    state = _other_grid_masks(source.state_dict())
    path = tmp_path / "w.model"
    torch.save(state, path)
    loaded = read_released_state_dict(path)
    target = SwinJSCCNet("sa_ra", "cifar", rates=[16, 32, 64]).eval()
    target.load_released(loaded)
    with torch.no_grad():
        assert torch.equal(target(images(), snr(3, 3), 32), source(images(), snr(3, 3), 32))
    missing = {k: v for k, v in loaded.items() if not k.endswith("decoder.head_list.bias")}
    with pytest.raises(ConfigError, match="missing 1: decoder.head_list.bias"):
        target.load_released(missing)
    with pytest.raises(ConfigError, match="unexpected 1: encoder.extra"):
        target.load_released({**loaded, "encoder.extra": torch.zeros(1)})
    with pytest.raises(ConfigError, match="unexpected 116: encoder.bm_list1"):  # + the decoder ModNet
        SwinJSCCNet("ra", "cifar", rates=[16, 32, 64], channels=32).load_released(loaded)
    with pytest.raises(ConfigError, match="shape mismatch"):
        SwinJSCCNet("sa_ra", "cifar", rates=[16], channels=8).load_released(loaded)


def test_refuses_files_that_are_not_tensor_dicts(tmp_path):
    bad = tmp_path / "pickled.model"
    torch.save({"encoder.x": torch.zeros(1), "obj": ConfigError("x")}, bad)  # a pickled object
    with pytest.raises(ConfigError, match="pickled.model"):
        read_released_state_dict(bad)
    numbers = tmp_path / "numbers.model"
    torch.save({"encoder.x": 3}, numbers)
    with pytest.raises(ConfigError, match="numbers.model.*not a tensor"):
        read_released_state_dict(numbers)
    wrapped = tmp_path / "wrapped.model"
    torch.save({"state_dict": {"encoder.x": torch.zeros(2)}}, wrapped)
    assert list(read_released_state_dict(wrapped)) == ["encoder.x"]


def test_ms_ssim_loss_buffers_are_checked_and_dropped():
    g = torch.exp(-((torch.arange(11.0) - 5) ** 2) / (2 * 1.5**2))
    window = (g / g.sum()).reshape(1, 1, 1, 11).repeat(3, 1, 1, 1)
    w = torch.tensor([0.0448, 0.2856, 0.3001, 0.2363])
    state = {"encoder.a": torch.zeros(1), "distortion_loss.dist.window": window,
             "distortion_loss.dist.weights": w / w.sum()}
    assert list(drop_loss_buffers(state)) == ["encoder.a"]
    with pytest.raises(ConfigError, match="weights"):
        drop_loss_buffers({**state, "distortion_loss.dist.weights": torch.ones(4)})
    with pytest.raises(ConfigError, match="unexpected"):
        drop_loss_buffers({**state, "distortion_loss.other": torch.ones(4)})


def test_layouts():
    per = set(net("wo").state_dict())
    full = set(net("wo", layout="full").state_dict())
    assert {k for k in full - per} and all(".bm_list1." in k or ".sm_list1." in k for k in full - per)
    assert not any("list1" in k for k in SwinJSCCNet("ra", "base", rates=[32]).state_dict())
    assert not any("head_list" in k for k in SwinJSCCNet("ra", "base", rates=[32]).state_dict())
    witt = SwinJSCCNet.witt("cifar", channels=32).state_dict()
    sa = net("sa").state_dict()
    assert {k: v.shape for k, v in witt.items()} == {k: v.shape for k, v in sa.items()}
    assert list(witt)[2].startswith("encoder.bm_list.") and list(sa)[2].startswith("encoder.layers.")
    with pytest.raises(ConfigError):
        SwinJSCCNet("ra", "base", rates=[400])


def test_released_names():
    p = parse_released_name("SwinJSCC_w_SAandRA_AWGN_HRimage_cbr_psnr_snr.model")
    assert (p["family"], p["variant"], p["size"], p["channel"], p["metric"]) == ("swinjscc", "sa_ra", "base", "awgn", "psnr")
    assert p["rates"] == [32, 64, 96, 128, 192] and p["snr_db"] == [1, 4, 7, 10, 13]
    p = parse_released_name("/w/SwinJSCC_wo_SAandRA_Rayleigh_HRimage_snr3_psnr_C192.model")
    assert (p["variant"], p["channel"], p["rates"], p["snr_db"]) == ("wo", "rayleigh", [192], [3.0])
    p = parse_released_name("SwinJSCC_w_RA_Raylegh_HRimage_cbr_psnr_snr3_v2.model")
    assert (p["variant"], p["channel"], p["snr_db"]) == ("ra", "rayleigh", [3.0])
    p = parse_released_name("SwinJSCC_w_SA_AWGN_CIFAR10_snr_msssim_C32.model")
    assert (p["variant"], p["size"], p["rates"], p["metric"]) == ("sa", "cifar", [32], "msssim")
    p = parse_released_name("pretrained_SwinJSCC_w_SAandRA_small_AWGN_HRimage_cbr_psnr_snr13.model")
    assert (p["size"], p["snr_db"]) == ("small", [13.0])
    p = parse_released_name("WITT_AWGN_DIV2K_random_snr_psnr_C96.model")
    assert (p["family"], p["variant"], p["size"], p["rates"], p["snr_db"]) == ("witt", "sa", "base", [96], [1, 4, 7, 10, 13])
    p = parse_released_name("WITT_rayleigh_CIFAR10_fixed_snr10_msssim_C32.model")
    assert (p["channel"], p["size"], p["snr_db"], p["metric"]) == ("rayleigh", "cifar", [10.0], "msssim")
    for bad in ("my_model.pth", "SwinJSCC_w_SA_AWGN_HRimage_psnr.model", "SwinJSCC_w_SA_AWGN_HRimage_snr_psnr_C96_x.model"):
        with pytest.raises(ConfigError, match="variant.*size.*channel"):
            parse_released_name(bad)
