"""GDN against its formula; the adaptive network's rate prefix and SNR input; rate-adaptive codec."""

import math

import pytest
import torch

from testbed.channels.awgn import AWGNChannel
from testbed.codecs.learned.adjscc_net import ADJSCCNet
from testbed.codecs.learned.gdn import GDN
from testbed.codecs.learned_jscc import LearnedJSCC
from testbed.core.errors import ConfigError
from testbed.core.seeding import make_generator
from testbed.run.sweep_points import _check_cbr
from testbed.testing import tiny_image


def test_gdn_matches_its_formula_and_igdn_multiplies():
    torch.manual_seed(0)
    gdn, igdn = GDN(4), GDN(4, inverse=True)
    with torch.no_grad():
        gdn.gamma.add_(0.2 * torch.rand(4, 4))
    x = torch.randn(2, 4, 5, 6)
    beta = gdn.beta.clamp(min=gdn.beta_bound) ** 2 - 2.0**-36
    gamma = gdn.gamma.clamp(min=2.0**-18) ** 2 - 2.0**-36
    norm = beta.view(1, 4, 1, 1) + torch.einsum("ij,njhw->nihw", gamma, x * x)
    assert torch.allclose(gdn(x), x / norm.sqrt(), atol=1e-5)
    igdn.load_state_dict(gdn.state_dict())
    assert torch.allclose(igdn(x), x * norm.sqrt(), atol=1e-5)


def test_rate_prefix_and_snr_side_information():
    torch.manual_seed(0)
    net = ADJSCCNet(max_latent_channels=12, width=16)
    x, snr = torch.rand(2, 3, 32, 48), torch.tensor([0.0, 15.0])
    for c in (2, 6, 12):
        net.use_rate(c)
        z = net.encode(x, snr)
        assert z.shape == (2, c, 8, 12)
        assert net.decode(z, snr).shape == x.shape
    net.use_rate(6)
    assert not torch.allclose(net.encode(x, torch.tensor([0.0, 0.0])), net.encode(x, torch.tensor([15.0, 15.0])))
    with pytest.raises(ValueError):
        net.use_rate(13)


def test_rate_adaptive_codec_sends_each_cbr_of_its_set():
    torch.manual_seed(0)
    codec = LearnedJSCC(model=ADJSCCNet(width=16), rates=[2, 4, 6, 8, 12])
    record = tiny_image(64)
    for c in (2, 4, 6, 8, 12):
        cbr = c / 96
        (rec,) = codec.transmit([record], AWGNChannel(), 5.0, cbr, lambda r, *s: make_generator("a"))[0]
        assert math.isclose(rec.channel_uses / record.num_values, cbr)
    for cbr in (1 / 48, 1 / 16, 1 / 8):
        _check_cbr("adjscc", codec, cbr)
    with pytest.raises(ConfigError, match="supports"):
        _check_cbr("adjscc", codec, 1 / 32)
    with pytest.raises(ConfigError, match="not rate-adaptive"):
        LearnedJSCC(model=torch.nn.Linear(1, 1), rates=[2])
