"""The swinjscc / witt codec: released layouts, released-style files, matching, conventions, sweeps.

The layouts are compared with ``tests/fixtures/swinjscc_state_dicts.json.gz``, enumerated from the
authors' released code by rules written apart from our model code (``make_swinjscc_fixture.py``,
``SWINJSCC_FIXTURE.md``: sources and commits). No released file is reachable here: the files below
are seeded random networks saved with the released key layout and name.
"""

from __future__ import annotations

import gzip
import json
import math
from pathlib import Path

import pytest
import torch

from testbed.codecs.learned.swinjscc_net import SwinJSCCNet
from testbed.codecs.swinjscc import SwinJSCC
from testbed.config.catalogue import available
from testbed.core.channel import ChannelOutput
from testbed.core.errors import ConfigError
from testbed.core.weights import MissingWeightsError
from testbed.run.results import read_results
from testbed.run.sweep import run_sweep
from testbed.testing import check_codec

from ..conftest import TINY

FIXTURE = Path(__file__).parent.parent / "fixtures" / "swinjscc_state_dicts.json.gz"
LAYOUTS = json.loads(gzip.decompress(FIXTURE.read_bytes()))
#: CIFAR-size released-style files: 2 stages (CBR = C / 96), fast on any image whose sides are multiples of 4
CIFAR_SA = "SwinJSCC_w_SA_AWGN_CIFAR10_snr_psnr_C32.model"


def _built(name: str) -> SwinJSCCNet:
    channels = LAYOUTS["_channels"][name]["C"]
    if name.startswith("witt/"):
        return SwinJSCCNet.witt(size="base" if name.endswith("hr") else "cifar", channels=channels)
    variant, size, layout = name.split("/")
    if isinstance(channels, list):
        return SwinJSCCNet(variant, size, rates=channels, modnet_layout=layout)
    rates = [channels] if variant in ("ra", "sa_ra") else None
    return SwinJSCCNet(variant, size, channels=channels, rates=rates, modnet_layout=layout)


@pytest.mark.parametrize("name", sorted(k for k in LAYOUTS if not k.startswith("_")))
def test_state_dict_keys_and_shapes_equal_the_released_layout(name):
    got = [(k, list(v.shape)) for k, v in _built(name).state_dict().items()]
    assert got == [(k, v) for k, v in LAYOUTS[name].items()]  # keys, shapes and order


def save_released(folder: Path, name: str, seed: int = 0, **kwargs) -> Path:
    """A seeded random network saved as the authors save theirs (a bare state dict, their name)."""
    torch.manual_seed(seed)
    net = SwinJSCCNet(**kwargs)
    path = folder / name
    torch.save(net.state_dict(), path)
    return path


@pytest.fixture
def weights(tmp_path, monkeypatch):
    folder = tmp_path / "weights"
    folder.mkdir()
    monkeypatch.setenv("TESTBED_WEIGHTS", str(folder))
    return folder


def test_both_codecs_are_listed_and_refused_without_their_files(make_cfg, tmp_path, weights):
    assert {"swinjscc", "swinjscc_sa", "swinjscc_ra", "swinjscc_wo", "witt"} <= set(available("codec"))
    for codec, file, drive in (("swinjscc", "SwinJSCC_w_SAandRA_AWGN_HRimage_cbr_psnr_snr.model", "semcomm/SwinJSCC"),
                               ("witt", "WITT_AWGN_DIV2K_random_snr_psnr_C96.model", "KeYang8/WITT")):
        with pytest.raises(MissingWeightsError) as err:
            run_sweep(make_cfg(*TINY, f"codec=[{codec}]", "channel=[awgn]", "cbr=[1/16]", "snr_db=[4]"), tmp_path)
        assert file in str(err.value) and drive in str(err.value) and "TESTBED_WEIGHTS" in str(err.value)
        assert not (tmp_path / "results.csv").exists()


def test_a_released_style_file_runs_a_sweep_scored_by_every_offline_metric(make_cfg, tmp_path, weights):
    save_released(weights, CIFAR_SA, variant="sa", size="cifar", channels=32)
    cfg = make_cfg("dataset.limit=2", "dataset.max_side=96", "plots=false", "report=false",
                   "codec=[swinjscc_sa]", f"codec.swinjscc_sa.files=[{CIFAR_SA}]", "channel=[awgn]",
                   "cbr=[1/3]", "snr_db=[4,16]", "unsupported=skip")
    rows = read_results(run_sweep(cfg, tmp_path / "run"))
    assert {r["snr_db"] for r in rows} == {4.0} and len(rows) == 2  # 16 dB is outside the training range 1-13
    (skip,) = json.loads((tmp_path / "run" / "skipped.json").read_text())
    assert skip["snr_db"] == 16 and "SNR 16 dB" in skip["reason"]
    for r in rows:
        assert r["channel_uses"] == r["num_values"] // 3 and r["cbr_actual"] == pytest.approx(1 / 3, rel=0.02)
        assert all(r[m] is not None and math.isfinite(r[m]) for m in ("psnr", "ms_ssim", "st_lpips", "vitscore", "sess"))
        assert CIFAR_SA in r["provenance"] and "weights_sha256" in r["provenance"]


def test_contract_kit_and_determinism(weights):
    save_released(weights, CIFAR_SA, variant="sa", size="cifar", channels=32)
    from testbed.channels.awgn import AWGNChannel

    codec = SwinJSCC(files=[CIFAR_SA]).bind("swinjscc_sa")
    channel = AWGNChannel().bind("awgn")
    first = check_codec(codec, channel, min_psnr_db=0.0)  # random weights: the plumbing, not the quality
    again = check_codec(codec, channel, min_psnr_db=0.0)
    assert torch.equal(first[0].image, again[0].image)


