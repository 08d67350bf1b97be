"""Checkpoint choice of learned codecs: per (channel, CBR) from what each checkpoint says it is."""

import math

import pytest
import torch

from testbed.channels.awgn import AWGNChannel
from testbed.channels.rayleigh import RayleighChannel
from testbed.codecs.deepjscc_net import DeepJSCCNet
from testbed.codecs.jscc_checkpoint import JSCCCheckpoint, resolve_checkpoint
from testbed.codecs.learned_jscc import LearnedJSCC
from testbed.errors import ConfigError
from testbed.seeding import make_generator
from testbed.testing import tiny_image

AWGN = "testbed.channels.awgn.AWGNChannel"
RAYLEIGH = "testbed.channels.rayleigh.RayleighChannel"


def _save(path, channel, c, seed):
    """A checkpoint in the format ``testbed-train`` writes (seeded random weights)."""
    torch.manual_seed(seed)
    model = DeepJSCCNet(latent_channels=c, width=8)
    config = {"model": {"_target_": "testbed.codecs.deepjscc_net.DeepJSCCNet", "latent_channels": c, "width": 8},
              "channel": {"_target_": channel}}
    torch.save({"model": model.state_dict(), "config": config, "step": 7, "wall_time_s": 1.5,
                "val_psnr": [(7, 12.5)], "data": {"path": "photos"}}, path)
    return path


@pytest.fixture
def codec(tmp_path):
    files = [str(_save(tmp_path / "awgn16.pt", AWGN, 6, 0)), str(_save(tmp_path / "awgn8.pt", AWGN, 12, 1)),
             str(_save(tmp_path / "ray16.pt", RAYLEIGH, 6, 2))]
    codec = LearnedJSCC(checkpoints=files)
    codec.name = "deepjscc"
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
    with pytest.raises(ConfigError, match=r"RayleighChannel at CBR 0.125.*awgn16.pt \(AWGNChannel; CBR 1/16\)"):
        codec.check_point(RayleighChannel(), 1 / 8)
    with pytest.raises(ConfigError, match="ray16.pt"):
        codec.check_point(AWGNChannel(), 1 / 48)


def test_checkpoint_without_config_needs_a_model(tmp_path):
    path = tmp_path / "bare.pt"
    torch.save({"model": DeepJSCCNet(latent_channels=2, width=8).state_dict()}, path)
    with pytest.raises(ConfigError, match="no training config"):
        JSCCCheckpoint.load(path)
    fit = JSCCCheckpoint.load(path, DeepJSCCNet(latent_channels=2, width=8))
    assert fit.rates == [2] and fit.fits(RayleighChannel(), 1 / 48, 4)
    assert resolve_checkpoint("x.pt").parent.name == "checkpoints"


def test_shipped_checkpoints_load_and_say_what_they_fit():
    for name, channel in (("deepjscc_awgn_cbr1-16_snr10.pt", AWGN), ("adjscc_awgn.pt", AWGN),
                          ("adjscc_rayleigh.pt", RAYLEIGH)):
        fit = JSCCCheckpoint.load(name)
        assert fit.channel == channel and fit.meta["step"] > 0 and fit.meta["data"]["path"]
        assert 6 in fit.rates
    total = sum(p.stat().st_size for p in resolve_checkpoint("x").parent.glob("*.pt"))
    assert total <= 40 * 2**20  # the budget for all shipped checkpoints
