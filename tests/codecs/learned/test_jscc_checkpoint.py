"""Checkpoint choice of learned codecs: per (channel, CBR) from what each checkpoint says it is."""

import math

import pytest
import torch

from testbed.channels.awgn import AWGNChannel
from testbed.channels.rayleigh import RayleighChannel
from testbed.codecs.learned.deepjscc_net import DeepJSCCNet
from testbed.codecs.learned.checkpoint import JSCCCheckpoint, resolve_checkpoint
from testbed.codecs.learned_jscc import LearnedJSCC
from testbed.core.errors import ConfigError
from testbed.core.seeding import make_generator
from testbed.testing import tiny_image

AWGN = "testbed.channels.awgn.AWGNChannel"
RAYLEIGH = "testbed.channels.rayleigh.RayleighChannel"


def _save(path, channel, c, seed, receiver=None, **settings):
    """A checkpoint in the format ``testbed-train`` writes (seeded random weights)."""
    torch.manual_seed(seed)
    model = DeepJSCCNet(latent_channels=c, width=8)
    config = {"model": {"_target_": "testbed.codecs.learned.deepjscc_net.DeepJSCCNet", "latent_channels": c, "width": 8},
              "channel": {"_target_": channel, **settings}}
    if receiver:
        config["codec"] = {"receiver": receiver}
    torch.save({"model": model.state_dict(), "config": config, "step": 7, "wall_time_s": 1.5,
                "val_psnr": [(7, 12.5)], "data": {"path": "photos"}}, path)
    return path


@pytest.fixture
def codec(tmp_path):
    files = [str(_save(tmp_path / "awgn16.pt", AWGN, 6, 0)), str(_save(tmp_path / "awgn8.pt", AWGN, 12, 1)),
             str(_save(tmp_path / "ray16.pt", RAYLEIGH, 6, 2))]
    codec = LearnedJSCC(checkpoints=files)
    codec.bind("deepjscc")
    codec.check()
    return codec


def test_the_checkpoint_fitting_channel_and_cbr_is_used(codec):
    assert codec.supported_cbrs() == [pytest.approx(1 / 16), pytest.approx(1 / 8)]
    assert codec.select(AWGNChannel(), 1 / 16).path.name == "awgn16.pt"
    assert codec.select(AWGNChannel(), 1 / 8).path.name == "awgn8.pt"
    assert codec.select(RayleighChannel(), 1 / 16).path.name == "ray16.pt"
    record = tiny_image(64)
    for channel, cbr, name in ((AWGNChannel(), 1 / 8, "awgn8.pt"), (RayleighChannel(), 1 / 16, "ray16.pt")):
        (rec,) = codec.transmit([record], channel, 10.0, cbr, lambda r, *s: make_generator("c"))[0]
        assert math.isclose(rec.channel_uses / record.num_values, cbr)
        described = codec.describe()
        assert described["weights"].endswith(name) and described["weights_step"] == 7
        assert described["weights_val_psnr_db"] == 12.5


def test_no_fitting_checkpoint_is_refused_with_the_list_of_those_that_fit(codec):
    with pytest.raises(ConfigError, match=r"RayleighChannel\(coherence=1, csi=perfect\) with receiver mmse at CBR "
                                          r"0.125.*awgn16.pt \(AWGNChannel; receiver mmse; CBR 1/16\)"):
        codec.check_point(RayleighChannel(), 1 / 8)
    with pytest.raises(ConfigError, match="ray16.pt"):
        codec.check_point(AWGNChannel(), 1 / 48)


def test_the_whole_channel_is_matched_coherence_csi_and_receiver(tmp_path):
    """A model trained on fast fading with perfect CSI and MMSE input serves only that channel."""
    fast = _save(tmp_path / "fast.pt", RAYLEIGH, 6, 0, coherence=1, csi="perfect")
    block = _save(tmp_path / "block.pt", RAYLEIGH, 6, 1, coherence=256, csi="perfect")
    raw = _save(tmp_path / "raw.pt", RAYLEIGH, 6, 2, receiver="raw", coherence=1, csi="none")
    codec = LearnedJSCC(checkpoints=[str(fast), str(block), str(raw)])
    codec.check()
    assert codec.select(RayleighChannel(coherence=1), 1 / 16).path == fast
    assert codec.select(RayleighChannel(coherence=256), 1 / 16).path == block
    with pytest.raises(ConfigError, match=r"coherence=64, csi=perfect.*fast.pt \(RayleighChannel\(coherence=1, "
                                          r"csi=perfect\); receiver mmse.*block.pt.*raw.pt"):
        codec.select(RayleighChannel(coherence=64), 1 / 16)
    with pytest.raises(ConfigError, match="csi=none"):  # the raw-input model has another receiver
        codec.select(RayleighChannel(coherence=1, csi="none"), 1 / 16)
    raw_codec = LearnedJSCC(checkpoints=[str(raw)], receiver="raw")
    raw_codec.check()
    assert raw_codec.select(RayleighChannel(coherence=1, csi="none"), 1 / 16).path == raw


