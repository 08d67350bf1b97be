"""The capacity bound: payload bits follow k * log2(1 + SNR) exactly, error-free."""

import math

import pytest

from testbed.channels.awgn import AWGNChannel
from testbed.channels.rayleigh import RayleighChannel
from testbed.codecs.capacity import CapacityBound
from testbed.codecs.source.jpeg import JPEGSource
from testbed.codecs.source.rate_control import EncodingCache
from testbed.testing import tiny_image


@pytest.mark.parametrize("snr_db", [0.0, 5.0, 13.0])
@pytest.mark.parametrize("cbr", [1 / 16, 1 / 4])
def test_bits_follow_k_log2_1_plus_snr(snr_db, cbr):
    record = tiny_image(96)
    codec = CapacityBound(JPEGSource())
    (rec,) = codec.transmit([record], AWGNChannel(), snr_db, cbr, None)[0]
    k = math.floor(cbr * record.num_values)
    budget_bits = math.floor(k * math.log2(1 + 10 ** (snr_db / 10)))
    assert rec.extra["budget_bits"] == budget_bits
    assert rec.extra["capacity_bits_per_use"] == math.log2(1 + 10 ** (snr_db / 10))
    if rec.decode_failed:  # nothing fits: even the smallest file is larger than the budget
        smallest = len(JPEGSource().encode(record.as_uint8(), JPEGSource().qualities[0]))
        assert 8 * smallest > budget_bits
        return
    assert rec.payload_bits <= budget_bits
    assert rec.channel_uses == math.ceil(rec.payload_bits / math.log2(1 + 10 ** (snr_db / 10))) <= k
    # the next quality up would not have fitted: the budget is used as the bound allows
    cache = EncodingCache()
    qualities = list(JPEGSource().qualities)
    nxt = qualities.index(int(rec.source_quality)) + 1
    if nxt < len(qualities):
        assert 8 * len(cache.get_or_encode(JPEGSource(), record, qualities[nxt])) > budget_bits


def test_rayleigh_uses_the_ergodic_capacity():
    record = tiny_image(96)
    channel = RayleighChannel()
    (rec,) = CapacityBound(JPEGSource()).transmit([record], channel, 10.0, 1 / 4, None)[0]
    assert rec.extra["capacity_bits_per_use"] == channel.capacity_per_use(10.0)
    assert channel.capacity_per_use(10.0) < math.log2(11)  # fading costs capacity (Jensen)
