"""Rayleigh fading: E|h|^2 = 1, block structure, CSI modes, ergodic capacity, config errors."""

import math

import numpy as np
import pytest
import torch

from testbed.channels.rayleigh import RayleighChannel
from testbed.core.errors import ConfigError
from testbed.core.seeding import make_generator


def test_fast_fading_power_within_2_percent_and_circular():
    h = RayleighChannel(coherence=1).draw_state(1_000_000, make_generator("h"))
    assert h.dtype == torch.complex64 and h.shape == (1_000_000,)
    assert math.isclose(h.abs().pow(2).mean().item(), 1.0, rel_tol=0.02)
    assert abs(h.mean().item()) < 0.01
    # |h|^2 of CN(0,1) is Exp(1): P(|h|^2 < 1) = 1 - 1/e
    assert math.isclose((h.abs().pow(2) < 1).double().mean().item(), 1 - math.exp(-1), rel_tol=0.01)


def test_block_fading_holds_h_over_the_coherence_length():
    h = RayleighChannel(coherence=7).draw_state(30, make_generator("b"))
    blocks = [h[i:i + 7] for i in range(0, 30, 7)]
    for block in blocks:
        assert torch.all(block == block[0])
    assert len({complex(b[0]) for b in blocks}) == len(blocks)


def test_perfect_csi_returns_the_h_used_and_none_hides_it():
    x = torch.ones(10_000, dtype=torch.complex64)
    out = RayleighChannel(csi="perfect")(x, 300.0, make_generator("c"))  # negligible noise
    assert out.h is not None
    assert torch.allclose(out.y, out.h * x, atol=1e-6)
    assert RayleighChannel(csi="none")(x, 10.0, make_generator("c")).h is None


def test_ergodic_capacity_matches_monte_carlo():
    ch = RayleighChannel()
    h2 = np.random.default_rng(0).exponential(size=2_000_000)
    for snr_db in (0.0, 10.0):
        mc = np.log2(1 + h2 * 10 ** (snr_db / 10)).mean()
        assert math.isclose(ch.capacity_per_use(snr_db), mc, rel_tol=0.005)


@pytest.mark.parametrize("kwargs", [{"coherence": 0}, {"coherence": 2.5}, {"csi": "partial"}])
def test_bad_settings_are_named(kwargs):
    with pytest.raises(ConfigError, match="coherence|csi"):
        RayleighChannel(**kwargs)