@pytest.mark.parametrize("size", [(512, 768), (768, 512)])
def test_forward_at_kodak_sizes_sends_the_cbr_it_claims(size, weights):
    """SA&RA at the small size (the HR layout, 4 stages), Kodak's two orientations."""
    save_released(weights, "SwinJSCC_w_SAandRA_AWGN_HRimage_cbr_psnr_snr.model", variant="sa_ra", size="small",
                  rates=[32, 64, 96, 128, 192])
    from testbed.channels.awgn import AWGNChannel

    codec = SwinJSCC(files=[{"file": "SwinJSCC_w_SAandRA_AWGN_HRimage_cbr_psnr_snr.model", "size": "small"}])
    codec.bind("swinjscc").check()
    channel = AWGNChannel().bind("awgn")
    codec.encode([], channel, 10.0, 1 / 48)  # selects the file and the rate
    x = torch.rand(1, 3, *size, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        symbols, context = codec.encode_batch(x, torch.tensor([10.0]))
        assert symbols.shape[1] == size[0] * size[1] * 3 // 48  # CBR 1/48: 32 of 320 channels, L * 32 / 2 symbols
        assert symbols.abs().pow(2).mean().item() == pytest.approx(1.0, rel=1e-5)
        assert int(context["selected"].sum()) == 32
        out = codec.decode_batch(ChannelOutput(symbols, None, 0.0), context, torch.tensor([10.0]))
    assert out.shape == (1, 3, *size)


def test_rate_and_snr_adaptation_reach_the_symbols(weights):
    save_released(weights, "SwinJSCC_w_SAandRA_AWGN_HRimage_cbr_psnr_snr.model", variant="sa_ra", size="small",
                  rates=[32, 64, 96, 128, 192])
    from testbed.channels.awgn import AWGNChannel

    codec = SwinJSCC(files=[{"file": "SwinJSCC_w_SAandRA_AWGN_HRimage_cbr_psnr_snr.model", "size": "small"}])
    codec.bind("swinjscc").check()
    channel = AWGNChannel().bind("awgn")
    x = torch.rand(1, 3, 128, 128, generator=torch.Generator().manual_seed(0))
    sent = {}
    for cbr in (1 / 48, 1 / 8):
        for snr in (1.0, 13.0):
            codec.encode([], channel, snr, cbr)
            with torch.no_grad():
                sent[(cbr, snr)], _ = codec.encode_batch(x, torch.tensor([snr]))
    assert sent[(1 / 48, 1.0)].shape[1] * 6 == sent[(1 / 8, 1.0)].shape[1]  # C 32 vs 192
    assert not torch.allclose(sent[(1 / 8, 1.0)], sent[(1 / 8, 13.0)])  # the SNR ModNet scales the latent


def test_rayleigh_receiver_gives_the_authors_real_gain_channel():
    """y = h x + n with complex h; removing the phase of h leaves |h| x + n' (n' ~ CN(0, N0) again)."""
    codec = SwinJSCC(files=[{"file": "x.model", "family": "swinjscc", "variant": "wo", "size": "cifar",
                             "channel": "rayleigh", "rates": [32], "snr_db": [10]}])
    g = torch.Generator().manual_seed(0)
    x = torch.randn(1, 8, dtype=torch.complex64, generator=g)
    h = torch.randn(1, 8, dtype=torch.complex64, generator=g)
    n = torch.randn(1, 8, dtype=torch.complex64, generator=g) * 0.1
    rotated = (h * x + n) * h.conj() / h.abs()
    assert torch.allclose(rotated, h.abs() * x + n * h.conj() / h.abs(), atol=1e-6)
    captured = {}

    class Probe(torch.nn.Module):
        def decode(self, feature, snr_db, size):
            captured["feature"] = feature
            return torch.zeros(1, 3, *size)

    codec._used, codec.models[0].net = codec.models[0], Probe()
    context = {"scale": torch.ones(1, 1), "selected": None, "shape": (1, 4, 4), "size": (8, 8), "padded": (8, 8)}
    codec.decode_batch(ChannelOutput(h * x + n, h, 0.01), context, torch.tensor([10.0]))
    expected = rotated
    assert torch.allclose(captured["feature"].reshape(1, -1), torch.cat([expected.real, expected.imag], 1), atol=1e-6)


def test_channel_matching_and_entry_fields(weights):
    from testbed.channels.awgn import AWGNChannel
    from testbed.channels.rayleigh import RayleighChannel

    save_released(weights, "SwinJSCC_w_SA_Rayleigh_CIFAR10_snr_psnr_C32.model", variant="sa", size="cifar", channels=32)
    codec = SwinJSCC(files=["SwinJSCC_w_SA_Rayleigh_CIFAR10_snr_psnr_C32.model"]).bind("swinjscc_sa")
    codec.check()
    codec.check_point(RayleighChannel().bind("rayleigh"), 1 / 3)
    for channel in (AWGNChannel(), RayleighChannel(csi="none"), RayleighChannel(coherence=64)):
        with pytest.raises(ConfigError, match="no released file serves"):
            codec.check_point(channel.bind("c"), 1 / 3)
    with pytest.raises(ConfigError, match="unknown field"):
        SwinJSCC(files=[{"file": CIFAR_SA, "snr": 3}])
    with pytest.raises(ConfigError, match="not a known SwinJSCC/WITT name.*leaves out variant, size"):
        SwinJSCC(files=["my_model.pt"])
    stated = SwinJSCC(files=[{"file": "my_model.pt", "family": "swinjscc", "variant": "sa", "size": "cifar",
                              "channel": "awgn", "rates": 32, "snr_db": [1, 13]}])
    assert stated.models[0].serves_snr(7) and not stated.models[0].serves_snr(14)
