"""AWGN: noise power, determinism, Sionna block driven by our generator."""

import math

import torch

from testbed.core.channel import noise_variance
from testbed.channels.awgn import AWGNChannel
from testbed.core.seeding import make_generator


def test_empirical_noise_variance_within_2_percent():
    x = torch.zeros(1_000_000, dtype=torch.complex64)
    for snr in (-3.0, 0.0, 10.0):
        out = AWGNChannel()(x, snr, make_generator("awgn", snr))
        n0 = out.y.abs().pow(2).mean().item()
        assert math.isclose(n0, noise_variance(snr), rel_tol=0.02)
        # circular: real and imaginary parts carry half each
        assert math.isclose(out.y.real.var().item(), n0 / 2, rel_tol=0.02)
        assert out.h is None and out.no == noise_variance(snr)


def test_same_generator_seed_same_noise_and_different_seed_differs():
    x = torch.ones(1000, dtype=torch.complex64)
    a = AWGNChannel()(x, 5.0, make_generator(1, "img"))
    b = AWGNChannel()(x, 5.0, make_generator(1, "img"))
    c = AWGNChannel()(x, 5.0, make_generator(2, "img"))
    assert torch.equal(a.y, b.y)
    assert not torch.equal(a.y, c.y)


def test_capacity_is_log2_one_plus_snr():
    assert math.isclose(AWGNChannel().capacity_per_use(10.0), math.log2(11.0))
