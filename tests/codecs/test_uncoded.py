"""The example plugin: the contract kit plus the property that makes it a JSCC (graceful decay)."""

from testbed.channels.awgn import AWGNChannel
from testbed.channels.rayleigh import RayleighChannel
from testbed.codecs.uncoded import UncodedAnalog
from testbed.metrics.psnr import psnr
from testbed.core.seeding import make_generator
from testbed.testing import check_codec, tiny_image


def test_contract():
    codec = UncodedAnalog()
    codec.bind("uncoded")
    check_codec(codec, AWGNChannel())
    check_codec(codec, RayleighChannel())


def test_quality_grows_with_snr_and_cbr_without_a_cliff():
    record = tiny_image(96)
    codec = UncodedAnalog()

    def score(snr, cbr):
        rec = codec.transmit([record], AWGNChannel(), snr, cbr, lambda r, *s: make_generator("u", snr, cbr))[0][0]
        assert rec.channel_uses <= cbr * record.num_values
        return psnr(rec.image[None], record.pixels[None]).item()

    by_snr = [score(s, 1 / 16) for s in (-5, 0, 5, 10, 20)]
    assert by_snr == sorted(by_snr) and by_snr[0] > 10
    by_cbr = [score(20, c) for c in (1 / 48, 1 / 16, 1 / 4)]
    assert by_cbr == sorted(by_cbr)