def test_checkpoint_without_config_needs_a_model(tmp_path):
    path = tmp_path / "bare.pt"
    torch.save({"model": DeepJSCCNet(latent_channels=2, width=8).state_dict()}, path)
    with pytest.raises(ConfigError, match="no training config"):
        JSCCCheckpoint.load(path)
    fit = JSCCCheckpoint.load(path, DeepJSCCNet(latent_channels=2, width=8))
    assert fit.rates == [2] and fit.fits(RayleighChannel(), 1 / 48, 4, "mmse")
    assert resolve_checkpoint("x.pt").parent.name == "checkpoints"


def test_shipped_checkpoints_load_and_say_what_they_fit():
    fast_perfect = {"channel": RAYLEIGH, "coherence": 1, "csi": "perfect"}
    for name, channel in (("deepjscc_awgn_cbr1-16_snr10.pt", {"channel": AWGN}), ("adjscc_awgn.pt", {"channel": AWGN}),
                          ("adjscc_rayleigh.pt", fast_perfect), ("deepjscc_rayleigh_cbr1-16_snr10.pt", fast_perfect)):
        fit = JSCCCheckpoint.load(name)  # their stored network paths predate the layout: resolved
        assert fit.channel == channel and fit.receiver == "mmse"
        assert fit.meta["step"] > 0 and fit.meta["data"]["path"]
        assert 6 in fit.rates
    from testbed.channels.ofdm import OFDMChannel

    ofdm = JSCCCheckpoint.load("adjscc_ofdm.pt")  # the default ofdm channel, estimated CSI, and no other
    assert ofdm.fits(OFDMChannel(), 1 / 16, 4, "mmse") and ofdm.rate_for(1 / 16, 4, OFDMChannel().overhead) == 4
    assert not ofdm.fits(OFDMChannel(csi="perfect"), 1 / 16, 4, "mmse") and not ofdm.fits(RayleighChannel(), 1 / 16, 4, "mmse")
    total = sum(p.stat().st_size for p in resolve_checkpoint("x").parent.glob("*.pt"))
    assert total <= 40 * 2**20  # the budget for all shipped checkpoints


def test_deepjscc_ships_every_paper_cbr_on_both_channels(make_cfg):
    """codec=deepjscc lists one model per (channel, CBR) of paper_cbr; each file is what its name says."""
    files = list(make_cfg("codec=[deepjscc]").codec.deepjscc.checkpoints)
    served = set()
    for name in files:
        fit = JSCCCheckpoint.load(name)
        channel, k = name.split("_")[1], int(name.split("_cbr1-")[1].split("_")[0])
        assert fit.cbrs(4) == [pytest.approx(1 / k)], name
        assert fit.channel["channel"] == {"awgn": AWGN, "rayleigh": RAYLEIGH}[channel], name
        served.add((channel, k))
    assert served == {(c, k) for c in ("awgn", "rayleigh") for k in (48, 24, 16, 12, 8)}


def test_a_checkpoint_can_carry_its_own_tile_setting(tmp_path, caplog):
    files = [str(_save(tmp_path / "awgn16.pt", AWGN, 6, 0)), str(_save(tmp_path / "awgn8.pt", AWGN, 12, 1))]
    codec = LearnedJSCC(checkpoints=files, checkpoint_tiles={files[1]: 32})
    codec.bind("deepjscc")
    codec.check()
    record = tiny_image(64)
    gen = lambda r, *s: make_generator("t")  # noqa: E731
    (whole,) = codec.transmit([record], AWGNChannel(), 10.0, 1 / 16, gen)[0]
    assert whole.extra["tiles"] == 1 and codec.describe()["tile"] is None
    (tiled,) = codec.transmit([record], AWGNChannel(), 10.0, 1 / 8, gen)[0]
    assert tiled.extra["tiles"] == 4 and codec.describe()["tile"] == 32
    with caplog.at_level("WARNING"):
        LearnedJSCC(checkpoints=files, checkpoint_tiles={"other.pt": 32})  # narrowed list: ignored, said
    assert "'other.pt', which is not in checkpoints" in caplog.text
    with pytest.raises(ConfigError, match="checkpoint_tiles"):
        LearnedJSCC(checkpoints=files, checkpoint_tiles={files[0]: 30})


def test_an_ofdm_checkpoint_serves_only_its_settings_at_the_rate_that_fits(tmp_path):
    """A checkpoint trained over OFDM (a config giving some settings, the rest defaults) serves that
    channel only; at a CBR its overhead does not let it send exactly, it sends the largest rate within."""
    from testbed.channels.ofdm import OFDMChannel

    ofdm = "testbed.channels.ofdm.OFDMChannel"
    codec = LearnedJSCC(checkpoints=[str(_save(tmp_path / "ofdm8.pt", ofdm, 12, 0, csi="estimated"))]).bind("deepjscc")
    codec.check()
    assert codec.select(OFDMChannel(), 1 / 8 * 1.3).path.name == "ofdm8.pt"  # 12/96 x 1.276 fits
    with pytest.raises(ConfigError, match="no checkpoint trained"):
        codec.select(OFDMChannel(), 1 / 8)  # 12 channels with their pilots and cyclic prefix exceed 1/8
    for other in (OFDMChannel(csi="perfect"), OFDMChannel(tdl_model="B"), RayleighChannel()):
        with pytest.raises(ConfigError, match="no checkpoint trained"):
            codec.select(other, 1 / 8 * 1.3)
