"""Deep-JSCC plumbing with seeded random weights: power norm, CBR accounting, sizes, errors."""

import math

import pytest
import torch

from testbed.channels.awgn import AWGNChannel
from testbed.channels.rayleigh import RayleighChannel
from testbed.codecs.learned.deepjscc_net import DeepJSCCNet, latent_channels_for
from testbed.codecs.learned_jscc import LearnedJSCC, power_normalize, symbols_to_latent
from testbed.core.errors import ConfigError
from testbed.core.seeding import make_generator
from testbed.testing import tiny_image


def _codec(c=6):
    torch.manual_seed(0)
    return LearnedJSCC(model=DeepJSCCNet(latent_channels=c, width=16))


def test_power_normalisation_gives_unit_energy_per_image_and_inverts():
    z = torch.randn(3, 6, 5, 7) * torch.tensor([0.1, 1.0, 30.0]).view(3, 1, 1, 1)
    s = power_normalize(z)
    assert s.dtype == torch.complex64 and s.shape == (3, math.ceil(6 * 5 * 7 / 2))
    assert torch.allclose(s.abs().pow(2).mean(dim=1), torch.ones(3), atol=1e-5)
    back = symbols_to_latent(s, z.shape)
    ratio = back / z
    assert torch.allclose(ratio, ratio.flatten(1)[:, :1].view(3, 1, 1, 1).expand_as(ratio), rtol=1e-4)


@pytest.mark.parametrize("c,cbr", [(2, 1 / 48), (4, 1 / 24), (6, 1 / 16), (8, 1 / 12), (12, 1 / 8)])
def test_cbr_is_counted_from_the_symbols_sent(c, cbr):
    assert latent_channels_for(cbr) == c
    codec = _codec(c)
    record = tiny_image(64)  # 64 x 64: multiples of 4
    (rec,) = codec.transmit([record], AWGNChannel(), 10.0, cbr, lambda r, *s: make_generator("j"))[0]
    assert math.isclose(rec.channel_uses / record.num_values, cbr)
    assert codec.supported_cbrs() == [pytest.approx(cbr)]


def test_odd_sizes_are_padded_and_cropped_and_draws_are_seeded():
    codec = _codec()
    record = tiny_image(61)
    gen = lambda r, *s: make_generator("odd")  # noqa: E731
    a = codec.transmit([record], RayleighChannel(), 5.0, 1 / 16, gen)[0][0]
    b = codec.transmit([record], RayleighChannel(), 5.0, 1 / 16, gen)[0][0]
    assert a.image.shape == record.pixels.shape and torch.equal(a.image, b.image)
    assert 0 <= float(a.image.min()) and float(a.image.max()) <= 1


def test_missing_weights_name_the_file_and_the_fix(tmp_path):
    codec = LearnedJSCC(checkpoints=[str(tmp_path / "nope.pt")])
    with pytest.raises(ConfigError, match="nope.pt.*testbed-train"):
        codec.check()


def test_tiles_cover_the_image_once_and_send_the_same_symbols():
    from testbed.codecs.learned_jscc import tile_boxes

    boxes = tile_boxes(72, 100, 32)
    cover = torch.zeros(72, 100)
    for t, b, left, r in boxes:
        cover[t:b, left:r] += 1
    assert torch.all(cover == 1) and len(boxes) == 3 * 4 and tile_boxes(8, 8, None) == [(0, 8, 0, 8)]
    record = tiny_image(61)  # padded to 64 x W: tiles of 32 and a smaller last column
    gen = lambda r, *s: make_generator("tile")  # noqa: E731
    torch.manual_seed(0)
    net = DeepJSCCNet(latent_channels=6, width=16)
    whole = LearnedJSCC(model=net).transmit([record], AWGNChannel(), 30.0, 1 / 16, gen)[0][0]
    tiled = LearnedJSCC(model=net, tile=32).transmit([record], AWGNChannel(), 30.0, 1 / 16, gen)[0][0]
    assert tiled.channel_uses == whole.channel_uses and tiled.image.shape == record.pixels.shape
    assert tiled.extra["tiles"] > 1 and not torch.equal(tiled.image, whole.image)
    with pytest.raises(ConfigError, match="tile"):
        LearnedJSCC(model=net, tile=30)
